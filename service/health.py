"""Liveness, readiness and metrics: unauthenticated, for probes and Prometheus."""

import asyncio
from typing import Literal

from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from service.dependencies import Deps


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, str]


NOT_READY = ResponseSpec(Readiness, description="Redis or the store is unreachable; `checks` says which", generate_examples=False)


@get("/healthz", operation_id="healthz", tags=["ops"], summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get(
    "/readyz", operation_id="readyz", tags=["ops"], summary="Readiness: Redis and the store are reachable",
    responses={503: NOT_READY},
)
async def readyz(services: Deps) -> Response[Readiness]:
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
    return Response(Readiness(status="ready" if ready else "not ready", checks=checks), status_code=200 if ready else 503)


@get("/metrics", operation_id="metrics", tags=["ops"], summary="Prometheus metrics", include_in_schema=False)
async def metrics(services: Deps) -> Response[bytes]:
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
