"""What CMPP 2.0's codes mean for us, in the table form of ``channels.errors``.

``connect:<Status>`` is a refused CMPP_CONNECT, ``submit:<Result>`` a refused
CMPP_SUBMIT; the rest are made up by our session (no answer, no link) or by the
channel's own checks. Report Stat values (DELIVRD, UNDELIV, …) are receipt
codes, not errors, and are not listed here.
"""

from __future__ import annotations

from channels.base import ChannelError
from channels.errors import FATAL, PERMANENT, TRANSIENT, ErrorTable, error_for

CMPP: ErrorTable = {
    "connect:1": (FATAL, "网关拒绝登录：消息结构错"),
    "connect:2": (FATAL, "网关拒绝登录：非法源地址（企业代码错误）"),
    "connect:3": (FATAL, "网关拒绝登录：认证错（共享密钥错误或服务器时间不准）"),
    "connect:4": (FATAL, "网关拒绝登录：版本太高"),
    "connect:*": (TRANSIENT, "网关拒绝登录：其他错误"),
    "submit:1": (PERMANENT, "网关拒收：消息结构错"),
    "submit:2": (PERMANENT, "网关拒收：命令字错"),
    "submit:3": (TRANSIENT, "网关拒收：消息序号重复"),
    "submit:4": (PERMANENT, "网关拒收：消息长度错"),
    "submit:5": (FATAL, "网关拒收：资费代码错"),
    "submit:6": (PERMANENT, "网关拒收：超过最大信息长"),
    "submit:7": (FATAL, "网关拒收：业务代码错"),
    "submit:8": (TRANSIENT, "网关流量控制，稍后再发"),
    # 9 is 2.0's catch-all "other error" (gateway trouble as often as not): retried
    # within the retry policy; codes above 9 are a gateway's own and not retried
    "submit:9": (TRANSIENT, "网关拒收：其他错误"),
    "submit:*": (PERMANENT, "网关拒收：网关自定义错误码"),
    "not_connected": (TRANSIENT, "与短信网关的连接未建立，消息未提交"),
    "timeout": (TRANSIENT, "网关未在规定时间内应答（结果待状态报告确认）"),
    "network": (TRANSIENT, "与网关的连接中断（结果待状态报告确认）"),
    "unknown_outcome": (TRANSIENT, "提交结果未知，等待状态报告"),
    "bad_number": (PERMANENT, "手机号码格式错误"),
    "content_too_long": (PERMANENT, "消息内容超长"),
}


def classify(code: str, message: str = "") -> ChannelError:
    """The typed error for a CMPP code."""
    return error_for(CMPP, code, message)
