"""Tencent Cloud SMS (API 3.0, SendSms 2021-01-11) with TC3-HMAC-SHA256 signatures.

Messages with the same template and parameters go out together, ≤200 numbers
per call, each number at most once per call. Each message names its approved
template (``Message.template``, from the account's registry, see
:mod:`channels.sms_templates`; "" uses ``settings.template_id``).
``TemplateParamSet`` is an ordered list: ``settings.template_param_names``
gives the order for the default template, else the keys of ``Message.params``
in order (numbered keys ``"1"``, ``"2"``, … by number); a message without
params sends ``[text]``.
``SessionContext`` carries the call's message keys comma-joined (calls are cut
so it stays under 512 bytes), which lets ``lookup`` find a message by its key.
The provider id is ``SerialNo``, which status callbacks carry as ``sid``.

Errors::

    Response.Error (whole request)   -> the same error for every message of the call
    SendStatusSet[i].Code != "Ok"    -> that number's error only
    codes map by the table ``ERRORS`` below:
    LimitExceeded.* (not PhoneNumberCountLimit), RequestLimitExceeded, InternalError*,
    HTTP 5xx, refused connections                                     -> TransientError
    timeouts, dropped links (see channels.http)                       -> UnknownOutcome:
                                                 settled by PullSmsSendStatusByPhoneNumber
    AuthFailure.*, unapproved signature or template, no balance left -> FatalError
    bad number, blacklist, content, and every unknown code           -> PermanentError
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

import aiohttp
from pydantic import BaseModel, Field, SecretStr
from yarl import URL

from channels import signing
from channels.base import (
    Accepted,
    CallbackBatch,
    Channel,
    ChannelError,
    ChannelKind,
    Limits,
    Message,
    OptOut,
    Outcome,
    PermanentError,
    Receipt,
    Rejected,
    TransientError,
    not_asked,
)
from channels.descriptor import Callback, Emulator, Provider, SmsMode, Wiring
from channels.errors import FATAL, HTTP, PERMANENT, TRANSIENT, ErrorTable, error_for
from channels.http import BAD_RESPONSE, HttpSession, http_code
from channels.sms import beijing_time, callback_items, is_opt_out, national, replies
from channels.sms_templates import (
    NO_TEMPLATE,
    NO_TEMPLATE_MESSAGE,
    Registry,
    TemplateError,
    load_registry,
    unapproved,
)

log = logging.getLogger(__name__)
#: A look-up's answer for a message not listed yet that may still be waiting for its report.
REPORT_PENDING = "report_pending"

#: What this provider's codes mean (see :mod:`channels.errors`).
ERRORS: ErrorTable = {
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

VERSION = "2021-01-11"
SERVICE = "sms"
MAX_CONTEXT_BYTES = 500
CALLBACK_REPLY = b'{"result":0,"errmsg":"OK"}'


class TencentSmsSettings(BaseModel):
    """Credentials, the SMS app, the approved signature and templates, and where to send.

    ``templates_file`` (YAML/JSON, the format of docs/sms-templates/tencent.yaml)
    and ``templates`` (inline) are the account's approved templates.
    """

    secret_id: str = ""
    secret_key: SecretStr = SecretStr("")
    sdk_app_id: str = ""
    sign_name: str = ""
    template_id: str = ""
    template_param_names: list[str] = []
    region: str = "ap-guangzhou"
    base_url: str = "https://sms.tencentcloudapi.com/"
    timeout_seconds: float = 10
    #: how long a message of unknown outcome that PullSmsSendStatusByPhoneNumber does not
    #: list may still be waiting for its carrier report (Tencent lists it only then):
    #: within this it is asked about again, after it it counts as never sent
    report_wait_seconds: float = Field(default=300.0, ge=0)
    templates_file: str = ""
    templates: dict[str, Any] = {}

    @property
    def configured(self) -> bool:
        """True when every value a real send needs is set."""
        key = self.secret_key.get_secret_value()
        return bool(self.secret_id and key and self.sdk_app_id and self.sign_name)


def _may_be_in_flight(message: Message, wait_seconds: float) -> bool:
    """True while a report for ``message`` may still come: sent under ``wait_seconds`` ago."""
    if message.sent_at is None:
        return False
    return datetime.now(UTC) - message.sent_at < timedelta(seconds=wait_seconds)


def classify(code: str, message: str = "") -> ChannelError:
    """The typed error for a provider code."""
    return error_for(ERRORS, code, message)


def _chunks(indices: list[int], phones: list[str], keys: list[str]) -> list[list[int]]:
    """Cut into calls of ≤200 distinct numbers whose joined keys fit SessionContext."""
    chunks: list[tuple[list[int], set[str], list[int]]] = []
    for i in indices:
        size = len(keys[i].encode()) + 1
        home = next(
            (
                c
                for c in chunks
                if len(c[0]) < TencentSmsChannel.send_max
                and phones[i] not in c[1]
                and c[2][0] + size <= MAX_CONTEXT_BYTES
            ),
            None,
        )
        if home is None:
            home = ([], set(), [0])
            chunks.append(home)
        home[0].append(i)
        home[1].add(phones[i])
        home[2][0] += size
    return [c[0] for c in chunks]


class TencentSmsChannel(Channel):
    """Sends SMS through Tencent Cloud SendSms and reads per-number statuses."""

    kind: ClassVar[ChannelKind] = ChannelKind.SMS
    provider: ClassVar[str] = "tencent"
    # A batch is what dispatch claims at once; ``send`` cuts it into calls of ≤200
    # numbers itself, so 1000 spreads a claim's and a record's fixed cost thinner
    # (25 % less CPU per recipient than 200, bench_dispatch).
    limits: ClassVar[Limits] = Limits(batch_size=1000, rate=3000, max_chars=500, per_call=200)
    send_max: ClassVar[int] = limits.per_call

    def __init__(
        self,
        settings: TencentSmsSettings,
        *,
        session: aiohttp.ClientSession,
        templates: Registry | None = None,
    ) -> None:
        self._settings = settings
        #: the account's approved templates (what pushes are filled into)
        self.templates = templates
        self._http = HttpSession(session, timeout_seconds=settings.timeout_seconds)
        self._url = URL(settings.base_url)
        self._sem = asyncio.Semaphore(20)

    def param_set(self, message: Message) -> list[str]:
        """The ordered ``TemplateParamSet`` for ``message``."""
        if not message.params:
            return [message.text]
        names = (None if message.template else self._settings.template_param_names) or sorted(
            message.params, key=lambda k: (0, int(k), k) if k.isdigit() else (1, 0, k)
        )
        return [message.params.get(n, "") for n in names]

    def _template(self, message: Message) -> str:
        return message.template or self._settings.template_id

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """Send grouped by parameters; one outcome per message, in order."""
        phones = [national(m.recipient) for m in messages]
        groups: dict[tuple[str, ...], list[int]] = {}
        outcomes: dict[int, Outcome] = {}
        for i, m in enumerate(messages):
            # never a call without a template id, nor (with a registry) one that does not
            # name an approved template: refused locally
            default = self._settings.template_id
            if unapproved(self.templates, m.template, default, m.params):
                outcomes[i] = Rejected(m.key, PermanentError(NO_TEMPLATE, NO_TEMPLATE_MESSAGE))
                continue
            groups.setdefault((self._template(m), *self.param_set(m)), []).append(i)
        keys = [m.key for m in messages]
        calls = [c for g in groups.values() for c in _chunks(g, phones, keys)]
        results = await asyncio.gather(*(self._send_call(c, messages, phones) for c in calls))
        outcomes |= {i: o for part in results for i, o in part.items()}
        return [outcomes[i] for i in range(len(messages))]

    async def _send_call(
        self, indices: list[int], messages: Sequence[Message], phones: list[str]
    ) -> dict[int, Outcome]:
        s = self._settings
        payload = {
            "PhoneNumberSet": [
                f"+86{phones[i]}" if len(phones[i]) == 11 else phones[i] for i in indices
            ],
            "SmsSdkAppId": s.sdk_app_id,
            "TemplateId": self._template(messages[indices[0]]),
            "SignName": s.sign_name,
            "TemplateParamSet": self.param_set(messages[indices[0]]),
            "SessionContext": ",".join(messages[i].key for i in indices),
        }
        try:
            async with self._sem:
                data = await self.call("SendSms", payload)
        except ChannelError as exc:
            log.warning("tencent SendSms of %d numbers refused: %s", len(indices), exc)
            return {i: Rejected(messages[i].key, exc) for i in indices}
        statuses = {
            national(str(st.get("PhoneNumber", ""))): st for st in data.get("SendStatusSet", [])
        }
        return {i: _status_outcome(messages[i].key, statuses.get(phones[i])) for i in indices}

    async def lookup(self, messages: Sequence[Message]) -> list[Outcome | None]:
        """Find each message by number and key with PullSmsSendStatusByPhoneNumber (7 days).

        Tencent lists a message there only once its carrier status is known, so a
        message not listed may still be in flight: one sent less than
        ``report_wait_seconds`` ago (``Message.sent_at``) stays unknown and is asked
        about again (``not_asked``); an older one reads as never sent (``None``), as
        does one whose send time is not known. A number that cannot be asked about
        reads as ``not_asked``.
        """
        return list(await asyncio.gather(*(self._lookup_one(m) for m in messages)))

    async def _lookup_one(self, message: Message) -> Outcome | None:
        try:
            return await self._query(message)
        except ChannelError as error:  # this one could not be asked; the others still count
            return not_asked(message.key, error)

    async def _query(self, message: Message) -> Outcome | None:
        now = int(time.time())
        payload = {
            "PhoneNumber": f"+86{national(message.recipient)}",
            "SmsSdkAppId": self._settings.sdk_app_id,
            "BeginTime": now - 7 * 86400,
            "EndTime": now,
            "Offset": 0,
            "Limit": 100,
        }
        async with self._sem:
            data = await self.call("PullSmsSendStatusByPhoneNumber", payload)
        for record in data.get("PullSmsSendStatusSet", []):
            if message.key in str(record.get("SessionContext", "")).split(","):
                if record.get("ReportStatus") == "FAIL":
                    code = str(record.get("Description") or "FAIL")
                    return Rejected(message.key, PermanentError(code))
                return Accepted(message.key, str(record.get("SerialNo", "")))
        if _may_be_in_flight(message, self._settings.report_wait_seconds):
            return not_asked(message.key, TransientError(REPORT_PENDING, "短信回执未到，稍后再查"))
        return None

    async def call(self, action: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST one signed API call; ``Response`` on success, else a typed error."""
        body = json.dumps(payload).encode()
        answer = await self._http.post(self._url, data=body, headers=self._headers(action, body))
        response = answer.json_object().get("Response")
        if not isinstance(response, dict):
            error = TransientError if answer.status < 400 else PermanentError
            code = BAD_RESPONSE if answer.status < 400 else http_code(answer.status)
            raise error(code, f"answer without a Response object: {answer.snippet()}")
        if isinstance(response.get("Error"), dict):
            err = response["Error"]
            raise classify(str(err.get("Code", "")), str(err.get("Message", "")))
        return response

    def _headers(self, action: str, body: bytes) -> dict[str, str]:
        s = self._settings
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "host": self._url.host_port_subcomponent or "",
        }
        signed = signing.tc3_signed_headers(
            headers,
            body,
            secret_id=s.secret_id,
            secret_key=s.secret_key.get_secret_value(),
            timestamp=timestamp,
            service=SERVICE,
        )
        return signed | {
            "x-tc-action": action,
            "x-tc-version": VERSION,
            "x-tc-region": s.region,
            "x-tc-timestamp": str(timestamp),
        }


