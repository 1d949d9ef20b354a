"""The source poller: 200 county columns polled every 5 minutes, CPU and memory per round.

Run: ``pusher bench sources [--quick]`` (or ``.venv/bin/python bench/bench_sources.py``).

200 sources (``html``, TRS list pages of 20 notices each, 10 with ``--quick``) on a local
fixture server (the test suite's county pages, ``tests/sources/fixtures.py``) that runs
in a child process, so its work is not the poller's. Rounds, each 5 minutes after the
last (the sources' ``last_fetch_at`` is moved back instead of waiting): the first reads
every list and detail page and makes the drafts; the second finds nothing changed
(ETag 304s); before the third, one source in ten has a new notice at the top of its list.
Per round: wall seconds, the poller process's CPU seconds (``time.process_time``: the
fetches, the extraction and the SQLite writes), its peak RSS, what the rounds found, and
the machine's load average (other engineers share the machine). Pacing per host is off
(every source is on 127.0.0.1); the real default is one request a second per host.
"""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import update

from pusher.db import create_engine, session_factory, transaction
from pusher.models import Region, Source, utcnow
from pusher.ops.migrate import upgrade
from pusher.sources.fetch import Fetcher
from pusher.sources.poll import poll_due

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the fixture pages live with the tests
    sys.path.insert(0, str(ROOT))

from tests.sources.fixtures import Site, site_app, trs_detail, trs_list  # noqa: E402

BODY = (
    "为做好2026年度城乡居民最低生活保障资金发放工作，现将有关事项通知如下。"
    "各村（社区）要于12月10日前完成复核。"
)


def _notice(site: Site, source: int, n: int) -> tuple[str, str, str]:
    """One notice of ``source``: its detail page on ``site``, and its list row."""
    doc = f"t20261201_{source * 1000 + n + 1}"  # TRS names a document t<date>_<id>
    href = f"./202612/{doc}.html"
    title = f"关于做好第{source}批第{n}号城乡低保资金发放工作的通知"
    site.put(f"/s{source}/202612/{doc}.html", trs_detail(
        n, title, BODY, day="2026-12-01", index=f"360123-{source:04d}-2026-{n:05d}",
        number=f"某民发〔2026〕{n}号",
    ))  # fmt: skip
    return href, title, "2026-12-01"


def _pages(sources: int, rows: int, changed: int = 0) -> Site:
    """The pages of every source; the first ``changed`` sources have one more notice."""
    site = Site()
    for s in range(sources):
        extra = [rows] if s < changed else []
        listed = [_notice(site, s, n) for n in [*extra, *range(rows)]]
        site.put(f"/s{s}/index.html", trs_list(listed, count_page=1))
    return site


def _serve(port: int, sources: int, rows: int, changed: int) -> None:
    from aiohttp import web

    web.run_app(
        site_app(_pages(sources, rows, changed)), host="127.0.0.1", port=port,
        print=None, handle_signals=True, access_log=None,
    )  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError("fixture server did not start")


class Server:
    """The fixture server in a child process; ``start`` again serves changed pages."""

    def __init__(self, sources: int, rows: int) -> None:
        self.port = _free_port()
        self.sources, self.rows = sources, rows
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self, changed: int = 0) -> None:
        self.stop()
        args = [str(v) for v in (self.port, self.sources, self.rows, changed)]
        command = [sys.executable, __file__, "--serve", *args]
        self.proc = await asyncio.to_thread(subprocess.Popen, command)
        await _wait(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


async def _setup(url: str, base: str, sources: int) -> None:
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    async with transaction(session_factory(engine)) as session:
        region = Region(code="360123101", name="某某镇", kind="town", path="/360123101/")
        session.add(region)
        await session.flush()
        assert region.id is not None
        session.add_all(
            Source(
                name=f"县政务公开栏目 {s}", kind="html", url=f"{base}/s{s}/index.html",
                region_id=region.id, domain="社会救助", interval_minutes=5,
            )
            for s in range(sources)
        )
    await engine.dispose()


async def _round(url: str, port: int, label: str) -> dict[str, Any]:
    engine = create_engine(url)
    db = session_factory(engine)
    async with transaction(db) as session:  # 5 minutes have passed since the last round
        await session.execute(update(Source).values(last_fetch_at=utcnow() - timedelta(minutes=5)))
    hosts = frozenset({"127.0.0.1"})
    async with aiohttp.ClientSession() as http:
        fetcher = Fetcher(http, timeout=20.0, per_host_interval=0.0, hosts=hosts)
        wall, cpu = time.perf_counter(), time.process_time()
        reports = await poll_due(db, fetcher, max_body_chars=50_000)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await engine.dispose()
    found: Counter[str] = Counter()
    for report in reports:
        found.update(report.outcomes)
    return {
        "round": label,
        "sources": len(reports),
        "errors": sum(r.error is not None for r in reports),
        "found": dict(found),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_source": round(cpu * 1000 / max(1, len(reports)), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_1min": round(os.getloadavg()[0], 2),
    }


async def _run(sources: int, rows: int) -> list[dict[str, Any]]:
    server = Server(sources, rows)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        try:
            await server.start()
            await _setup(url, f"http://127.0.0.1:{server.port}", sources)
            out = [await _round(url, server.port, "first (all new)")]
            out.append(await _round(url, server.port, "unchanged"))
            await server.start(changed=max(1, sources // 10))
            out.append(await _round(url, server.port, "1 in 10 changed"))
        finally:
            server.stop()
    return out


def run(*, quick: bool = False, smoke: bool = False) -> list[dict[str, Any]]:
    """Rows per round (see the module docstring)."""
    sources, rows = (3, 2) if smoke else (200, 10 if quick else 20)
    return asyncio.run(_run(sources, rows))


if __name__ == "__main__":
    from pusher.cli.bench import table

    if sys.argv[1:2] == ["--serve"]:
        _serve(*(int(v) for v in sys.argv[2:6]))
        sys.exit(0)
    print(table(run(quick="--quick" in sys.argv, smoke="--smoke" in sys.argv)))
