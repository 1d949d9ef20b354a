"""Sample items for the demo, as a publisher would enter them, each with the audience
the office means it for.

The audience is said in the terms the demo town was built in (:mod:`pusher.demo.town`:
who lives where, who carries which tag, who subscribed to which topic), not in the
pipeline's: ``pusher demo --check`` works out each audience from the town's rows
(:mod:`pusher.demo.expected`) and requires the pipeline to have reached exactly it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pusher.models import Disclosure, Urgency


@dataclass(frozen=True)
class Audience:
    """Whom an item is meant for, among the residents of its region.

    A resident is meant when they live there (``everyone``), carry one of ``tags``, or
    subscribed to one of ``topics`` and did not unsubscribe. Unless the item is urgent,
    a resident who unsubscribed from one of ``topics`` is left out even when a tag or
    the region brings them in. With ``chats`` the village group chats of the region
    get it too.
    """

    everyone: bool = False
    tags: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    chats: bool = False


NOBODY = Audience()


@dataclass(frozen=True)
class Sample:
    """One demo item; ``audience``: whom it is meant for once approved and pushed."""

    title: str
    body: str
    region: str  # "town" or a village index 0..4
    urgency: Urgency = Urgency.NORMAL
    disclosure: Disclosure = Disclosure.PROACTIVE
    domain: str | None = None
    approve: bool = True
    audience: Audience = NOBODY

    @property
    def pushed(self) -> bool:
        """Whether the office means it to go out at all (approved, proactively disclosed)."""
        return self.approve and self.disclosure == Disclosure.PROACTIVE


SAMPLES = (
    Sample(
        "关于发放2024年第四季度高龄津贴的通知",
        "各村（社区）：根据县民政局安排，2024年第四季度高龄津贴将于12月20日前发放到位。"
        "发放对象为本镇户籍年满80周岁的老年人，80至89周岁每人每月100元，90周岁以上每人每月300元。"
        "请符合条件的老年人或家属于12月10日前携带身份证、户口簿到村委会核对信息。"
        "咨询电话：0791-83451234。",
        "town",
        audience=Audience(tags=("老年人",), topics=("养老服务",)),
    ),
    Sample(
        "青山镇气象台发布暴雨红色预警信号",
        "青山镇气象台2024年6月18日15时发布暴雨红色预警信号：预计未来3小时内我镇大部分地区"
        "将出现100毫米以上降水。请立即停止户外作业，远离河道、山塘和地质灾害隐患点，"
        "低洼地带群众及时转移。防汛值班电话：0791-83450110。",
        "town",
        urgency=Urgency.URGENT,
        domain="救灾",
        audience=Audience(everyone=True, topics=("救灾",), chats=True),  # the whole town
    ),
    Sample(
        "东山村自来水管网改造停水通知",
        "因东山村自来水管网改造施工，定于12月5日8时至18时停水，请村民提前做好储水准备。"
        "如有疑问请联系村委会：13800138000。",
        "0",
        domain="市政服务",
        audience=Audience(everyone=True, topics=("市政服务",), chats=True),  # all of 东山村
    ),
    Sample(
        "2025年度城乡居民基本医疗保险集中缴费通知",
        "2025年度城乡居民医保集中缴费期为2024年9月1日至12月31日，个人缴费标准为每人每年380元。"
        "参保群众可通过微信、支付宝或到镇便民服务中心缴费。咨询电话：0791-83452345。",
        "town",
        audience=Audience(topics=("社会保险",)),
    ),
    Sample(
        "关于调整农村最低生活保障标准的通知",
        "经县人民政府同意，自2024年7月1日起，农村低保标准由每人每月580元提高到每人每月620元。"
        "低保户无需重新申请，差额部分将于8月底前补发。",
        "town",
        domain="社会救助",
        audience=Audience(tags=("低保户",), topics=("社会救助",)),
    ),
    Sample(
        "青山镇2023年政府信息公开申请办理情况",
        "本件为依申请公开信息，仅向申请人答复，不主动推送。",
        "town",
        disclosure=Disclosure.ON_REQUEST,
    ),
    Sample(
        "关于某项目内部审议情况的说明（草稿）",
        "本件内容涉及尚未公开的内部审议，审查未通过。",
        "town",
        approve=False,
    ),
)
