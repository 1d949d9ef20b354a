"""A local WeCom group-robot webhook: ``POST /cgi-bin/webhook/send?key=KEY``.

It answers like the real robots (``{"errcode": 0, "errmsg": "ok"}`` or an error
code with the provider's errmsg), enforces each robot's rate over a sliding
window (45009) and the content byte limits (40058), and counts what every robot
received in an :class:`Inbox` keyed by webhook key, served at
``GET /emulator/inbox`` like every emulator's.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import web
from aiohttp.typedefs import Middleware

from channels.emulators.accounts import WeComAccount
from channels.emulators.common import Faults, Inbox, fault_middleware, inbox_view
from channels.emulators.options import EmulatorOptions
from channels.emulators.wecom_groupmsg import add_groupmsg_routes
from channels.emulators.wecom_groupmsg_state import GroupMsgEmulator

# Byte limits of ``content`` per msgtype (UTF-8), as the provider documents them.
CONTENT_LIMITS = {"text": 2048, "markdown": 4096, "markdown_v2": 4096}
# A webhook key is a UUID-shaped string, e.g. 693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa.
KEY_SHAPE = re.compile(
    r"^[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{12}$"
)


@dataclass
class WeComEmulator:
    """The emulator's state: its robots, faults, limits and what it received.

    ``errors`` counts every errcode answered, so tests can prove e.g. that no
    45009 was ever returned.
    """

    keys: set[str] | None
    faults: Faults
    per_minute: int
    window_seconds: float
    inbox: Inbox = field(default_factory=Inbox)
    errors: Counter[int] = field(default_factory=Counter)
    arrivals: defaultdict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def knows(self, key: str) -> bool:
        """Whether a robot with webhook ``key`` exists."""
        if self.keys is None:
            return bool(KEY_SHAPE.match(key))
        return key in self.keys

    def admit(self, key: str) -> bool:
        """Record one message for ``key`` if its window has room."""
        now = time.monotonic()
        seen = self.arrivals[key]
        while seen and seen[0] <= now - self.window_seconds:
            seen.popleft()
        if len(seen) >= self.per_minute:
            return False
        seen.append(now)
        return True


WECOM_EMULATOR = web.AppKey("wecom_emulator", WeComEmulator)


def _error(state: WeComEmulator, code: int, message: str) -> web.Response:
    state.errors[code] += 1
    hint = f"{message}, hint: [{time.time_ns()}], from ip: 127.0.0.1, "
    hint += f"more info at https://open.work.weixin.qq.com/devtool/query?e={code}"
    return web.json_response({"errcode": code, "errmsg": hint})


def _content(body: Any) -> tuple[str, str] | None:
    """``(msgtype, content)`` of a text/markdown body, or None if malformed."""
    if not isinstance(body, dict):
        return None
    msgtype = body.get("msgtype")
    part = body.get(msgtype) if isinstance(msgtype, str) else None
    if msgtype not in CONTENT_LIMITS or not isinstance(part, dict):
        return None
    content = part.get("content")
    return (msgtype, content) if isinstance(content, str) else None


async def _read_json(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except ValueError:
        return None


async def send(request: web.Request) -> web.Response:
    """The robot webhook."""
    state = request.app[WECOM_EMULATOR]
    key = request.query.get("key", "")
    if not state.knows(key):
        return _error(state, 93000, "invalid webhook url")
    parsed = _content(await _read_json(request))
    if parsed is None:
        return _error(state, 40008, "invalid message type")
    msgtype, content = parsed
    if not content:
        return _error(state, 44004, "empty content")
    limit = CONTENT_LIMITS[msgtype]
    if len(content.encode()) > limit:
        return _error(state, 40058, f"{msgtype}.content exceed max length {limit}")
    if state.faults.roll(state.faults.throttle) or not state.admit(key):
        return _error(state, 45009, "api freq out of limit")
    state.inbox.add(key, content)
    return web.json_response({"errcode": 0, "errmsg": "ok"})


def setup_routes(app: web.Application) -> None:
    """The one route a group robot has, and the emulator's inbox."""
    app.router.add_post("/cgi-bin/webhook/send", send)
    app.router.add_get("/emulator/inbox", inbox_view(lambda a: a[WECOM_EMULATOR].inbox))


def build_app(
    *,
    keys: set[str] | None = None,
    account: WeComAccount | None = None,
    faults: Faults | None = None,
    per_minute: int = 20,
    window_seconds: float = 60.0,
    groupmsg: GroupMsgEmulator | None = None,
) -> web.Application:
    """A WeCom robot emulator, with the customer-group mass-message API beside it.

    ``keys``: the robots' webhook keys (None accepts any UUID-shaped key), or
    ``account`` holding them;
    ``per_minute`` messages per robot per ``window_seconds`` (60 s like the real
    thing; tests shrink the window to stay fast);
    ``groupmsg``: the mass-message side's state (default: from ``account``), which
    shares these faults and this inbox (:mod:`channels.emulators.wecom_groupmsg`).
    """
    faults = faults or Faults()
    if account is not None:
        keys = set(account.keys) if account.keys is not None else None
    # common's Callable alias is narrower than aiohttp's Middleware protocol in mypy's eyes.
    app = web.Application(middlewares=[cast(Middleware, fault_middleware(faults))])
    app[WECOM_EMULATOR] = WeComEmulator(
        keys=set(keys) if keys is not None else None,
        faults=faults,
        per_minute=per_minute,
        window_seconds=window_seconds,
    )
    setup_routes(app)
    state = groupmsg or GroupMsgEmulator.from_account(account)
    add_groupmsg_routes(app, state, faults=faults, inbox=app[WECOM_EMULATOR].inbox)
    return app


def from_options(options: EmulatorOptions) -> web.Application:
    """The emulator as ``pusher emulate wecom`` runs it (``ValueError``: bad account file)."""
    account = options.account("wecom")
    if account is not None and not isinstance(account, WeComAccount):
        raise ValueError("the account file does not describe a wecom account")
    return build_app(faults=options.faults(), account=account)
