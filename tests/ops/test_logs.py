"""Log lines: one JSON object each, with request ids, and no phone, openid or secret in clear."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from channels.base import CallbackBatch, ChannelKind, Receipt
from pusher.db import create_engine, session_factory
from pusher.ops.logs import configure_logging, log_context, request_id_middleware, request_id_var
from pusher.runtime.queue import LocalQueue
from pusher.web.receipt_batch import ReceiptApplier

log = logging.getLogger("pusher.test.ops")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_each_event_is_one_json_line_with_its_fields(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging(json=True, level="INFO")
    log.debug("not shown")
    with log_context(job_id="dispatch:7:sms"):
        log.info("已发送 %d 条", 3, extra={"push_id": 7, "delivery_id": 42, "item_id": 5})
    [event] = lines(capsys.readouterr().err)
    assert event["level"] == "INFO" and event["logger"] == "pusher.test.ops"
    assert event["msg"] == "已发送 3 条"
    assert (event["push_id"], event["delivery_id"], event["item_id"]) == (7, 42, 5)
    assert event["job_id"] == "dispatch:7:sms"
    assert str(event["ts"]).endswith("+00:00")


def test_phones_openids_and_secrets_are_masked(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging(json=True)
    log.warning(
        "send to 13800001234 (+8613912345678) and oDemo00000000000000000000042 failed; "
        "url https://qyapi/cgi-bin/webhook/send?key=693a91f6-7xx&debug=1 access_token=AT-987",
        extra={
            "recipient": "13912345678",
            "openid": "oAbCdEfGhIjKlMnOpQrStUvWxYz1",
            "app_secret": "s3cr3t",
            "headers": {"Authorization": "Bearer tok-1", "accept": "json"},
            "phone_as_number": 13700001111,
            "delivery_id": 12345678901,
        },
    )
    err = capsys.readouterr().err
    [event] = lines(err)
    for secret in (
        "13800001234",
        "13912345678",
        "oDemo00000000000000000000042",
        "693a91f6",
        "AT-987",
        "s3cr3t",
        "tok-1",
        "13700001111",
        "oAbCdEfGhIjKlMnOpQrStUvWxYz1",
    ):
        assert secret not in err
    assert "138****1234" in str(event["msg"]) and "oDem****0042" in str(event["msg"])
    assert event["recipient"] == "139****5678"
    assert event["openid"] == "oAbC****xYz1"
    assert event["app_secret"] == "***"
    assert event["headers"] == {"Authorization": "***", "accept": "json"}
    assert event["phone_as_number"] == "137****1111"
    assert event["delivery_id"] == 12345678901  # ids that are not phone numbers stay


def test_exceptions_are_logged_masked_in_the_same_line(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging(json=True)
    try:
        raise ValueError("bad number 13800001234")
    except ValueError:
        log.exception("failed")
    [event] = lines(capsys.readouterr().err)
    assert "ValueError: bad number 138****1234" in str(event["exc"])


def test_text_format_masks_too(capsys: pytest.CaptureFixture[str], restore_logging: None) -> None:
    configure_logging(json=False)
    log.info("call 13800001234", extra={"token": "abc"})
    err = capsys.readouterr().err
    assert "138****1234" in err and "13800001234" not in err
    assert '"token": "***"' in err and "abc" not in err


@pytest.mark.parametrize("json_lines", [True, False])
def test_secrets_written_inside_text_are_masked(
    capsys: pytest.CaptureFixture[str], restore_logging: None, json_lines: bool
) -> None:
    configure_logging(json=json_lines)
    log.warning(
        'headers {"Authorization": "Bearer tok-1", "Accept": "json"}; '
        "retry url=https://api.example/send?access_token=AT-2&x=1; X-Api-Key: k-3; "
        "PASSWORD = 'pw-4'; ſecret=s-5"
    )
    err = capsys.readouterr().err
    for secret in ("tok-1", "AT-2", "k-3", "pw-4", "s-5"):
        assert secret not in err, f"{secret} logged: {err}"
    assert "Accept" in err and "x=1" in err  # what is not secret stays


async def test_request_id_is_in_the_response_and_in_the_log_lines(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging(json=True)

    async def view(_request: web.Request) -> web.Response:
        log.info("handling")
        return web.Response(text="ok")

    async def missing(_request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    app = web.Application(middlewares=[request_id_middleware()])
    app.router.add_get("/", view)
    app.router.add_get("/missing", missing)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/", headers={"X-Request-ID": "req-42"})
        lost = await client.get("/missing", headers={"X-Request-ID": "req-43"})
    assert response.headers["X-Request-ID"] == "req-42"
    assert lost.status == 404 and lost.headers["X-Request-ID"] == "req-43"
    handled = [e for e in lines(capsys.readouterr().err) if e["msg"] == "handling"]
    assert [e["request_id"] for e in handled] == ["req-42"]
    log.info("after the request")


async def test_a_failed_receipt_batch_names_every_request_it_carried(
    capsys: pytest.CaptureFixture[str], restore_logging: None, tmp_path: Path
) -> None:
    """Receipts of concurrent callbacks are applied in one transaction: when it fails,
    the log line lists each request's id instead of passing as the first request's."""
    configure_logging(json=True)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'no-tables.db'}")
    applier = ReceiptApplier(session_factory(engine), LocalQueue({}))

    async def callback(request_id: str, provider_id: str) -> BaseException | None:
        request_id_var.set(request_id)
        batch = CallbackBatch(receipts=[Receipt(provider_id, delivered=True, code="DELIVRD")])
        try:
            await applier.apply("aliyun", ChannelKind.SMS, batch)
        except Exception as exc:
            return exc
        return None

    try:
        failures = await asyncio.gather(callback("req-1", "p1"), callback("req-2", "p2"))
    finally:
        await applier.close()
        await engine.dispose()
    assert all(failure is not None for failure in failures)  # both callbacks answered 5xx
    [event] = [e for e in lines(capsys.readouterr().err) if e["msg"] == "receipts not applied"]
    assert event["request_ids"] == ["req-1", "req-2"]
    assert "request_id" not in event
