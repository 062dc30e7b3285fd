"""What handlers need, built once per process in the app's lifespan and handed out by Litestar DI."""

from dataclasses import dataclass

import httpx
from arq.connections import ArqRedis
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from jobs.catalog import Catalog
from jobs.events import EventLog
from jobs.repository import (
    CheckpointPermissionRepository, CheckpointRepository, FileRepository, JobRepository, ModelRepository,
    WebhookEndpointRepository,
)
from jobs.resolver import ModelResolver
from jobs.store import Store
from jobs.settings import Settings
from service.metrics import ApiMetrics


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    store: Store
    redis: ArqRedis
    files: FileRepository
    jobs: JobRepository
    models: ModelRepository
    checkpoints: CheckpointRepository
    permissions: CheckpointPermissionRepository  # checkpoints shared with other tenants
    webhooks: WebhookEndpointRepository
    resolver: ModelResolver  # the one lookup of model names (base, fine-tuned, checkpoint)
    events: EventLog
    metrics: ApiMetrics
    serving: httpx.AsyncClient  # the embedded engine's server (FTAAS_SERVING_URL)
    vllm: httpx.AsyncClient  # vLLM servers (FTAAS_VLLM_URLS); requests carry absolute URLs


def provide_services(state: State) -> Services:
    return state.services


def provide_tenant(request: Request) -> str:
    """The caller's tenant, set by the `require_api_key` guard."""
    return request.state.tenant


Deps = NamedDependency[Services]
Tenant = NamedDependency[str]
