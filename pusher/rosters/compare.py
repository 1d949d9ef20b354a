"""Match a roster's rows to residents on record and say what applying it would do.

A row is matched by its stable key within its grid, else by its phone within its grid:
the resident with that phone and the same name, or, when the grid has one resident with
that phone and the file one row with it, that resident (a corrected name). Residents of
the file's grids whom no row names are the moved-out candidates (迁出) for the grid
worker to confirm; nothing is deleted. Matching is plain Python over loaded values:
call :func:`compare` in a thread.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from pusher.rosters.columns import Headers, RosterRow, read_row
from pusher.rosters.records import Grids, OnRecord
from pusher.rosters.report import Action, Missing, RosterReport, RowOutcome


@dataclass
class Planned:
    """A row to apply: the resident it updates (None: a new one) and its grid."""

    row: RosterRow
    region_id: int
    resident: OnRecord | None
    consent: bool  # what sms_consent becomes


@dataclass
class Comparison:
    report: RosterReport
    planned: list[Planned] = field(default_factory=list)


def grid_of(raw: str, grids: Grids, scope: Collection[int] | None) -> tuple[int | None, str | None]:
    """The active grid a cell names (code, else a unique name), if the uploader may touch it."""
    if raw in grids.by_code:
        rid = grids.by_code[raw]
    elif len(grids.by_name.get(raw, [])) == 1:
        rid = grids.by_name[raw][0]
    elif raw in grids.by_name:
        return None, f"网格名称「{raw}」不唯一，请填写网格代码"
    elif raw in grids.retired:
        return None, f"网格「{grids.retired[raw]}」已停用，不能再登记居民"
    else:
        return None, f"找不到网格「{raw}」" if raw else "所属网格为空"
    if scope is not None and rid not in scope:
        return None, f"网格「{raw}」不是你负责的网格"
    return rid, None


def read_rows(cells: list[Mapping[str, str]], headers: Headers) -> list[RosterRow]:
    return [read_row(number, row, headers) for number, row in enumerate(cells, start=2)]


@dataclass
class _Matcher:
    people: list[OnRecord]
    by_key: dict[tuple[int, str], list[OnRecord]] = field(default_factory=dict)
    by_phone: dict[tuple[int, str], list[OnRecord]] = field(default_factory=dict)
    taken: dict[int, int] = field(default_factory=dict)  # resident id → row number

    def __post_init__(self) -> None:
        for p in self.people:
            if p.key:
                self.by_key.setdefault((p.region_id, p.key), []).append(p)
            if p.phone:
                self.by_phone.setdefault((p.region_id, p.phone), []).append(p)

    def by_stable_key(self, row: RosterRow, grid: int) -> OnRecord | None:
        found = self.by_key.get((grid, row.key or ""), [])
        if len(found) > 1:
            row.problems.append(
                f"编号「{row.key}」在该网格登记了 {len(found)} 位居民，无法确定是哪一位"
            )
            return None
        return self._take(row, found[0]) if found else None

    def by_number(self, row: RosterRow, grid: int, rows_with_phone: int) -> OnRecord | None:
        free = [
            p
            for p in self.by_phone.get((grid, row.phone or ""), [])
            if p.id not in self.taken and not (row.key and p.key and p.key != row.key)
        ]
        same = [p for p in free if p.name == row.name]
        if same:
            return self._take(row, same[0])
        if (
            len(free) == 1
            and rows_with_phone == 1
            and len(self.by_phone[(grid, row.phone or "")]) == 1
        ):
            return self._take(row, free[0])
        return None

    def _take(self, row: RosterRow, person: OnRecord) -> OnRecord | None:
        if person.id in self.taken:
            row.problems.append(f"与第 {self.taken[person.id]} 行是同一位居民")
            return None
        self.taken[person.id] = row.number
        return person


def _changes(row: RosterRow, p: OnRecord, consent: bool) -> list[str]:
    return [
        label
        for label, differs in (
            ("姓名", row.name != p.name),
            ("手机号", row.phone != p.phone),
            ("编号", row.key is not None and row.key != p.key),
            ("标签", set(row.tags) != p.tags),
            ("订阅", row.topics is not None and set(row.topics) - p.opted_out != p.topics),
            ("同意短信", consent != p.consent),
            ("微信", row.openid is not None and row.openid != p.openid),
            ("迁回", p.moved_out),
        )
        if differs
    ]


def _duplicates(rows: list[RosterRow], grids: dict[int, int]) -> None:
    """The same stable key twice in one grid, or without keys the same name and phone
    twice, is a row error on the later row (a family sharing a phone differs by name)."""
    first: dict[tuple[int, str, str], int] = {}
    for row in rows:
        grid = grids.get(row.number)
        if grid is None:
            continue
        same = (grid, "key", row.key) if row.key else (grid, row.name, row.phone or "")
        seen = first.setdefault(same, row.number)
        if seen != row.number:
            what = f"编号「{row.key}」" if row.key else "姓名和手机号"
            row.problems.append(f"{what}与第 {seen} 行重复")


def compare(
    rows: list[RosterRow],
    *,
    grids: Grids,
    people: list[OnRecord],
    topics: Collection[str],
    scope: Collection[int] | None,
    default_consent: bool,
) -> Comparison:
    """What applying ``rows`` would do to ``people`` (the residents of the rows' grids)."""
    resolved: dict[int, int] = {}
    for row in rows:
        grid, problem = grid_of(row.grid, grids, scope)
        if problem:
            row.problems.append(problem)
        elif grid is not None:
            resolved[row.number] = grid
        unknown = [t for t in row.topics or [] if t not in topics]
        if unknown:
            row.problems.append(f"找不到订阅栏目「{'、'.join(unknown[:3])}」")
    _duplicates(rows, resolved)
    matcher = _Matcher(people)
    matched: dict[int, OnRecord | None] = {}
    for row in rows:  # stable keys first: a phone must not take a keyed resident's place
        if row.number in resolved and row.key:
            matched[row.number] = matcher.by_stable_key(row, resolved[row.number])
    phones = Counter((resolved.get(r.number), r.phone) for r in rows if r.phone)
    for row in rows:
        grid = resolved.get(row.number)
        if grid is not None and matched.get(row.number) is None and row.phone:
            matched[row.number] = matcher.by_number(row, grid, phones[(grid, row.phone)])
    out = Comparison(RosterReport(total=len(rows)))
    for row in rows:
        _outcome(out, row, resolved.get(row.number), matched.get(row.number), default_consent)
    out.report.missing = [
        Missing(p.id, p.name, grids.names.get(p.region_id, ""))
        for p in people
        if p.id not in matcher.taken and not p.moved_out and p.region_id in set(resolved.values())
    ]
    return out


def _outcome(
    out: Comparison, row: RosterRow, grid: int | None, person: OnRecord | None, default: bool
) -> None:
    if row.problems or grid is None:
        out.report.rows.append(RowOutcome(row.number, row.name, "error", reasons=row.problems))
        return
    if person is None:
        consent = default if row.consent is None else row.consent
        out.report.rows.append(RowOutcome(row.number, row.name, "add"))
        out.planned.append(Planned(row, grid, None, consent))
        return
    consent = person.consent if row.consent is None else row.consent
    changes = _changes(row, person, consent)
    action: Action = "change" if changes else "unchanged"
    out.report.rows.append(RowOutcome(row.number, row.name, action, person.id, changes))
    if changes:
        out.planned.append(Planned(row, grid, person, consent))
