"""The access log of ``pusher serve``, without a line per accepted provider callback.

A county push brings one WeChat callback per message: 600,000 access lines that
say only "POST /callbacks/wechat 200", and 8% of the web process's CPU spent
writing them (py-spy, county bench). Accepted callbacks are counted instead in
the one "receipts applied" line of each receipt transaction (requests, receipts
per provider, opt-outs, follows: :mod:`pusher.web.receipt_batch`) and in the
``pusher_receipts_total`` metric. Every other request is logged as before, and so
is every callback that was refused (4xx) or failed (5xx).
"""

from __future__ import annotations

from aiohttp.abc import BaseRequest
from aiohttp.web import StreamResponse
from aiohttp.web_log import AccessLogger


class CallbackQuietAccessLogger(AccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if (
            response.status < 400
            and request.method == "POST"
            and request.path.startswith("/callbacks/")
        ):
            return
        super().log(request, response, time)
