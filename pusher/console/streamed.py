"""Downloads that stream: rows arrive partition by partition and memory stays bounded by
a partition, whatever the export's size.

- **CSV** goes out as it is made: the BOM and the header, then each partition turned
  into CSV text in a thread and written to the response (chunked, no length known).
- **XLSX** is a zip: an openpyxl write-only sheet takes the partitions in a thread, one
  call at a time, the workbook is saved to an anonymous temporary file (unlinked on
  creation, so nothing is left on disk even if the process dies), then the file is sent
  in chunks with its length.

Partitions are read on the event loop by the caller's async iterator and handed over
one at a time, so at most one partition is read while the one before is written. A
call in a thread is waited for even when the request is cancelled: no thread goes on
working on a workbook that is being thrown away, and none outlives the request by more
than one partition. :class:`Tally` counts the rows written, for the audit.
"""

from __future__ import annotations

import asyncio
import codecs
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from itertools import islice
from typing import IO, Any, TypeVar
from urllib.parse import quote

from aiohttp import web
from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from pusher.console.tabular import csv_chunk, safe_row

T = TypeVar("T")
#: rows per partition handed to a thread
CHUNK = 1000
#: bytes per write of a built file
SEND_CHUNK = 256 * 1024
KINDS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
Line = Callable[[Any], Sequence[Any]]


@dataclass
class Tally:
    """Rows written so far, and whether the whole file reached the connection."""

    rows: int = 0
    complete: bool = False


def _cells(row: Any) -> Sequence[Any]:
    return row


@dataclass
class _File:
    """One download being made: its name, header row, partitions of rows, how a row
    becomes cells, and the tally of rows written."""

    name: str
    header: Sequence[str]
    parts: AsyncIterator[Sequence[Any]]
    line: Line
    tally: Tally


async def send(
    request: web.Request,
    fmt: str,
    name: str,
    header: Sequence[str],
    parts: AsyncIterator[Sequence[Any]],
    *,
    line: Line = _cells,
    tally: Tally | None = None,
) -> web.StreamResponse:
    """Stream ``parts`` (partitions of rows; ``line`` turns a row into its cells, in a
    thread) as ``name.fmt``; ``tally`` counts what was written."""
    file = _File(name, header, parts, line, tally if tally is not None else Tally())
    return await (_send_xlsx if fmt == "xlsx" else _send_csv)(request, file)


async def download(
    request: web.Request, fmt: str, name: str, header: Sequence[str], rows: Iterable[Any]
) -> web.StreamResponse:
    """:func:`send` for rows already loaded (``rows`` is read in threads, a partition at
    a time: a generator over them must not touch the database)."""
    return await send(request, fmt, name, header, _partitions(iter(rows)))


async def _partitions(rows: Iterator[Any]) -> AsyncIterator[list[Any]]:
    while part := await asyncio.to_thread(lambda: list(islice(rows, CHUNK))):
        yield part


def _response(fmt: str, name: str) -> web.StreamResponse:
    filename = quote(f"{name}.{fmt}")
    return web.StreamResponse(
        headers={
            "Content-Type": KINDS[fmt],
            "Content-Disposition": f"attachment; filename*=UTF-8''{filename}",
        }
    )


async def finish(work: Awaitable[T]) -> T:
    """``work``'s result; if the caller is cancelled meanwhile (a client gone, with handler
    cancellation on), ``work`` still runs to its end before the cancellation goes on."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


async def _call(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a thread, waited for to the end (see :func:`finish`)."""
    return await finish(asyncio.to_thread(fn, *args))


def _csv_part(part: Sequence[Any], line: Line) -> bytes:
    return csv_chunk(line(row) for row in part)


async def _send_csv(request: web.Request, file: _File) -> web.StreamResponse:
    resp = _response("csv", file.name)
    await resp.prepare(request)
    await resp.write(codecs.BOM_UTF8 + csv_chunk([file.header]))
    async for part in file.parts:
        await resp.write(await asyncio.to_thread(_csv_part, part, file.line))
        file.tally.rows += len(part)
    await resp.write_eof()
    file.tally.complete = True
    return resp


def _append(sheet: WriteOnlyWorksheet, part: Sequence[Any], line: Line) -> None:
    for row in part:
        sheet.append(safe_row(line(row)))


def _discard(sheet: WriteOnlyWorksheet) -> None:
    """Remove the temporary file openpyxl writes an unsaved write-only sheet to (it has
    no public way: the file would stay until the process exits)."""
    if not sheet.closed:
        sheet.close()
    if sheet._writer is not None:
        with suppress(OSError, ValueError):  # already removed by a save that failed later
            sheet._writer.cleanup()


async def _build_xlsx(out: IO[bytes], file: _File) -> int:
    """Write the workbook to ``out``; answer its size in bytes."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    try:
        await _call(sheet.append, safe_row(file.header))
        async for part in file.parts:
            await _call(_append, sheet, part, file.line)
            file.tally.rows += len(part)
        await _call(book.save, out)
    except BaseException:
        _discard(sheet)  # every call in a thread has ended: nothing else touches it
        raise
    return out.tell()


async def _send_xlsx(request: web.Request, file: _File) -> web.StreamResponse:
    with tempfile.TemporaryFile() as out:
        size = await _build_xlsx(out, file)
        resp = _response("xlsx", file.name)
        resp.content_length = size
        await resp.prepare(request)
        out.seek(0)
        while chunk := await _call(out.read, SEND_CHUNK):
            await resp.write(chunk)
    await resp.write_eof()
    file.tally.complete = True
    return resp
