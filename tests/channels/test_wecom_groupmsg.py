"""WeCom customer-group mass messages: the client against the emulator, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from redis.asyncio import Redis

from channels.base import FatalError, PermanentError, TransientError, UnknownOutcome
from channels.emulators.common import Faults
from channels.emulators.options import EmulatorOptions
from channels.emulators.wecom import build_app, from_options
from channels.emulators.wecom_groupmsg import GROUPMSG
from channels.emulators.wecom_groupmsg_state import GroupMsgEmulator
from channels.wechat_token import RedisTokenStore, TokenStore
from channels.wecom_groupmsg import GroupMessage, GroupMsgClient, GroupSend, WeComAppSettings
from pusher.cli.emulate import emulator_app

REDIS = os.environ.get("PUSHER_TEST_REDIS", "redis://127.0.0.1:6379/0")
CORP, SECRET = "ww0a1b2c3d4e5f6a7b", "groupmsg-test-secret"
OWNERS = {
    "zhangsan": frozenset({"wrA1", "wrA2", "wrA3", "wrA4", "wrA5"}),
    "lisi": frozenset({"wrB1"}),
}
NOTICE = GroupMessage(
    "东山村：明日8时至12时停水，请提前储水。", "https://example.gov.cn/n/1", "停水通知"
)


class Rig:
    """A running WeCom emulator (robots and customer groups) and its base URL."""

    def __init__(self, state: GroupMsgEmulator, url: str, session: aiohttp.ClientSession) -> None:
        self.state, self.url, self.session = state, url, session

    def client(self, tokens: TokenStore | None = None, **options: Any) -> GroupMsgClient:
        options = {"corp_id": CORP, "corp_secret": SecretStr(SECRET), **options}
        settings = WeComAppSettings(base_url=self.url, **options)
        return GroupMsgClient(settings, self.session, tokens=tokens)

    async def post(self, path: str, payload: Any) -> tuple[int, Any]:
        async with self.session.post(self.url + path.lstrip("/"), json=payload) as resp:
            return resp.status, await resp.json(content_type=None)

    async def confirm(self, msgid: str, sender: str) -> None:
        status, body = await self.post(
            "/emulator/groupmsg/confirm", {"msgid": msgid, "sender": sender}
        )
        assert (status, body["ok"]) == (200, True), body

    async def inbox(self) -> dict[str, list[str]]:
        async with self.session.get(self.url + "emulator/inbox") as resp:
            data: dict[str, list[str]] = await resp.json()
            return data


Start = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    servers: list[TestServer] = []
    async with aiohttp.ClientSession() as session:

        async def run(**options: Any) -> Rig:
            faults = options.pop("faults", None)
            options = {"corp_id": CORP, "corp_secret": SECRET, "owners": OWNERS, **options}
            app = build_app(groupmsg=GroupMsgEmulator(**options), faults=faults)
            server = TestServer(app, host="127.0.0.1")
            await server.start_server()
            servers.append(server)
            return Rig(app[GROUPMSG], str(server.make_url("/")), session)

        yield run
        for server in servers:
            await server.close()


async def test_owner_confirms_and_each_group_gets_it_once(start: Start) -> None:
    rig = await start()
    client = rig.client()
    msgid, refused = await client.create_task(
        sender="zhangsan", chat_ids=["wrA1", "wrA2"], message=NOTICE
    )
    assert refused == []
    waiting = await client.task_results(msgid, sender="zhangsan", chat_ids=["wrA1", "wrA2"])
    assert [(s.chat_id, s.status) for s in waiting] == [("wrA1", "waiting"), ("wrA2", "waiting")]
    assert await rig.inbox() == {}

    await rig.confirm(msgid, "zhangsan")
    await rig.confirm(msgid, "zhangsan")  # a second tap changes nothing
    sent = await client.task_results(msgid, sender="zhangsan", chat_ids=["wrA1", "wrA2"])
    assert [(s.chat_id, s.owner_userid, s.status) for s in sent] == [
        ("wrA1", "zhangsan", "sent"),
        ("wrA2", "zhangsan", "sent"),
    ]
    assert all(s.send_time is not None and s.error_code is None for s in sent)
    expected = f"{NOTICE.text}\n{NOTICE.link_url}"
    assert await rig.inbox() == {"wrA1": [expected], "wrA2": [expected]}
    [task] = rig.state.tasks.values()
    assert task.attachments == [
        {"msgtype": "link", "link": {"title": "停水通知", "url": NOTICE.link_url}}
    ]


async def test_an_owner_who_never_confirms_stays_waiting(start: Start) -> None:
    rig = await start(confirm_after_seconds=None)
    client = rig.client()
    msgid, _ = await client.create_task(sender="lisi", chat_ids=["wrB1"], message=NOTICE)
    for _ in range(3):
        [send] = await client.task_results(msgid, sender="lisi", chat_ids=["wrB1"])
        assert send == GroupSend("wrB1", "lisi", "waiting")
    assert await rig.inbox() == {}


async def test_owners_confirm_by_themselves_after_the_configured_delay(start: Start) -> None:
    rig = await start(confirm_after_seconds=0.05)
    client = rig.client()
    msgid, _ = await client.create_task(sender="lisi", chat_ids=["wrB1"], message=NOTICE)
    for _ in range(50):
        [send] = await client.task_results(msgid, sender="lisi", chat_ids=["wrB1"])
        if send.status != "waiting":
            break
        await asyncio.sleep(0.02)
    assert send.status == "sent"


async def test_a_dismissed_group_fails_with_the_platforms_reason(start: Start) -> None:
    rig = await start()
    client = rig.client()
    msgid, _ = await client.create_task(
        sender="zhangsan", chat_ids=["wrA1", "wrA2"], message=NOTICE
    )
    status, _ = await rig.post("/emulator/groupmsg/dismiss", {"chat_id": "wrA2"})
    assert status == 200
    await rig.confirm(msgid, "zhangsan")
    sent, gone = await client.task_results(msgid, sender="zhangsan", chat_ids=["wrA1", "wrA2"])
    assert sent.status == "sent"
    assert (gone.status, gone.error_code, gone.send_time) == ("failed", "2", None)
    assert gone.error_message and "不可发送" in gone.error_message
    assert list(await rig.inbox()) == ["wrA1"]


async def test_a_group_gets_one_mass_message_a_day(start: Start) -> None:
    now = [datetime(2026, 12, 7, 2, 0, tzinfo=UTC).timestamp()]  # 10:00 in Beijing
    rig = await start(clock=lambda: now[0])
    client = rig.client()
    first, _ = await client.create_task(sender="zhangsan", chat_ids=["wrA1"], message=NOTICE)
    second, _ = await client.create_task(
        sender="zhangsan", chat_ids=["wrA1", "wrA2"], message=NOTICE
    )
    await rig.confirm(first, "zhangsan")
    await rig.confirm(second, "zhangsan")
    over, other = await client.task_results(second, sender="zhangsan", chat_ids=["wrA1", "wrA2"])
    assert (over.status, over.error_code) == ("failed", "3")
    assert over.error_message and "上限" in over.error_message
    assert other.status == "sent"

    # Full today: refused when the task is made, and a task with no group left is an error.
    _, refused = await client.create_task(
        sender="zhangsan", chat_ids=["wrA1", "wrA3"], message=NOTICE
    )
    assert refused == ["wrA1"]
    with pytest.raises(PermanentError) as raised:
        await client.create_task(sender="zhangsan", chat_ids=["wrA1"], message=NOTICE)
    assert raised.value.code == "41048"

    now[0] += 14 * 3600  # 00:00 the next day in Beijing
    _, refused = await client.create_task(sender="zhangsan", chat_ids=["wrA1"], message=NOTICE)
    assert refused == []
    assert (await rig.inbox())["wrA1"] == [f"{NOTICE.text}\n{NOTICE.link_url}"]


async def test_unknown_sender_and_other_owners_groups_are_refused(start: Start) -> None:
    rig = await start()
    client = rig.client()
    with pytest.raises(PermanentError) as raised:
        await client.create_task(sender="wangwu", chat_ids=["wrA1"], message=NOTICE)
    assert raised.value.code == "40003"
    msgid, refused = await client.create_task(
        sender="lisi", chat_ids=["wrB1", "wrA1"], message=NOTICE
    )
    assert refused == ["wrA1"]
    assert rig.state.tasks[msgid].chat_ids == ["wrB1"]


async def test_an_expired_token_is_refreshed_once_and_the_call_repeated(start: Start) -> None:
    rig = await start()
    client = rig.client()
    msgid, _ = await client.create_task(sender="lisi", chat_ids=["wrB1"], message=NOTICE)
    rig.state.expire_tokens()
    [send] = await client.task_results(msgid, sender="lisi", chat_ids=["wrB1"])
    assert send.status == "waiting"
    assert rig.state.token_fetches == 2
    assert rig.state.errors[42001] == 1


async def test_workers_sharing_redis_fetch_one_token_and_refresh_it_once(start: Start) -> None:
    rig = await start()
    redis = Redis.from_url(REDIS)
    prefix = f"test-groupmsg-{uuid.uuid4().hex}"
    try:
        workers = [rig.client(RedisTokenStore(redis, prefix, poll_seconds=0.01)) for _ in range(3)]
        made = await asyncio.gather(
            *(w.create_task(sender="lisi", chat_ids=["wrB1"], message=NOTICE) for w in workers)
        )
        assert rig.state.token_fetches == 1
        rig.state.expire_tokens()
        results = await asyncio.gather(
            *(
                w.task_results(m, sender="lisi", chat_ids=["wrB1"])
                for w, (m, _) in zip(workers, made, strict=True)
            )
        )
        assert [[s.status for s in r] for r in results] == [["waiting"]] * 3
        assert rig.state.token_fetches == 2
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_a_wrong_secret_is_fatal_and_never_logged(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    rig = await start()
    caplog.set_level(logging.DEBUG)
    with pytest.raises(FatalError) as raised:
        await rig.client(corp_secret=SecretStr("wrong-secret-value")).remind("msgX")
    assert raised.value.code == "40001"
    await rig.client().create_task(sender="lisi", chat_ids=["wrB1"], message=NOTICE)
    tokens = list(rig.state.tokens)
    # Ours only: the emulator's access log stands for the provider's own logs.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    assert "access_token refreshed" in ours
    for secret in ("wrong-secret-value", SECRET, *tokens):
        assert secret not in ours
        assert secret not in str(raised.value)


async def test_results_and_task_lists_are_read_over_many_pages(start: Start) -> None:
    rig = await start(page_limit=2)
    client = rig.client()
    groups = sorted(OWNERS["zhangsan"])
    msgid, _ = await client.create_task(sender="zhangsan", chat_ids=groups, message=NOTICE)
    await rig.confirm(msgid, "zhangsan")
    sends = await client.task_results(msgid, sender="zhangsan")  # only what the platform lists
    assert sorted(s.chat_id for s in sends) == groups
    assert {s.status for s in sends} == {"sent"}
    for text in ("二", "三"):
        await client.create_task(sender="lisi", chat_ids=["wrB1"], message=GroupMessage(text))
    now = datetime.now(UTC)
    found = await client.list_tasks(start=now - timedelta(hours=1), end=now + timedelta(hours=1))
    assert [t["msgid"] for t in found] == list(rig.state.tasks)
    naive = now.replace(tzinfo=None)  # taken as UTC
    again = await client.list_tasks(
        start=naive - timedelta(hours=1), end=naive + timedelta(hours=1)
    )
    assert again == found


async def test_a_timeout_after_the_task_was_made_is_an_unknown_outcome_found_by_list(
    start: Start,
) -> None:
    rig = await start(stall_after_create_seconds=1.0)
    client = rig.client(timeout_seconds=0.3)
    made = datetime.now(UTC)
    with pytest.raises(UnknownOutcome):
        await client.create_task(sender="lisi", chat_ids=["wrB1"], message=NOTICE)
    rig.state.stall_after_create_seconds = 0
    found = await client.list_tasks(start=made - timedelta(minutes=5), end=datetime.now(UTC))
    assert [t["text"]["content"] for t in found] == [NOTICE.text]
    assert [t["msgid"] for t in found] == list(rig.state.tasks)


async def test_accept_then_drop_loses_the_answer_of_a_task_that_was_made(start: Start) -> None:
    """The chaos bench's fault on task creation: the task exists, its answer is lost."""
    rig = await start(faults=Faults(accept_drop=1.0, accept_drop_way="close"))
    with pytest.raises(UnknownOutcome):
        await rig.client().create_task(sender="lisi", chat_ids=["wrB1"], message=NOTICE)
    assert [t.sender for t in rig.state.tasks.values()] == ["lisi"]
    assert rig.state.faults.accept_dropped == 1


