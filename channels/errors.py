"""What provider error codes mean, as data: the mechanism, and the rows every provider shares.

Each provider declares its own table (``ERRORS`` in its module, named in its
descriptor) and includes :data:`HTTP`, the codes our HTTP base makes up. A row
maps a provider code to its class and a short Chinese description for the office
(shown by ``pusher send-test`` and in delivery logs)::

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
