"""Every benchmark ``pusher bench`` lists runs to the end at its smallest shape.

The figures of a smoke run mean nothing; what is checked is that each benchmark
still works against the current code (a benchmark without ``run()``, or one broken
by a change elsewhere, stopped a plain ``pusher bench`` before the later ones).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pusher.cli.bench import BENCHMARKS

REPO = Path(__file__).resolve().parents[2]
#: Benchmarks that use the machine's PostgreSQL or Redis (chaos starts its own Redis too).
PRODUCTION = {"ratelimit", "plan", "chaos", "county"}


def _case(name: str) -> object:
    marks = [pytest.mark.production] if name in PRODUCTION else []
    return pytest.param(name, marks=marks, id=name)


def _env(tmp_path: Path) -> dict[str, str]:
    own = ("PUSHER_BENCH_", "PUSHER_CHAOS_")  # where the benchmarks find servers and ports
    env = {k: v for k, v in os.environ.items() if k.startswith(own) or not k.startswith("PUSHER_")}
    return env | {"PUSHER_JIEBA_CACHE_DIR": str(tmp_path / "jieba"), "PYTHONPATH": str(REPO)}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", [_case(n) for n in BENCHMARKS])
def test_every_benchmark_runs_at_its_smallest_shape(name: str, tmp_path: Path) -> None:
    returncode, stdout, stderr = _run_in_own_group(
        [sys.executable, "-m", "pusher.cli.main", "bench", name, "--smoke"],
        env=_env(tmp_path),
        timeout=230,
    )
    assert returncode == 0, stderr[-3000:]
    assert f"== {name} (" in stdout and "(no rows)" not in stdout, stdout


@pytest.mark.production
@pytest.mark.timeout(240)
def test_chaos_with_cmpp_in_place_of_aliyun_reaches_everyone_once(tmp_path: Path) -> None:
    """The smoke run fails by itself on a lost or duplicated resident or a receipt never
    applied; here also the CMPP gateway must have been used and its link dropped."""
    returncode, stdout, stderr = _run_in_own_group(
        [sys.executable, "-m", "pusher.cli.main", "bench", "chaos", "--smoke", "--sms", "cmpp"],
        env=_env(tmp_path),
        timeout=230,
    )
    assert returncode == 0, stderr[-3000:]
    assert "== chaos (" in stdout and " cmpp " in stdout, stdout
    assert "dropped 0," not in stdout and "drop cmpp link at" in stdout, stdout


def _run_in_own_group(
    args: list[str], *, env: dict[str, str], timeout: float
) -> tuple[int, str, str]:
    """Run a benchmark in a process group of its own; on a timeout the whole group goes,
    so no emulator, worker or Redis of a chaos run outlives it (and holds its port)."""
    proc = subprocess.Popen(
        args, cwd=REPO, env=env, text=True, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"bench did not finish in {timeout:g} s: {stderr[-3000:]}")
    return proc.returncode, stdout, stderr
