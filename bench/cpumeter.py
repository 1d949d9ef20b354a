"""CPU seconds and peak RSS of a benchmark's processes, by kind, read from /proc.

PostgreSQL's share is its backends serving the scratch database (their pids from
``pg_stat_activity``, sampled every second: a backend that exits between two samples
loses at most its last second; the benchmark's own are left out), its autovacuum workers
on their own, and apart from them the server-wide writers
(checkpointer, WAL writer, background writer), which also serve every other database
on the server. pg_stat_statements is not enabled on the machine's server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from stack import cpu_seconds, peak_rss_mb

_BACKENDS = (
    "SELECT pid, CASE WHEN datname IS DISTINCT FROM current_database() THEN 'postgres_aux'"
    " WHEN backend_type = 'autovacuum worker' THEN 'postgres_autovacuum' ELSE 'postgres' END"
    " AS kind FROM pg_stat_activity WHERE pid <> ALL($1::int[]) AND (datname = current_database()"
    " OR backend_type IN ('checkpointer', 'walwriter', 'background writer'))"
)


class Meter:
    """Samples the processes ``pids`` (pid → kind) and the database's backends."""

    def __init__(self, url: str, pids: dict[int, str], *, ignore: tuple[int, ...] = ()) -> None:
        self._url = url
        self._ignore = list(ignore)  # the benchmark's own backends
        self._conn: Any = None
        self._stopping = asyncio.Event()
        self.kinds = dict(pids)
        self.base: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.peak: dict[int, float] = {}
        #: (wall time, CPU seconds of the workers and the database's backends so far)
        self.series: list[tuple[float, float]] = []

    async def sample(self, *, baseline: bool = False) -> None:
        """Read every process once; with ``baseline``, what they used so far is not counted."""
        if self._conn is None:
            self._conn = await asyncpg.connect(self._url)
            self._ignore.append(self._conn.get_server_pid())
        for row in await self._conn.fetch(_BACKENDS, self._ignore):
            self.kinds.setdefault(int(row["pid"]), str(row["kind"]))
        for pid, _ in self.kinds.items():
            cpu = cpu_seconds(pid)
            if cpu is None:
                continue
            self.base.setdefault(pid, cpu if baseline else 0.0)
            self.last[pid] = cpu
            self.peak[pid] = max(self.peak.get(pid, 0.0), peak_rss_mb(pid) or 0.0)
        self.series.append((time.time(), self.cpu("worker") + self.cpu("postgres")))

    async def run(self, every: float = 1.0) -> None:
        """Sample every ``every`` seconds until :meth:`stop`."""
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), every)
            except TimeoutError:
                await self.sample()

    def stop(self) -> None:
        """End :meth:`run` after the sample in progress (a cancel could land in the middle
        of its query and leave the connection busy for the next sample: a 22-minute run
        of ``pusher bench county`` ended on "another operation is in progress")."""
        self._stopping.set()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()

    def cpu(self, kind: str) -> float:
        """CPU seconds the processes of ``kind`` used since the baseline."""
        return sum(
            self.last[p] - self.base[p]
            for p, k in self.kinds.items()
            if k == kind and p in self.last
        )

    def rss(self, kind: str) -> list[float]:
        """Peak RSS in MB of each process of ``kind`` (PostgreSQL's include the shared
        buffers they touched)."""
        return [
            round(self.peak[p], 1) for p, k in self.kinds.items() if k == kind and p in self.peak
        ]

    def at(self, when: float) -> float:
        """Workers' and backends' CPU seconds at wall time ``when`` (interpolated)."""
        before = [(t, c) for t, c in self.series if t <= when] or self.series[:1]
        after = [(t, c) for t, c in self.series if t >= when] or self.series[-1:]
        (t0, c0), (t1, c1) = before[-1], after[0]
        return c0 if t1 <= t0 else c0 + (c1 - c0) * (when - t0) / (t1 - t0)


@dataclass(frozen=True)
class Counts:
    """Messages the providers accepted (rows' ``sent_at``) by channel and window."""

    sms: int
    sms_while_planning: int
    wechat: int
    wechat_while_planning: int
    wechat_before_last_sms: int