def _status_outcome(key: str, status: Mapping[str, Any] | None) -> Outcome:
    if status is None:
        return Rejected(key, TransientError("NoStatus", "number missing from SendStatusSet"))
    if status.get("Code") == "Ok":
        return Accepted(key, str(status.get("SerialNo", "")))
    return Rejected(key, classify(str(status.get("Code", "")), str(status.get("Message", ""))))


def parse_callback(body: bytes, *, kind: Literal["report", "up"]) -> CallbackBatch:
    """Parse a status (``report``) or reply (``up``) callback; ``ValueError`` if malformed."""
    items = callback_items(body)
    if kind == "up":
        opt_outs = [
            OptOut(recipient=national(str(i.get("mobile", ""))), reason=str(i["text"]))
            for i in items
            if is_opt_out(str(i.get("text", "")))
        ]
        pairs = [(str(i.get("mobile", "")), str(i.get("text", ""))) for i in items]
        return CallbackBatch(opt_outs=opt_outs, inbound=replies(pairs), reply=CALLBACK_REPLY)
    receipts = [
        Receipt(
            provider_id=str(i.get("sid", "")),
            delivered=i.get("report_status") == "SUCCESS",
            code=str(i.get("errmsg", "")),
            at=beijing_time(i.get("user_receive_time")),
            recipient=national(str(i.get("mobile", ""))),
        )
        for i in items
    ]
    return CallbackBatch(receipts=receipts, reply=CALLBACK_REPLY)


