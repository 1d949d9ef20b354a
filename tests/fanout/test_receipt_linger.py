"""Callbacks that trickle in share transactions: the applier waits a moment for more."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, cast

import pytest

from channels.base import CallbackBatch, ChannelKind, Receipt
from pusher.web.receipt_batch import LINGER_BELOW, ReceiptApplier


class _Counting(ReceiptApplier):
    """An applier whose transaction only records what it was given (1 ms each)."""

    sizes: list[int]

    async def _commit(self, taken: list[Any]) -> tuple[set[int], int]:
        self.sizes.append(len(taken))
        await asyncio.sleep(0.001)
        return set(), 0


def _counting(**kw: float) -> _Counting:
    """A counting applier (its ``linger`` as given) with nothing recorded yet."""
    applier = _Counting(db=cast(Any, None), queue=cast(Any, None), **kw)
    applier.sizes = []
    return applier


#: one WeChat receipt, as a TEMPLATESENDJOBFINISH callback carries
ONE = CallbackBatch(receipts=[Receipt("m", True, "success")])


async def test_callbacks_arriving_a_millisecond_apart_share_transactions() -> None:
    # A county push's WeChat callbacks, one receipt each, came about 34 to a transaction
    # without the wait, about 47 with it (1M run, pusher serve's log lines).
    applier = _counting()

    async def callback(n: int) -> None:
        await asyncio.sleep(0.001 * n)
        batch = CallbackBatch(receipts=[Receipt(f"m{n}", True, "success")])
        await applier.apply("wechat", ChannelKind.WECHAT, batch)

    await asyncio.gather(*(callback(n) for n in range(60)))
    assert sum(applier.sizes) == 60
    assert len(applier.sizes) <= 15, applier.sizes


async def test_a_backlog_is_applied_without_lingering() -> None:
    # The posters of a county push's callbacks each wait for their answer: when enough
    # are waiting already, another wait only slows every one of them.
    applier = _counting(linger=10.0)
    backlog = (applier.apply("wechat", ChannelKind.WECHAT, ONE) for _ in range(LINGER_BELOW))
    await asyncio.wait_for(asyncio.gather(*backlog), timeout=2.0)
    assert applier.sizes == [LINGER_BELOW]


async def test_a_few_waiting_callbacks_still_linger_for_company() -> None:
    applier = _counting(linger=0.05)
    started = time.monotonic()
    few = (applier.apply("wechat", ChannelKind.WECHAT, ONE) for _ in range(LINGER_BELOW - 1))
    await asyncio.gather(*few)
    assert time.monotonic() - started >= 0.05
    assert applier.sizes == [LINGER_BELOW - 1]


async def test_each_transactions_log_line_gives_its_milliseconds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    applier = _counting(linger=0.0)
    with caplog.at_level(logging.INFO, logger="pusher.web.receipt_batch"):
        await applier.apply("wechat", ChannelKind.WECHAT, ONE)
    lines = [vars(r) for r in caplog.records if r.getMessage() == "receipts applied"]
    assert len(lines) == 1 and lines[0]["ms"] >= 1.0  # the commit above sleeps 1 ms
