"""Schemathesis against the OpenAPI document, as every role: no server errors, answers conform.

A live embedded service (SQLite, a small town) on a free loopback port; the Schemathesis
CLI runs all of its checks against ``/api/v1/openapi.json`` once per role, with a fixed
seed and a small number of examples per operation so the whole test stays bounded.
"""

from __future__ import annotations

import asyncio
import sys
from asyncio.subprocess import PIPE, STDOUT
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select

from pusher.db import transaction
from pusher.models import Role, User
from pusher.pipeline import ingest
from pusher.runtime.resources import bind_local, open_resources
from pusher.settings import Settings
from pusher.web.app import create_app
from pusher.web.auth import hash_token
from tests.spine.conftest import start

ST = Path(sys.executable).with_name("st")
EXAMPLES = 12
# Schema-valid bodies the API still refuses, for reasons JSON Schema cannot state: an
# unknown region code, a title of blanks only (stripped), a body over
# PUSHER_MAX_BODY_CHARS. They must be 422/413 with a message, never a 500.
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "413", "422"]
"""
pytestmark = pytest.mark.timeout(300)


@pytest.fixture
async def base_url(sqlite_settings: Settings) -> AsyncIterator[str]:
    town, _ = await start(sqlite_settings, residents=40)
    async with open_resources(sqlite_settings) as resources:
        bind_local(resources)
        async with transaction(resources.db) as session:
            known = set((await session.scalars(select(User.username))).all())
            for role in Role:  # admin, and any role added since the town was built
                if role.value not in known:
                    session.add(
                        User(username=role.value, role=role, api_token_hash=hash_token(role.value))
                    )
            sample = {"title": "关于秋季征兵的通知", "body": "适龄青年请到镇武装部报名。"}
            data = ingest.ItemIn(**sample, publisher="青山镇", region_code=town.town_code)
            await ingest.create_item(session, data, max_body_chars=50_000)
        runner = web.AppRunner(create_app(sqlite_settings, resources=resources))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        try:
            yield f"http://{host}:{port}"
        finally:
            await runner.cleanup()


async def _schemathesis(base_url: str, role: str, config: Path) -> tuple[int, str]:
    args = [
        *("--config-file", str(config), "run", f"{base_url}/api/v1/openapi.json"),
        *("--checks", "all", "--header", f"Authorization: Bearer {role}"),
        *("--max-examples", str(EXAMPLES), "--seed", "20240601", "--workers", "1"),
        *("--generation-database", "none", "--no-shrink", "--request-timeout", "20"),
    ]
    proc = await asyncio.create_subprocess_exec(
        str(ST), "--no-color", *args, stdout=PIPE, stderr=STDOUT
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace")


async def test_schemathesis_finds_no_server_error_for_any_role(
    base_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    failed = {}
    for role in Role:
        code, out = await _schemathesis(base_url, role.value, config)
        if code != 0:
            failed[role.value] = out
    assert not failed, "\n\n".join(f"== {role}\n{out}" for role, out in failed.items())
