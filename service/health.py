"""Liveness, readiness and metrics: unauthenticated, for probes and Prometheus."""

import asyncio

from litestar import Response, get
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.dependencies import Deps


@get("/healthz", operation_id="healthz", tags=["ops"], summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", operation_id="readyz", tags=["ops"], summary="Readiness: Redis and the store are reachable")
async def readyz(services: Deps) -> Response[dict]:
    checks: dict[str, str] = {}
    try:
        await services.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"unreachable: {type(exc).__name__}"
    try:
        await asyncio.to_thread(services.store.check)
        checks["store"] = "ok"
    except Exception as exc:
        checks["store"] = f"unreachable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return Response({"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503)


@get("/metrics", operation_id="metrics", tags=["ops"], summary="Prometheus metrics", include_in_schema=False)
async def metrics(services: Deps) -> Response[bytes]:
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
