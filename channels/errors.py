"""What each provider's error codes mean, as data: one table per provider.

A row maps a provider code to its class and a short Chinese description for the
office (shown by ``pusher send-test`` and in delivery logs)::

    transient  try again later (busy, throttled, quota)         -> TransientError
    permanent  this recipient will not get it over this channel -> PermanentError
    fatal      the channel's configuration is wrong             -> FatalError

A key ending in ``*`` matches every code that starts with what precedes it; an
exact key wins over a pattern, a longer pattern over a shorter one. Codes in no
row are permanent: an unknown refusal is not retried blindly.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from channels.base import ChannelError, FatalError, PermanentError, TransientError


class ErrorClass(StrEnum):
    """How a provider code is handled."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"
    FATAL = "fatal"


TRANSIENT, PERMANENT, FATAL = ErrorClass.TRANSIENT, ErrorClass.PERMANENT, ErrorClass.FATAL
ErrorTable = Mapping[str, tuple[ErrorClass, str]]
UNKNOWN = "未知错误码（按永久失败处理）"

#: Answers our HTTP clients make up themselves (no provider code to read), one spelling
#: for every provider (see :mod:`channels.http`, which raises them with their type:
#: ``timeout`` and ``network`` as :class:`~channels.base.UnknownOutcome`).
HTTP: dict[str, tuple[ErrorClass, str]] = {
    "timeout": (TRANSIENT, "服务商未在规定时间内应答（消息可能已被受理，将先查询再决定是否重发）"),
    "network": (TRANSIENT, "请求发出后连接中断（消息可能已被受理，将先查询再决定是否重发）"),
    "connect": (TRANSIENT, "网络不通，无法连接服务商"),
    "bad_response": (TRANSIENT, "服务商应答无法解析"),
    "http_429": (TRANSIENT, "请求过于频繁"),
    "http_5*": (TRANSIENT, "服务商服务器错误"),
    "http_4*": (PERMANENT, "服务商拒绝了请求（HTTP 4xx，请检查接口地址或代理）"),
}

WECHAT: ErrorTable = {
    "-1": (TRANSIENT, "微信系统繁忙，稍后重试"),
    "45009": (TRANSIENT, "接口调用超过每日限额"),
    "40001": (TRANSIENT, "access_token 无效（刷新后仍被拒，可能有其他系统在抢用令牌）"),
    "40014": (TRANSIENT, "access_token 不合法（刷新后仍被拒）"),
    "42001": (TRANSIENT, "access_token 已过期（刷新后仍被拒）"),
    "40013": (FATAL, "AppID 无效，请检查公众号配置"),
    "40125": (FATAL, "AppSecret 无效，请检查公众号配置"),
    "40164": (FATAL, "调用接口的 IP 不在公众号白名单中"),
    "40002": (FATAL, "grant_type 不合法"),
    "40037": (FATAL, "模板 ID 无效，请检查模板配置"),
    "48001": (FATAL, "公众号未获得该接口权限"),
    "43004": (PERMANENT, "用户未关注公众号"),
    "43101": (PERMANENT, "用户拒收消息"),
    "40003": (PERMANENT, "OpenID 无效"),
    "47001": (PERMANENT, "请求数据格式错误"),
    "47003": (PERMANENT, "模板参数不合法（字段内容超长或格式不符）"),
    **HTTP,
}

WECOM: ErrorTable = {
    "-1": (TRANSIENT, "企业微信系统繁忙，稍后重试"),
    "45009": (TRANSIENT, "机器人发送过于频繁（每分钟 20 条）"),
    "45033": (TRANSIENT, "接口并发调用超过限制"),
    "rate_limited": (TRANSIENT, "机器人限速排队过久，稍后重试"),
    # A robot key belongs to one group chat: a dead key fails that chat, not the channel.
    "93000": (PERMANENT, "机器人 webhook 地址无效（密钥错误或机器人已删除）"),
    "93004": (PERMANENT, "机器人已被停用"),
    "93008": (PERMANENT, "机器人已不在该群聊中"),
    "40058": (PERMANENT, "消息内容超长"),
    "40008": (PERMANENT, "消息类型不合法"),
    "44004": (PERMANENT, "消息内容为空"),
    "invalid_recipient": (PERMANENT, "未填写机器人 webhook 密钥"),
    "content_too_long": (PERMANENT, "消息内容超过字节上限"),
    **HTTP,
}

