"""A local Aliyun Dysmsapi: SendSms, SendBatchSms, QuerySendDetails, SmsReport, SmsUp.

Checks what the real gateway checks (V1 or V3 signature over the re-canonicalised
parameters, AccessKeyId, timestamp skew, nonce replay), then the SMS rules
(numbers per call, content ≤500 chars with 【signature】, template variables, a
per-number daily cap) and answers with the real codes and JSON shapes. Accepted
messages land in an :class:`Inbox`; delivery reports are POSTed to ``report_url``
after ``report_delay`` seconds. :func:`send_uplink` makes a handset reply ("TD").

With an account the templates are strict: an unknown template, or one the
review would not have approved (:mod:`channels.emulators.review`), is
``isv.SMS_TEMPLATE_ILLEGAL``; a variable left out ``isv.TEMPLATE_MISSING_PARAMETERS``;
one over its property's limit (or the whole message over 500)
``isv.PARAM_LENGTH_LIMIT``; one its property refuses (a time that is no time,
a link path that is no path code) ``isv.TEMPLATE_PARAMS_ILLEGAL``; a link passed
in a variable (a link outside the template's fixed domain)
``isv.PARAM_NOT_SUPPORT_URL``; an unknown sign ``isv.SMS_SIGNATURE_ILLEGAL``.
Sources: the SendSms error-code table (help.aliyun.com/document_detail/101346,
as mirrored 2019-2024: TEMPLATE_MISSING_PARAMETERS "短信模板变量缺少参数",
PARAM_NOT_SUPPORT_URL "不支持url为变量", PARAM_LENGTH_LIMIT "变量长度受限");
TEMPLATE_PARAMS_ILLEGAL "传入的变量内容和实际申请模板时变量所选择的属性类型不配"
(developer.aliyun.com/ask/651530, Aliyun's own answer, 2024). Keys the template
does not name are ignored. The inbox and QuerySendDetails hold the text after
substitution, as the resident reads it.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any, cast

from aiohttp import web
from aiohttp.typedefs import Middleware

from channels import signing
from channels.emulators.accounts import ALIYUN_VAR as ACCOUNT_VAR
from channels.emulators.accounts import SmsAccount, SmsTemplate, sms_shorthand
from channels.emulators.common import (
    Callbacks,
    Faults,
    Inbox,
    callbacks_ctx,
    fault_middleware,
    inbox_view,
    uplink_view,
)
from channels.emulators.options import EmulatorOptions
from channels.emulators.variables import Variable, carries_url, link_problem
from channels.sms import BEIJING, national

MAX_SEND_SMS = 1000
MAX_BATCH_SMS = 100
MAX_CHARS = 500
SKEW = timedelta(minutes=15)
PHONE = re.compile(r"^1\d{10}$")
BAD_JSON = "JSON参数不合法,只接受字符串值"


class Refused(Exception):
    """An error answer: business errors on HTTP 200, gateway errors on 4xx."""

    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(code)
        self.code, self.message, self.status = code, message, status


@dataclass
class SentSms:
    """One message as QuerySendDetails reports it."""

    phone: str
    biz_id: str
    out_id: str
    template_code: str
    content: str
    sent_at: datetime
    status: int = 1  # 1 waiting for receipt, 2 failed, 3 delivered
    err_code: str = ""
    refused: bool = False  # the account lists this number as one that always fails
    received_at: datetime | None = None


@dataclass
class AliyunSmsState:
    """Everything the emulator saw and keeps; tests read it through :data:`STATE`."""

    access_key_id: str
    access_key_secret: str
    faults: Faults
    account: SmsAccount
    report_url: str | None
    up_url: str | None
    report_delay: float
    inbox: Inbox = field(default_factory=Inbox)
    calls: list[dict[str, Any]] = field(default_factory=list)
    records: list[SentSms] = field(default_factory=list)
    #: the same records by number: a look-up per number must not scan them all
    by_phone: dict[str, list[SentSms]] = field(default_factory=dict)
    nonces: set[str] = field(default_factory=set)
    sent_per_number: Counter[str] = field(default_factory=Counter)
    callbacks: Callbacks = field(default_factory=Callbacks)
    biz_ids: count[int] = field(default_factory=lambda: count(900619746936498440))

    async def drain(self) -> None:
        """Wait until every pending delivery report has been posted."""
        await self.callbacks.drain()


STATE = web.AppKey("aliyun_sms_state", AliyunSmsState)


def _check_fresh(state: AliyunSmsState, stamp: str, nonce: str) -> None:
    try:
        at = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise Refused("InvalidTimeStamp.Format", f"Specified time stamp {stamp!r}", 400) from exc
    if abs(datetime.now(UTC) - at) > SKEW:
        raise Refused("InvalidTimeStamp.Expired", f"Specified time stamp {stamp} expired.", 400)
    if not nonce:
        raise Refused("MissingParameter", "SignatureNonce is mandatory.", 400)
    if nonce in state.nonces:
        raise Refused("SignatureNonceUsed", "Specified signature nonce was used already.", 400)
    state.nonces.add(nonce)


def _mismatch(server_sts: str) -> Refused:
    message = "Specified signature is not matched with our calculation. server string to sign is:"
    return Refused("SignatureDoesNotMatch", message + server_sts, 400)


def _check_key(state: AliyunSmsState, key_id: str) -> None:
    if key_id != state.access_key_id:
        raise Refused("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)


def _verify_v1(state: AliyunSmsState, method: str, params: Mapping[str, str]) -> None:
    _check_key(state, params.get("AccessKeyId", ""))
    sts = signing.aliyun_v1_string_to_sign(method, params)
    if signing.aliyun_v1_signature(state.access_key_secret, sts) != params.get("Signature"):
        raise _mismatch(sts)
    _check_fresh(state, params.get("Timestamp", ""), params.get("SignatureNonce", ""))


def _verify_v3(state: AliyunSmsState, request: web.Request, body: bytes) -> None:
    auth = request.headers["Authorization"].removeprefix(signing.ACS3).strip()
    fields = dict(part.strip().split("=", 1) for part in auth.split(",") if "=" in part)
    _check_key(state, fields.get("Credential", ""))
    headers = {k.lower(): v for k, v in request.headers.items()}
    names = fields.get("SignedHeaders", "").split(";")
    query = list(request.query.items())
    canonical = signing.aliyun_v3_canonical_request(
        request.method, request.path, query, headers, names, signing.sha256_hex(body)
    )
    sts = signing.aliyun_v3_string_to_sign(canonical)
    if signing.aliyun_v3_signature(state.access_key_secret, sts) != fields.get("Signature"):
        raise _mismatch(sts)
    _check_fresh(state, headers.get("x-acs-date", ""), headers.get("x-acs-signature-nonce", ""))


async def _authenticate(state: AliyunSmsState, request: web.Request) -> dict[str, str]:
    body = await request.read()
    form = await request.post()
    params = {**request.query, **{k: str(v) for k, v in form.items()}}
    if request.headers.get("Authorization", "").startswith(signing.ACS3):
        _verify_v3(state, request, body)
        params.setdefault("Action", request.headers.get("x-acs-action", ""))
    else:
        _verify_v1(state, request.method, params)
    if state.faults.roll(state.faults.throttle):
        raise Refused("Throttling.User", "Request was denied due to user flow control.", 400)
    return params


def _params(raw: Any) -> dict[str, str]:
    """A TemplateParam: a JSON object of strings (a JSON text, or an item of a JSON array)."""
    try:
        params = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise Refused("isv.INVALID_JSON_PARAM", BAD_JSON) from exc
    if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
        raise Refused("isv.INVALID_JSON_PARAM", BAD_JSON)
    return params


def _check_value(template: SmsTemplate, var: Variable, value: str) -> None:
    """Refused as the service refuses a variable's value (see the module's sources)."""
    if var.name in template.links:
        link = link_problem(value)
        if link == "url":
            raise Refused("isv.PARAM_NOT_SUPPORT_URL", f"不支持url为变量: {var.name}")
        if link is not None:
            raise Refused("isv.TEMPLATE_PARAMS_ILLEGAL", f"模板变量里包含非法内容: {var.name}")
    elif carries_url(value):
        raise Refused("isv.PARAM_NOT_SUPPORT_URL", f"不支持url为变量: {var.name}")
    problem = var.problem(value)
    if problem == "length":
        raise Refused("isv.PARAM_LENGTH_LIMIT", f"参数超出长度限制: {var.name}")
    if problem is not None:
        raise Refused("isv.TEMPLATE_PARAMS_ILLEGAL", f"模板变量里包含非法内容: {var.name}")


def _fill(template: SmsTemplate, params: Mapping[str, str]) -> str:
    """The template's text with ``params``: what the resident reads."""
    for var in template.variables:
        if var.name not in params:
            raise Refused("isv.TEMPLATE_MISSING_PARAMETERS", f"模板缺少变量: {var.name}")
    # Keys the template does not name are ignored, as Dysmsapi ignores them (no
    # documented code refuses them; test_sdk_aliyun keeps that).
    for var in template.variables:
        _check_value(template, var, params[var.name])
    return ACCOUNT_VAR.sub(lambda m: params[m.group(1)], template.text)


