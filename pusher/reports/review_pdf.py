"""The review form (信息发布保密审查表) of one item as a one-page A4 PDF.

Built with fpdf2, which embeds a subset of a CJK TrueType font (a ``.ttf`` or the first
face of a ``.ttc``). Rendering parses the font and is CPU-bound: callers run
:func:`review_pdf` in a thread. :func:`find_font` picks the configured font, else the
first of :data:`CANDIDATES` present on the machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from fpdf import FPDF

from pusher.reports.clock import local_day
from pusher.reports.register import Entry

#: CJK fonts Debian and common distributions install (fonts-wqy-microhei first).
CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
)
LABEL_WIDTH = 52.0  # mm; the page is 210 mm wide with 20 mm margins
NOTE = "本表由政务信息推送系统根据审查记录生成，审查意见、审批人和日期以系统记录为准。"


class NoFont(LookupError):
    """No CJK font is configured or found: the PDF cannot be made."""


def find_font(configured: Path | None, *, candidates: Sequence[Path] = CANDIDATES) -> Path:
    """The font file to use: ``configured`` when set (it must exist), else a candidate."""
    if configured is not None:
        if configured.is_file():
            return configured
        raise NoFont(str(configured))
    for path in candidates:
        if path.is_file():
            return path
    raise NoFont("")


def _day(stamp: datetime | None) -> str:
    return local_day(stamp).isoformat() if stamp else ""


def _rows(entry: Entry) -> list[tuple[str, str, float]]:
    """(label, text, minimum height in mm) of the form's lines, top to bottom."""
    staff, leader = entry.staff, entry.leader
    urgent = "（紧急预警一步审批）" if leader and leader.step == "urgent" else ""
    staff_text = (f"{Entry.opinion(staff)}\n\n审查人：{staff.reviewer if staff else ''}"
                  f"　　{_day(staff.at if staff else None)}")  # fmt: skip
    leader_text = (f"{Entry.opinion(leader)}{urgent}\n\n签字：{leader.reviewer if leader else ''}"
                   f"　　{_day(leader.at if leader else None)}")  # fmt: skip
    return [
        ("部门", entry.department, 12),
        ("信息名称", entry.title, 12),
        ("发布形式", entry.publish_form, 12),
        ("工作机构或者人员审查意见", staff_text, 60),
        ("主管领导意见", leader_text, 60),
        ("承办人", entry.handler, 12),
    ]


def _line(pdf: FPDF, label: str, text: str, minimum: float) -> None:
    width = pdf.epw - LABEL_WIDTH
    lines = len(pdf.multi_cell(width, 7, text, dry_run=True, output="LINES"))
    height = max(minimum, lines * 7 + 4)
    x, y = pdf.get_x(), pdf.get_y()
    pdf.rect(x, y, LABEL_WIDTH, height)
    pdf.rect(x + LABEL_WIDTH, y, width, height)
    pdf.set_xy(x, y + 2)
    pdf.multi_cell(LABEL_WIDTH, 7, label, align="C", new_x="LEFT", new_y="TOP",
                   max_line_height=7)  # fmt: skip
    pdf.set_xy(x + LABEL_WIDTH, y + 2)
    pdf.multi_cell(width, 7, text, new_x="LEFT", new_y="TOP")
    pdf.set_xy(x, y + height)


def review_pdf(entry: Entry, *, number: str, font: Path) -> bytes:
    """The form as PDF bytes (one A4 page; a very long opinion may wrap onto a second)."""
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_title(f"信息发布保密审查表 · {entry.title}")
    pdf.add_font("cjk", fname=font)
    pdf.add_page()
    pdf.set_font("cjk", size=18)
    pdf.cell(0, 14, "信息发布保密审查表", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=11)
    pdf.cell(pdf.epw / 2, 9, f"编号：{number}")
    pdf.cell(pdf.epw / 2, 9, f"送审日期：{_day(entry.submitted_at)}", align="R",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    for label, text, minimum in _rows(entry):
        _line(pdf, label, text, minimum)
    pdf.ln(4)
    pdf.set_font("cjk", size=9)
    pdf.multi_cell(0, 5, NOTE)
    return bytes(pdf.output())
