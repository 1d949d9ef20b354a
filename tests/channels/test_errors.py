"""Every row of the error tables, through each channel's own classify function."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from channels import aliyun_sms, tencent_sms, wechat, wecom
from channels.base import ChannelError, FatalError, PermanentError, TransientError
from channels.cmpp import errors as cmpp_errors
from channels.errors import FATAL, PERMANENT, TRANSIENT, UNKNOWN, ErrorClass, error_class
from channels.registry import TABLES, describe

Classify = Callable[[str, str], ChannelError]
CLASSIFY: dict[str, Classify] = {
    "wechat": wechat.classify,
    "wecom": wecom.classify,
    "aliyun": aliyun_sms.classify,
    "tencent": tencent_sms.classify,
    "cmpp": cmpp_errors.classify,
}
ERRORS: dict[ErrorClass, type[ChannelError]] = {
    TRANSIENT: TransientError,
    PERMANENT: PermanentError,
    FATAL: FatalError,
}


def _concrete(key: str) -> str:
    """A code a pattern row (``Throttling*``) stands for; exact rows are themselves."""
    return key[:-1] + "Example0" if key.endswith("*") else key


ROWS = [
    pytest.param(provider, _concrete(key), kind, id=f"{provider}:{key}")
    for provider, table in TABLES.items()
    for key, (kind, _) in table.items()
]


@pytest.mark.parametrize(("provider", "code", "kind"), ROWS)
def test_every_row_is_what_the_channel_reports(provider: str, code: str, kind: ErrorClass) -> None:
    error = CLASSIFY[provider](code, "provider text")
    assert type(error) is ERRORS[kind]
    assert (error.code, error.message) == (code, "provider text")
    assert error_class(error) is kind


# The cases the office cares most about, named so a table edit cannot drop them silently.
@pytest.mark.parametrize(
    ("provider", "code", "kind"),
    [
        ("wechat", "40001", TRANSIENT),
        ("wechat", "40014", TRANSIENT),
        ("wechat", "42001", TRANSIENT),
        ("wechat", "40013", FATAL),
        ("wechat", "40125", FATAL),
        ("wechat", "40037", FATAL),
        ("wechat", "43004", PERMANENT),
        ("wechat", "43101", PERMANENT),
        ("wechat", "40003", PERMANENT),
        ("wechat", "45009", TRANSIENT),
        ("wechat", "-1", TRANSIENT),
        ("aliyun", "SignatureDoesNotMatch", FATAL),
        ("aliyun", "InvalidAccessKeyId.NotFound", FATAL),
        ("aliyun", "isv.SMS_SIGNATURE_ILLEGAL", FATAL),
        ("aliyun", "isv.SMS_TEMPLATE_ILLEGAL", FATAL),
        ("aliyun", "isv.AMOUNT_NOT_ENOUGH", FATAL),
        ("aliyun", "isv.ACCOUNT_ABNORMAL", FATAL),
        ("aliyun", "isv.MOBILE_NUMBER_ILLEGAL", PERMANENT),
        ("aliyun", "isv.BLACK_KEY_CONTROL_LIMIT", PERMANENT),
        ("aliyun", "isv.BUSINESS_LIMIT_CONTROL", TRANSIENT),
        ("aliyun", "Throttling.User", TRANSIENT),
        ("aliyun", "Throttling.Api", TRANSIENT),
        ("tencent", "AuthFailure.SignatureFailure", FATAL),
        ("tencent", "AuthFailure.SecretIdNotFound", FATAL),
        ("tencent", "FailedOperation.SignatureIncorrectOrUnapproved", FATAL),
        ("tencent", "FailedOperation.TemplateIncorrectOrUnapproved", FATAL),
        ("tencent", "FailedOperation.InsufficientBalanceInSmsPackage", FATAL),
        ("tencent", "InvalidParameterValue.IncorrectPhoneNumber", PERMANENT),
        ("tencent", "FailedOperation.PhoneNumberInBlacklist", PERMANENT),
        ("tencent", "LimitExceeded.PhoneNumberDailyLimit", TRANSIENT),
        ("tencent", "LimitExceeded.PhoneNumberCountLimit", PERMANENT),
        ("tencent", "RequestLimitExceeded", TRANSIENT),
        ("wecom", "93000", PERMANENT),
        ("wecom", "45009", TRANSIENT),
    ],
)
def test_named_cases(provider: str, code: str, kind: ErrorClass) -> None:
    assert type(CLASSIFY[provider](code, "")) is ERRORS[kind]


@pytest.mark.parametrize("provider", sorted(CLASSIFY))
def test_unknown_codes_are_permanent_and_say_so(provider: str) -> None:
    error = CLASSIFY[provider]("99999-never-seen", "")
    assert type(error) is PermanentError
    assert describe(provider, "99999-never-seen") == UNKNOWN


def test_wecom_takes_the_robots_integer_errcode() -> None:
    assert type(wecom.classify(45009, "api freq out of limit")) is TransientError


def test_descriptions_are_chinese_for_the_office() -> None:
    assert describe("wechat", "43004") == "用户未关注公众号"
    assert "余额" in describe("aliyun", "isv.AMOUNT_NOT_ENOUGH")
    assert "限流" in describe("aliyun", "Throttling.User")
    for provider, table in TABLES.items():
        for key, (_, text) in table.items():
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text), (provider, key)
