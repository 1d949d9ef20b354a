"""Rows as spreadsheet cells: .xlsx and .csv bodies (CSV with a BOM so Excel reads Chinese).

Every text cell goes through :func:`neutralise`: a cell a spreadsheet would read as a
formula (``=HYPERLINK(…)`` typed into a resident's name) is written as text. Downloads
stream through :mod:`pusher.console.streamed`, which uses these in threads.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook

from subscriptions.importer import FORMULA_STARTS  # the one rule, for imports and exports


def neutralise(value: Any) -> Any:
    """``value`` safe for a spreadsheet cell: text that would start a formula gets a ``'``.

    Numbers (a real -5) stay numbers; only text cells are changed.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: Sequence[Any]) -> list[Any]:
    """``row`` with every cell neutralised."""
    return [neutralise(v) for v in row]


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """An .xlsx workbook of ``header`` and ``rows``, text cells neutralised."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(safe_row(header))
    for row in rows:
        sheet.append(safe_row(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_chunk(rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV lines of ``rows`` in UTF-8 (no BOM: a piece of a file), text cells neutralised."""
    out = io.StringIO()
    csv.writer(out).writerows(safe_row(row) for row in rows)
    return out.getvalue().encode("utf-8")


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A UTF-8 (with BOM) CSV of ``header`` and ``rows``, text cells neutralised."""
    return "\ufeff".encode() + csv_chunk([header, *rows])