@pytest.mark.parametrize(
    ("faults", "code"), [(Faults(server_error=1.0), "http_500"), (Faults(throttle=1.0), "45009")]
)
async def test_a_busy_or_throttling_platform_is_transient(
    start: Start, faults: Faults, code: str
) -> None:
    rig = await start(faults=faults)
    with pytest.raises(TransientError) as raised:
        await rig.client().create_task(sender="lisi", chat_ids=["wrB1"], message=NOTICE)
    assert raised.value.code == code
    assert not isinstance(raised.value, UnknownOutcome)
    assert rig.state.tasks == {}


async def test_reminders_are_limited_to_three_a_day(start: Start) -> None:
    rig = await start()
    client = rig.client()
    msgid, _ = await client.create_task(sender="lisi", chat_ids=["wrB1"], message=NOTICE)
    for _ in range(3):
        await client.remind(msgid)
    with pytest.raises(TransientError) as raised:
        await client.remind(msgid)
    assert raised.value.code == "45009"
    assert len(rig.state.tasks[msgid].reminders) == 3
    with pytest.raises(PermanentError) as unknown:
        await client.remind("msg-none")
    assert unknown.value.code == "41047"


async def test_content_over_the_limit_is_refused_before_any_call(start: Start) -> None:
    rig = await start()
    client = rig.client()
    fits = "通" * 1333 + "a"  # 4,000 bytes in UTF-8
    msgid, _ = await client.create_task(
        sender="lisi", chat_ids=["wrB1"], message=GroupMessage(fits)
    )
    with pytest.raises(PermanentError) as raised:
        await client.create_task(sender="lisi", chat_ids=["wrB1"], message=GroupMessage(fits + "a"))
    assert raised.value.code == "content_too_long"
    assert list(rig.state.tasks) == [msgid]


