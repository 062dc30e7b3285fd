"""Liveness, readiness and metrics: unauthenticated, for probes and Prometheus.

- `/healthz` (liveness) never touches Redis or the store: the process answers.
- `/readyz` (readiness) is 200 whenever this process can serve, with `status: degraded` and `checks` naming
  each dependency it cannot reach. Redis and the store are shared by every API pod, so their outage would take
  every pod out of the Service at once, and the Ingress would answer 503 with no JSON body; instead each pod
  stays in, answers what needs neither (probes, /metrics, the inference route for base models, ...) and
  answers what needs them with 503 + an OpenAI-shaped error and Retry-After (service/errors.py `OUTAGES`).
  `ftaas_api_dependency_up` says which is down, for alerts.
"""

import asyncio
import logging
from typing import Literal

from litestar import Request, Response, get
from pydantic import BaseModel

from service.dependencies import Deps

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0  # below the probe's timeoutSeconds: a hanging dependency is reported, not waited for


class Readiness(BaseModel):
    status: Literal["ready", "degraded"]
    checks: dict[str, str]


@get("/healthz", operation_id="healthz", tags=["ops"], summary="Liveness: the process answers (no dependency is checked)")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check(name: str, call) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await call()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable; the kind is enough for an operator
        log.warning("readiness: %s unreachable: %s", name, type(exc).__name__)
        return f"unreachable: {type(exc).__name__}"


@get(
    "/readyz", operation_id="readyz", tags=["ops"],
    summary="Readiness: 200 while the process serves; `degraded` names the dependencies it cannot reach",
)
async def readyz(services: Deps) -> Readiness:
    redis, store = await asyncio.gather(
        _check("redis", services.redis.ping), _check("store", lambda: asyncio.to_thread(services.store.check)),
    )
    checks = {"redis": redis, "store": store}
    for name, state in checks.items():
        services.metrics.dependency_up.labels(name).set(1 if state == "ok" else 0)
    return Readiness(status="ready" if redis == store == "ok" else "degraded", checks=checks)


@get("/metrics", operation_id="metrics", tags=["ops"], summary="Prometheus metrics", include_in_schema=False)
async def metrics(services: Deps, request: Request) -> Response[bytes]:
    body, content_type = services.metrics.render(request.headers.get("accept"))
    return Response(body, headers={"content-type": content_type})  # one header (media_type would append a charset)
