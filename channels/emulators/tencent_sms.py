"""A local Tencent Cloud SMS API 3.0 (2021-01-11): SendSms, PullSmsSendStatus,
PullSmsSendStatusByPhoneNumber, callbacks.

Takes POST (JSON) and GET (form-encoded query) like the service, checks the
TC3-HMAC-SHA256 signature (from the headers it names, over the raw body or
query), the SecretId, the timestamp (±5 min), ``X-TC-Version`` and the region,
then the account (:class:`~channels.emulators.accounts.SmsAccount`: SDK app
ids, signs, approved templates and each variable's limit) and the SMS rules:
≤200 numbers, content ≤500 chars with 【signature】, and per number the
format, the blacklist (the account's refused numbers and those that replied
"TD") and a daily cap. Whole-request errors come as ``Response.Error`` on HTTP
200 with ``Content-Type: application/json`` exactly (the SDK reads errors only
then), per-number ones in ``SendStatusSet``. Status reports go to
``report_url`` after ``report_delay``; :func:`send_uplink` posts a reply
callback to ``up_url``. Only API version 2021-01-11 is emulated; others get
``NoSuchVersion``.

With an account the templates are strict (codes from cloud.tencent.com/document/
api/382/59177): an unknown template or one the review would not have approved
(:mod:`channels.emulators.review`) is ``FailedOperation.TemplateIncorrectOrUnapproved``;
too few or too many values ``FailedOperation.TemplateParamSetNotMatchApprovedTemplate``;
a value over its limit ``InvalidParameterValue.TemplateParameterLengthLimit``; one
its type refuses, a link's path that is no path code, or a link in a variable
``InvalidParameterValue.TemplateParameterFormatError`` (our reading: the review
standard, tencentcloud.com/document/product/382/40659, fixes links in the text);
an unknown sign ``FailedOperation.SignatureIncorrectOrUnapproved``; the whole
message over 500 ``InvalidParameterValue.ContentLengthLimit``. The inbox holds
the text after substitution.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from typing import Any, cast

from aiohttp import web
from aiohttp.typedefs import Middleware

from channels import signing
from channels.emulators.accounts import (
    TENCENT_VAR,
    SmsAccount,
    SmsTemplate,
    sms_shorthand,
)
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
from channels.emulators.variables import carries_url, link_problem
from channels.sms import BEIJING, is_opt_out, national

MAX_NUMBERS = 200
MAX_CHARS = 500
SKEW_SECONDS = 300
PHONE = re.compile(r"^1\d{10}$")
VERSION = "2021-01-11"
REGIONS = frozenset({"ap-guangzhou", "ap-beijing", "ap-nanjing"})
JSON_TYPE = "application/json"  # exactly: the official SDK ignores Error under any other type


class ApiError(Exception):
    """A whole-request error, answered as ``Response.Error``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code, self.message = code, message


@dataclass
class SentSms:
    """One accepted message and, once reported, its status."""

    phone: str
    serial_no: str
    session_context: str
    content: str
    app_id: str = ""
    report_status: str = ""
    description: str = ""
    received_at: datetime | None = None


@dataclass
class TencentSmsState:
    """Everything the emulator saw and keeps; tests read it through :data:`STATE`."""

    secret_id: str
    secret_key: str
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
    blacklist: set[str] = field(default_factory=set)
    #: reported statuses PullSmsSendStatus has not handed out yet (each goes once)
    unpulled: list[SentSms] = field(default_factory=list)
    sent_per_number: Counter[str] = field(default_factory=Counter)
    callbacks: Callbacks = field(default_factory=Callbacks)
    serials: count[int] = field(default_factory=lambda: count(1045710669157053657849499619))

    async def drain(self) -> None:
        """Wait until every pending status report has been posted."""
        await self.callbacks.drain()


STATE = web.AppKey("tencent_sms_state", TencentSmsState)


def _missing(name: str) -> ApiError:
    return ApiError("MissingParameter", f"The request is missing a required parameter `{name}`.")