LONG = "通" * 1334
MALFORMED: list[tuple[str, Any, int]] = [
    ("add_msg_template", "not json", 40058),
    ("add_msg_template", [], 40058),
    ("add_msg_template", {"chat_type": "single", "sender": "lisi"}, 40058),
    ("add_msg_template", {"chat_type": "group", "chat_id_list": ["wrB1"]}, 41009),
    ("add_msg_template", {"chat_type": "group", "sender": "lisi", "chat_id_list": "wrB1"}, 40058),
    ("add_msg_template", {"chat_type": "group", "sender": "lisi", "chat_id_list": []}, 40058),
    ("add_msg_template", {"chat_type": "group", "sender": "lisi", "chat_id_list": [1]}, 40058),
    (
        "add_msg_template",
        {
            "chat_type": "group",
            "sender": "lisi",
            "chat_id_list": ["wr"] * 2001,
            "text": {"content": "x"},
        },
        40058,
    ),
    ("add_msg_template", {"chat_type": "group", "sender": "lisi", "chat_id_list": ["wrB1"]}, 44004),
    (
        "add_msg_template",
        {
            "chat_type": "group",
            "sender": "lisi",
            "chat_id_list": ["wrB1"],
            "text": {"content": LONG},
        },
        45002,
    ),
    (
        "add_msg_template",
        {"chat_type": "group", "sender": "lisi", "chat_id_list": ["wrB1"], "text": {"content": 5}},
        40058,
    ),
    (
        "add_msg_template",
        {
            "chat_type": "group",
            "sender": "lisi",
            "chat_id_list": ["wrB1"],
            "attachments": [{"msgtype": "voice", "voice": {}}],
        },
        41065,
    ),
    (
        "add_msg_template",
        {
            "chat_type": "group",
            "sender": "lisi",
            "chat_id_list": ["wrB1"],
            "attachments": [{"msgtype": "link", "link": {"url": "https://x"}}] * 10,
        },
        40058,
    ),
    ("get_groupmsg_task", {}, 41046),
    ("get_groupmsg_task", {"msgid": "nope"}, 41047),
    ("get_groupmsg_send_result", {"msgid": "nope", "userid": "lisi"}, 41047),
    ("get_groupmsg_list_v2", {"chat_type": "group"}, 40058),
    ("get_groupmsg_list_v2", {"chat_type": "group", "start_time": 0, "end_time": 10**8}, 40058),
    (
        "get_groupmsg_list_v2",
        {"chat_type": "group", "start_time": 1, "end_time": 2, "cursor": "x"},
        50100,
    ),
    ("remind_groupmsg_send", {"msgid": None}, 41046),
]


