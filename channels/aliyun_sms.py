"""Aliyun SMS (Dysmsapi 2017-05-25): SendSms, SendBatchSms, QuerySendDetails, receipts.

Messages whose template parameters are identical go out together in SendSms
calls (≤1000 numbers each); the rest go in SendBatchSms calls (≤100). A number
appears at most once per call, so ``OutId:phone`` names one message: ``OutId``
is ours (a hash of the call's keys), comes back in SmsReport receipts and in
QuerySendDetails, and is therefore the provider id we hand out (``BizId`` is
missing from QuerySendDetails records). Each message names its approved
template (``Message.template``, from the account's registry, see
:mod:`channels.sms_templates`) and fills its variables (``Message.params``);
only messages with the same template share a call. A message without a
template uses ``settings.template_code``. Only without a registry (a channel
built by hand, e.g. a test's) does a message without params fill
``settings.text_param`` with its text; with one it is refused locally
(``no_template``): service messages fill their own templates
(:mod:`pusher.summary.sms_service`).

Errors (business errors arrive as HTTP 200 with ``Code != "OK"``) map by the
table ``ERRORS`` below::

    isv.BUSINESS_LIMIT_CONTROL, isv.DAY/MONTH_LIMIT_CONTROL, isp.SYSTEM_ERROR,
    Throttling*, SignatureNonceUsed, HTTP 5xx, refused connections -> TransientError
    timeouts, dropped links (see channels.http)                    -> UnknownOutcome:
                                                                      settled by QuerySendDetails
    SignatureDoesNotMatch, InvalidAccessKeyId.*, unapproved signature or
    template, isv.AMOUNT_NOT_ENOUGH, isv.ACCOUNT_ABNORMAL ...      -> FatalError
    bad number, blacklist, content, and every unknown code         -> PermanentError
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import urlencode

import aiohttp
from pydantic import BaseModel, SecretStr
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
    not_asked,
)
from channels.descriptor import Callback, Emulator, Provider, SmsMode, Wiring
from channels.errors import FATAL, HTTP, PERMANENT, TRANSIENT, ErrorTable, error_for
from channels.http import HttpSession, http_code
from channels.sms import (
    BEIJING,
    MOBILE,
    beijing_time,
    callback_items,
    is_opt_out,
    national,
    replies,
)
from channels.sms_templates import (
    NO_TEMPLATE,
    NO_TEMPLATE_MESSAGE,
    Registry,
    TemplateError,
    load_registry,
    unapproved,
)

log = logging.getLogger(__name__)

#: What this provider's codes mean (see :mod:`channels.errors`).
ERRORS: ErrorTable = {
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

VERSION = "2017-05-25"
CALLBACK_REPLY = json.dumps({"code": 0, "msg": "接收成功"}, ensure_ascii=False).encode()


class AliyunSmsSettings(BaseModel):
    """Credentials, the approved signature and templates, and where to send.

    ``templates_file`` (YAML/JSON, the format of docs/sms-templates/aliyun.yaml)
    and ``templates`` (the same mapping inline) are the account's approved
    templates, which pushes go out with.
    """

    access_key_id: str = ""
    access_key_secret: SecretStr = SecretStr("")
    sign_name: str = ""
    template_code: str = ""
    base_url: str = "https://dysmsapi.aliyuncs.com/"
    region_id: str = "cn-hangzhou"
    timeout_seconds: float = 10
    signature_version: Literal["v1", "v3"] = "v1"
    text_param: str = "content"
    templates_file: str = ""
    templates: dict[str, Any] = {}

    @property
    def configured(self) -> bool:
        """True when every value a real send needs is set."""
        secret = self.access_key_secret.get_secret_value()
        return bool(self.access_key_id and secret and self.sign_name)


def classify(code: str, message: str = "") -> ChannelError:
    """The typed error for a provider code."""
    return error_for(ERRORS, code, message)


@dataclass(frozen=True, slots=True)
class Call:
    """One planned API call: its action and the indices of its messages."""

    action: Literal["SendSms", "SendBatchSms"]
    indices: list[int]


def _chunk_unique(indices: list[int], phones: list[str], size: int) -> list[list[int]]:
    chunks: list[tuple[list[int], set[str]]] = []
    for i in indices:
        home = next((c for c in chunks if len(c[0]) < size and phones[i] not in c[1]), None)
        if home is None:
            home = ([], set())
            chunks.append(home)
        home[0].append(i)
        home[1].add(phones[i])
    return [c[0] for c in chunks]


def plan_calls(params: list[dict[str, str]], phones: list[str]) -> list[Call]:
    """Group equal params into SendSms calls, the rest into SendBatchSms calls."""
    groups: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for i, p in enumerate(params):
        groups.setdefault(tuple(sorted(p.items())), []).append(i)
    singles = [g[0] for g in groups.values() if len(g) == 1]
    calls = [
        Call("SendSms", chunk)
        for group in groups.values()
        if len(group) > 1
        for chunk in _chunk_unique(group, phones, AliyunSmsChannel.send_sms_max)
    ]
    for chunk in _chunk_unique(singles, phones, AliyunSmsChannel.batch_sms_max):
        calls.append(Call("SendBatchSms" if len(chunk) > 1 else "SendSms", chunk))
    return calls


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class AliyunSmsChannel(Channel):
    """Sends SMS through Aliyun Dysmsapi with RPC V1 or V3 signatures."""

    kind: ClassVar[ChannelKind] = ChannelKind.SMS
    provider: ClassVar[str] = "aliyun"
    # A batch of 4000 is four SendSms calls of 1000 sent together: the claim and the
    # record of a batch cost about the same at 1000 rows and at 4000 (bench_dispatch:
    # ≈20 % more recipients/s and 15 % less CPU each than batches of 1000).
    limits: ClassVar[Limits] = Limits(batch_size=4000, rate=5000, max_chars=500, per_call=1000)
    send_sms_max: ClassVar[int] = limits.per_call
    batch_sms_max: ClassVar[int] = 100

    def __init__(
        self,
        settings: AliyunSmsSettings,
        *,
        session: aiohttp.ClientSession,
        templates: Registry | None = None,
    ) -> None:
        self._settings = settings
        #: the account's approved templates (what pushes are filled into)
        self.templates = templates
        self._http = HttpSession(session, timeout_seconds=settings.timeout_seconds)
        self._url = URL(settings.base_url)

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """Send in as few calls as the limits allow; one outcome per message, in order."""
        params = [self._params(m) for m in messages]
        phones = [national(m.recipient) for m in messages]
        # One malformed number makes Aliyun refuse the whole call: keep it out locally.
        outcomes: dict[int, Outcome] = {
            i: Rejected(m.key, classify("isv.MOBILE_NUMBER_ILLEGAL", "号码格式错误，未提交"))
            for i, (m, p) in enumerate(zip(messages, phones, strict=True))
            if not MOBILE.match(p)
        }
        outcomes |= {  # never a call without a template code or as free text: refused locally
            i: Rejected(m.key, PermanentError(NO_TEMPLATE, NO_TEMPLATE_MESSAGE))
            for i, m in enumerate(messages)
            if self._free_text(m) and i not in outcomes
        }
        by_template: dict[str, list[int]] = {}
        for i in range(len(messages)):
            if i not in outcomes:
                by_template.setdefault(self._template(messages[i]), []).append(i)
        calls = [
            Call(c.action, [good[j] for j in c.indices])
            for good in by_template.values()
            for c in plan_calls([params[i] for i in good], [phones[i] for i in good])
        ]
        parts = await asyncio.gather(*(self._send_call(c, messages, params, phones) for c in calls))
        outcomes |= {i: o for part in parts for i, o in part.items()}
        return [outcomes[i] for i in range(len(messages))]

    def _params(self, message: Message) -> dict[str, str]:
        return dict(message.params) or {self._settings.text_param: message.text}

    def _template(self, message: Message) -> str:
        return message.template or self._settings.template_code

    def _free_text(self, message: Message) -> bool:
        """No approved template named (see :func:`~channels.sms_templates.unapproved`)."""
        s = self._settings
        return unapproved(self.templates, message.template, s.template_code, message.params)

    async def _send_call(
        self,
        call: Call,
        messages: Sequence[Message],
        params: list[dict[str, str]],
        national_phones: list[str],
    ) -> dict[int, Outcome]:
        keys = [messages[i].key for i in call.indices]
        out_id = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]
        phones = [national_phones[i] for i in call.indices]
        s = self._settings
        template = self._template(messages[call.indices[0]])
        body: dict[str, str] = {"TemplateCode": template, "OutId": out_id}
        if call.action == "SendSms":
            body |= {
                "PhoneNumbers": ",".join(phones),
                "SignName": s.sign_name,
                "TemplateParam": _json(params[call.indices[0]]),
            }
        else:
            body |= {
                "PhoneNumberJson": _json(phones),
                "SignNameJson": _json([s.sign_name] * len(phones)),
                "TemplateParamJson": _json([params[i] for i in call.indices]),
            }
        try:
            await self.call(call.action, body)
        except ChannelError as exc:
            log.warning("aliyun %s of %d numbers refused: %s", call.action, len(keys), exc)
            return {i: Rejected(k, exc) for i, k in zip(call.indices, keys, strict=True)}
        return {
            i: Accepted(k, f"{out_id}:{p}")
            for i, k, p in zip(call.indices, keys, phones, strict=True)
        }

    async def lookup(self, messages: Sequence[Message]) -> list[Outcome | None]:
        """Find each message in QuerySendDetails (today and yesterday, Beijing time).

        A record for the number with our template whose content holds every
        parameter value counts as this message. A number that cannot be asked
        about reads as ``not_asked`` (its fate stays unknown).
        """
        sem = asyncio.Semaphore(10)

        async def one(message: Message) -> Outcome | None:
            async with sem:
                return await self._lookup_one(message)

        return list(await asyncio.gather(*(one(m) for m in messages)))

    async def _lookup_one(self, message: Message) -> Outcome | None:
        try:
            return await self._query(message)
        except ChannelError as error:  # this one could not be asked; the others still count
            return not_asked(message.key, error)

    async def _query(self, message: Message) -> Outcome | None:
        phone = national(message.recipient)
        values = self._params(message).values()
        today = datetime.now(BEIJING)
        for day in (today, today - timedelta(days=1)):
            data = await self.call(
                "QuerySendDetails",
                {
                    "PhoneNumber": phone,
                    "SendDate": day.strftime("%Y%m%d"),
                    "PageSize": "50",
                    "CurrentPage": "1",
                },
            )
            for record in data.get("SmsSendDetailDTOs", {}).get("SmsSendDetailDTO", []):
                content = str(record.get("Content", ""))
                if record.get("TemplateCode") not in (None, self._template(message)):
                    continue
                if all(v in content for v in values):
                    return _record_outcome(message.key, phone, record)
        return None

    async def call(self, action: str, params: Mapping[str, str]) -> dict[str, Any]:
        """POST one signed RPC call; the JSON body on ``Code == "OK"``, else a typed error."""
        data, headers = self._sign(action, params)
        answer = await self._http.post(self._url, data=data, headers=headers)
        body = answer.json_object()
        code = str(body.get("Code", ""))
        if code != "OK":
            raise classify(code or http_code(answer.status), str(body.get("Message", "")))
        return body

    def _sign(self, action: str, params: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        s = self._settings
        keys = {"access_key_id": s.access_key_id, "secret": s.access_key_secret.get_secret_value()}
        nonce = uuid.uuid4().hex
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ctype = "application/x-www-form-urlencoded"
        if s.signature_version == "v1":
            common = {"Action": action, "Version": VERSION, "RegionId": s.region_id}
            full = signing.aliyun_v1_signed_params(
                {**params, **common}, nonce=nonce, timestamp=now, **keys
            )
            return urlencode(full), {"Content-Type": ctype, "Accept": "application/json"}
        body = urlencode({**params, "RegionId": s.region_id})
        headers = {
            "host": self._url.host_port_subcomponent or "",
            "content-type": ctype,
            "x-acs-action": action,
            "x-acs-version": VERSION,
            "x-acs-date": now,
            "x-acs-signature-nonce": nonce,
        }
        return body, signing.aliyun_v3_signed_headers(headers, body, **keys)


def _record_outcome(key: str, phone: str, record: Mapping[str, Any]) -> Outcome:
    if str(record.get("SendStatus")) == "2":
        return Rejected(key, PermanentError(str(record.get("ErrCode") or "SEND_FAILED")))
    return Accepted(key, f"{record.get('OutId', '')}:{phone}")


def parse_callback(body: bytes, *, kind: Literal["report", "up"]) -> CallbackBatch:
    """Parse an SmsReport (``report``) or SmsUp (``up``) push; ``ValueError`` if malformed."""
    items = callback_items(body)
    if kind == "up":
        opt_outs = [
            OptOut(recipient=national(str(i.get("phone_number", ""))), reason=str(i["content"]))
            for i in items
            if is_opt_out(str(i.get("content", "")))
        ]
        pairs = [(str(i.get("phone_number", "")), str(i.get("content", ""))) for i in items]
        return CallbackBatch(opt_outs=opt_outs, inbound=replies(pairs), reply=CALLBACK_REPLY)
    receipts = [
        Receipt(
            provider_id=f"{i.get('out_id', '')}:{national(str(i.get('phone_number', '')))}",
            delivered=i.get("success") in (True, "true"),
            code=str(i.get("err_code", "")),
            at=beijing_time(i.get("report_time")),
            recipient=national(str(i.get("phone_number", ""))),
        )
        for i in items
    ]
    return CallbackBatch(receipts=receipts, reply=CALLBACK_REPLY)


def registry_of(settings: AliyunSmsSettings) -> Registry:
    """The account's approved templates; ``TemplateError`` when none or a bad one is given
    (a template-mode account never sends a push as free text)."""
    found = load_registry(
        "aliyun", "aliyun", file=settings.templates_file, inline=settings.templates
    )
    if found is None:
        raise TemplateError(NO_REGISTRY)
    return found


NO_REGISTRY = (
    "阿里云短信只能发送已审核模板：请设置 PUSHER_ALIYUN_SMS__TEMPLATES_FILE"
    "（格式见 docs/sms-templates/aliyun.yaml）"
)


def _build(settings: AliyunSmsSettings, wiring: Wiring) -> AliyunSmsChannel:
    return AliyunSmsChannel(settings, session=wiring.http, templates=registry_of(settings))


PROVIDER = Provider(
    name="aliyun",
    kind=ChannelKind.SMS,
    sms_mode=SmsMode.TEMPLATE,
    title="阿里云短信",
    factory=_build,
    cli="aliyun-sms",
    section="aliyun_sms",
    settings=AliyunSmsSettings,
    # the approved templates are required too, checked when the channel is built
    # (``registry_of``); template_code is only the default for service messages
    required=("access_key_id", "access_key_secret", "sign_name"),
    callbacks=(
        Callback("report", lambda body: parse_callback(body, kind="report")),
        Callback("reply", lambda body: parse_callback(body, kind="up")),
    ),
    errors=ERRORS,
    # Aliyun folds its minute/hour/day caps into one code: try again each hour
    quota_waits={"isv.BUSINESS_LIMIT_CONTROL": 3600, "isv.DAY_LIMIT_CONTROL": "day"},
    emulator=Emulator(
        "channels.emulators.aliyun_sms",
        9003,
        {
            "base_url": "{base_url}",
            "access_key_id": "emulator-key",
            "access_key_secret": "emulator-secret",
            "sign_name": "青山镇人民政府",
            "template_code": "SMS_000000001",
            "templates_file": "/app/sms-templates/aliyun.yaml",
        },
    ),
)
