"""Versus Apprise, in one run: the clients alone, and with every message's status persisted.

Run: ``pusher bench apprise [--quick]`` (10,000 messages; 2,000 with ``--quick``).

Both sides post one JSON request per message to the same trivial sink in another
process. (a) Client only: our :class:`~channels.wechat.WeChatChannel` against
Apprise's ``json://`` plugin, no database on either side. (b) Status persisted:
our real dispatch path (rows written by ``plan_push``, claimed, sent, outcomes
recorded) against Apprise sending the same rows' messages and writing an UPDATE
per message's result; SQLite on both sides. Each pair is measured three times
and our row carries how many times faster (best, median) and cheaper in CPU
(median) ours was. The code is in ``bench_dispatch.py``, whose helpers it shares.
"""

from __future__ import annotations

from typing import Any

from bench_dispatch import REPEATS, apprise_rows


def run(*, quick: bool, smoke: bool = False) -> list[dict[str, Any]]:
    """Four rows: (a) ours and Apprise, client only; (b) ours and Apprise, status persisted.

    ``smoke``: 100 messages once (figures mean nothing)."""
    if smoke:
        return apprise_rows(100, 1)
    return apprise_rows(2_000 if quick else 10_000, REPEATS)
