"""One HTTP call for every HTTP provider, with one mapping of transport trouble to errors.

Each HTTP channel (WeChat, WeCom, Aliyun, Tencent) sends through an
:class:`HttpSession` and reads the provider's own error codes from the body
itself; what the transport says maps the same way for all of them::

    no answer within timeout_seconds          -> UnknownOutcome("timeout")
    connection never made (refused, DNS, TLS) -> TransientError("connect")
    connection lost once the request was out  -> UnknownOutcome("network")
    HTTP 5xx, HTTP 429                        -> TransientError("http_<status>")
    HTTP 4xx where the body names no code     -> PermanentError("http_<status>")
    a body that is not the JSON object asked  -> TransientError("bad_response")

A timeout or a dropped link leaves the request's fate unknown (the provider may
have taken it), hence :class:`~channels.base.UnknownOutcome`; a refused
connection sent nothing and is a plain retry. A 5xx is taken at its word (the
provider did not take the message).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from channels.base import PermanentError, TransientError, UnknownOutcome

#: Our own codes, one spelling for every provider (the error tables describe them).
TIMEOUT, CONNECT, NETWORK, BAD_RESPONSE = "timeout", "connect", "network", "bad_response"


def http_code(status: int) -> str:
    """The code of an HTTP status we refuse: ``http_503``."""
    return f"http_{status}"


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back: the status, the raw body and the reason phrase."""

    status: int
    body: bytes
    reason: str = ""

    def snippet(self, size: int = 200) -> str:
        """The start of the body as text, for error messages."""
        return self.body[:size].decode("utf-8", errors="replace")

    def json_object(self, *, refuse_4xx: bool = False) -> dict[str, Any]:
        """The body as a JSON object (UTF-8, RFC 8259, whatever charset is named).

        With ``refuse_4xx`` any status ≥ 400 is a :class:`PermanentError`; else a 4xx
        whose body is a JSON object is returned for the caller to read its code.
        """
        if refuse_4xx and self.status >= 400:
            raise PermanentError(http_code(self.status), self.reason or "request refused")
        try:
            data = json.loads(self.body.decode("utf-8", errors="replace"))
        except ValueError:
            data = None
        if isinstance(data, dict):
            return data
        if self.status >= 400:
            raise PermanentError(http_code(self.status), f"unreadable answer: {self.snippet()}")
        raise TransientError(BAD_RESPONSE, f"answer is not a JSON object: {self.snippet()}")


class HttpSession:
    """A provider's view of the shared ``aiohttp`` session: its timeout and error mapping."""

    def __init__(self, session: aiohttp.ClientSession, *, timeout_seconds: float) -> None:
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def request(self, method: str, url: str | URL, **kwargs: Any) -> Answer:
        """Make one call; the answer unless the transport failed or the status is 5xx/429."""
        try:
            async with self._session.request(method, url, timeout=self._timeout, **kwargs) as resp:
                answer = Answer(resp.status, await resp.read(), resp.reason or "")
        except TimeoutError as exc:
            raise UnknownOutcome(TIMEOUT, f"no answer in {self._timeout.total}s") from exc
        except aiohttp.ClientConnectorError as exc:
            raise TransientError(CONNECT, str(exc)) from exc
        except aiohttp.ClientError as exc:
            raise UnknownOutcome(NETWORK, type(exc).__name__) from exc
        if answer.status >= 500 or answer.status == 429:
            raise TransientError(http_code(answer.status), answer.reason or answer.snippet())
        return answer

    async def post(self, url: str | URL, **kwargs: Any) -> Answer:
        """``request("POST", url, ...)``."""
        return await self.request("POST", url, **kwargs)
