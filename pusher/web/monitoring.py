"""The monitoring routes: ``/metrics``, ``/healthz`` (the process answers) and ``/readyz``.

The counters and checks live in :mod:`pusher.ops`; this module only wires them to the
app, reading the process's resources through :data:`pusher.web.keys.RESOURCES`.
"""

from __future__ import annotations

from aiohttp import web

from pusher.ops.health import readiness
from pusher.ops.metrics import Metrics, metrics_handler
from pusher.web.keys import RESOURCES

METRICS = web.AppKey("metrics", Metrics)


def setup_metrics(app: web.Application, metrics: Metrics | None = None) -> Metrics:
    """Register ``/metrics`` on the web app; the metrics object is kept at ``app[METRICS]``."""
    metrics = metrics or Metrics()
    app[METRICS] = metrics
    app.router.add_get("/metrics", metrics_handler(metrics, lambda: app[RESOURCES].db))
    return metrics


async def healthz(request: web.Request) -> web.Response:
    """The process is alive and serving HTTP; ``channels`` names those of its channels
    that know they cannot send (a CMPP gateway refusing our login), still 200: a
    restart would not mend a wrong secret."""
    return web.json_response({"status": "ok", "channels": _channel_problems(request)})


async def readyz(request: web.Request) -> web.Response:
    """200 when every check passes, else 503 naming what failed."""
    results = await readiness(request.app[RESOURCES])
    failed = [r.name for r in results if not r.ok]
    body = {
        "status": "not ready" if failed else "ready",
        "failed": failed,
        "checks": {r.name: r.as_json() for r in results},
        "channels": _channel_problems(request),
    }
    return web.json_response(body, status=503 if failed else 200)


def _channel_problems(request: web.Request) -> dict[str, dict[str, object]]:
    """Channels of this process that report a problem (``problem``: a sentence, or None)."""
    resources = request.app.get(RESOURCES)
    if resources is None:
        return {}
    out: dict[str, dict[str, object]] = {}
    for kind, channel in resources.channels.items():
        problem = getattr(channel, "problem", None)
        if isinstance(problem, str):
            out[kind.value] = {"ok": False, "detail": problem}
    return out


def setup_health(app: web.Application) -> None:
    """Register ``/healthz`` and ``/readyz``."""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
