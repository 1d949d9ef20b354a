"""Binding a follower to the roster: name and phone, an SMS code, a match or the grid worker.

The code always goes to the number entered, whether or not it is on the roster, and the
answers are the same either way: nobody learns from this page who is on the roster. A
follower who binds someone else (``proxy``, 代收 for an elderly parent) confirms with
the code sent to that person's number; the person's WeChat address becomes the
follower's openid. No roster match: a pending binding the grid worker accepts or
rejects in the console.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import Channel, ChannelError, Message, Rejected
from pusher.audit import record
from pusher.db import SessionFactory, transaction
from pusher.errors import Conflict, InvalidInput, UserError
from pusher.models import Region, Resident, WxBinding, WxFollower, utcnow
from pusher.pipeline.readdress import follow_resident
from pusher.privacy import mask_key, mask_phone
from pusher.residents.codes import Refused, check_phone, issue, try_code
from pusher.settings import Settings
from pusher.summary.sms_service import service_message

log = logging.getLogger(__name__)
BOUND, PENDING, REJECTED, REPLACED = "bound", "pending", "rejected", "replaced"


class SmsDown(UserError):
    status = 503


@dataclass(frozen=True)
class Request:
    """What the resident typed on the binding page."""

    openid: str
    name: str
    phone: str
    proxy: bool
    address: str


def actor(openid: str) -> str:
    """How a follower appears in the audit log (masked)."""
    return f"wx:{mask_key(openid)}"


async def audit_refusal(
    db: SessionFactory, openid: str, exc: Refused | str, **detail: object
) -> None:
    """An audit row for a refused code request or try, in a transaction of its own."""
    action = exc.action if isinstance(exc, Refused) else exc
    async with transaction(db) as session:
        record(session, actor=actor(openid), action=action, target="wx.bind", detail=detail)


async def follower_region(session: AsyncSession, openid: str) -> Region:
    """The region the follower joined through, else a Chinese refusal."""
    follower = await session.get(WxFollower, openid)
    region = (
        await session.get(Region, follower.region_id) if follower and follower.region_id else None
    )
    if region is None:
        raise Conflict("请先扫描本村（社区）或网格的二维码关注，再来绑定。")
    return region


def _checked(req: Request) -> Request:
    name = req.name.strip()
    if not name or len(name) > 32:
        raise InvalidInput("请填写姓名（32 字以内）。", field="name")
    return Request(req.openid, name, check_phone(req.phone), req.proxy, req.address)


async def send_code(db: SessionFactory, sms: Channel, req: Request, settings: Settings) -> None:
    """Check the limits, keep a new code and send it to the number entered."""
    req = _checked(req)
    secret = settings.secret_key.get_secret_value()
    try:
        async with transaction(db) as session:
            region = await follower_region(session, req.openid)
            row, code = await issue(
                session,
                phone=req.phone,
                openid=req.openid,
                name=req.name,
                proxy=req.proxy,
                address=req.address,
                wx=settings.wx,
                secret=secret,
                now=utcnow(),
            )
    except Refused as exc:
        await audit_refusal(db, req.openid, exc, phone=mask_phone(req.phone), address=req.address)
        raise
    minutes = settings.wx.code_ttl_seconds // 60
    text = f"验证码{code}，用于绑定{region.name}政务通知，{minutes}分钟内有效。如非本人操作请忽略。"
    built = service_message(
        sms, "code", key=f"code-{row.id}", recipient=req.phone, text=text, values={"code": code}
    )
    await _send(sms, built)


async def _send(sms: Channel, message: Message | ChannelError) -> None:
    if isinstance(message, ChannelError):  # refused locally: no template for codes
        log.warning("code not sent", extra={"code": message.code, "reason": str(message)})
        raise SmsDown("短信发送失败，请稍后再试。")
    try:
        outcome = (await sms.send([message]))[0]
    except ChannelError as exc:
        outcome = Rejected(message.key, exc)
    if isinstance(outcome, Rejected):
        log.warning("code not sent", extra={"code": outcome.error.code})
        raise SmsDown("短信发送失败，请稍后再试。")


async def confirm(db: SessionFactory, openid: str, code: str, settings: Settings) -> WxBinding:
    """Check the code; bind to the roster record with that phone in the follower's region,
    or leave a pending binding for the grid worker."""
    secret = settings.secret_key.get_secret_value()
    async with transaction(db) as session:
        tried = await try_code(
            session, openid=openid, code=code, wx=settings.wx, secret=secret, now=utcnow()
        )
    if tried.row is None:
        await audit_refusal(db, openid, tried.action)
        raise Refused(tried.error, action=tried.action)
    row = tried.row
    async with transaction(db) as session:
        region = await follower_region(session, openid)
        resident = await _roster_match(session, region, row.phone)
        binding = WxBinding(
            openid=openid, region_id=region.id, name=row.name, phone=row.phone, proxy=row.proxy
        )
        session.add(binding)
        if resident is not None:
            await bind(session, binding, resident)
        record(
            session,
            actor=actor(openid),
            action=f"wx.bind_{binding.status}",
            target="wx.bind",
            detail={"binding_proxy": row.proxy, "region": region.code},
        )
    return binding


async def _roster_match(session: AsyncSession, region: Region, phone: str) -> Resident | None:
    inside = select(Region.id).where(Region.path.startswith(region.path))
    query = select(Resident).where(Resident.phone == phone, Resident.region_id.in_(inside))
    return await session.scalar(query.order_by(Resident.id).limit(1))


async def bind(session: AsyncSession, binding: WxBinding, resident: Resident) -> None:
    """Tie ``resident`` to the binding's follower: their WeChat address is its openid."""
    assert resident.id is not None
    await session.execute(
        update(WxBinding)
        .where(WxBinding.resident_id == resident.id, WxBinding.status == BOUND)
        .values(status=REPLACED)
    )
    binding.resident_id, binding.status = resident.id, BOUND
    resident.openid, resident.wechat_follows, resident.wechat_opt_out = binding.openid, True, False
    await session.flush()
    await follow_resident(session, resident, utcnow())


async def decide(session: AsyncSession, binding: WxBinding, *, accept: bool, by: str) -> None:
    """The grid worker's word on a pending binding: a new roster record, or rejected."""
    if binding.status != PENDING:
        raise Conflict("这条绑定申请已处理过。")
    binding.decided_by, binding.decided_at = by, utcnow()
    if not accept:
        binding.status = REJECTED
        return
    resident = await _roster_match(session, await _region(session, binding), binding.phone)
    if resident is None:
        resident = Resident(name=binding.name, region_id=binding.region_id, phone=binding.phone)
        session.add(resident)
        await session.flush()
    await bind(session, binding, resident)


async def _region(session: AsyncSession, binding: WxBinding) -> Region:
    region = await session.get(Region, binding.region_id)
    assert region is not None
    return region


async def bindings_of(
    session: AsyncSession, openid: str
) -> list[tuple[WxBinding, Resident | None]]:
    """The follower's bindings (newest first) with their residents."""
    rows = await session.execute(
        select(WxBinding, Resident)
        .outerjoin(Resident, Resident.id == WxBinding.resident_id)
        .where(WxBinding.openid == openid, WxBinding.status.in_([BOUND, PENDING]))
        .order_by(WxBinding.id.desc())
    )
    return [(b, r) for b, r in rows.all()]
