"""The text a keeper forwards to an ordinary WeChat group: the group-chat summary (the
WeCom robot's markdown, :mod:`.wecom`) as plain text, with the item's short link
carrying the group's code (``?g=<chat id, base36>``) so opens are counted per group.

The robot markdown is made of a ``**title**`` line, an optional ``> lead`` line, fact
lines and a ``[查看全文](link)`` line; markup characters of the notice's own text were
made full-width there, so removing the markup here touches nothing the office wrote.
"""

from __future__ import annotations

import re
from typing import Any

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_LINK = re.compile(r"^\[[^\]]*\]\([^)]*\)$")


def base36(number: int) -> str:
    if number <= 0:
        raise ValueError("a group chat id is positive")
    out = ""
    while number:
        number, digit = divmod(number, 36)
        out = _DIGITS[digit] + out
    return out


def group_link(link: str, chat_id: int) -> str:
    """The item's short link naming the group chat it is posted in."""
    return f"{link}{'&' if '?' in link else '?'}g={base36(chat_id)}"


def plain_lines(markdown: str) -> list[str]:
    """The robot markdown's lines as plain text, without its link line."""
    lines = []
    for raw in markdown.splitlines():
        line = raw.strip()
        if not line or _LINK.match(line):
            continue
        if line.startswith("**") and line.endswith("**") and len(line) > 4:
            line = line[2:-2]
        elif line.startswith("> "):
            line = line[2:]
        lines.append(line)
    return lines


def relay_text(texts: dict[str, Any], chat_id: int) -> str:
    """What the keeper pastes into the group: the push's group-chat summary as plain
    text, then 查看全文 and the group's short link."""
    wecom = texts.get("wecom") or {}
    lines = plain_lines(str(wecom.get("text") or "")) or [str(wecom.get("title") or "通知")]
    if texts.get("urgent") and not lines[0].startswith("【紧急】"):
        lines[0] = f"【紧急】{lines[0]}"
    link = texts.get("link")
    if link:
        lines.append(f"查看全文：{group_link(str(link), chat_id)}")
    return "\n".join(lines)
