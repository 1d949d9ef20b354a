"""Report tables written to one .xlsx workbook, a sheet per table (call in a thread)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook

from pusher.console.tabular import neutralise
from pusher.reports.table import Table

#: characters Excel refuses in a sheet name
BAD = str.maketrans({c: "_" for c in "[]:*?/\\"})


def workbook_bytes(tables: Sequence[Table], *, heading: str) -> bytes:
    """An .xlsx of ``tables``: each sheet opens with ``heading`` and the table's title."""
    book = Workbook(write_only=True)
    for table in tables:
        sheet = book.create_sheet(title=table.title.translate(BAD)[:31])
        sheet.append([neutralise(heading)])
        sheet.append([neutralise(table.title)])
        sheet.append([neutralise(h) for h in table.header])
        for row in table.rows:
            sheet.append([neutralise(v) for v in row])
        if table.note:
            sheet.append([neutralise(table.note)])
    if not tables:
        book.create_sheet(title="空")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
