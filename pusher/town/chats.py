"""Village and grid group chats reached through their WeCom robots.

A chat is registered with its robot's webhook key (a bare key or the whole webhook URL
as staff paste it); the key is the robot's only credential, so answers show it masked.
A changed key re-addresses the chat's messages still waiting (queued: not claimed, not
sent), so they go to the new robot. A test sends one message over the WeCom channel.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import Accepted, Channel, Message
from channels.registry import describe
from channels.wecom import robot_key
from pusher.errors import Conflict, InvalidInput, NotFound, UserError
from pusher.models import AuditLog, Delivery, DeliveryStatus, GroupChat, RegionKind, utcnow
from pusher.privacy import mask_key
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
    key = clean_key(data.robot_key)
    if await session.scalar(select(GroupChat.id).where(GroupChat.robot_key == key)):
        raise Conflict("这个机器人已登记在另一个群聊上。")
    chat = GroupChat(
        name=clean_name(data.name),
        region_id=await _region_id(session, data.region_code),
        robot_key=key,
    )
    session.add(chat)
    await session.flush()
    return chat


async def update_chat(session: AsyncSession, chat: GroupChat, data: ChatIn) -> int:
    """Rename, move, and (with a key given) change the robot; answers how many waiting
    messages were moved to the new key."""
    chat.name = clean_name(data.name)
    chat.region_id = await _region_id(session, data.region_code)
    moved = 0
    if data.robot_key.strip():
        key = clean_key(data.robot_key)
        if key != chat.robot_key:
            taken = select(GroupChat.id).where(GroupChat.robot_key == key, GroupChat.id != chat.id)
            if await session.scalar(taken):
                raise Conflict("这个机器人已登记在另一个群聊上。")
            chat.robot_key = key
            moved = await readdress_waiting(session, chat)
    await session.flush()
    return moved


async def readdress_waiting(session: AsyncSession, chat: GroupChat) -> int:
    """Point the chat's queued (not yet claimed) messages at its current key."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.group_chat_id == chat.id,
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.recipient != chat.robot_key,
        )
        .values(recipient=chat.robot_key)
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
            .where(Delivery.group_chat_id == chat.id, Delivery.status == DeliveryStatus.QUEUED)
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
    (counted from the audit log, so every process sees the same count)."""
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
        "robot_key": mask_key(chat.robot_key),
        "active": chat.active,
    }
