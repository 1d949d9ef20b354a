"""Village and grid group chats, of three kinds (:mod:`pusher.town.chat_kinds`).

A robot chat is registered with its robot's webhook key (a bare key or the whole webhook
URL as staff paste it); the key is the robot's only credential, so answers show it
masked. A changed key re-addresses the chat's messages still waiting (queued: not
claimed, not sent), so they go to the new robot. A test sends one message over the WeCom
channel. A customer group is registered with its owner's WeCom userid and its chat id;
an ordinary WeChat group with its keeper, who relays; a new keeper takes the relays
still waiting. A chat's kind is fixed once registered.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import Accepted, Channel, Message
from channels.registry import describe
from channels.wecom import robot_key
from pusher.errors import Conflict, InvalidInput, NotFound, UserError
from pusher.models import (
    RELAY_CHANNEL,
    AuditLog,
    Delivery,
    DeliveryStatus,
    GroupChat,
    GroupChatKind,
    RegionKind,
    utcnow,
)
from pusher.privacy import mask_key
from pusher.town.chat_kinds import (
    check_chat_id_free,
    clean_chat_id,
    clean_kind,
    clean_owner,
    keeper_id,
)
from pusher.town.regions import by_code, clean_name

KEY = re.compile(r"^[A-Za-z0-9_-]{8,100}$")
TESTS_PER_WINDOW = 5
TEST_WINDOW = timedelta(minutes=10)
TEST_TEXT = "【测试】群机器人已接入政务信息推送，今后的通知将发到本群。无需回复。"


class TooMany(UserError):
    status = 429


@dataclass(frozen=True)
class ChatIn:
    name: str
    region_code: str
    robot_key: str = ""  # empty on update: keep the key
    kind: str = ""  # robot (the default) | customer_group | relay; fixed once registered
    keeper: str = ""  # the keeper's username (required for relay); empty on update: keep
    owner_userid: str = ""  # customer group: its owner's WeCom userid; empty on update: keep
    wecom_chat_id: str = ""  # customer group: its chat id; empty on update: keep


def clean_key(raw: str) -> str:
    """The webhook key from a bare key or a pasted webhook URL."""
    key = robot_key(raw.strip()) if raw.strip().startswith("http") else raw.strip()
    if not KEY.match(key):
        raise InvalidInput(
            "机器人 Webhook 地址或 key 不正确：请粘贴群机器人的完整 Webhook 地址。",
            field="robot_key",
        )
    return key


async def get_chat(session: AsyncSession, chat_id: int) -> GroupChat:
    chat = await session.get(GroupChat, chat_id)
    if chat is None:
        raise NotFound("群聊不存在。")
    return chat


async def _region_id(session: AsyncSession, code: str) -> int:
    region = await by_code(session, code)
    if region.kind not in (RegionKind.VILLAGE, RegionKind.GRID, RegionKind.TOWN):
        raise InvalidInput("群聊应属于乡镇、村（社区）或网格。", field="region_code")
    if not region.active:
        raise Conflict(f"「{region.name}」已停用。")
    assert region.id is not None
    return region.id


async def create_chat(session: AsyncSession, data: ChatIn) -> GroupChat:
    kind = clean_kind(data.kind)
    name = clean_name(data.name)
    region_id = await _region_id(session, data.region_code)
    chat = GroupChat(name=name, region_id=region_id, robot_key="", kind=kind.value)
    if kind is GroupChatKind.ROBOT:
        chat.robot_key = clean_key(data.robot_key)
        await _check_key_free(session, chat.robot_key, but=None)
    else:
        _refuse_key(data)
    if kind is GroupChatKind.CUSTOMER_GROUP:
        chat.owner_userid = clean_owner(data.owner_userid)
        chat.wecom_chat_id = clean_chat_id(data.wecom_chat_id)
        await check_chat_id_free(session, chat.wecom_chat_id, but=None)
    if kind is GroupChatKind.RELAY and not data.keeper.strip():
        raise InvalidInput("普通微信群要指定转发人（负责该群的网格员或村干部）。", field="keeper")
    if data.keeper.strip():
        chat.keeper_user_id = await keeper_id(session, data.keeper, region_id)
    session.add(chat)
    await session.flush()
    return chat


def _refuse_key(data: ChatIn) -> None:
    if data.robot_key.strip():
        raise InvalidInput("只有群机器人需要填写 Webhook 地址。", field="robot_key")


async def _check_key_free(session: AsyncSession, key: str, *, but: int | None) -> None:
    taken = select(GroupChat.id).where(GroupChat.robot_key == key)
    if but is not None:
        taken = taken.where(GroupChat.id != but)
    if await session.scalar(taken):
        raise Conflict("这个机器人已登记在另一个群聊上。")


async def update_chat(session: AsyncSession, chat: GroupChat, data: ChatIn) -> int:
    """Rename, move, and (given) change the robot key, the customer group's owner and
    chat id, or the keeper; answers how many waiting messages were re-addressed."""
    if data.kind.strip() and clean_kind(data.kind).value != chat.kind:
        raise Conflict("群聊登记后不能更改类型：请停用它，再按新类型登记。", field="kind")
    chat.name = clean_name(data.name)
    chat.region_id = await _region_id(session, data.region_code)
    moved = 0
    if chat.kind == GroupChatKind.ROBOT and data.robot_key.strip():
        key = clean_key(data.robot_key)
        if key != chat.robot_key:
            await _check_key_free(session, key, but=chat.id)
            chat.robot_key = key
            moved = await readdress_waiting(session, chat)
    elif chat.kind != GroupChatKind.ROBOT:
        _refuse_key(data)
    if chat.kind == GroupChatKind.CUSTOMER_GROUP:
        if data.owner_userid.strip():
            chat.owner_userid = clean_owner(data.owner_userid)
        if data.wecom_chat_id.strip():
            chat.wecom_chat_id = clean_chat_id(data.wecom_chat_id)
            await check_chat_id_free(session, chat.wecom_chat_id, but=chat.id)
    if data.keeper.strip():
        keeper = await keeper_id(session, data.keeper, chat.region_id)
        if keeper != chat.keeper_user_id:
            chat.keeper_user_id = keeper
            if chat.kind == GroupChatKind.RELAY:
                moved = await readdress_waiting(session, chat)
    await session.flush()
    return moved


def _waiting(chat: GroupChat) -> ColumnElement[bool]:
    """The chat's rows still waiting to go: queued, or (relayed groups) waiting for the
    keeper."""
    row = Delivery.__table__.c
    if chat.kind == GroupChatKind.RELAY:
        relay = RELAY_CHANNEL
        return (row.status == DeliveryStatus.WAITING.value) & (row.channel == relay)
    return row.status == DeliveryStatus.QUEUED.value


async def readdress_waiting(session: AsyncSession, chat: GroupChat) -> int:
    """Point the chat's waiting messages at its current key (relayed groups: keeper)."""
    address = str(chat.keeper_user_id) if chat.kind == GroupChatKind.RELAY else chat.robot_key
    result = await session.execute(
        update(Delivery)
        .where(Delivery.group_chat_id == chat.id, _waiting(chat), Delivery.recipient != address)
        .values(recipient=address)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


async def set_chat_active(session: AsyncSession, chat: GroupChat, active: bool) -> int:
    """(De)activate; deactivating cancels the chat's waiting messages (answers how many)."""
    chat.active = active
    cancelled = 0
    if not active:
        result = await session.execute(
            update(Delivery)
            .where(Delivery.group_chat_id == chat.id, _waiting(chat))
            .values(status=DeliveryStatus.CANCELLED, error_code="chat_deactivated")
            .execution_options(synchronize_session=False)
        )
        cancelled = int(result.rowcount or 0)
    await session.flush()
    return cancelled


async def send_test_message(channel: Channel, chat: GroupChat) -> tuple[bool, str]:
    """Send one test message to the chat's robot: (accepted, what to tell the user)."""
    message = Message(
        key=f"chat-test-{uuid.uuid4().hex[:12]}", recipient=chat.robot_key, text=TEST_TEXT
    )
    (outcome,) = await channel.send([message])
    if isinstance(outcome, Accepted):
        return True, f"测试消息已发出，请到「{chat.name}」群里查看。"
    error = outcome.error
    return False, f"发送失败（{error.code}）：{describe('wecom', error.code)}"


async def check_test_rate(session: AsyncSession, chat: GroupChat) -> None:
    """At most :data:`TESTS_PER_WINDOW` test messages to one chat per ten minutes
    (counted from the audit log, so every process sees the same count); robots only."""
    if chat.kind != GroupChatKind.ROBOT:
        raise Conflict("只有群机器人可以发测试消息。")
    since = utcnow() - TEST_WINDOW
    sent = await session.scalar(
        select(func.count()).where(
            AuditLog.action == "chat.test",
            AuditLog.target == f"group_chat:{chat.id}",
            AuditLog.at >= since,
        )
    )
    if (sent or 0) >= TESTS_PER_WINDOW:
        raise TooMany("测试消息发得太频繁了，请 10 分钟后再试。")


def chat_json(chat: GroupChat) -> dict[str, object]:
    return {
        "id": chat.id,
        "name": chat.name,
        "region_id": chat.region_id,
        "kind": chat.kind,
        "robot_key": mask_key(chat.robot_key) if chat.robot_key else "",
        "keeper_user_id": chat.keeper_user_id,
        "owner_userid": chat.owner_userid,
        "wecom_chat_id": chat.wecom_chat_id,
        "active": chat.active,
    }