#: What :func:`split_cost` answers (None each when it cannot tell).
COST_FIELDS = ("us_per_sms", "us_per_wechat", "us_planning_per_message", "us_per_sms_all_planning")
#: The window between the end of planning and the last SMS must be this long (seconds,
#: meter samples are a second apart) to tell an SMS's send from planning.
MIN_WINDOW = 3.0


def attribute(
    cpu_at: Callable[[float], float],
    approved: float,
    planned: float | None,
    sms_at: float,
    wechat_at: float,
    n: Counts,
) -> dict[str, float | None]:
    """Workers' and backends' CPU µs per SMS recipient and per WeChat message, each
    carrying its share of planning.

    Three windows, three unknowns: after the last SMS only WeChat messages go out (the
    cost of one); between the end of planning and the last SMS, SMS and WeChat (the
    cost of an SMS's send, the WeChat ones taken out); from approval to the end of
    planning, planning and the sends of that time (what is left is planning, shared out
    over the messages sent). Without that middle window (planning ended with the SMS)
    planning is charged to the SMS part, as a cost no lower than the truth.
    """
    wechat_after = max(n.wechat - n.wechat_before_last_sms, 1)
    per_wechat = (cpu_at(wechat_at) - cpu_at(sms_at)) / wechat_after
    sent = max(n.sms + n.wechat, 1)
    sms_in_window = n.sms - n.sms_while_planning
    before = cpu_at(sms_at) - cpu_at(approved) - n.wechat_before_last_sms * per_wechat
    # every row's planning on the SMS part: an upper bound, steadier from run to run than
    # the split below (which reads planning off a window a few seconds long)
    all_planning = round(before / max(n.sms, 1) * 1e6, 1)
    if planned is None or sms_at - planned < MIN_WINDOW or sms_in_window < 1000:
        return {
            "us_per_sms": all_planning,
            "us_per_wechat": round(per_wechat * 1e6, 1),
            "us_planning_per_message": None,
            "us_per_sms_all_planning": all_planning,
        }
    wechat_in_window = n.wechat_before_last_sms - n.wechat_while_planning
    window = cpu_at(sms_at) - cpu_at(planned) - wechat_in_window * per_wechat
    per_sms = window / sms_in_window
    planning = (
        cpu_at(planned)
        - cpu_at(approved)
        - n.sms_while_planning * per_sms
        - n.wechat_while_planning * per_wechat
    )
    share = max(planning, 0.0) / sent
    return {
        "us_per_sms": round((per_sms + share) * 1e6, 1),
        "us_per_wechat": round((per_wechat + share) * 1e6, 1),
        "us_planning_per_message": round(share * 1e6, 1),
        "us_per_sms_all_planning": all_planning,
    }


_COUNTS = (
    "SELECT extract(epoch FROM p.planned_at)::float8 AS planned,"
    " count(d.sent_at) FILTER (WHERE d.channel = 'sms') AS sms,"
    " count(*) FILTER (WHERE d.channel = 'sms' AND d.sent_at <= p.planned_at)"
    " AS sms_while_planning,"
    " count(d.sent_at) FILTER (WHERE d.channel = 'wechat') AS wechat,"
    " count(*) FILTER (WHERE d.channel = 'wechat' AND d.sent_at <= p.planned_at)"
    " AS wechat_while_planning,"
    " count(*) FILTER (WHERE d.channel = 'wechat' AND extract(epoch FROM d.sent_at) <= $2)"
    " AS wechat_before_last_sms"
    " FROM delivery d JOIN push p ON p.id = d.push_id WHERE p.item_id = $1"
    " GROUP BY p.planned_at"
)


async def split_cost(
    conn: Any, meter: Meter, item_id: int, approved: float, last: dict[str, float | None]
) -> dict[str, float | None]:
    """:func:`attribute` for the county's push (None when the SMS did not finish at
    least 5 s before WeChat)."""
    sms_at, wechat_at = last.get("sms"), last.get("wechat")
    if sms_at is None or wechat_at is None or wechat_at - sms_at < 5:
        return dict.fromkeys(COST_FIELDS)
    row = await conn.fetchrow(_COUNTS, item_id, sms_at)
    counts = Counts(*(int(row[f]) for f in Counts.__dataclass_fields__))
    return attribute(meter.at, approved, row["planned"], sms_at, wechat_at, counts)