def _verify(state: TencentSmsState, request: web.Request, body: bytes) -> None:
    headers = {k.lower(): v for k, v in request.headers.items()}
    auth = headers.get("authorization", "").removeprefix(signing.TC3).strip()
    fields = dict(p.strip().split("=", 1) for p in auth.split(",") if "=" in p)
    scope = fields.get("Credential", "").split("/")
    if len(scope) != 4 or scope[0] != state.secret_id:
        raise ApiError("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
    try:
        stamp = int(headers.get("x-tc-timestamp", ""))
    except ValueError as exc:
        raise ApiError("AuthFailure.InvalidAuthorization", "X-TC-Timestamp is invalid.") from exc
    if abs(time.time() - stamp) > SKEW_SECONDS:
        raise ApiError("AuthFailure.SignatureExpire", "Signature expired.")
    unsigned = headers.get("x-tc-content-sha256") == "UNSIGNED-PAYLOAD"
    names = fields.get("SignedHeaders", "").split(";")
    canonical = signing.tc3_canonical_request(
        request.method,
        request.rel_url.raw_query_string,
        headers,
        names,
        b"" if request.method == "GET" else body,
        unsigned_payload=unsigned,
    )
    sts = signing.tc3_string_to_sign(stamp, scope[2], canonical)
    expected = signing.tc3_signature(state.secret_key, scope[1], scope[2], sts)
    if scope[1] != signing.tc3_date(stamp) or expected != fields.get("Signature"):
        raise ApiError(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. "
            "Please check your signature is correct.",
        )
    _check_version(headers)


def _check_version(headers: Mapping[str, str]) -> None:
    version, region = headers.get("x-tc-version"), headers.get("x-tc-region")
    if not version:
        raise _missing("Version")
    if version != VERSION:
        raise ApiError("NoSuchVersion", f"The API version `{version}` does not exist.")
    if not region:
        raise _missing("Region")
    if region not in REGIONS:
        raise ApiError("UnsupportedRegion", f"The `{region}` region is not supported.")


UNAPPROVED = (
    "template is not approved or request content does not match the approved template content"
)


def _format_error(name: str) -> ApiError:
    return ApiError(
        "InvalidParameterValue.TemplateParameterFormatError",
        f"template parameter format error: {{{name}}}",
    )


def _fill(template: SmsTemplate, values: list[str]) -> str:
    """The template's text with ``values`` (what the resident reads); refused as the
    service refuses a variable (codes: cloud.tencent.com/document/api/382/59177)."""
    if len(template.variables) != len(values):
        raise ApiError(
            "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
            "request content does not match template content",
        )
    for var, value in zip(template.variables, values, strict=True):
        # A link's path variable holds a path code; any variable holding a link of its
        # own is a link outside the fixed domain (our reading of the review standard).
        if var.name in template.links and link_problem(value) is not None:
            raise _format_error(var.name)
        if var.name not in template.links and carries_url(value):
            raise _format_error(var.name)
        problem = var.problem(value)
        if problem == "length":
            raise ApiError(
                "InvalidParameterValue.TemplateParameterLengthLimit",
                f"single template parameter length exceeds the limit ({var.limit})",
            )
        if problem is not None:
            raise _format_error(var.name)
    named = dict(zip((v.name for v in template.variables), values, strict=True))
    return TENCENT_VAR.sub(lambda m: named[m.group(1)], template.text)


def _check_app(account: SmsAccount, p: Mapping[str, Any]) -> None:
    app_id = str(p.get("SmsSdkAppId", ""))
    if not app_id:
        raise _missing("SmsSdkAppId")
    if account.sdk_app_ids is not None and app_id not in account.sdk_app_ids:
        raise ApiError("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId not exist.")


def _render(state: TencentSmsState, p: Mapping[str, Any]) -> str:
    account = state.account
    sign = str(p.get("SignName", ""))
    if account.sign_names is not None and sign not in account.sign_names:
        raise ApiError(
            "FailedOperation.SignatureIncorrectOrUnapproved",
            "signature is not approved or signature format is incorrect",
        )
    raw = p.get("TemplateParamSet") or []
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise ApiError("InvalidParameter", "TemplateParamSet must be a list of strings.")
    template_id = str(p.get("TemplateId", ""))
    template = None if account.templates is None else account.templates.get(template_id)
    if account.templates is None:
        text = " ".join(raw)
    elif template is None or not template.approved:
        raise ApiError("FailedOperation.TemplateIncorrectOrUnapproved", UNAPPROVED)
    else:
        text = _fill(template, raw)
    content = f"【{sign}】{text}"
    if len(content) > MAX_CHARS:
        raise ApiError("InvalidParameterValue.ContentLengthLimit", "content is too long")
    return content


def _number_status(state: TencentSmsState, phone: str) -> tuple[str, str]:
    number = national(phone)
    cap = state.account.daily_cap_per_number
    if not PHONE.match(number):
        return "InvalidParameterValue.IncorrectPhoneNumber", "incorrect phone number"
    if number in state.blacklist or number in state.account.refused_numbers:
        return "FailedOperation.PhoneNumberInBlacklist", "phone number in blacklist"
    if cap is not None and state.sent_per_number[number] >= cap:
        return (
            "LimitExceeded.PhoneNumberDailyLimit",
            "the number of sms messages sent from a single mobile number every day "
            "exceeds the upper limit",
        )
    return "Ok", "send success"


def send_sms(state: TencentSmsState, p: Mapping[str, Any]) -> dict[str, Any]:
    """SendSms: one text to ≤200 numbers, a status per number."""
    phones = p.get("PhoneNumberSet")
    if not isinstance(phones, list) or not phones:
        raise ApiError("MissingParameter.EmptyPhoneNumberSet", "PhoneNumberSet is empty.")
    _check_app(state.account, p)
    if len(phones) > MAX_NUMBERS:
        raise ApiError("LimitExceeded.PhoneNumberCountLimit", "more than 200 numbers")
    content = _render(state, p)
    fee = 1 if len(content) <= 70 else math.ceil(len(content) / 67)
    context = str(p.get("SessionContext", ""))
    statuses, accepted = [], []
    for phone in phones:
        code, message = _number_status(state, str(phone))
        serial = f"5000:{next(state.serials)}" if code == "Ok" else ""
        statuses.append(
            {
                "SerialNo": serial,
                "PhoneNumber": str(phone),
                "Fee": fee if serial else 0,
                "SessionContext": context,
                "Code": code,
                "Message": message,
                "IsoCode": "CN",
            }
        )
        if serial:
            accepted.append(
                SentSms(national(str(phone)), serial, context, content, str(p["SmsSdkAppId"]))
            )
    _accept(state, accepted)
    state.calls.append({"action": "SendSms", "numbers": len(phones), "accepted": len(accepted)})
    return {"SendStatusSet": statuses}


def _accept(state: TencentSmsState, batch: list[SentSms]) -> None:
    for sms in batch:
        state.inbox.add(sms.phone, sms.content)
        state.sent_per_number[sms.phone] += 1
    state.records.extend(batch)
    for sms in batch:
        state.by_phone.setdefault(sms.phone, []).append(sms)
    state.callbacks.spawn(_report(state, batch))


def _number(p: Mapping[str, Any], name: str, default: int | None = None) -> int:
    value = p.get(name, default)
    if value is None:
        raise _missing(name)
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ApiError("InvalidParameter", f"`{name}` must be an integer.") from exc


def _limit(p: Mapping[str, Any]) -> int:
    limit = _number(p, "Limit")
    if not 0 < limit <= 100:
        raise ApiError("InvalidParameterValue", "Limit must be between 1 and 100.")
    return limit


def _status_item(r: SentSms) -> dict[str, Any]:
    return {
        "UserReceiveTime": r.received_at.strftime("%Y-%m-%d %H:%M:%S") if r.received_at else "",
        "CountryCode": "86",
        "SubscriberNumber": r.phone,
        "PhoneNumber": f"+86{r.phone}",
        "SerialNo": r.serial_no,
        "ReportStatus": r.report_status,
        "Description": r.description,
        "SessionContext": r.session_context,
    }


def pull_by_phone(state: TencentSmsState, p: Mapping[str, Any]) -> dict[str, Any]:
    """PullSmsSendStatusByPhoneNumber: the reported statuses of one number."""
    _check_app(state.account, p)
    phone = national(str(p.get("PhoneNumber", "")))
    begin, end = _number(p, "BeginTime"), _number(p, "EndTime", 2**62)
    offset, limit = _number(p, "Offset"), _limit(p)
    found = [
        r
        for r in state.by_phone.get(phone, [])
        if r.report_status and begin <= _epoch(r) <= end
    ]
    return {"PullSmsSendStatusSet": [_status_item(r) for r in found[offset : offset + limit]]}


def _epoch(r: SentSms) -> int:
    return int(r.received_at.timestamp()) if r.received_at else 0


def pull_status(state: TencentSmsState, p: Mapping[str, Any]) -> dict[str, Any]:
    """PullSmsSendStatus: reported statuses of the app not pulled before, each once."""
    _check_app(state.account, p)
    limit, app_id = _limit(p), str(p["SmsSdkAppId"])
    mine = [r for r in state.unpulled if r.app_id == app_id][:limit]
    taken = {id(r) for r in mine}
    state.unpulled = [r for r in state.unpulled if id(r) not in taken]
    return {"PullSmsSendStatusSet": [_status_item(r) for r in mine]}


ACTIONS = {
    "SendSms": send_sms,
    "PullSmsSendStatus": pull_status,
    "PullSmsSendStatusByPhoneNumber": pull_by_phone,
}


def _query_params(query: Mapping[str, str]) -> dict[str, Any]:
    """GET parameters, ``PhoneNumberSet.0=…`` flattened lists made lists again."""
    params: dict[str, Any] = {}
    for key, value in query.items():
        name, _, index = key.partition(".")
        if index.isdigit():
            params.setdefault(name, []).append((int(index), value))
        else:
            params[key] = value
    return {k: [x for _, x in sorted(v)] if isinstance(v, list) else v for k, v in params.items()}


def _params(request: web.Request, body: bytes) -> dict[str, Any]:
    if request.method == "GET":
        return _query_params(request.query)
    try:
        params = json.loads(body or b"{}")
    except ValueError as exc:
        raise ApiError("InvalidParameter", "The request body is not valid JSON.") from exc
    if not isinstance(params, dict):
        raise ApiError("InvalidParameter", "The request body must be a JSON object.")
    return params


def _answer(response: dict[str, Any]) -> web.Response:
    body = json.dumps({"Response": response}, ensure_ascii=False).encode()
    return web.Response(body=body, headers={"Content-Type": JSON_TYPE})


async def api(request: web.Request) -> web.Response:
    """The single API endpoint ``/`` (POST or GET) dispatching on ``X-TC-Action``."""
    state = request.app[STATE]
    request_id = str(uuid.uuid4())
    body = await request.read()
    try:
        _verify(state, request, body)
        if state.faults.roll(state.faults.throttle):
            raise ApiError("RequestLimitExceeded", "Your current request times exceeds limit.")
        action = ACTIONS.get(request.headers.get("X-TC-Action", ""))
        if action is None:
            raise ApiError("InvalidAction", "The action does not exist.")
        result = action(state, _params(request, body))
    except ApiError as err:
        result = {"Error": {"Code": err.code, "Message": err.message}}
    return _answer({**result, "RequestId": request_id})


async def _report(state: TencentSmsState, batch: list[SentSms]) -> None:
    await asyncio.sleep(state.report_delay)
    now = datetime.now(BEIJING)
    items = []
    for sms in batch:
        ok = not state.faults.roll(state.faults.receipt_failure)
        state.unpulled.append(sms)
        sms.report_status = "SUCCESS" if ok else "FAIL"
        sms.description = "用户短信送达成功" if ok else "用户短信接收失败"
        sms.received_at = now
        items.append(
            {
                "user_receive_time": now.strftime("%Y-%m-%d %H:%M:%S"),
                "nationcode": "86",
                "mobile": sms.phone,
                "report_status": sms.report_status,
                "errmsg": "DELIVRD" if ok else "MI:0013",
                "description": sms.description,
                "sid": sms.serial_no,
            }
        )
    await state.callbacks.post_json(state.report_url, items)


async def send_uplink(app: web.Application, phone: str, content: str = "TD") -> None:
    """Make ``phone`` reply ``content``; an opt-out word also blacklists the number."""
    state = app[STATE]
    if is_opt_out(content):
        state.blacklist.add(national(phone))
    reply = {
        "extend": "",
        "mobile": national(phone),
        "nationcode": "86",
        "sign": "",
        "text": content,
        "time": int(time.time()),
    }
    await state.callbacks.post_json(state.up_url, reply)


def build_app(
    *,
    secret_id: str = "emulator-key",
    secret_key: str = "emulator-secret",
    faults: Faults | None = None,
    report_url: str | None = None,
    up_url: str | None = None,
    daily_cap_per_number: int | None = None,
    templates: Mapping[str, str] | None = None,
    account: SmsAccount | None = None,
    report_delay: float = 0.05,
) -> web.Application:
    """A Tencent SMS emulator app answering for ``account``.

    Without an account it takes any app id, sign and template id (the values
    joined are the text); ``templates`` (id → text with ``{1}``, default
    variable rules) and ``daily_cap_per_number`` are shorthands for an account
    that holds only those.
    """
    faults = faults or Faults()
    account = sms_shorthand(
        "tencent-sms", account, templates=templates, daily_cap_per_number=daily_cap_per_number
    )
    app = web.Application(middlewares=[cast(Middleware, fault_middleware(faults))])
    app[STATE] = TencentSmsState(
        secret_id, secret_key, faults, account, report_url, up_url, report_delay
    )
    app.cleanup_ctx.append(callbacks_ctx(lambda a: a[STATE].callbacks))
    app.router.add_route("POST", "/", api)
    app.router.add_route("GET", "/", api)
    app.router.add_post("/emulator/uplink", uplink_view(send_uplink))
    app.router.add_get("/emulator/inbox", inbox_view(lambda a: a[STATE].inbox))
    return app


def from_options(options: EmulatorOptions) -> web.Application:
    """The emulator as ``pusher emulate tencent-sms`` runs it (``ValueError``: bad account file)."""
    account = options.account("tencent-sms")
    if account is not None and not isinstance(account, SmsAccount):
        raise ValueError("the account file does not describe a tencent-sms account")
    return build_app(faults=options.faults(), report_url=options.report_url, account=account)
