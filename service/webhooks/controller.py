"""/v1/webhook_endpoints and /v1/webhook_event_types, as OpenAI's SDKs call them (`client.webhooks`)."""

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from jobs.webhooks import EVENT_TYPES
from service.dependencies import Deps, Tenant
from service.errors import BODY_RESPONSES, ERROR_RESPONSES
from service.idempotency import idempotent
from service.pagination import After, cursor
from service.webhooks import service
from service.webhooks.schemas import (
    WebhookDeliveryList,
    WebhookDeliveryTry,
    WebhookEndpointCreate,
    WebhookEndpointDeleted,
    WebhookEndpointList,
    WebhookEndpointObject,
    WebhookEndpointTestResult,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
    WebhookEventTypeList,
    WebhookSecretRotation,
    WebhookTestRequest,
)


class WebhookEndpointsController(Controller):
    path = "/webhook_endpoints"
    tags = ["webhooks"]

    @post("/", responses=BODY_RESPONSES, operation_id="create_webhook_endpoint", status_code=200, middleware=[idempotent],
          summary="Add an endpoint that receives your jobs' events, signed (Standard Webhooks); its secret is shown once")
    async def create_webhook_endpoint(self, services: Deps, tenant: Tenant, data: JSONBody[WebhookEndpointCreate]) -> WebhookEndpointWithSecret:
        return WebhookEndpointWithSecret.from_record(await service.create_endpoint(services, tenant, data))

    @get("/", responses=ERROR_RESPONSES, operation_id="list_webhook_endpoints", summary="Your webhook endpoints, newest first")
    async def list_webhook_endpoints(
        self, services: Deps, tenant: Tenant, after: After = None, limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> WebhookEndpointList:
        found, has_more = await service.list_endpoints(services, tenant, cursor(after), limit)
        data = [WebhookEndpointObject.from_record(e) for e in found]
        return WebhookEndpointList(data=data, has_more=has_more, first_id=data[0].id if data else None,
                                   last_id=data[-1].id if data else None)

    @get("/{webhook_endpoint_id:str}", responses=ERROR_RESPONSES, operation_id="retrieve_webhook_endpoint",
         summary="One of your webhook endpoints")
    async def retrieve_webhook_endpoint(self, services: Deps, tenant: Tenant, webhook_endpoint_id: FromPath[str]) -> WebhookEndpointObject:
        return WebhookEndpointObject.from_record(await service.get_endpoint(services, tenant, webhook_endpoint_id))

    @post("/{webhook_endpoint_id:str}", responses=BODY_RESPONSES, operation_id="update_webhook_endpoint", status_code=200,
          summary="Change an endpoint's name, URL or event types")
    async def update_webhook_endpoint(
        self, services: Deps, tenant: Tenant, webhook_endpoint_id: FromPath[str], data: JSONBody[WebhookEndpointUpdate],
    ) -> WebhookEndpointObject:
        return WebhookEndpointObject.from_record(await service.update_endpoint(services, tenant, webhook_endpoint_id, data))

    @delete("/{webhook_endpoint_id:str}", responses=ERROR_RESPONSES, operation_id="delete_webhook_endpoint", status_code=200,
            summary="Stop sending events to an endpoint")
    async def delete_webhook_endpoint(self, services: Deps, tenant: Tenant, webhook_endpoint_id: FromPath[str]) -> WebhookEndpointDeleted:
        await service.delete_endpoint(services, tenant, webhook_endpoint_id)
        return WebhookEndpointDeleted(id=webhook_endpoint_id)

    @get("/{webhook_endpoint_id:str}/deliveries", responses=ERROR_RESPONSES, operation_id="list_webhook_deliveries",
         summary="The endpoint's latest delivery tries, newest first (ftaas extension)")
    async def list_webhook_deliveries(
        self, services: Deps, tenant: Tenant, webhook_endpoint_id: FromPath[str],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> WebhookDeliveryList:
        tries = await service.delivery_tries(services, tenant, webhook_endpoint_id, limit)
        return WebhookDeliveryList(data=[WebhookDeliveryTry(**t) for t in tries])

    @post("/{webhook_endpoint_id:str}/rotate_secret", responses=BODY_RESPONSES, operation_id="rotate_webhook_endpoint_secret",
          status_code=200, summary="A new signing secret (shown once); the old one can keep signing for 24 hours")
    async def rotate_webhook_endpoint_secret(
        self, services: Deps, tenant: Tenant, webhook_endpoint_id: FromPath[str], data: JSONBody[WebhookSecretRotation | None] = None,
    ) -> WebhookEndpointWithSecret:
        keep = bool(data and data.keep_old_secret_active_for_24_hours)
        return WebhookEndpointWithSecret.from_record(await service.rotate_secret(services, tenant, webhook_endpoint_id, keep))

    @post("/{webhook_endpoint_id:str}/test", responses=BODY_RESPONSES, operation_id="test_webhook_endpoint", status_code=200,
          summary="Send a signed sample event to the endpoint now and say what it answered")
    async def test_webhook_endpoint(
        self, services: Deps, tenant: Tenant, webhook_endpoint_id: FromPath[str], data: JSONBody[WebhookTestRequest],
    ) -> WebhookEndpointTestResult:
        status = await service.send_test_event(services, tenant, webhook_endpoint_id, data.event_type)
        return WebhookEndpointTestResult(webhook_endpoint_id=webhook_endpoint_id, event_type=data.event_type, status_code=status)


@get("/webhook_event_types", responses=ERROR_RESPONSES, operation_id="list_webhook_event_types", tags=["webhooks"],
     summary="The events a webhook endpoint can receive")
async def list_webhook_event_types() -> WebhookEventTypeList:
    return WebhookEventTypeList(data=list(EVENT_TYPES))
