"""Sample items for the demo, as a publisher would enter them."""

from __future__ import annotations

from dataclasses import dataclass

from pusher.models import Disclosure, Urgency


@dataclass(frozen=True)
class Sample:
    title: str
    body: str
    region: str  # "town" or a village index 0..4
    urgency: Urgency = Urgency.NORMAL
    disclosure: Disclosure = Disclosure.PROACTIVE
    domain: str | None = None
    approve: bool = True


SAMPLES = (
    Sample(
        "关于发放2024年第四季度高龄津贴的通知",
        "各村（社区）：根据县民政局安排，2024年第四季度高龄津贴将于12月20日前发放到位。"
        "发放对象为本镇户籍年满80周岁的老年人，80至89周岁每人每月100元，90周岁以上每人每月300元。"
        "请符合条件的老年人或家属于12月10日前携带身份证、户口簿到村委会核对信息。"
        "咨询电话：0791-83451234。",
        "town",
    ),
    Sample(
        "青山镇气象台发布暴雨红色预警信号",
        "青山镇气象台2024年6月18日15时发布暴雨红色预警信号：预计未来3小时内我镇大部分地区"
        "将出现100毫米以上降水。请立即停止户外作业，远离河道、山塘和地质灾害隐患点，"
        "低洼地带群众及时转移。防汛值班电话：0791-83450110。",
        "town",
        urgency=Urgency.URGENT,
        domain="救灾",
    ),
    Sample(
        "东山村自来水管网改造停水通知",
        "因东山村自来水管网改造施工，定于12月5日8时至18时停水，请村民提前做好储水准备。"
        "如有疑问请联系村委会：13800138000。",
        "0",
        domain="市政服务",
    ),
    Sample(
        "2025年度城乡居民基本医疗保险集中缴费通知",
        "2025年度城乡居民医保集中缴费期为2024年9月1日至12月31日，个人缴费标准为每人每年380元。"
        "参保群众可通过微信、支付宝或到镇便民服务中心缴费。咨询电话：0791-83452345。",
        "town",
    ),
    Sample(
        "关于调整农村最低生活保障标准的通知",
        "经县人民政府同意，自2024年7月1日起，农村低保标准由每人每月580元提高到每人每月620元。"
        "低保户无需重新申请，差额部分将于8月底前补发。",
        "town",
        domain="社会救助",
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
