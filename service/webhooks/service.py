"""Webhook endpoints: where a tenant's job events are delivered, signed with the endpoint's secret (jobs.webhooks)."""

from urllib.parse import urlsplit

import httpx

from jobs.ids import new_webhook_endpoint_id
from jobs.records import SigningSecret, WebhookEndpointRecord, now
from jobs.repository import RecordNotFound
from jobs.webhooks import EVENT_TYPES, delivery_log, event_body, new_signing_secret, send
from service.dependencies import Services
from service.errors import InvalidRequest, NotFound, problems_error, quoted
from service.pagination import page_after
from service.webhooks.schemas import WebhookEndpointCreate, WebhookEndpointUpdate

ROTATED_SECRET_GRACE_S = 24 * 3600
SAMPLE_JOB_ID = "ftjob-webhooktest"  # the job a test delivery names


def _check(services: Services, url: str | None, event_types: list[str] | None) -> None:
    """Every problem with an endpoint's URL and event types, at once."""
    problems = []
    if url is not None:
        parts = urlsplit(url)
        schemes = ("https", "http") if services.settings.webhook_allow_http else ("https",)
        if parts.scheme not in schemes or not parts.hostname:
            problems.append(("url", f"{quoted(url)} is not an {' or '.join(schemes)} URL"
                             + ("" if "http" in schemes else " (http:// only where FTAAS_WEBHOOK_ALLOW_HTTP is set)")))
    if event_types is not None:
        if not event_types:
            problems.append(("event_types", "name at least one event type"))
        unknown = [t for t in event_types if t not in EVENT_TYPES]
        if unknown:
            problems.append(("event_types", f"ftaas sends no {', '.join(map(quoted, unknown))} events; it sends "
                             + ", ".join(EVENT_TYPES)))
    if problems:
        raise problems_error(problems)


async def create_endpoint(services: Services, tenant: str, request: WebhookEndpointCreate) -> WebhookEndpointRecord:
    _check(services, request.url, request.event_types)
    record = WebhookEndpointRecord(
        id=new_webhook_endpoint_id(), tenant=tenant, name=request.name, url=request.url,
        event_types=list(dict.fromkeys(request.event_types)), secrets=[SigningSecret(value=new_signing_secret())],
    )
    await services.webhooks.save(record)
    return record


async def get_endpoint(services: Services, tenant: str, endpoint_id: str) -> WebhookEndpointRecord:
    try:
        return await services.webhooks.get(tenant, endpoint_id)
    except RecordNotFound:
        raise NotFound(f"no webhook endpoint {quoted(endpoint_id)}; GET /v1/webhook_endpoints lists yours",
                       param="webhook_endpoint_id") from None


async def list_endpoints(services: Services, tenant: str, after: str | None, limit: int) -> tuple[list[WebhookEndpointRecord], bool]:
    return page_after(await services.webhooks.list(tenant), lambda e: e.id, after, limit, "webhook endpoint of yours")


async def update_endpoint(services: Services, tenant: str, endpoint_id: str, request: WebhookEndpointUpdate) -> WebhookEndpointRecord:
    record = await get_endpoint(services, tenant, endpoint_id)
    _check(services, request.url, request.event_types)
    changes = request.model_dump(exclude_none=True)
    if "event_types" in changes:
        changes["event_types"] = list(dict.fromkeys(changes["event_types"]))
    record = record.model_copy(update={**changes, "updated_at": now()})
    await services.webhooks.save(record)
    return record


async def delete_endpoint(services: Services, tenant: str, endpoint_id: str) -> None:
    await get_endpoint(services, tenant, endpoint_id)
    await services.webhooks.delete(tenant, endpoint_id)


async def rotate_secret(services: Services, tenant: str, endpoint_id: str, keep_old_for_24_hours: bool) -> WebhookEndpointRecord:
    """A new signing secret from now on. If asked, the current one also signs deliveries for 24 hours (receivers
    switch without missing one); otherwise every earlier secret stops at once (a leaked secret is revoked)."""
    record = await get_endpoint(services, tenant, endpoint_id)
    at = now()
    kept = []
    if keep_old_for_24_hours:
        kept = [SigningSecret(value=record.secrets[0].value, expires_at=at + ROTATED_SECRET_GRACE_S)]
        kept += [s for s in record.secrets[1:] if s.expires_at is not None and s.expires_at > at]
    record = record.model_copy(update={"secrets": [SigningSecret(value=new_signing_secret()), *kept], "updated_at": at})
    await services.webhooks.save(record)
    return record


async def delivery_tries(services: Services, tenant: str, endpoint_id: str, limit: int) -> list[dict]:
    await get_endpoint(services, tenant, endpoint_id)
    return await delivery_log(services.redis, endpoint_id, limit)


async def send_test_event(services: Services, tenant: str, endpoint_id: str, event_type: str) -> int:
    """Send a sample event of `event_type` to the endpoint now; returns what it answered."""
    record = await get_endpoint(services, tenant, endpoint_id)
    _check(services, None, [event_type])
    event_id, body = event_body(event_type, SAMPLE_JOB_ID)
    try:
        async with httpx.AsyncClient() as client:
            return await send(client, record, event_id, body)
    except httpx.HTTPError as exc:
        raise InvalidRequest(f"the endpoint {record.url} could not be reached: {type(exc).__name__}: {exc}",
                             param="url", code="webhook_unreachable") from None
