"""Outsiders on the binding pages: guessing codes, flooding a number, binding someone
else's number, forging the OAuth state. Each is refused with a Chinese sentence and
leaves an audit row; nothing says who is on the roster."""

from __future__ import annotations

from sqlalchemy import select

from pusher.models import AuditLog, Resident, WxBinding
from pusher.residents.scenes import scene_for
from pusher.settings import Settings
from tests.wx.rig import Phone, WxRig, code_in, running

MALLORY = "oMallory00000000000001"
VICTIM_PHONE = "13700000009"


async def _audits(rig: WxRig, action: str) -> int:
    async with rig.resources.db() as db:
        return len(list(await db.scalars(select(AuditLog).where(AuditLog.action == action))))


async def _joined(rig: WxRig, openid: str) -> Phone:
    village = await rig.region(rig.town.village_codes[0])
    await rig.event(openid, "subscribe", scene=scene_for(village))
    phone = Phone(rig, openid)
    await phone.get("/wx/bind")
    return phone


async def test_sixth_guess_is_refused_even_with_the_right_code(either_settings: Settings) -> None:
    async with running(either_settings) as rig:
        phone = await _joined(rig, MALLORY)
        try:
            await phone.post("/wx/bind/code", {"name": "张三", "phone": VICTIM_PHONE})
            right = code_in(rig.sms_texts(VICTIM_PHONE))
            wrong = f"{(int(right) + 1) % 1_000_000:06d}"
            for left in (4, 3, 2, 1):
                status, page = await phone.post("/wx/bind/confirm", {"code": wrong})
                assert status == 429 and f"还可以再试 {left} 次" in page, page
            status, page = await phone.post("/wx/bind/confirm", {"code": wrong})
            assert status == 429 and "错误次数过多" in page
            status, page = await phone.post("/wx/bind/confirm", {"code": right})
            assert status == 429 and "错误次数过多" in page, page
        finally:
            await phone.close()
        assert await _audits(rig, "wx.code_wrong") == 5
        assert await _audits(rig, "wx.code_guessing") == 1


async def test_second_code_within_a_minute_is_refused(either_settings: Settings) -> None:
    async with running(either_settings) as rig:
        phone = await _joined(rig, MALLORY)
        try:
            status, _ = await phone.post("/wx/bind/code", {"name": "张三", "phone": VICTIM_PHONE})
            assert status == 200
            status, page = await phone.post(
                "/wx/bind/code", {"name": "张三", "phone": VICTIM_PHONE}
            )
            assert status == 429 and "1 分钟后再试" in page, page
        finally:
            await phone.close()
        assert len(rig.sms_texts(VICTIM_PHONE)) == 1
        assert await _audits(rig, "wx.code_flood") == 1


async def test_someone_elses_number_cannot_be_bound_and_is_not_revealed(
    either_settings: Settings,
) -> None:
    async with running(either_settings) as rig:
        grid = next(c for c in rig.town.grid_codes if c.startswith(rig.town.village_codes[0]))
        victim = await rig.add_resident("王大爷", VICTIM_PHONE, grid)
        phone = await _joined(rig, MALLORY)
        try:
            on_roster = await phone.post("/wx/bind/code", {"name": "王大爷", "phone": VICTIM_PHONE})
            nobody = await phone.post("/wx/bind/code", {"name": "王大爷", "phone": "13700000010"})
            # the same answer whether or not the number is on the roster (bar the masked number)
            assert on_roster[0] == nobody[0] == 200
            assert on_roster[1].replace("137****0009", "X") == nobody[1].replace("137****0010", "X")
            assert code_in(rig.sms_texts(VICTIM_PHONE))  # the code went to the victim's phone only
            status, page = await phone.post("/wx/bind/confirm", {"code": "000000"})
            assert status == 429 and "验证码不正确" in page
        finally:
            await phone.close()
        async with rig.resources.db() as db:
            resident = await db.get(Resident, victim)
            bound = list(await db.scalars(select(WxBinding).where(WxBinding.openid == MALLORY)))
        assert resident is not None and resident.openid is None and bound == []
        assert await _audits(rig, "wx.code_wrong") == 1


async def test_forged_oauth_state_is_refused(either_settings: Settings) -> None:
    async with running(either_settings) as rig:
        phone = Phone(rig, MALLORY)
        try:
            # a state of the attacker's own, without the cookie that /wx/login set
            status, page = await phone.get("/wx/oauth?code=stolen&state=forged-state")
            assert status == 403 and "登录校验失败" in page, page
            status, page = await phone.get("/wx/")  # the real flow still works
            assert status == 200 and "还没有绑定身份" in page
        finally:
            await phone.close()
        assert await _audits(rig, "wx.oauth_state") == 1
        assert await _audits(rig, "wx.login") == 1
