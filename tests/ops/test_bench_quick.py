"""Every benchmark ``pusher bench`` lists runs to the end at its smallest shape.

The figures of a smoke run mean nothing; what is checked is that each benchmark
still works against the current code (a benchmark without ``run()``, or one broken
by a change elsewhere, stopped a plain ``pusher bench`` before the later ones).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pusher.benchmarks import BENCHMARKS

REPO = Path(__file__).resolve().parents[2]
#: Benchmarks that use the machine's PostgreSQL or Redis (chaos starts its own Redis too).
PRODUCTION = {"ratelimit", "plan", "chaos", "county"}


def _case(name: str) -> object:
    marks = [pytest.mark.production] if name in PRODUCTION else []
    return pytest.param(name, marks=marks, id=name)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", [_case(n) for n in BENCHMARKS])
def test_every_benchmark_runs_at_its_smallest_shape(name: str, tmp_path: Path) -> None:
    own = ("PUSHER_BENCH_", "PUSHER_CHAOS_")  # where the benchmarks find servers and ports
    env = {k: v for k, v in os.environ.items() if k.startswith(own) or not k.startswith("PUSHER_")}
    env |= {"PUSHER_JIEBA_CACHE_DIR": str(tmp_path / "jieba"), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "pusher.cli", "bench", name, "--smoke"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=230,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"== {name} (" in done.stdout and "(no rows)" not in done.stdout, done.stdout
