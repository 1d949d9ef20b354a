"""``pusher bench``: run the benchmarks under ``bench/``, print tables, write JSON.

Each benchmark is a file ``bench/bench_NAME.py`` with ``run(*, quick: bool, smoke: bool)``
returning rows (dicts) of figures. They are listed here explicitly. ``--smoke`` runs
each at its smallest shape, to see that it works at all (the test suite does); its
figures mean nothing and are not written to ``bench/results/``. ``--sms PROVIDER``
runs the chaos benchmark with that SMS provider (``cmpp``: a CMPP gateway instead
of the Aliyun emulator); only chaos takes it, and its results go to ``chaos_cmpp.json``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCHMARKS = (
    "pipeline",
    "match",
    "summary",
    "ratelimit",
    "wechat_executor",
    "dispatch",
    "apprise",
    "plan",
    "chaos",
    "classify",
    "county",
    "sources",
)

Rows = list[dict[str, Any]]
#: The resident columns benchmarks bulk-load (``COPY`` or ``executemany``), in row order.
RESIDENT_COLUMNS = (
    "name",
    "region_id",
    "phone",
    "openid",
    "wechat_follows",
    "sms_consent",
    "wechat_opt_out",
    "sms_opt_out",
    "created_at",
)
#: The server benchmarks create their scratch PostgreSQL databases on.
PG_ADMIN = os.environ.get("PUSHER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


@asynccontextmanager
async def scratch_database(backend: str) -> AsyncIterator[str]:
    """A fresh SQLite file, or a database of its own on ``PG_ADMIN``'s server (dropped
    afterwards); yields its SQLAlchemy URL."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        return
    import asyncpg  # type: ignore[import-untyped]

    name = f"pusher_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://{PG_ADMIN.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def bench_dir() -> Path:
    """``bench/`` of the working tree (the current directory or the source checkout)."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (root / "bench").is_dir():
            return root / "bench"
    raise FileNotFoundError("bench/ not found: run pusher bench from the repository root")


def _load(name: str) -> Callable[..., Rows]:
    path = bench_dir() / f"bench_{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    if spec is None or spec.loader is None or not path.exists():
        raise FileNotFoundError(f"no benchmark {name!r} ({path})")
    module = importlib.util.module_from_spec(spec)
    if str(path.parent) not in sys.path:  # their shared helpers: ``import stack``
        sys.path.insert(0, str(path.parent))
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    run: Callable[..., Rows] = module.run
    return run


def table(rows: Rows) -> str:
    """Rows as an aligned text table."""
    if not rows:
        return "(no rows)"
    columns = list(dict.fromkeys(k for row in rows for k in row))
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


#: The benchmarks that take ``--sms``.
SMS_CHOICE = ("chaos",)


def run_benchmarks(
    names: Sequence[str], *, quick: bool, smoke: bool = False, sms: str | None = None
) -> int:
    """Run ``names`` (all when empty); returns the exit code."""
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}",
            file=sys.stderr,
        )
        return 2
    if sms is not None and (not names or any(n not in SMS_CHOICE for n in names)):
        print(f"--sms applies only to: {', '.join(SMS_CHOICE)}", file=sys.stderr)
        return 2
    extra = {"sms": sms} if sms is not None else {}
    results = bench_dir() / "results"
    results.mkdir(exist_ok=True)
    for name in names or BENCHMARKS:
        started = time.perf_counter()
        rows = _load(name)(quick=quick or smoke, smoke=smoke, **extra)
        elapsed = time.perf_counter() - started
        print(f"\n== {name} ({elapsed:.1f} s{', smoke' if smoke else ''}) ==\n{table(rows)}")
        if smoke:
            continue
        record = {
            "benchmark": name,
            "quick": quick,
            "at": datetime.now(UTC).isoformat(),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cores": os.cpu_count(),
            "load_1min_at_end": round(os.getloadavg()[0], 2),
            "seconds": round(elapsed, 2),
            "rows": rows,
        }
        if sms is not None:
            record["sms"] = sms
        stem = f"{name}_{sms}" if sms not in (None, "aliyun") else name
        (results / f"{stem}.json").write_text(json.dumps(record, ensure_ascii=False, indent=2))
    return 0
