"""What every layer may ask of the job queue: enqueue a job by name, with a deterministic id.

The queues themselves (arq's, the embedded one) are built in ``pusher/runtime/queue.py``;
code below the runtime (staff notices, say) takes one of these and enqueues on it.
"""

from __future__ import annotations

from typing import Any, Protocol


class JobQueue(Protocol):
    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None: ...