@pytest.mark.parametrize(("path", "payload", "errcode"), MALFORMED)
async def test_malformed_bodies_get_the_real_errcode_shape_never_a_500(
    start: Start, path: str, payload: Any, errcode: int
) -> None:
    rig = await start()
    token, _ = rig.state.issue_token(CORP, SECRET)
    url = f"{rig.url}cgi-bin/externalcontact/{path}?access_token={token}"
    data = payload.encode() if isinstance(payload, str) else None
    kwargs: dict[str, Any] = {"data": data} if data is not None else {"json": payload}
    async with rig.session.post(url, **kwargs) as resp:
        assert resp.status == 200
        body = await resp.json()
    assert set(body) == {"errcode", "errmsg"}
    assert body["errcode"] == errcode
    assert isinstance(body["errmsg"], str) and body["errmsg"]
    assert rig.state.tasks == {}


@pytest.mark.parametrize(("token", "errcode"), [("", 41001), ("forged", 40014)])
async def test_calls_without_a_valid_token_are_refused(
    start: Start, token: str, errcode: int
) -> None:
    rig = await start()
    url = f"{rig.url}cgi-bin/externalcontact/get_groupmsg_task?access_token={token}"
    async with rig.session.post(url, json={"msgid": "x"}) as resp:
        assert (resp.status, (await resp.json())["errcode"]) == (200, errcode)


