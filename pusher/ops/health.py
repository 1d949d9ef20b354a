"""Readiness checks behind ``/readyz`` (routes: :mod:`pusher.web.monitoring`).

Readiness checks what a request or job needs: the database answers ``SELECT 1``,
Redis answers ``PING`` when one is configured, and the schema is at the newest
migration. A failing check makes ``/readyz`` answer 503 with a JSON body naming
it, so an orchestrator stops routing traffic to the process until it is fixed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from arq.connections import ArqRedis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from pusher.ops.migrate import current_revision, head_revision

log = logging.getLogger(__name__)
CHECK_TIMEOUT = 5.0


class Backends(Protocol):
    """What the checks read: the runtime's Resources satisfy it (ops sits below runtime)."""

    @property
    def engine(self) -> AsyncEngine: ...

    @property
    def redis(self) -> ArqRedis | None: ...


class NotReady(Exception):
    """A readiness check failed; the message says why (no secrets in it)."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str = ""

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"ok": self.ok}
        if self.detail:
            body["detail"] = self.detail
        return body


async def check_database(r: Backends) -> None:
    async with r.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def check_redis(r: Backends) -> None:
    assert r.redis is not None
    if not await r.redis.ping():
        raise NotReady("PING 无应答")


async def check_migrations(r: Backends) -> None:
    current = await current_revision(r.engine)
    head = await asyncio.to_thread(head_revision)
    if current != head:
        raise NotReady(f"数据库版本 {current or '无'}，应为 {head}；请运行 pusher db upgrade")


def checks_for(r: Backends) -> list[tuple[str, Callable[[Backends], Awaitable[None]]]]:
    """The checks that apply to this process (Redis only when configured)."""
    checks: list[tuple[str, Callable[[Backends], Awaitable[None]]]] = [
        ("database", check_database)
    ]
    if r.redis is not None:
        checks.append(("redis", check_redis))
    checks.append(("migrations", check_migrations))
    return checks


async def run_check(
    name: str, check: Callable[[Backends], Awaitable[None]], r: Backends
) -> CheckResult:
    """Run one check with a timeout; any error becomes a failed result."""
    try:
        await asyncio.wait_for(check(r), CHECK_TIMEOUT)
    except NotReady as exc:
        return CheckResult(name, False, str(exc))
    except TimeoutError:
        return CheckResult(name, False, f"超时（{CHECK_TIMEOUT:g} 秒）")
    except Exception as exc:  # any failure means not ready
        log.warning("readiness check failed", extra={"check": name, "error": type(exc).__name__})
        return CheckResult(name, False, type(exc).__name__)
    return CheckResult(name, True)


async def readiness(r: Backends) -> list[CheckResult]:
    """Every applicable check's result, the database first."""
    results = []
    for name, check in checks_for(r):
        result = await run_check(name, check, r)
        results.append(result)
        if name == "database" and not result.ok:
            results.append(CheckResult("migrations", False, "数据库不可用，无法检查"))
            break
    return results
