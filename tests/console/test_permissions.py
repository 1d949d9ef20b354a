"""Who may call what: every route of the app × every role, and grid workers' API scope.

The matrix below is the authority. A route registered on the app without an entry here
fails ``test_every_route_is_in_the_matrix``, so a new route must say who may use it.
Allowed means a 2xx/3xx answer that is not a bounce to the login page; denied means 401
(API without a token), a redirect to ``/login`` (console without a session) or 403.
Console POSTs carry a valid CSRF token, so what is checked is authorization.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import Workbook
from sqlalchemy import select

from channels.emulators.wechat import sign as wechat_sign
from channels.registry import PROVIDERS
from pusher.models import AuditLog, Delivery
from pusher.pipeline.texts import short_code
from pusher.web.keys import RESOURCES
from tests.console.test_console import ITEM, PASSWORD, xlsx
from tests.console.world import (
    CALLBACK_SECRET,
    ROLES,
    WECHAT_TOKEN,
    World,
    client_for,
    copy_of,
    csrf,
    login,
    multipart,
    settle,
    template,
)

Client = TestClient[object, object]
PUBLIC = frozenset(ROLES)
STAFF = frozenset({"admin", "publisher", "reviewer", "leader"})
#: the leader reads and approves; editing rules and retrying deliveries are the office's
OFFICE = STAFF - {"leader"}
#: the call takes the staff check, which is a reviewer's (or admin's), never a leader's
STAFF_CHECK = frozenset({"admin", "reviewer"})
READERS = STAFF | {"grid_worker"}
GRID = frozenset({"admin", "grid_worker"})
ADMIN = frozenset({"admin"})
#: stop a push, withdraw or expire an item (a duty officer too, for urgent items only)
TAKE_DOWN = frozenset({"admin", "leader"})
#: sources: configured by the admin; read and fetched now by a publisher too
SOURCES = frozenset({"admin", "publisher"})
NEW_RESIDENT = {"name": "新居民", "grid": "东山村第1网格", "phone": "13911112233"}
ROSTER_ROW = {"姓名": "新居民", "联系电话": "13911112234", "网格名称": "东山村第1网格"}
SOURCE = {"name": "县政务公开", "kind": "rss", "url": "http://127.0.0.1:9/feed.xml",
          "region_code": "360123101"}  # fmt: skip


@dataclass(frozen=True)
class Call:
    """How to call a route: the path and, for writes, a valid body."""

    path: Callable[[World], str]
    json: object = None
    form: Callable[[World, str], dict[str, Any]] | None = None


@dataclass(frozen=True)
class Entry:
    allowed: frozenset[str]
    call: Call = field(default_factory=lambda: Call(lambda w: "/"))
    #: open only on an empty database (the first-run setup): 404 for everyone here
    closed: bool = False


def at(path: str) -> Callable[[World], str]:
    return lambda w: path.format(w=w)


def _item_json(title: str) -> dict[str, Any]:
    keep = ("title", "body", "publisher", "region_code")
    return {k: ITEM[k] for k in keep} | {"title": title}


def wechat_query(_w: World) -> str:
    """A freshly signed callback query: the route refuses stale and replayed ones."""
    stamp, nonce = str(int(time.time())), uuid.uuid4().hex
    signature = wechat_sign(WECHAT_TOKEN, stamp, nonce)
    return f"signature={signature}&timestamp={stamp}&nonce={nonce}"


SECRET = CALLBACK_SECRET
UNFOLLOW = (
    "<xml><ToUserName>gh</ToUserName><FromUserName>o-nobody</FromUserName>"
    "<CreateTime>1700000000</CreateTime><MsgType>event</MsgType>"
    "<Event>unsubscribe</Event></xml>"
)


WX_POSTS = ("/wx/topics", "/wx/channels", "/wx/bind/code", "/wx/bind/confirm", "/wx/contact")


def _none(_w: World, _role: str) -> dict[str, Any]:
    return {}


#: issue 19: the town's structure. Regions: read by all (grid workers: their own), kept by
#: the admin; topics and groups: kept by those who keep the rules; group chats and list
#: members: the office and grid workers (their regions)
EVERYONE = READERS | {"admin"}
RULE_KEEPERS = frozenset({"admin", "publisher", "reviewer"})
CHAT_KEEPERS = frozenset({"admin", "publisher", "grid_worker"})
MEMBER_KEEPERS = frozenset({"admin", "publisher", "reviewer", "grid_worker"})
GRID_CODE = "36012310100101"  # grids[0], the grid worker's
CHAT = {"name": "东山村第一网格群", "region_code": GRID_CODE}
TOWN_API: dict[tuple[str, str], Entry] = {
    ("GET", "/api/v1/regions"): Entry(EVERYONE, Call(at("/api/v1/regions"))),
    ("POST", "/api/v1/regions"): Entry(
        ADMIN,
        Call(at("/api/v1/regions"), json={"name": "东山村第五网格", "parent_code": "360123101001"}),
    ),
    ("POST", "/api/v1/regions/import"): Entry(
        ADMIN,
        Call(
            at("/api/v1/regions/import"),
            json={"rows": [{"code": "360123101006", "name": "新村", "parent_code": "360123101"}]},
        ),
    ),
    ("GET", "/api/v1/regions/{region_id}"): Entry(
        EVERYONE, Call(at("/api/v1/regions/{w.grids[0]}"))
    ),
    ("PUT", "/api/v1/regions/{region_id}"): Entry(
        ADMIN, Call(at("/api/v1/regions/{w.grids[0]}"), json={"name": "东山村一组"})
    ),
    ("POST", "/api/v1/regions/{region_id}/deactivate"): Entry(
        ADMIN, Call(at("/api/v1/regions/{w.grids[1]}/deactivate"), json={"reason": "合并"})
    ),
    ("GET", "/api/v1/topics"): Entry(EVERYONE, Call(at("/api/v1/topics"))),
    ("POST", "/api/v1/topics"): Entry(
        RULE_KEEPERS,
        Call(at("/api/v1/topics"), json={"name": "乡村振兴项目", "keywords": ["衔接资金"]}),
    ),
    ("GET", "/api/v1/topics/{topic_id}"): Entry(EVERYONE, Call(at("/api/v1/topics/{w.topic}"))),
    ("PUT", "/api/v1/topics/{topic_id}"): Entry(
        RULE_KEEPERS,
        Call(at("/api/v1/topics/{w.topic}"), json={"name": "村级财务", "keywords": ["财务公开"]}),
    ),
    ("POST", "/api/v1/topics/{topic_id}/deactivate"): Entry(
        RULE_KEEPERS, Call(at("/api/v1/topics/{w.topic}/deactivate"), json={})
    ),
    ("GET", "/api/v1/groups"): Entry(STAFF, Call(at("/api/v1/groups"))),
    ("POST", "/api/v1/groups"): Entry(
        RULE_KEEPERS, Call(at("/api/v1/groups"), json={"name": "新名单", "kind": "list"})
    ),
    ("GET", "/api/v1/groups/{group_id}"): Entry(STAFF, Call(at("/api/v1/groups/{w.group}"))),
    ("PUT", "/api/v1/groups/{group_id}"): Entry(
        RULE_KEEPERS,
        Call(
            at("/api/v1/groups/{w.list_group}"),
            json={"name": "走访名单", "kind": "list", "rules": ["走访"]},
        ),
    ),
    ("POST", "/api/v1/groups/{group_id}/deactivate"): Entry(
        RULE_KEEPERS, Call(at("/api/v1/groups/{w.list_group}/deactivate"), json={})
    ),
    ("GET", "/api/v1/groups/{group_id}/preview"): Entry(
        READERS | {"admin"}, Call(at("/api/v1/groups/{w.group}/preview"))
    ),
    ("PUT", "/api/v1/groups/{group_id}/members"): Entry(
        MEMBER_KEEPERS,
        Call(at("/api/v1/groups/{w.list_group}/members"), json={"resident_ids": []}),
    ),
    ("GET", "/api/v1/group-chats"): Entry(EVERYONE, Call(at("/api/v1/group-chats"))),
    ("POST", "/api/v1/group-chats"): Entry(
        CHAT_KEEPERS,
        Call(
            at("/api/v1/group-chats"),
            json=CHAT | {"robot_key": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"},
        ),
    ),
    ("GET", "/api/v1/group-chats/{chat_id}"): Entry(
        EVERYONE, Call(at("/api/v1/group-chats/{w.chat}"))
    ),
    ("PUT", "/api/v1/group-chats/{chat_id}"): Entry(
        CHAT_KEEPERS, Call(at("/api/v1/group-chats/{w.chat}"), json=CHAT)
    ),
    ("POST", "/api/v1/group-chats/{chat_id}/deactivate"): Entry(
        CHAT_KEEPERS, Call(at("/api/v1/group-chats/{w.chat}/deactivate"), json={})
    ),
    ("POST", "/api/v1/group-chats/{chat_id}/test"): Entry(
        CHAT_KEEPERS, Call(at("/api/v1/group-chats/{w.chat}/test"), json={})
    ),
}


def regions_sheet() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["代码", "名称", "上级代码"])
    sheet.append(["360123101007", "新建村", "360123101"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


ROBOT = "1a2b3c4d-0000-4000-8000-00000000abcd"
TOWN_CONSOLE: dict[tuple[str, str], Entry] = {
    ("GET", "/setup"): Entry(PUBLIC, Call(at("/setup")), closed=True),
    ("POST", "/setup"): Entry(PUBLIC, Call(at("/setup"), form=_none), closed=True),
    ("GET", "/regions"): Entry(ADMIN, Call(at("/regions"))),
    ("POST", "/regions/new"): Entry(
        ADMIN,
        Call(
            at("/regions/new"),
            form=lambda w, r: {"name": "第五网格", "parent_code": "360123101001"},
        ),
    ),
    ("POST", "/regions/import"): Entry(
        ADMIN, Call(at("/regions/import"), form=lambda w, r: {"file": regions_sheet()})
    ),
    ("POST", "/regions/{region_id}"): Entry(
        ADMIN,
        Call(at("/regions/{w.grids[0]}"), form=lambda w, r: {"action": "rename", "name": "一组"}),
    ),
    ("GET", "/topics"): Entry(STAFF, Call(at("/topics"))),
    ("POST", "/topics"): Entry(
        RULE_KEEPERS,
        Call(at("/topics"), form=lambda w, r: {"name": "乡村振兴项目", "keywords": "衔接资金"}),
    ),
    ("POST", "/topics/{topic_id}"): Entry(
        RULE_KEEPERS,
        Call(
            at("/topics/{w.topic}"),
            form=lambda w, r: {
                "action": "save",
                "name": "村级财务",
                "keywords": "财务公开",
                "position": "1",
            },
        ),
    ),
    ("GET", "/groups"): Entry(STAFF, Call(at("/groups"))),
    ("POST", "/groups"): Entry(
        RULE_KEEPERS, Call(at("/groups"), form=lambda w, r: {"name": "新名单", "kind": "list"})
    ),
    ("GET", "/groups/{group_id}"): Entry(READERS, Call(at("/groups/{w.group}"))),
    ("POST", "/groups/{group_id}"): Entry(
        RULE_KEEPERS,
        Call(
            at("/groups/{w.list_group}"),
            form=lambda w, r: {"action": "save", "name": "走访", "kind": "list"},
        ),
    ),
    ("GET", "/chats"): Entry(READERS, Call(at("/chats"))),
    ("POST", "/chats"): Entry(
        CHAT_KEEPERS, Call(at("/chats"), form=lambda w, r: CHAT | {"robot_key": ROBOT})
    ),
    ("POST", "/chats/{chat_id}"): Entry(
        CHAT_KEEPERS, Call(at("/chats/{w.chat}"), form=lambda w, r: {"action": "test"})
    ),
}

MATRIX: dict[tuple[str, str], Entry] = {
    # public: no login, same answer for everyone
    ("GET", "/healthz"): Entry(PUBLIC, Call(at("/healthz"))),
    ("GET", "/readyz"): Entry(PUBLIC, Call(at("/readyz"))),
    ("GET", "/metrics"): Entry(PUBLIC, Call(at("/metrics"))),
    ("GET", "/api/v1/openapi.json"): Entry(PUBLIC, Call(at("/api/v1/openapi.json"))),
    ("GET", "/callbacks/wechat"): Entry(
        PUBLIC, Call(lambda w: f"/callbacks/wechat?{wechat_query(w)}&echostr=hi")
    ),
    ("POST", "/callbacks/wechat"): Entry(
        PUBLIC,
        Call(lambda w: f"/callbacks/wechat?{wechat_query(w)}", form=lambda w, r: {"xml": UNFOLLOW}),
    ),
    **{  # one per unsigned callback the registry's providers declare
        ("POST", f"/callbacks/{p.name}/{cb.path}/{{secret}}"): Entry(
            PUBLIC, Call(at(f"/callbacks/{p.name}/{cb.path}/{SECRET}"), json=[])
        )
        for p in PROVIDERS
        for cb in p.callbacks
    },
    ("GET", "/s/{code}"): Entry(PUBLIC, Call(lambda w: f"/s/{short_code(w.pushed)}")),
    ("GET", "/p/{item_id}"): Entry(PUBLIC, Call(at("/p/{w.pushed}"))),
    ("GET", "/static"): Entry(PUBLIC, Call(at("/static/console.css"))),
    ("GET", "/login"): Entry(PUBLIC, Call(at("/login"))),
    ("POST", "/login"): Entry(
        PUBLIC,
        Call(
            at("/login"),
            form=lambda w, r: {
                "username": "publisher" if r == "anonymous" else r,
                "password": PASSWORD,
            },
        ),
    ),
    ("POST", "/logout"): Entry(PUBLIC, Call(at("/logout"), form=_none)),
    # residents' pages: their own WeChat session, never a console role (without one:
    # a redirect to sign in through WeChat)
    **{
        ("GET", path): Entry(PUBLIC, Call(at(path)))
        for path in ("/wx/login", "/wx/oauth", "/wx/", "/wx/bind", "/wx/notices", "/wx/contact")
    },
    **{("POST", path): Entry(PUBLIC, Call(at(path), form=_none)) for path in WX_POSTS},
    # JSON API
    ("POST", "/api/v1/items"): Entry(
        frozenset({"admin", "publisher"}), Call(at("/api/v1/items"), json=_item_json("新通知"))
    ),
    ("GET", "/api/v1/items"): Entry(STAFF, Call(at("/api/v1/items"))),
    ("GET", "/api/v1/items/{item_id}"): Entry(STAFF, Call(at("/api/v1/items/{w.pushed}"))),
    ("PUT", "/api/v1/items/{item_id}"): Entry(
        frozenset({"admin", "publisher"}),
        Call(at("/api/v1/items/{w.draft}"), json=_item_json("改过的草稿")),
    ),
    ("POST", "/api/v1/items/{item_id}/submit"): Entry(
        frozenset({"admin", "publisher"}), Call(at("/api/v1/items/{w.draft}/submit"))
    ),
    ("POST", "/api/v1/items/{item_id}/review"): Entry(
        STAFF_CHECK,
        Call(
            at("/api/v1/items/{w.submitted}/review"), json={"step": "staff", "decision": "approve"}
        ),
    ),
    **{
        ("POST", f"/api/v1/items/{{item_id}}/{action}"): Entry(
            TAKE_DOWN, Call(at(f"/api/v1/items/{{w.pushed}}/{action}"), json={"reason": "有误"})
        )
        for action in ("stop", "withdraw", "expire")
    },
    ("POST", "/api/v1/items/{item_id}/correct"): Entry(
        frozenset({"admin", "publisher", "leader"}),
        Call(at("/api/v1/items/{w.pushed}/correct"), json={"body": "更正后的正文"}),
    ),
    ("GET", "/api/v1/items/{item_id}/preview"): Entry(
        STAFF, Call(at("/api/v1/items/{w.draft}/preview"))
    ),
    ("GET", "/api/v1/pushes"): Entry(READERS, Call(at("/api/v1/pushes"))),
    ("GET", "/api/v1/pushes/{push_id}"): Entry(READERS, Call(at("/api/v1/pushes/{w.push}"))),
    ("GET", "/api/v1/deliveries"): Entry(READERS, Call(at("/api/v1/deliveries"))),
    ("POST", "/api/v1/residents/{resident_id}/erase"): Entry(
        ADMIN, Call(at("/api/v1/residents/{w.own_resident}/erase"), json={"reason": "本人申请"})
    ),
    # residents: kept by grid workers (their own grids) and the admin
    ("GET", "/api/v1/residents"): Entry(GRID, Call(at("/api/v1/residents?grid=东山村第1网格"))),
    ("POST", "/api/v1/residents"): Entry(GRID, Call(at("/api/v1/residents"), json=NEW_RESIDENT)),
    ("POST", "/api/v1/residents/bulk"): Entry(
        GRID, Call(at("/api/v1/residents/bulk?dry_run=true"), json={"rows": [ROSTER_ROW]})
    ),
    ("GET", "/api/v1/residents/{resident_id}"): Entry(
        GRID, Call(at("/api/v1/residents/{w.own_resident}"))
    ),
    ("PUT", "/api/v1/residents/{resident_id}"): Entry(
        GRID, Call(at("/api/v1/residents/{w.own_resident}"), json=NEW_RESIDENT)
    ),
    ("POST", "/api/v1/residents/{resident_id}/deactivate"): Entry(
        GRID, Call(at("/api/v1/residents/{w.own_resident}/deactivate"), json={"reason": "迁出"})
    ),
    # sources: an admin configures them; a publisher may read them and fetch one now
    **TOWN_API,
    ("GET", "/api/v1/sources"): Entry(SOURCES, Call(at("/api/v1/sources"))),
    ("POST", "/api/v1/sources"): Entry(ADMIN, Call(at("/api/v1/sources"), json=SOURCE)),
    ("GET", "/api/v1/sources/{source_id}"): Entry(SOURCES, Call(at("/api/v1/sources/{w.source}"))),
    ("PUT", "/api/v1/sources/{source_id}"): Entry(
        ADMIN, Call(at("/api/v1/sources/{w.source}"), json=SOURCE)
    ),
    ("POST", "/api/v1/sources/{source_id}/fetch"): Entry(
        SOURCES, Call(at("/api/v1/sources/{w.source}/fetch?dry_run=true"), json={})
    ),
    # console
    **TOWN_CONSOLE,
    ("GET", "/"): Entry(READERS, Call(at("/"))),
    ("GET", "/sources"): Entry(SOURCES, Call(at("/sources"))),
    ("GET", "/sources/new"): Entry(ADMIN, Call(at("/sources/new"))),
    ("POST", "/sources/new"): Entry(ADMIN, Call(at("/sources/new"), form=lambda w, r: SOURCE)),
    ("GET", "/sources/{source_id}"): Entry(SOURCES, Call(at("/sources/{w.source}"))),
    ("POST", "/sources/{source_id}"): Entry(
        ADMIN, Call(at("/sources/{w.source}"), form=lambda w, r: SOURCE | {"enabled": "on"})
    ),
    ("POST", "/sources/{source_id}/fetch"): Entry(
        SOURCES, Call(at("/sources/{w.source}/fetch"), form=lambda w, r: {"dry_run": "1"})
    ),
    ("GET", "/items"): Entry(STAFF, Call(at("/items"))),
    ("GET", "/items/new"): Entry(frozenset({"admin", "publisher"}), Call(at("/items/new"))),
    ("POST", "/items/new"): Entry(
        frozenset({"admin", "publisher"}), Call(at("/items/new"), form=lambda w, r: dict(ITEM))
    ),
    ("GET", "/items/{item_id}"): Entry(STAFF, Call(at("/items/{w.pushed}"))),
    ("GET", "/items/{item_id}/edit"): Entry(
        frozenset({"admin", "publisher"}), Call(at("/items/{w.draft}/edit"))
    ),
    ("POST", "/items/{item_id}/edit"): Entry(
        frozenset({"admin", "publisher"}),
        Call(at("/items/{w.draft}/edit"), form=lambda w, r: dict(ITEM)),
    ),
    ("POST", "/items/{item_id}/submit"): Entry(
        frozenset({"admin", "publisher"}), Call(at("/items/{w.draft}/submit"), form=_none)
    ),
    ("POST", "/items/{item_id}/review"): Entry(
        STAFF_CHECK,
        Call(
            at("/items/{w.submitted}/review"),
            form=lambda w, r: {"step": "staff", "decision": "approve", "opinion": "不涉密"},
        ),
    ),
    ("POST", "/items/{item_id}/takedown"): Entry(
        TAKE_DOWN,
        Call(
            at("/items/{w.pushed}/takedown"),
            form=lambda w, r: {"action": "withdraw", "reason": "日期有误", "confirm": "on"},
        ),
    ),
    ("GET", "/items/{item_id}/progress.json"): Entry(
        STAFF, Call(at("/items/{w.pushed}/progress.json"))
    ),
    ("GET", "/deliveries"): Entry(READERS, Call(at("/deliveries"))),
    ("GET", "/deliveries/export.{fmt}"): Entry(READERS, Call(at("/deliveries/export.csv"))),
    ("POST", "/deliveries/retry"): Entry(OFFICE, Call(at("/deliveries/retry"), form=_none)),
    ("GET", "/followup"): Entry(READERS, Call(at("/followup"))),  # the office: groups missed
    ("GET", "/relay"): Entry(READERS, Call(at("/relay"))),  # a keeper may hold any role
    ("POST", "/relay/{delivery_id}/done"): Entry(
        GRID, Call(at("/relay/{w.relay}/done"), form=_none)
    ),
    ("POST", "/relay/{delivery_id}/refuse"): Entry(
        GRID,
        Call(at("/relay/{w.relay}/refuse"), form=lambda w, r: {"reason": "muted", "note": ""}),
    ),
    ("POST", "/followup/{delivery_id}/confirm"): Entry(
        GRID, Call(at("/followup/{w.unreachable}/confirm"), form=_none)
    ),
    ("GET", "/residents"): Entry(GRID, Call(at("/residents"))),
    ("GET", "/residents/new"): Entry(GRID, Call(at("/residents/new"))),
    ("POST", "/residents/new"): Entry(
        GRID,
        Call(
            at("/residents/new"),
            form=lambda w, r: {"name": "周大爷", "phone": "13698765432", "region_id": w.grids[0]},
        ),
    ),
    ("GET", "/residents/{resident_id}"): Entry(GRID, Call(at("/residents/{w.own_resident}"))),
    ("POST", "/residents/{resident_id}"): Entry(
        GRID,
        Call(
            at("/residents/{w.own_resident}"),
            form=lambda w, r: {"name": "改名", "region_id": w.grids[0], "sms_consent": "on"},
        ),
    ),
    ("GET", "/residents/{resident_id}/erase"): Entry(
        ADMIN, Call(at("/residents/{w.own_resident}/erase"))
    ),
    ("POST", "/residents/{resident_id}/erase"): Entry(
        ADMIN,
        Call(
            at("/residents/{w.own_resident}/erase"),
            form=lambda w, r: {"reason": "本人申请", "confirm": "on"},
        ),
    ),
    ("GET", "/residents/import"): Entry(GRID, Call(at("/residents/import"))),
    ("POST", "/residents/import"): Entry(
        GRID,
        Call(
            at("/residents/import"),
            form=lambda w, r: {"file": xlsx([["张三", "13912345678", w.grid_codes[0], "", ""]])},
        ),
    ),
    ("POST", "/residents/import/apply"): Entry(
        GRID, Call(at("/residents/import/apply"), form=lambda w, r: {"draft": "0", "apply": "none"})
    ),
    ("GET", "/residents/export.{fmt}"): Entry(GRID, Call(at("/residents/export.csv"))),
    # residents' messages, binding requests and QR posters
    ("GET", "/messages"): Entry(READERS, Call(at("/messages"))),
    ("POST", "/messages/{message_id}/answer"): Entry(
        GRID, Call(at("/messages/{w.message}/answer"), form=lambda w, r: {"answer": "已报修"})
    ),
    ("POST", "/messages/{message_id}/close"): Entry(
        GRID, Call(at("/messages/{w.message}/close"), form=_none)
    ),
    ("GET", "/bindings"): Entry(GRID, Call(at("/bindings"))),
    ("POST", "/bindings/{binding_id}"): Entry(
        GRID, Call(at("/bindings/{w.binding}"), form=lambda w, r: {"decision": "reject"})
    ),
    ("GET", "/posters"): Entry(READERS, Call(at("/posters"))),
    ("GET", "/posters/{region_id}"): Entry(READERS, Call(at("/posters/{w.grids[0]}"))),
    ("GET", "/rules"): Entry(STAFF, Call(at("/rules"))),
    ("GET", "/rules/validate"): Entry(STAFF, Call(at("/rules/validate?text=低保"))),
    ("GET", "/rules/{group_id}"): Entry(STAFF, Call(at("/rules/{w.group}"))),
    ("POST", "/rules/{group_id}"): Entry(
        OFFICE, Call(at("/rules/{w.group}"), form=lambda w, r: {"rule_new": "低保 | 救助"})
    ),
    ("POST", "/rules/{group_id}/test"): Entry(
        STAFF,
        Call(
            at("/rules/{w.group}/test"),
            form=lambda w, r: {"title": "低保", "body": "低保金", "expressions": "低保"},
        ),
    ),
    ("GET", "/sandbox"): Entry(STAFF, Call(at("/sandbox"))),
    ("GET", "/sms-templates"): Entry(STAFF, Call(at("/sms-templates"))),
    # reports and the disclosure clock: the office reads them; grid workers do not
    ("GET", "/items/{item_id}/review-form"): Entry(
        STAFF, Call(at("/items/{w.pushed}/review-form"))
    ),
    ("GET", "/items/{item_id}/review-form.pdf"): Entry(
        STAFF, Call(at("/items/{w.pushed}/review-form.pdf"))
    ),
    ("GET", "/due"): Entry(STAFF, Call(at("/due"))),
    ("GET", "/settings"): Entry(READERS, Call(at("/settings"))),
    ("GET", "/reports/monthly"): Entry(STAFF, Call(at("/reports/monthly"))),
    ("GET", "/reports/monthly/print"): Entry(STAFF, Call(at("/reports/monthly/print"))),
    ("GET", "/reports/monthly.xlsx"): Entry(STAFF, Call(at("/reports/monthly.xlsx"))),
    ("GET", "/reports/yearly"): Entry(STAFF, Call(at("/reports/yearly"))),
    ("GET", "/reports/register.xlsx"): Entry(STAFF, Call(at("/reports/register.xlsx"))),
    ("GET", "/audit"): Entry(ADMIN, Call(at("/audit"))),
    ("GET", "/users"): Entry(ADMIN, Call(at("/users"))),
    ("POST", "/users"): Entry(
        ADMIN,
        Call(
            at("/users"),
            form=lambda w, r: {"username": "new_clerk", "password": PASSWORD, "role": "publisher"},
        ),
    ),
    ("POST", "/users/{user_id}"): Entry(
        ADMIN,
        Call(at("/users/{w.user}"), form=lambda w, r: {"action": "password", "password": PASSWORD}),
    ),
}


def app_routes(client: Client) -> dict[tuple[str, str], str]:
    """(method, path) of every route on the app → its name ("" when unnamed); HEAD as GET."""
    found: dict[tuple[str, str], str] = {}
    for route in client.server.app.router.routes():
        if route.method == "HEAD":
            continue  # aiohttp adds HEAD beside each GET; it answers like the GET
        assert route.resource is not None
        found[(route.method, route.resource.canonical)] = route.name or ""
    return found


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory, jieba_cache: Path) -> World:
    return template(tmp_path_factory.mktemp("world"), jieba_cache)


@pytest.fixture
async def world(world_template: World, tmp_path: Path) -> AsyncIterator[tuple[World, Client]]:
    mine = copy_of(world_template, tmp_path / "pusher.db")
    async for client in client_for(mine):
        yield mine, client


async def test_every_route_is_in_the_matrix(world: tuple[World, Client]) -> None:
    routes = app_routes(world[1])
    missing = sorted(set(routes) - set(MATRIX))
    assert not missing, f"routes without a permission entry: {missing}"
    gone = [k for k in MATRIX if k not in routes]
    assert not gone, f"matrix entries for routes the app no longer has: {gone}"


async def _ask(client: Client, world: World, key: tuple[str, str], role: str) -> Any:
    method, _ = key
    call = MATRIX[key].call
    console = app_routes(client)[key].startswith("console.")
    headers = {} if role == "anonymous" else {"Authorization": f"Bearer {role}"}
    if role != "anonymous" and console and key != ("POST", "/login"):
        await login(client, role)
    kwargs: dict[str, Any] = {"allow_redirects": False, "headers": headers}
    if call.json is not None:
        kwargs["json"] = call.json
    if call.form is not None:
        fields = call.form(world, role)
        if "xml" in fields:
            kwargs["data"] = fields["xml"].encode()
        elif console:
            kwargs["data"] = multipart(fields, await csrf(client))
        else:
            kwargs["data"] = fields
    resp = await client.request(method, call.path(world), **kwargs)
    await resp.read()
    await settle(client)
    return resp


def verdict(status: int, location: str) -> str:
    if status in (401, 403) or (300 <= status < 400 and location.startswith("/login")):
        return "denied"
    return "allowed" if 200 <= status < 400 else f"error {status}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", list(MATRIX), ids=lambda k: f"{k[0]} {k[1]}")
async def test_permission(world: tuple[World, Client], key: tuple[str, str], role: str) -> None:
    w, client = world
    entry = MATRIX[key]
    assert key in app_routes(client), f"{key[1]} is not registered on this app"
    resp = await _ask(client, w, key, role)
    location = resp.headers.get("Location", "")
    if entry.closed:
        assert resp.status == 404, resp.status
        return
    if entry.allowed is PUBLIC:
        if key == ("POST", "/logout"):
            assert resp.status == 302, resp.status
        else:
            assert 200 <= resp.status < 400, (resp.status, location)
        return
    expected = "allowed" if role in entry.allowed else "denied"
    assert verdict(resp.status, location) == expected, (resp.status, location)
    if expected == "denied":
        console = app_routes(client)[key].startswith("console.")
        want = (302 if console else 401) if role == "anonymous" else 403
        assert resp.status == want


def bearer(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {role}"}


async def _json(client: Client, path: str, role: str) -> Any:
    resp = await client.get(path, headers=bearer(role))
    assert resp.status == 200, (path, resp.status, await resp.text())
    return await resp.json()


async def test_grid_worker_sees_only_own_grid_through_the_api(world: tuple[World, Client]) -> None:
    w, client = world
    everyone = await _json(client, "/api/v1/deliveries?limit=1000", "admin")
    mine = await _json(client, "/api/v1/deliveries?limit=1000", "grid_worker")
    regions = {d["region_id"] for d in everyone["deliveries"]}
    assert len(regions) > 1 and 0 < mine["total"] < everyone["total"]
    assert {d["region_id"] for d in mine["deliveries"]} == {w.grids[0]}
    counts = (await _json(client, f"/api/v1/pushes/{w.push}", "grid_worker"))["counts"]
    assert sum(n for c in counts.values() for n in c.values()) == mine["total"]
    full = (await _json(client, f"/api/v1/pushes/{w.push}", "admin"))["counts"]
    assert sum(n for c in full.values() for n in c.values()) == everyone["total"]
    pushes = await _json(client, "/api/v1/pushes", "grid_worker")
    assert [p["id"] for p in pushes["pushes"]] == [w.push]
    own = await _json(client, f"/api/v1/deliveries?region={w.grid_codes[0]}", "grid_worker")
    assert own["total"] == mine["total"]


async def _denials(world: World) -> list[AuditLog]:
    from pusher.runtime.resources import open_resources

    async with open_resources(world.settings) as r, r.db() as db:
        rows = await db.scalars(select(AuditLog).where(AuditLog.action == "access.denied"))
        return list(rows.all())


@pytest.mark.parametrize(
    ("query", "target"),
    [
        ("resident_id={w.other_resident}", "resident:{w.other_resident}"),
        ("region={w.grid_codes[1]}", "region:{w.grid_codes[1]}"),
        ("resident_id=999999", "resident:999999"),
    ],
)
async def test_grid_worker_outside_their_grid_is_refused_and_audited(
    world: tuple[World, Client], query: str, target: str
) -> None:
    w, client = world
    resp = await client.get(
        f"/api/v1/deliveries?{query.format(w=w)}", headers=bearer("grid_worker")
    )
    assert resp.status == 403 and "无权" in (await resp.json())["error"]
    rows = await _denials(w)
    assert [(r.actor, r.target, r.detail["via"]) for r in rows] == [
        ("grid_worker", target.format(w=w), "api")
    ]
    async with client.server.app[RESOURCES].db() as db:
        mine = await db.scalar(select(Delivery.resident_id).where(Delivery.region_id == w.grids[0]))
    assert (
        await client.get(f"/api/v1/deliveries?resident_id={mine}", headers=bearer("grid_worker"))
    ).status == 200


async def test_role_refusals_on_the_api_are_audited(world: tuple[World, Client]) -> None:
    w, client = world
    resp = await client.post(
        f"/api/v1/items/{w.submitted}/review",
        json={"step": "staff", "decision": "approve"},
        headers=bearer("grid_worker"),
    )
    assert resp.status == 403
    rows = await _denials(w)
    assert [(r.actor, r.detail["why"]) for r in rows] == [("grid_worker", "role")]