NO_REGISTRY = (
    "腾讯云短信只能发送已审核模板：请设置 PUSHER_TENCENT_SMS__TEMPLATES_FILE"
    "（格式见 docs/sms-templates/tencent.yaml）"
)


def registry_of(settings: TencentSmsSettings) -> Registry:
    """The account's approved templates; ``TemplateError`` when none or a bad one is given."""
    found = load_registry(
        "tencent", "tencent", file=settings.templates_file, inline=settings.templates
    )
    if found is None:
        raise TemplateError(NO_REGISTRY)
    return found


def _build(settings: TencentSmsSettings, wiring: Wiring) -> TencentSmsChannel:
    return TencentSmsChannel(settings, session=wiring.http, templates=registry_of(settings))


PROVIDER = Provider(
    name="tencent",
    kind=ChannelKind.SMS,
    sms_mode=SmsMode.TEMPLATE,
    title="腾讯云短信",
    factory=_build,
    cli="tencent-sms",
    section="tencent_sms",
    settings=TencentSmsSettings,
    # the approved templates are required too, checked when the channel is built
    # (``registry_of``); template_id is only the default for service messages
    required=("secret_id", "secret_key", "sdk_app_id", "sign_name"),
    callbacks=(
        Callback("report", lambda body: parse_callback(body, kind="report")),
        Callback("reply", lambda body: parse_callback(body, kind="up")),
    ),
    errors=ERRORS,
    quota_waits={
        "LimitExceeded.PhoneNumberThirtySecondLimit": 60,
        "LimitExceeded.PhoneNumberOneHourLimit": 3600,
        "LimitExceeded.PhoneNumberDailyLimit": "day",
        "LimitExceeded.SameContentDailyLimit": "day",
    },
    emulator=Emulator(
        "channels.emulators.tencent_sms",
        9004,
        {
            "base_url": "{base_url}",
            "secret_id": "emulator-key",
            "secret_key": "emulator-secret",
            "sdk_app_id": "1400000000",
            "sign_name": "青山镇人民政府",
            "template_id": "100001",
            "templates_file": "/app/sms-templates/tencent.yaml",
        },
    ),
)
