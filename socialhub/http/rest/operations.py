"""Routes for operators: /healthz and /metrics (no session; they hold no private data)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from socialhub import __version__
from socialhub.http.api import Api, Call, Reply
from socialhub.http.site import METRICS_CONTENT_TYPE
from socialhub.metrics import Metrics

HealthCheck = Callable[[], Awaitable[dict[str, str]]]


def register_routes(api: Api, check_health: HealthCheck, metrics: Metrics) -> None:
    @api.route("/healthz", "GET", auth=False)
    async def healthz(call: Call) -> Reply:
        parts = {"version": __version__, **await check_health()}
        if "down" in parts.values():
            body = {"error": "unavailable", "message": "a backing service is unreachable"}
            return Reply(body={**body, "status": "unavailable", **parts}, status=503)
        return Reply(body={"status": "ok", **parts})

    @api.route("/metrics", "GET", auth=False)
    async def metrics_text(call: Call) -> Reply:
        return Reply(body=metrics.render(), headers={"content-type": METRICS_CONTENT_TYPE})
