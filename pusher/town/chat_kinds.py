"""What a group chat needs by its kind (:class:`~pusher.models.GroupChatKind`).

A robot needs its webhook key; a WeCom customer group (客户群) its owner's WeCom userid
and its chat id; an ordinary WeChat group its keeper, the console user who relays
notices to it. A keeper (optional on the other kinds) is an active console user whose
region scope covers the chat's region: the village's grid worker or a cadre.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.errors import Conflict, InvalidInput
from pusher.models import GroupChat, GroupChatKind, Region, Role, User, UserRegion

KIND_LABELS = {
    GroupChatKind.ROBOT: "群机器人",
    GroupChatKind.CUSTOMER_GROUP: "企业微信客户群",
    GroupChatKind.RELAY: "普通微信群（转发）",
}
USERID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
CHAT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def clean_kind(raw: str) -> GroupChatKind:
    try:
        return GroupChatKind(raw.strip() or GroupChatKind.ROBOT)
    except ValueError:
        raise InvalidInput(
            "群聊类型不正确：请选择群机器人、企业微信客户群或普通微信群（转发）。", field="kind"
        ) from None


def clean_owner(raw: str) -> str:
    owner = raw.strip()
    if not USERID.match(owner):
        raise InvalidInput(
            "请填写客户群群主的企业微信账号（UserID，字母、数字或 _.@-，不超过 64 位）。",
            field="owner_userid",
        )
    return owner


def clean_chat_id(raw: str) -> str:
    chat_id = raw.strip()
    if not CHAT_ID.match(chat_id):
        raise InvalidInput(
            "请填写客户群的群 ID（chat_id，字母、数字或 _-，不超过 64 位）。",
            field="wecom_chat_id",
        )
    return chat_id


async def check_chat_id_free(session: AsyncSession, chat_id: str, *, but: int | None) -> None:
    taken = select(GroupChat.id).where(GroupChat.wecom_chat_id == chat_id)
    if but is not None:
        taken = taken.where(GroupChat.id != but)
    if await session.scalar(taken):
        raise Conflict("这个客户群已登记在另一个群聊上。")


async def keeper_id(session: AsyncSession, username: str, region_id: int) -> int:
    """The id of the console user ``username`` who may keep a chat in ``region_id``."""
    name = username.strip()[:64]
    user = await session.scalar(select(User).where(User.username == name))
    if user is None or not user.active:
        raise InvalidInput(f"转发人「{name}」不是在用的控制台用户。", field="keeper")
    if not await _covers(session, user, region_id):
        raise InvalidInput(
            f"转发人「{name}」不负责这个群所在的村或网格：请先给他分配该区域。", field="keeper"
        )
    assert user.id is not None
    return user.id


async def _covers(session: AsyncSession, user: User, region_id: int) -> bool:
    """True when ``user``'s scope covers the region (grid workers: their assigned regions
    and what lies under them; other roles see every region)."""
    if user.role != Role.GRID_WORKER:
        return True
    path = await session.scalar(select(Region.path).where(Region.id == region_id))
    assigned = await session.scalars(
        select(Region.path)
        .join(UserRegion, UserRegion.region_id == Region.id)
        .where(UserRegion.user_id == user.id)
    )
    return path is not None and any(path.startswith(mine) for mine in assigned)
