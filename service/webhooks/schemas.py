"""Wire models for /v1/webhook_endpoints (OpenAI's `webhook_endpoint` objects)."""

from typing import Literal

from pydantic import BaseModel, Field

from jobs.records import WebhookEndpointRecord
from jobs.webhooks import secret_hint


class WebhookEndpointCreate(BaseModel):
    event_types: list[str] = Field(description="The events it receives (GET /v1/webhook_event_types lists them).")
    name: str = Field(min_length=1, max_length=256)
    url: str = Field(description="Where deliveries are POSTed: https (http only where FTAAS_WEBHOOK_ALLOW_HTTP is set).")


class WebhookEndpointUpdate(BaseModel):
    event_types: list[str] | None = None
    name: str | None = Field(None, min_length=1, max_length=256)
    url: str | None = None


class WebhookSecretRotation(BaseModel):
    keep_old_secret_active_for_24_hours: bool = False


class WebhookTestRequest(BaseModel):
    event_type: str


class WebhookEndpointObject(BaseModel):
    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    created_at: int
    updated_at: int | None
    name: str
    url: str
    event_types: list[str]
    signing_secret_hint: str

    @classmethod
    def from_record(cls, record: WebhookEndpointRecord) -> "WebhookEndpointObject":
        return cls(id=record.id, created_at=record.created_at, updated_at=record.updated_at, name=record.name,
                   url=record.url, event_types=record.event_types, signing_secret_hint=secret_hint(record.secrets[0].value))


class WebhookEndpointWithSecret(WebhookEndpointObject):
    signing_secret: str = Field(description="Shown only here (on create and on rotation): keep it to verify deliveries.")

    @classmethod
    def from_record(cls, record: WebhookEndpointRecord) -> "WebhookEndpointWithSecret":
        return cls(**WebhookEndpointObject.from_record(record).model_dump(), signing_secret=record.secrets[0].value)


class WebhookEndpointList(BaseModel):
    object: Literal["list"] = "list"
    data: list[WebhookEndpointObject]
    has_more: bool
    first_id: str | None = None
    last_id: str | None = None


class WebhookEndpointDeleted(BaseModel):
    id: str
    object: Literal["webhook_endpoint.deleted"] = "webhook_endpoint.deleted"
    deleted: bool = True


class WebhookEndpointTestResult(BaseModel):
    object: Literal["webhook_endpoint.test"] = "webhook_endpoint.test"
    webhook_endpoint_id: str
    event_type: str
    status_code: int = Field(description="What the endpoint answered to the sample event.")
    success: Literal[True] = True


class WebhookDeliveryTry(BaseModel):
    """One try of one event at the endpoint (ftaas extension)."""

    object: Literal["webhook_endpoint.delivery"] = "webhook_endpoint.delivery"
    event_id: str = Field(description="The event's id: its `webhook-id` header, the same on every try.")
    type: str
    job_id: str
    attempt: int
    delivered: bool = Field(description="The endpoint answered 2xx.")
    status_code: int | None = Field(description="What the endpoint answered; null when it could not be reached.")
    error: str | None
    at: int
    next_attempt_at: int | None = Field(description="When it is tried again; null once delivered or given up.")


class WebhookDeliveryList(BaseModel):
    object: Literal["list"] = "list"
    data: list[WebhookDeliveryTry]


class WebhookEventTypeList(BaseModel):
    object: Literal["list"] = "list"
    data: list[str]