def _render(state: AliyunSmsState, code: str, sign: str, raw: Any) -> str:
    account = state.account
    if account.sign_names is not None and sign not in account.sign_names:
        raise Refused("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
    params = _params(raw)
    template = None if account.templates is None else account.templates.get(code)
    if account.templates is None:
        text = " ".join(params.values())
    elif template is None or not template.approved:
        raise Refused("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
    else:
        text = _fill(template, params)
    content = f"【{sign}】{text}"
    if len(content) > MAX_CHARS:
        raise Refused("isv.PARAM_LENGTH_LIMIT", "参数超出长度限制")
    return content


def _check_numbers(state: AliyunSmsState, phones: list[str], limit: int) -> list[str]:
    if len(phones) > limit:
        raise Refused("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制")
    numbers = [national(p) for p in phones]
    if not all(PHONE.match(n) for n in numbers):
        raise Refused("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
    cap = state.account.daily_cap_per_number
    if cap is not None and any(state.sent_per_number[n] >= cap for n in numbers):
        raise Refused("isv.BUSINESS_LIMIT_CONTROL", f"触发天级流控Permits:{cap}")
    return numbers


def _accept(
    state: AliyunSmsState, action: str, sends: list[tuple[str, str]], p: Mapping[str, str]
) -> str:
    biz_id = f"{next(state.biz_ids)}^0"
    now = datetime.now(BEIJING)
    out_id, template = p.get("OutId", ""), p.get("TemplateCode", "")
    refused = state.account.refused_numbers
    batch = [
        SentSms(phone, biz_id, out_id, template, text, now, refused=phone in refused)
        for phone, text in sends
    ]
    for sms in batch:
        state.inbox.add(sms.phone, sms.content)
        state.sent_per_number[sms.phone] += 1
    state.records.extend(batch)
    for sms in batch:
        state.by_phone.setdefault(sms.phone, []).append(sms)
    state.calls.append(
        {"action": action, "numbers": len(batch), "biz_id": biz_id, "out_id": out_id}
    )
    state.callbacks.spawn(_report(state, batch))
    return biz_id


def _need(p: Mapping[str, str], *names: str) -> None:
    for name in names:
        if not p.get(name):
            raise Refused("MissingParameter", f"{name} is mandatory for this action.", 400)


def send_sms(state: AliyunSmsState, p: Mapping[str, str]) -> dict[str, Any]:
    """SendSms: one text to up to 1000 comma-separated numbers."""
    _need(p, "PhoneNumbers", "SignName", "TemplateCode")
    numbers = _check_numbers(state, p["PhoneNumbers"].split(","), MAX_SEND_SMS)
    text = _render(state, p["TemplateCode"], p["SignName"], p.get("TemplateParam", "{}"))
    return {"BizId": _accept(state, "SendSms", [(n, text) for n in numbers], p)}


def send_batch_sms(state: AliyunSmsState, p: Mapping[str, str]) -> dict[str, Any]:
    """SendBatchSms: up to 100 numbers, each with its own signature and params."""
    _need(p, "PhoneNumberJson", "SignNameJson", "TemplateCode")
    try:
        phones, signs = json.loads(p["PhoneNumberJson"]), json.loads(p["SignNameJson"])
        params = json.loads(p.get("TemplateParamJson") or "null")
    except ValueError as exc:
        raise Refused("isv.INVALID_JSON_PARAM", BAD_JSON) from exc
    params = [{}] * len(phones) if params is None and isinstance(phones, list) else params
    lists = all(isinstance(x, list) for x in (phones, signs, params))
    if not lists or not phones or not len(phones) == len(signs) == len(params):
        raise Refused("isv.INVALID_PARAMETERS", "参数异常")
    numbers = _check_numbers(state, [str(x) for x in phones], MAX_BATCH_SMS)
    texts = [
        _render(state, p["TemplateCode"], str(s), t) for s, t in zip(signs, params, strict=True)
    ]
    return {"BizId": _accept(state, "SendBatchSms", list(zip(numbers, texts, strict=True)), p)}


def query_send_details(state: AliyunSmsState, p: Mapping[str, str]) -> dict[str, Any]:
    """QuerySendDetails: one number's messages of one day (Beijing), paged."""
    _need(p, "PhoneNumber", "SendDate", "PageSize", "CurrentPage")
    try:
        size, page = int(p["PageSize"]), int(p["CurrentPage"])
        datetime.strptime(p["SendDate"], "%Y%m%d")
    except ValueError as exc:
        raise Refused("isv.INVALID_PARAMETERS", "参数异常") from exc
    if not 1 <= size <= 50 or page < 1:
        raise Refused("isv.INVALID_PARAMETERS", "参数异常")
    found = [
        r
        for r in state.by_phone.get(national(p["PhoneNumber"]), [])
        if r.sent_at.strftime("%Y%m%d") == p["SendDate"] and p.get("BizId") in (None, "", r.biz_id)
    ]
    dtos = [_dto(r) for r in found[(page - 1) * size : page * size]]
    return {"TotalCount": len(found), "SmsSendDetailDTOs": {"SmsSendDetailDTO": dtos}}


def _dto(r: SentSms) -> dict[str, Any]:
    fmt = "%Y-%m-%d %H:%M:%S"
    return {
        "PhoneNum": r.phone,
        "SendStatus": r.status,
        "ErrCode": r.err_code,
        "TemplateCode": r.template_code,
        "Content": r.content,
        "SendDate": r.sent_at.strftime(fmt),
        "ReceiveDate": r.received_at.strftime(fmt) if r.received_at else "",
        "OutId": r.out_id,
    }


ACTIONS = {
    "SendSms": send_sms,
    "SendBatchSms": send_batch_sms,
    "QuerySendDetails": query_send_details,
}


async def rpc(request: web.Request) -> web.Response:
    """The single RPC endpoint ``/`` dispatching on ``Action``."""
    state = request.app[STATE]
    request_id = str(uuid.uuid4()).upper()
    try:
        params = await _authenticate(state, request)
        action = ACTIONS.get(params.get("Action", ""))
        if action is None:
            raise Refused("InvalidAction.NotFound", "Specified api is not found.", 404)
        body = {"Code": "OK", "Message": "OK", "RequestId": request_id, **action(state, params)}
    except Refused as err:
        body = {"RequestId": request_id, "Code": err.code, "Message": err.message}
        if err.status >= 400:
            body |= {"HostId": request.host, "Recommend": "https://api.aliyun.com/troubleshoot"}
        return web.json_response(body, status=err.status)
    return web.json_response(body)


async def _report(state: AliyunSmsState, batch: list[SentSms]) -> None:
    await asyncio.sleep(state.report_delay)
    now = datetime.now(BEIJING)
    items = []
    for sms in batch:
        ok = not sms.refused and not state.faults.roll(state.faults.receipt_failure)
        sms.status, sms.err_code, sms.received_at = (3 if ok else 2), "DELIVERED", now
        if not ok:
            sms.err_code = "MK:0001"
        items.append(
            {
                "phone_number": sms.phone,
                "send_time": sms.sent_at.strftime("%Y-%m-%d %H:%M:%S"),
                "report_time": now.strftime("%Y-%m-%d %H:%M:%S"),
                "success": ok,
                "err_code": sms.err_code,
                "err_msg": "用户接收成功" if ok else "用户接收失败",
                "sms_size": "1",
                "biz_id": sms.biz_id,
                "out_id": sms.out_id,
            }
        )
    await state.callbacks.post_json(state.report_url, items)


async def send_uplink(app: web.Application, phone: str, content: str = "TD") -> None:
    """Make ``phone`` reply ``content`` to our signature; POSTed as SmsUp to ``up_url``."""
    state = app[STATE]
    now = datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    item = {
        "phone_number": phone,
        "send_time": now,
        "content": content,
        "sign_name": "",
        "dest_code": "",
        "sequence_id": len(state.calls),
    }
    await state.callbacks.post_json(state.up_url, [item])


def build_app(
    *,
    access_key_id: str = "emulator-key",
    access_key_secret: str = "emulator-secret",
    faults: Faults | None = None,
    report_url: str | None = None,
    up_url: str | None = None,
    daily_cap_per_number: int | None = None,
    templates: Mapping[str, str] | None = None,
    account: SmsAccount | None = None,
    report_delay: float = 0.05,
) -> web.Application:
    """An Aliyun SMS emulator app answering for ``account``.

    Without an account it takes any sign and template code (the values joined
    are the text); ``templates`` (code → text with ``${var}``, default
    variable rules) and ``daily_cap_per_number`` are shorthands for an account
    that holds only those.
    """
    faults = faults or Faults()
    account = sms_shorthand(
        "aliyun-sms", account, templates=templates, daily_cap_per_number=daily_cap_per_number
    )
    # SDK-style requests carry up to 1000 numbers in the query string.
    app = web.Application(
        middlewares=[cast(Middleware, fault_middleware(faults))],
        handler_args={"max_line_size": 65536, "max_field_size": 65536},
    )
    app[STATE] = AliyunSmsState(
        access_key_id, access_key_secret, faults, account, report_url, up_url, report_delay
    )
    app.cleanup_ctx.append(callbacks_ctx(lambda a: a[STATE].callbacks))
    app.router.add_route("*", "/", rpc)
    app.router.add_post("/emulator/uplink", uplink_view(send_uplink))
    app.router.add_get("/emulator/inbox", inbox_view(lambda a: a[STATE].inbox))
    return app


def from_options(options: EmulatorOptions) -> web.Application:
    """The emulator as ``pusher emulate aliyun-sms`` runs it (``ValueError``: bad account file)."""
    account = options.account("aliyun-sms")
    if account is not None and not isinstance(account, SmsAccount):
        raise ValueError("the account file does not describe a aliyun-sms account")
    return build_app(faults=options.faults(), report_url=options.report_url, account=account)
