"""Console sessions and login: revocation, same-origin redirects, throttling, timing,
cookie flags and security headers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from ipaddress import ip_network

import pytest
from aiohttp.test_utils import make_mocked_request
from sqlalchemy import select

from pusher.console import passwords
from pusher.console.throttle import PER_ADDRESS, PER_USER, WINDOW_SECONDS
from pusher.models import User
from pusher.settings import Settings
from pusher.web.clients import client_address
from pusher.web.counters import MemoryCounter, RedisCounter
from tests.conftest import REDIS
from tests.console.test_console import CSRF, PASSWORD, Console, _console, db_of

COOKIE = "pusher_session"


@pytest.fixture
async def console(sqlite_settings: Settings) -> AsyncIterator[Console]:
    async for c in _console(sqlite_settings):
        yield c


@pytest.fixture
async def proxied(sqlite_settings: Settings) -> AsyncIterator[Console]:
    """The console behind a trusted proxy on the loopback address."""
    settings = sqlite_settings.model_copy(update={"trusted_proxies": [ip_network("127.0.0.1")]})
    async for c in _console(settings):
        yield c


def _cookie(console: Console) -> str:
    found = console.client.session.cookie_jar.filter_cookies(console.client.make_url("/"))
    return found[COOKIE].value


async def _with_cookie(console: Console, cookie: str, path: str = "/items") -> int:
    """The status of ``path`` asked for with only ``cookie`` (a copied session)."""
    console.client.session.cookie_jar.clear()
    headers = {"Cookie": f"{COOKIE}={cookie}"}
    resp = await console.client.get(path, headers=headers, allow_redirects=False)
    return resp.status


async def _login(
    console: Console, username: str, password: str = PASSWORD, *, via: str | None = None
) -> tuple[int, str]:
    """Sign in (``via``: the X-Forwarded-For header sent); the status and redirect."""
    headers = {"X-Forwarded-For": via} if via else {}
    token = await console.csrf()
    data = {"username": username, "password": password, "csrf": token}
    resp = await console.client.post("/login", data=data, headers=headers, allow_redirects=False)
    return resp.status, resp.headers.get("Location", "")


async def test_logout_ends_a_copied_session(console: Console) -> None:
    assert await console.login("publisher") == 302
    copied = _cookie(console)
    assert await _with_cookie(console, copied) == 200
    console.client.session.cookie_jar.update_cookies({COOKIE: copied})
    await console.post("/logout", {}, allow_redirects=False)
    assert await _with_cookie(console, copied) == 302  # back to the login page


async def test_a_password_change_ends_the_other_sessions(console: Console) -> None:
    assert await console.login("publisher") == 302
    publisher = _cookie(console)
    assert await console.login("admin") == 302
    other_admin = _cookie(console)
    assert await console.login("admin") == 302  # a second browser of the same admin
    async with db_of(console)() as db:
        ids = {u.username: u.id for u in (await db.scalars(select(User))).all()}
    for who in ("publisher", "admin"):
        form = {"action": "password", "password": "another-horse-3"}
        resp = await console.post(f"/users/{ids[who]}", form, allow_redirects=False)
        assert resp.status == 302  # type: ignore[attr-defined]
    current = _cookie(console)
    assert await _with_cookie(console, publisher) == 302
    assert await _with_cookie(console, other_admin) == 302
    assert await _with_cookie(console, current, "/users") == 200  # the changer stays in


@pytest.mark.parametrize(
    "target", ["/\\evil.example", "//evil.example", "https://evil.example", "/\t/evil", "x"]
)
async def test_login_redirects_only_to_same_origin_paths(console: Console, target: str) -> None:
    token = await console.csrf()
    data = {"username": "publisher", "password": PASSWORD, "csrf": token, "next": target}
    resp = await console.client.post("/login", data=data, allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (302, "/")
    page = await (await console.client.get("/login", params={"next": target})).text()
    assert 'name="next" value="/"' in page


async def test_login_keeps_a_local_next(console: Console) -> None:
    token = await console.csrf()
    data = {"username": "publisher", "password": PASSWORD, "csrf": token, "next": "/items?x=1"}
    resp = await console.client.post("/login", data=data, allow_redirects=False)
    assert resp.headers["Location"] == "/items?x=1"


async def test_parallel_wrong_passwords_are_capped(console: Console) -> None:
    await console.csrf()  # one session, one token for every request
    tries = await asyncio.gather(*(_login(console, "reviewer", "wrong-wrong") for _ in range(20)))
    statuses = sorted(status for status, _ in tries)
    assert statuses == [401] * PER_USER + [429] * (20 - PER_USER)
    assert (await _login(console, "reviewer"))[0] == 429  # even the right password


async def test_another_address_does_not_reset_a_username(proxied: Console) -> None:
    for n in range(PER_USER):
        assert (await _login(proxied, "reviewer", "nope-nope", via=f"10.0.0.{n}"))[0] == 401
    fresh = await _login(proxied, "reviewer", via="10.9.9.9")
    assert fresh[0] == 429


async def test_one_address_spraying_usernames_is_capped(console: Console) -> None:
    answers = [
        (await _login(console, f"nobody{n}", "nope-nope", via=f"10.1.0.{n}"))[0]
        for n in range(PER_ADDRESS + 1)
    ]
    # the forwarded-for header is not believed: the peer is no trusted proxy
    assert answers == [401] * PER_ADDRESS + [429]
    assert (await _login(console, "publisher"))[0] == 429


async def test_a_trusted_proxy_names_the_client(proxied: Console) -> None:
    answers = [
        (await _login(proxied, f"nobody{n}", "nope-nope", via=f"10.1.0.{n}"))[0]
        for n in range(PER_ADDRESS + 1)
    ]
    assert answers == [401] * (PER_ADDRESS + 1)  # twenty-one clients, one try each


def _request(peer: str, forwarded: str | None) -> object:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return make_mocked_request("GET", "/login", headers=headers).clone(remote=peer)


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("203.0.113.5", "10.0.0.1", [], "203.0.113.5"),
        ("203.0.113.5", "10.0.0.1", ["127.0.0.1"], "203.0.113.5"),
        ("127.0.0.1", "10.0.0.1", ["127.0.0.1"], "10.0.0.1"),
        ("127.0.0.1", "6.6.6.6, 10.0.0.1", ["127.0.0.1"], "10.0.0.1"),  # the left is the client's
        ("127.0.0.1", "10.0.0.1, 172.16.0.2", ["127.0.0.1", "172.16.0.0/12"], "10.0.0.1"),
        ("127.0.0.1", "not-an-ip", ["127.0.0.1"], "127.0.0.1"),
        ("127.0.0.1", None, ["127.0.0.1"], "127.0.0.1"),
    ],
)
def test_client_address(peer: str, forwarded: str | None, trusted: list[str], client: str) -> None:
    nets = [ip_network(t) for t in trusted]
    assert client_address(_request(peer, forwarded), nets) == client  # type: ignore[arg-type]


async def test_an_unknown_user_costs_one_argon2_verify_in_a_thread(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, bool]] = []
    real = passwords.verify_password

    def spy(password_hash: str, password: str) -> bool:
        calls.append((password_hash, threading.current_thread() is threading.main_thread()))
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", spy)
    assert (await _login(console, "nobody-at-all", "nope-nope"))[0] == 401
    assert calls == [(passwords.dummy_hash(), False)]
    assert (await _login(console, "publisher", "nope-nope"))[0] == 401
    assert len(calls) == 2 and calls[1][0] != passwords.dummy_hash() and not calls[1][1]


PRIVATE = ("/users", "/residents", "/deliveries", "/followup", "/items")


async def test_console_pages_carry_security_headers(console: Console) -> None:
    page = await console.client.get("/login")
    assert "Secure" not in page.headers.get("Set-Cookie", "")  # http: no Secure flag
    assert "HttpOnly" in page.headers["Set-Cookie"] and "SameSite=Lax" in page.headers["Set-Cookie"]
    assert await console.login("admin") == 302
    for path in ("/login", *PRIVATE):
        resp = await console.client.get(path)
        assert resp.status == 200, path
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("style-src-attr")[0]
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"
        assert resp.headers["Cache-Control"] == "no-store"
        text = await resp.text()
        assert "<script>" not in text and "javascript:" not in text and "<style" not in text


async def test_the_cookie_is_secure_when_served_over_https(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.model_copy(update={"public_url": "https://zw.example.gov.cn"})
    async for console in _console(settings):
        page = await console.client.get("/login")
        assert "Secure" in page.headers["Set-Cookie"]
        token = CSRF.search(await page.text())
        assert token
        data = {"username": "publisher", "password": PASSWORD, "csrf": token.group(1)}
        headers = {"Cookie": f"{COOKIE}={page.cookies[COOKIE].value}"}
        resp = await console.client.post(
            "/login", data=data, headers=headers, allow_redirects=False
        )
        assert resp.status == 302 and "Secure" in resp.headers["Set-Cookie"]


@pytest.fixture(params=["memory", "redis"])
async def counter(request: pytest.FixtureRequest) -> AsyncIterator[MemoryCounter | RedisCounter]:
    if request.param == "memory":
        yield MemoryCounter(WINDOW_SECONDS)
        return
    from redis.asyncio import Redis

    redis = Redis.from_url(REDIS)
    prefix = f"pusher:test:login:{id(request)}"
    yield RedisCounter(redis, prefix, WINDOW_SECONDS)
    keys = [k async for k in redis.scan_iter(f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def test_counters_count_every_parallel_attempt(counter: MemoryCounter | RedisCounter) -> None:
    results = await asyncio.gather(*(counter.add(["user:a", "addr:b"], 1) for _ in range(30)))
    assert sorted(user for user, _ in results) == list(range(1, 31))
    assert sorted(addr for _, addr in results) == list(range(1, 31))
    assert await counter.add(["user:a"], -1) == [29]
    assert await counter.add(["user:other"], -1) == [0]  # never below zero
