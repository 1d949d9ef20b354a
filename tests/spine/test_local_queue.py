"""The in-process queue remembers a job id only while its job is queued or running, as arq
(``keep_result=0``) does in production: a long-running embedded service keeps no history."""

from __future__ import annotations

import asyncio
from typing import Any

from pusher.runtime.queue import LocalQueue


async def test_an_id_is_a_no_op_while_pending_and_free_once_its_job_ended() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    runs: list[int] = []

    async def job(_ctx: dict[str, Any], n: int) -> None:
        runs.append(n)
        started.set()
        await release.wait()

    queue = LocalQueue({"job": job})
    await queue.enqueue("job", 1, job_id="a")
    await queue.enqueue("job", 2, job_id="a")  # queued: the same job
    await started.wait()
    await queue.enqueue("job", 3, job_id="a")  # running: the same job
    assert queue.pending == {"a"}
    release.set()
    await queue.join()
    assert runs == [1] and queue.pending == frozenset()
    await queue.enqueue("job", 4, job_id="a")  # ended: it may run again
    await queue.join()
    assert runs == [1, 4]


async def test_ten_thousand_jobs_done_failed_or_cancelled_leave_no_id_behind() -> None:
    async def fine(_ctx: dict[str, Any]) -> None:
        return None

    async def broken(_ctx: dict[str, Any]) -> None:
        raise RuntimeError("provider down")

    async def stuck(_ctx: dict[str, Any]) -> None:
        await asyncio.Event().wait()

    queue = LocalQueue({"fine": fine, "broken": broken, "stuck": stuck})
    for n in range(10_000):
        await queue.enqueue("fine" if n % 2 else "broken", job_id=f"dispatch:{n}")
    await queue.join()
    assert queue.pending == frozenset()
    assert len(queue.failures) == LocalQueue.MAX_FAILURES  # the last ones, not all 5,000
    await queue.enqueue("stuck", job_id="stuck")
    await asyncio.sleep(0)
    await queue.close()
    assert queue.pending == frozenset()


async def test_forget_lets_an_id_run_again_and_the_old_job_does_not_free_the_new_one() -> None:
    release = asyncio.Event()
    runs: list[str] = []

    async def job(_ctx: dict[str, Any], name: str) -> None:
        runs.append(name)
        await release.wait()

    queue = LocalQueue({"job": job}, concurrency=2)
    await queue.enqueue("job", "first", job_id="sweep")
    queue.forget("sweep")
    await queue.enqueue("job", "second", job_id="sweep")
    await asyncio.sleep(0)
    release.set()
    await asyncio.sleep(0)
    await queue.enqueue("job", "third", job_id="sweep")  # one of the two may still hold it
    await queue.join()
    assert runs[:2] == ["first", "second"] and queue.pending == frozenset()
