"""Telling an urgent warning from an ordinary notice by its title.

An item is urgent when its title is a warning or an emergency order:

* a colour-graded early-warning signal (蓝色/黄色/橙色/红色预警, the four levels of the
  national 预警信号 standard, for 暴雨, 台风, 大风, 寒潮, 地质灾害 …) or the word 预警信号;
* an emergency response level being started (启动 … 应急响应);
* an emergency notice or order: 紧急通知/通告/公告/提醒, 紧急转移/撤离/疏散,
  立即转移/撤离.

A title announcing that a warning or response is lifted (解除, 终止) is not urgent. The
body is not read: bodies mention warnings in passing (a flood-season plan, a bulletin
about last week's storm), while the issuers of real warnings put them in the title.
"""

from __future__ import annotations

import re

from rules.model import ItemText
from rules.text import normalize

URGENT = "urgent"
NORMAL = "normal"

_URGENT_TITLE = re.compile(
    r"[蓝黄橙红]色(?:预警|警报)"
    r"|预警信号"
    r"|启动.{0,12}应急响应"
    r"|紧急(?:通知|通告|公告|提醒|转移|撤离|疏散|避险)"
    r"|立即(?:转移|撤离|疏散)"
)
_LIFTED = re.compile(r"解除|终止|取消")


def classify_urgency(item: ItemText) -> str:
    """``"urgent"`` when the title is a warning or an emergency order, else ``"normal"``."""
    title = normalize(item.title)
    if _URGENT_TITLE.search(title) and not _LIFTED.search(title):
        return URGENT
    return NORMAL