async def test_emulator_only_routes_refuse_bad_bodies_with_a_sentence(start: Start) -> None:
    rig = await start()
    assert (await rig.post("/emulator/groupmsg/confirm", {"msgid": "x", "sender": "lisi"}))[
        0
    ] == 404
    async with rig.session.post(rig.url + "emulator/groupmsg/confirm", data=b"{") as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]
    assert (await rig.post("/emulator/groupmsg/dismiss", {}))[0] == 400


def test_pusher_emulate_wecom_serves_the_group_api_beside_the_robots() -> None:
    paths = {r.resource.canonical for r in emulator_app("wecom").router.routes() if r.resource}
    assert {
        "/cgi-bin/webhook/send",
        "/cgi-bin/gettoken",
        "/cgi-bin/externalcontact/add_msg_template",
        "/cgi-bin/externalcontact/get_groupmsg_list_v2",
        "/cgi-bin/externalcontact/get_groupmsg_task",
        "/cgi-bin/externalcontact/get_groupmsg_send_result",
        "/cgi-bin/externalcontact/remind_groupmsg_send",
        "/emulator/groupmsg/confirm",
        "/emulator/inbox",
    } <= paths


async def test_the_account_file_names_the_corp_and_each_owners_groups(tmp_path: Path) -> None:
    path = tmp_path / "wecom.yaml"
    path.write_text(
        "corp_id: ww-file\ncorp_secret: file-secret\ngroups:\n  zhaoliu: [wrC1, wrC2]\n",
        encoding="utf-8",
    )
    app = from_options(EmulatorOptions(account_file=path))
    state = app[GROUPMSG]
    assert (state.corp_id, state.corp_secret) == ("ww-file", "file-secret")
    assert state.owners == {"zhaoliu": frozenset({"wrC1", "wrC2"})}
    assert state.owns("zhaoliu", "wrC1") and not state.owns("zhaoliu", "wrA1")