ALIYUN: ErrorTable = {
    "SignatureDoesNotMatch": (FATAL, "签名不匹配：AccessKey Secret 错误"),
    "InvalidAccessKeyId.NotFound": (FATAL, "AccessKey ID 不存在"),
    "InvalidAccessKeyId.Inactive": (FATAL, "AccessKey 已停用"),
    "InvalidTimeStamp.Expired": (FATAL, "服务器时间与标准时间相差过大，请校准时钟"),
    "isp.RAM_PERMISSION_DENY": (FATAL, "RAM 子账号无短信发送权限"),
    "isv.SMS_SIGNATURE_ILLEGAL": (FATAL, "短信签名不合法（不存在或未审核通过）"),
    "isv.SMS_TEMPLATE_ILLEGAL": (FATAL, "短信模板不合法（不存在或未审核通过）"),
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL": (FATAL, "签名与模板类型不一致"),
    "isv.TEMPLATE_MISSING_PARAMETERS": (FATAL, "模板变量与配置不符（缺少变量）"),
    "isv.AMOUNT_NOT_ENOUGH": (FATAL, "账户余额不足"),
    "isv.OUT_OF_SERVICE": (FATAL, "业务停机（欠费）"),
    "isv.ACCOUNT_ABNORMAL": (FATAL, "账户异常"),
    "isv.ACCOUNT_NOT_EXISTS": (FATAL, "账户不存在"),
    "isv.DENY_IP_RANGE": (FATAL, "所在地区 IP 被禁用"),
    "isv.MOBILE_NUMBER_ILLEGAL": (PERMANENT, "手机号码格式错误"),
    "isv.BLACK_KEY_CONTROL_LIMIT": (PERMANENT, "号码或内容被黑名单管控"),
    "isv.PARAM_LENGTH_LIMIT": (PERMANENT, "参数超出长度限制"),
    "isv.INVALID_JSON_PARAM": (PERMANENT, "模板参数不合法（只接受字符串）"),
    "isv.INVALID_PARAMETERS": (PERMANENT, "参数异常"),
    "isv.MOBILE_COUNT_OVER_LIMIT": (PERMANENT, "一次提交的号码数量超过上限"),
    "MissingParameter": (PERMANENT, "缺少必填参数"),
    "isv.BUSINESS_LIMIT_CONTROL": (TRANSIENT, "触发号码级流控（分钟/小时/天），稍后再发"),
    "isv.DAY_LIMIT_CONTROL": (TRANSIENT, "触发日发送限额"),
    "isv.MONTH_LIMIT_CONTROL": (TRANSIENT, "触发月发送限额"),
    "isp.SYSTEM_ERROR": (TRANSIENT, "阿里云系统错误"),
    "ServiceUnavailable": (TRANSIENT, "阿里云服务暂不可用"),
    "SignatureNonceUsed": (TRANSIENT, "请求随机数重复，重发即可"),
    "Throttling*": (TRANSIENT, "请求被限流"),
    **HTTP,
}

TENCENT: ErrorTable = {
    "AuthFailure*": (FATAL, "鉴权失败：SecretId/SecretKey 错误或服务器时间不准"),
    "UnauthorizedOperation*": (FATAL, "未授权操作（SdkAppId 与账号不符）"),
    "FailedOperation.SignatureIncorrectOrUnapproved": (FATAL, "短信签名未审核通过或不存在"),
    "FailedOperation.TemplateIncorrectOrUnapproved": (FATAL, "短信模板未审核通过或不存在"),
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": (
        FATAL,
        "模板参数个数与审核通过的模板不符",
    ),
    "FailedOperation.InsufficientBalanceInSmsPackage": (FATAL, "短信套餐包余量不足"),
    "InvalidParameterValue.IncorrectPhoneNumber": (PERMANENT, "手机号码格式错误"),
    "FailedOperation.PhoneNumberInBlacklist": (PERMANENT, "号码在黑名单中（已退订或免打扰）"),
    "FailedOperation.ContainSensitiveWord": (PERMANENT, "内容含敏感词"),
    "InvalidParameterValue.ContentLengthLimit": (PERMANENT, "内容超长"),
    "LimitExceeded.PhoneNumberCountLimit": (PERMANENT, "一次提交的号码超过 200 个"),
    "MissingParameter": (PERMANENT, "缺少必填参数"),
    "LimitExceeded*": (TRANSIENT, "触发发送频率或数量限制，稍后再发"),
    "RequestLimitExceeded*": (TRANSIENT, "请求过于频繁"),
    "InternalError*": (TRANSIENT, "腾讯云内部错误"),
    "ResourceUnavailable*": (TRANSIENT, "腾讯云资源暂不可用"),
    "NoStatus": (TRANSIENT, "应答中缺少该号码的状态"),
    **HTTP,
}

_ERRORS: Mapping[ErrorClass, type[ChannelError]] = {
    TRANSIENT: TransientError,
    PERMANENT: PermanentError,
    FATAL: FatalError,
}


def lookup(table: ErrorTable, code: str) -> tuple[ErrorClass, str]:
    """The class and description of ``code``: exact row, else longest pattern, else unknown."""
    row = table.get(code)
    if row is not None:
        return row
    patterns = [k for k in table if k.endswith("*") and code.startswith(k[:-1])]
    if patterns:
        return table[max(patterns, key=len)]
    return PERMANENT, UNKNOWN


def error_for(table: ErrorTable, code: str, message: str = "") -> ChannelError:
    """The typed error a channel raises or reports for ``code``."""
    kind, _ = lookup(table, code)
    return _ERRORS[kind](code, message)


def error_class(error: ChannelError) -> ErrorClass:
    """The class of an error instance (the most specific one)."""
    if isinstance(error, FatalError):
        return FATAL
    return TRANSIENT if error.transient else PERMANENT
