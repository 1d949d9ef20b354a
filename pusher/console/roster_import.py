"""Importing a roster in two steps: upload → report (adds / changes / unchanged / errors,
who is missing) → the grid worker applies the good rows, or none, and confirms who moved
out (迁出). The upload waits in a :class:`~pusher.models.RosterDraft` between the steps."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

from aiohttp import web
from sqlalchemy import delete

from pusher.console.base import Viewer, audit, render, viewer
from pusher.db import transaction
from pusher.models import Role, RosterDraft, utcnow
from pusher.rosters.apply import move_out
from pusher.rosters.columns import ALIASES
from pusher.rosters.report import LABELS, RosterReport
from pusher.rosters.upload import upsert
from pusher.web.keys import RESOURCES, SETTINGS
from pusher.web.params import parse_id
from subscriptions.importer import MAX_FILE_BYTES, FileRefused, read_rows

DRAFT_HOURS = 24
#: the headers the page names, one per column (offices' variants are listed in a hint)
SHOWN = [names[0] for names in ALIASES.values()]
MISSING_SHOWN = 500
NO_FILE = "请选择要导入的 Excel 文件（.xlsx）或 CSV 文件。"
UNREADABLE = "无法读取这个文件，请确认是 .xlsx 或 .csv 格式。"
EXPIRED = "这份上传已过期或不存在，请重新上传文件。"


async def _page(
    request: web.Request,
    me: Viewer,
    *,
    report: RosterReport | None = None,
    draft: str | None = None,
    error: str | None = None,
    status: int = 200,
    done: str | None = None,
) -> web.Response:
    return await render(
        request, "roster_import.html", me, report=report, draft=draft, error=error,
        status=status, done=done, columns=SHOWN, aliases=ALIASES, labels=LABELS,
        missing_shown=MISSING_SHOWN,
    )  # fmt: skip


async def import_page(request: web.Request) -> web.Response:
    me = await viewer(request, Role.GRID_WORKER)
    return await _page(request, me)


def _read_upload(upload: web.FileField) -> list[dict[str, str]]:
    """The upload's rows (in a thread: reading and parsing a spreadsheet is slow)."""
    return read_rows(upload.file.read(MAX_FILE_BYTES + 1), upload.filename)


async def import_upload(request: web.Request) -> web.Response:
    """Read the file and show what applying it would do; nothing is written yet."""
    me = await viewer(request, Role.GRID_WORKER)
    upload = (await request.post()).get("file")
    if not isinstance(upload, web.FileField):
        return await _page(request, me, error=NO_FILE, status=422)
    try:
        cells = await asyncio.to_thread(_read_upload, upload)
    except FileRefused as exc:
        return await _page(request, me, error=exc.message, status=exc.status)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        return await _page(request, me, error=UNREADABLE, status=422)
    consent = request.app[SETTINGS].roster_sms_consent
    token = secrets.token_hex(16)
    async with transaction(request.app[RESOURCES].db) as db:
        report = await upsert(
            db, cells, scope=me.scope, default_consent=consent, actor=me.name, apply=False
        )
        stale = utcnow() - timedelta(hours=DRAFT_HOURS)
        await db.execute(delete(RosterDraft).where(RosterDraft.created_at < stale))
        if report.readable:
            db.add(RosterDraft(id=token, actor=me.name, rows=cells))
    status = 200 if report.readable else 422
    draft = token if report.readable else None
    return await _page(request, me, report=report, draft=draft, status=status)


async def import_apply(request: web.Request) -> web.Response:
    """Apply the good rows of the draft (``apply=good``) or none, and confirm moves out."""
    me = await viewer(request, Role.GRID_WORKER)
    form = await request.post()
    token = str(form.get("draft", ""))
    consent = request.app[SETTINGS].roster_sms_consent
    moved = [i for v in form.getall("moved_out", []) if (i := parse_id(str(v))) is not None]
    async with transaction(request.app[RESOURCES].db) as db:
        draft = await db.get(RosterDraft, token[:32]) if token else None
        if draft is None or draft.actor != me.name:
            # a page, not an error: the usual cause is a second click or a day's wait
            return await _page(request, me, error=EXPIRED)
        applying = form.get("apply") == "good"
        report = await upsert(
            db, draft.rows, scope=me.scope, default_consent=consent, actor=me.name, apply=applying
        )
        gone = await move_out(db, moved, scope=me.scope, actor=me.name) if moved else []
        await db.delete(draft)
        await audit(
            db,
            me,
            "residents.import_decision",
            "roster",
            applied=report.applied,
            moved_out=len(gone),
        )
    done = f"已写入 {report.applied} 人" if applying else "未导入任何一行"
    if gone:
        done += f"；{len(gone)} 人已确认迁出"
    return await _page(request, me, done=done + "。")
