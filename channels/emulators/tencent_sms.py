"""A local Tencent Cloud SMS API 3.0: SendSms, PullSmsSendStatusByPhoneNumber, callbacks.

Checks the TC3-HMAC-SHA256 signature (from the headers it names, over the raw
body), the SecretId, the timestamp (±5 min) and the region header, then the
SMS rules: ≤200 numbers, content ≤500 chars with 【signature】, template
parameter count, and per number the format, the blacklist (numbers that
replied "TD") and a daily cap. Whole-request errors come as
``Response.Error`` on HTTP 200, per-number ones in ``SendStatusSet``. Status
reports go to ``report_url`` after ``report_delay``; :func:`send_uplink` posts a
reply callback to ``up_url``.
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
from channels.aliyun_sms import BEIJING, is_opt_out, national
from channels.emulators.common import (
    Callbacks,
    Faults,
    Inbox,
    callbacks_ctx,
    fault_middleware,
    inbox_view,
    uplink_view,
)

MAX_NUMBERS = 200
MAX_CHARS = 500
SKEW_SECONDS = 300
PHONE = re.compile(r"^1\d{10}$")
VAR = re.compile(r"\{(\d+)\}")


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
    report_status: str = ""
    description: str = ""
    received_at: datetime | None = None


@dataclass
class TencentSmsState:
    """Everything the emulator saw and keeps; tests read it through :data:`STATE`."""

    secret_id: str
    secret_key: str
    faults: Faults
    templates: Mapping[str, str] | None
    report_url: str | None
    up_url: str | None
    daily_cap_per_number: int | None
    report_delay: float
    inbox: Inbox = field(default_factory=Inbox)
    calls: list[dict[str, Any]] = field(default_factory=list)
    records: list[SentSms] = field(default_factory=list)
    #: the same records by number: a look-up per number must not scan them all
    by_phone: dict[str, list[SentSms]] = field(default_factory=dict)
    blacklist: set[str] = field(default_factory=set)
    sent_per_number: Counter[str] = field(default_factory=Counter)
    callbacks: Callbacks = field(default_factory=Callbacks)
    serials: count[int] = field(default_factory=lambda: count(1045710669157053657849499619))

    async def drain(self) -> None:
        """Wait until every pending status report has been posted."""
        await self.callbacks.drain()


STATE = web.AppKey("tencent_sms_state", TencentSmsState)


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
        request.method, request.query_string, headers, names, body, unsigned_payload=unsigned
    )
    sts = signing.tc3_string_to_sign(stamp, scope[2], canonical)
    expected = signing.tc3_signature(state.secret_key, scope[1], scope[2], sts)
    if scope[1] != signing.tc3_date(stamp) or expected != fields.get("Signature"):
        raise ApiError(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. "
            "Please check your signature is correct.",
        )
    if not headers.get("x-tc-region"):
        raise ApiError("MissingParameter", "The request is missing a required parameter `Region`.")


def _render(state: TencentSmsState, p: Mapping[str, Any]) -> str:
    values = [str(v) for v in p.get("TemplateParamSet") or []]
    template_id = str(p.get("TemplateId", ""))
    if state.templates is None:
        text = " ".join(values)
    elif template_id not in state.templates:
        raise ApiError("FailedOperation.TemplateIncorrectOrUnapproved", "template not approved")
    else:
        template = state.templates[template_id]
        if len(set(VAR.findall(template))) != len(values):
            raise ApiError(
                "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                "request content does not match template content",
            )
        text = VAR.sub(lambda m: values[int(m.group(1)) - 1], template)
    content = f"【{p.get('SignName', '')}】{text}"
    if len(content) > MAX_CHARS:
        raise ApiError("InvalidParameterValue.ContentLengthLimit", "content is too long")
    return content


def _number_status(state: TencentSmsState, phone: str) -> tuple[str, str]:
    number = national(phone)
    cap = state.daily_cap_per_number
    if not PHONE.match(number):
        return "InvalidParameterValue.IncorrectPhoneNumber", "incorrect phone number"
    if number in state.blacklist:
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
    if not isinstance(phones, list) or not phones or not p.get("SmsSdkAppId"):
        raise ApiError("MissingParameter", "PhoneNumberSet and SmsSdkAppId are required.")
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
            accepted.append(SentSms(national(str(phone)), serial, context, content))
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


def pull_by_phone(state: TencentSmsState, p: Mapping[str, Any]) -> dict[str, Any]:
    """PullSmsSendStatusByPhoneNumber: the reported statuses of one number."""
    phone = national(str(p.get("PhoneNumber", "")))
    offset, limit = int(p.get("Offset", 0)), int(p.get("Limit", 100))
    found = [r for r in state.by_phone.get(phone, []) if r.report_status]
    items = [
        {
            "UserReceiveTime": r.received_at.strftime("%Y-%m-%d %H:%M:%S") if r.received_at else "",
            "CountryCode": "86",
            "SubscriberNumber": r.phone,
            "PhoneNumber": f"+86{r.phone}",
            "SerialNo": r.serial_no,
            "ReportStatus": r.report_status,
            "Description": r.description,
            "SessionContext": r.session_context,
        }
        for r in found[offset : offset + min(limit, 100)]
    ]
    return {"PullSmsSendStatusSet": items}


ACTIONS = {"SendSms": send_sms, "PullSmsSendStatusByPhoneNumber": pull_by_phone}


async def api(request: web.Request) -> web.Response:
    """The single API endpoint ``/`` dispatching on ``X-TC-Action``."""
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
        result = action(state, json.loads(body or b"{}"))
    except ApiError as err:
        result = {"Error": {"Code": err.code, "Message": err.message}}
    return web.json_response({"Response": {**result, "RequestId": request_id}})


async def _report(state: TencentSmsState, batch: list[SentSms]) -> None:
    await asyncio.sleep(state.report_delay)
    now = datetime.now(BEIJING)
    items = []
    for sms in batch:
        ok = not state.faults.roll(state.faults.receipt_failure)
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
    report_delay: float = 0.05,
) -> web.Application:
    """A Tencent SMS emulator app; ``templates`` None accepts any template id."""
    faults = faults or Faults()
    app = web.Application(middlewares=[cast(Middleware, fault_middleware(faults))])
    app[STATE] = TencentSmsState(
        secret_id,
        secret_key,
        faults,
        templates,
        report_url,
        up_url,
        daily_cap_per_number,
        report_delay,
    )
    app.cleanup_ctx.append(callbacks_ctx(lambda a: a[STATE].callbacks))
    app.router.add_post("/", api)
    app.router.add_post("/emulator/uplink", uplink_view(send_uplink))
    app.router.add_get("/emulator/inbox", inbox_view(lambda a: a[STATE].inbox))
    return app
