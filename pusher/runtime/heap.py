"""The garbage collector in a long-running process (serve, worker, emulator).

What such a process builds at startup (modules, settings, SQLAlchemy's mappings and
caches, the routes, jieba's dictionary) lives until it stops, yet Python's full
collections walk all of it again and again. In a county push (``pusher bench county
--quick``), ``pusher serve`` held about 220,000 objects: 11 full collections in 20 s took
1.2 s and held its event loop about 100 ms each, while it applied receipts; the GC
was about a fifth of its CPU (py-spy). After startup, :func:`settle_heap` collects
once and freezes what survived (never walked again), and lets more objects be
allocated between two young collections, so that short-lived ones (a request's,
a batch's) are mostly freed by their reference counts before a collection sees them.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

#: Allocations (net of frees) between two young collections; Python's default is 700.
YOUNG_THRESHOLD = 10_000


def settle_heap() -> int:
    """Collect, freeze the survivors, space young collections; returns objects frozen."""
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)
    frozen = gc.get_freeze_count()
    log.info("heap settled", extra={"frozen_objects": frozen})
    return frozen


async def settle_on_startup(_app: object) -> None:
    """:func:`settle_heap` as an aiohttp ``on_startup`` hook (append it last)."""
    settle_heap()
