"""The plain text a customer group (客户群) receives: the group-chat summary, unmarked.

A WeCom mass message is plain text, so the robot's markdown summary (``push.texts``'
``wecom`` text) loses its markup: the bold title, the quote mark of the lead, and the
``[查看全文](url)`` link, which becomes ``查看全文：<link>`` with the link given (the
item's short link, naming the group when the message goes to one group only).
"""

from __future__ import annotations

from typing import Any

from pusher.summary.relay import group_link as one_group_link
from pusher.summary.relay import plain_lines


def group_link(item_link: str, chat_ids: list[int]) -> str:
    """The item's short link; with ``?g=<chat id, base 36>`` when it is for one group
    (a task to several groups carries one text, so no group can be named in it)."""
    if len(chat_ids) == 1:
        return one_group_link(item_link, chat_ids[0])
    return item_link


def plain_group_text(texts: dict[str, Any], link: str) -> str:
    """The push's group-chat summary as plain text ending with ``link``."""
    wecom = texts.get("wecom")
    markdown = str(wecom.get("text", "")) if isinstance(wecom, dict) else ""
    lines = plain_lines(markdown)
    if not lines:
        wechat = texts.get("wechat")
        title = wechat.get("title", "") if isinstance(wechat, dict) else ""
        lines = [str(title) or "通知"]
    return "\n".join([*lines, f"查看全文：{link}"])