def _junk(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value, nested a little."""
    kinds = ["str", "int", "bool", "null", "float"] + (["list", "dict"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "list":
        return [_junk(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == "dict":
        return {rng.choice(FIELDS): _junk(rng, depth + 1) for _ in range(rng.randint(0, 5))}
    return {
        "str": lambda: rng.choice(
            ["", "wrB1", "lisi", "group", "link", "通" * rng.randint(0, 1500)]
        ),
        "int": lambda: rng.choice([-1, 0, 1, 2, 2001, 10**12]),
        "bool": lambda: rng.random() < 0.5,
        "null": lambda: None,
        "float": lambda: rng.random() * 1e9,
    }[kind]()


FIELDS = [
    "chat_type",
    "sender",
    "chat_id_list",
    "text",
    "content",
    "attachments",
    "msgtype",
    "link",
    "title",
    "url",
    "allow_select",
    "msgid",
    "userid",
    "limit",
    "cursor",
    "start_time",
    "end_time",
    "creator",
    "filter_type",
    "image",
    "file",
]
#: A valid body per route; the fuzz replaces some of its fields with junk.
VALID: dict[str, dict[str, Any]] = {
    "add_msg_template": {
        "chat_type": "group",
        "sender": "lisi",
        "chat_id_list": ["wrB1"],
        "text": {"content": "通知"},
        "attachments": [{"msgtype": "link", "link": {"title": "t", "url": "https://x"}}],
        "allow_select": False,
    },
    "get_groupmsg_list_v2": {"chat_type": "group", "start_time": 1, "end_time": 2, "limit": 5},
    "get_groupmsg_task": {"msgid": "MSGID", "limit": 5, "cursor": ""},
    "get_groupmsg_send_result": {"msgid": "MSGID", "userid": "lisi", "limit": 5},
    "remind_groupmsg_send": {"msgid": "MSGID"},
}


def _mutated(rng: random.Random, body: dict[str, Any]) -> Any:
    """``body`` with one to three fields (or parts of them) replaced by junk."""
    body = json.loads(json.dumps(body))
    for _ in range(rng.randint(1, 3)):
        key = rng.choice([*body, rng.choice(FIELDS)])
        value = body.get(key)
        if isinstance(value, list) and value and rng.random() < 0.5:
            value[rng.randrange(len(value))] = _junk(rng)
        elif isinstance(value, dict) and value and rng.random() < 0.5:
            value[rng.choice(list(value))] = _junk(rng)
        else:
            body[key] = _junk(rng)
    return body if rng.random() < 0.95 else _junk(rng)


async def test_random_bodies_never_get_a_server_error(start: Start) -> None:
    rig = await start()
    token, _ = rig.state.issue_token(CORP, SECRET)
    msgid = rig.state.create("lisi", ["wrB1"], "通知", [])[0].msgid
    rng = random.Random(21)
    for round_ in range(500):
        path = list(VALID)[round_ % len(VALID)]
        body = _mutated(rng, VALID[path])
        if isinstance(body, dict) and body.get("msgid") == "MSGID":
            body["msgid"] = msgid
        url = f"{rig.url}cgi-bin/externalcontact/{path}?access_token={token}"
        async with rig.session.post(url, json=body) as resp:
            assert resp.status == 200, (path, body)
            answer = await resp.json()
        assert isinstance(answer["errcode"], int), (path, body, answer)
    for route in ("/emulator/groupmsg/confirm", "/emulator/groupmsg/dismiss"):
        for _ in range(30):
            status, _ = await rig.post(route, _junk(rng))
            assert status < 500
