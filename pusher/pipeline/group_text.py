"""The plain text a customer group (客户群) receives: the group-chat summary, unmarked.

A WeCom mass message is plain text, so the robot's markdown summary (``push.texts``'
``wecom`` text) loses its markup: the bold title, the quote mark of the lead, and the
``[查看全文](url)`` link, which becomes ``查看全文：<link>`` with the link given (the
item's short link, naming the group when the message goes to one group only).
"""

from __future__ import annotations

import re
from typing import Any

from pusher.pipeline.texts import short_code

_LINK = re.compile(r"^\[查看全文\]\([^)]*\)$")
_BOLD = re.compile(r"^\*\*(.*)\*\*$")


def group_link(item_link: str, chat_ids: list[int]) -> str:
    """The item's short link; with ``?g=<chat id, base 36>`` when it is for one group
    (a task to several groups carries one text, so no group can be named in it)."""
    if len(chat_ids) == 1:
        return f"{item_link}?g={short_code(chat_ids[0])}"
    return item_link


def plain_group_text(texts: dict[str, Any], link: str) -> str:
    """The push's group-chat summary as plain text ending with ``link``."""
    wecom = texts.get("wecom")
    markdown = str(wecom.get("text", "")) if isinstance(wecom, dict) else ""
    lines: list[str] = []
    for line in markdown.splitlines():
        if _LINK.match(line):
            continue
        if bold := _BOLD.match(line):
            line = bold.group(1)
        elif line.startswith("> "):
            line = line[2:]
        lines.append(line)
    if not lines:
        wechat = texts.get("wechat")
        title = wechat.get("title", "") if isinstance(wechat, dict) else ""
        lines = [str(title) or "通知"]
    return "\n".join([*lines, f"查看全文：{link}"])
