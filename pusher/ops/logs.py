"""Logging: one JSON line per event in production, personal data masked, secrets never shown.

``configure_logging(json=True)`` makes every record a JSON object with ``ts``,
``level``, ``logger``, ``msg``, the request id of the HTTP request being served
(see :func:`request_id_middleware`), fields bound with :func:`log_context` and
any ``extra=`` fields. Whatever the format, phone numbers become ``138****1234``,
WeChat openids keep their first and last four characters, values of keys that
look secret (``secret``, ``token``, ``password``, ``key``, and a callback's
``signature``, ``nonce`` and ``echostr``, which would let a logged query string be
replayed) become ``***``, and so does the secret last segment of the SMS callback
paths (``/callbacks/aliyun/report/***``) wherever a path is logged (access log,
errors).
"""

from __future__ import annotations

import json as jsonlib
import logging
import re
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

REQUEST_ID_HEADER = "X-Request-ID"
request_id_var: ContextVar[str | None] = ContextVar("pusher_request_id", default=None)
_context_var: ContextVar[Mapping[str, Any] | None] = ContextVar("pusher_log_context", default=None)

PHONE = re.compile(r"(?<!\d)((?:\+?86[- ]?)?1[3-9]\d)\d{4}(\d{4})(?!\d)")
OPENID = re.compile(
    r"(?<![A-Za-z0-9_-])(o[A-Za-z0-9_-]{3})[A-Za-z0-9_-]{19,}([A-Za-z0-9_-]{4})(?![A-Za-z0-9_-])"
)
SECRET_WORDS = (
    "secret", "token", "password", "passwd", "key", "authorization", "signature", "nonce",
    "echostr",
)
# /callbacks/<provider>/<kind>/<secret>: the secret segment of the SMS callback URLs
CALLBACK_PATH = re.compile(r"(/callbacks/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/)[^/\s?#\"']+")
# key = value, key: value, "key": "value", key=Bearer value; the key a whole [\w-] run
ASSIGNMENT = re.compile(
    r"(?<![\w-])([\w-]+)(\"?'?\s*[=:]\s*[\"']?(?:Bearer\s+)?[\"']?)([^\s\"'&,;})\]]+)",
    re.IGNORECASE,
)
MASK = "***"
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Attributes every LogRecord has; anything else came in through ``extra=``.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


#: Eleven digits of a mobile number in a row: no ``PHONE`` match without them.
_MOBILE_DIGITS = re.compile(r"1[3-9]\d{9}")


def mask_text(text: str) -> str:
    """``text`` with phone numbers, openids and ``secret=value`` pairs masked.

    Every log line passes here (a county push brings a callback, so an access line, per
    message): the two costly patterns run only on text that has what they look for.
    """
    if is_secret_key(text):  # a secret word anywhere: only then look for its pairs
        text = _mask_assignments(text)
    text = CALLBACK_PATH.sub(rf"\1{MASK}", text)
    if _MOBILE_DIGITS.search(text):
        text = PHONE.sub(r"\1****\2", text)
    return OPENID.sub(r"\1****\2", text)


def _mask_assignments(text: str) -> str:
    """The values of ``key=value`` pairs whose key looks secret, also inside other values
    (``url=https://host/?access_token=…``). One pass over the text: a pattern that
    looked for the secret word inside every run of word characters cost four times
    as much on an access-log line."""

    def masked(m: re.Match[str]) -> str:
        if is_secret_key(m[1]):
            return f"{m[1]}{m[2]}{MASK}"
        value = m[3]
        return m[1] + m[2] + _mask_assignments(value) if "=" in value or ":" in value else m[0]

    return ASSIGNMENT.sub(masked, text)


def is_secret_key(key: str) -> bool:
    """Whether a field named ``key`` holds something that must never be logged."""
    folded = key.casefold()
    return any(word in folded for word in SECRET_WORDS)


def scrub(value: Any) -> Any:
    """A JSON-ready copy of ``value`` with secrets and personal data masked, recursively."""
    if isinstance(value, Mapping):
        return {str(k): MASK if is_secret_key(str(k)) else scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and PHONE.fullmatch(str(value)):
        return mask_text(str(value))
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_text(str(value))


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per record; masked; request id and bound context included."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            payload["request_id"] = request_id
        payload.update(_context_var.get() or {})
        payload.update(_extras(record))
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exc"] = record.exc_text
        return jsonlib.dumps(scrub(payload), ensure_ascii=False)


class MaskingFormatter(logging.Formatter):
    """The plain text format, with the same masking as the JSON one."""

    def format(self, record: logging.LogRecord) -> str:
        # aiohttp's access records carry their line's parts again as extras: not repeated
        own = {} if record.name == "aiohttp.access" else _extras(record)
        extras = {**(_context_var.get() or {}), **own}
        request_id = request_id_var.get()
        if request_id:
            extras["request_id"] = request_id
        line = super().format(record)
        if extras:
            line += " " + jsonlib.dumps(scrub(extras), ensure_ascii=False, default=str)
        return mask_text(line)


def configure_logging(*, json: bool, level: int | str = "INFO") -> logging.Handler:
    """Send every log record to stderr, as JSON lines or text; returns the handler."""
    handler = logging.StreamHandler(sys.stderr)
    if json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return handler


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` (job_id, push_id, …) to every record logged inside the block."""
    token = _context_var.set({**(_context_var.get() or {}), **fields})
    try:
        yield
    finally:
        _context_var.reset(token)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def request_id_middleware(*, header: str = REQUEST_ID_HEADER) -> Middleware:
    """A middleware that takes the caller's request id (or makes one), logs and echoes it."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        incoming = request.headers.get(header, "")
        request_id = incoming if _GOOD_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers[header] = request_id
            raise
        finally:
            request_id_var.reset(token)
        response.headers[header] = request_id
        return response

    return middleware
