"""What a roster upload would do (or did): per row add / change / unchanged / error,
the residents missing from the file, and the file's unknown columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["add", "change", "unchanged", "error"]
ROWS_SHOWN = 100
LABELS = {"add": "新增", "change": "修改", "unchanged": "不变", "error": "有误"}


@dataclass
class RowOutcome:
    number: int  # as the spreadsheet numbers it (header is row 1)
    name: str
    action: Action
    resident_id: int | None = None
    changes: list[str] = field(default_factory=list)  # labels of the fields that change
    reasons: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "row": self.number,
            "name": self.name,
            "action": self.action,
            "resident_id": self.resident_id,
            "changes": self.changes,
            "errors": self.reasons,
        }


@dataclass(frozen=True)
class Missing:
    """A resident on record in one of the file's grids whom the file does not name."""

    resident_id: int
    name: str
    grid: str


@dataclass
class RosterReport:
    total: int = 0
    rows: list[RowOutcome] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    applied: int = 0

    def count(self, action: Action) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {a: self.count(a) for a in ("add", "change", "unchanged", "error")}

    @property
    def readable(self) -> bool:
        """False when the file lacks a required column (no row can be read)."""
        return not self.missing_columns

    @property
    def errors(self) -> list[RowOutcome]:
        return [r for r in self.rows if r.action == "error"]

    @property
    def to_apply(self) -> int:
        return self.count("add") + self.count("change")

    def shown(self) -> list[RowOutcome]:
        """Rows a page lists: errors first, then adds and changes (unchanged are counted)."""
        order = {"error": 0, "add": 1, "change": 2}
        listed = sorted((r for r in self.rows if r.action in order), key=lambda r: order[r.action])
        return listed[:ROWS_SHOWN]

    @property
    def hidden(self) -> int:
        """Rows to add, change or fix that :meth:`shown` leaves out."""
        return max(0, self.total - self.count("unchanged") - ROWS_SHOWN)

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "counts": self.counts,
            "applied": self.applied,
            "unknown_columns": self.unknown_columns,
            "missing_columns": self.missing_columns,
            "rows": [r.as_json() for r in self.rows],
            "moved_out_candidates": [
                {"id": m.resident_id, "name": m.name, "grid": m.grid} for m in self.missing
            ],
        }
