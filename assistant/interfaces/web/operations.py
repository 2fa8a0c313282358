"""For the people who run CareLoop: `/healthz` (the process answers), `/readyz` (it can do
its work: the database answers, and the outbox is not lagging past the grace period) and
`/metrics` (Prometheus). `/metrics` answers the bearer `CARELOOP_METRICS_TOKEN` when one is
set, else only callers on this host."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from assistant.config import get_settings
from assistant.interfaces import probes

router = APIRouter(include_in_schema=False)
LOOPBACK = {"127.0.0.1", "::1"}


@router.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def ready() -> JSONResponse:
    """503 while the database is out of reach, or the oldest due message has waited longer
    than the grace period (the senders are behind or down)."""
    ok, body = probes.outbox_readiness(get_settings().outbox_grace_seconds)
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics")
def prometheus(request: Request) -> Response:
    token = get_settings().metrics_token
    given = request.headers.get("authorization", "").removeprefix("Bearer ")
    allowed = (hmac.compare_digest(given, token.get_secret_value()) if token
               else request.client is not None and request.client.host in LOOPBACK)
    if not allowed:
        return Response("metrics: give the bearer token (CARELOOP_METRICS_TOKEN)\n",
                        status_code=403, media_type="text/plain")
    probes.backlog()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
