"""What handlers need, built once per process in the app's lifespan and handed out by Litestar DI."""

from dataclasses import dataclass

import httpx
from arq.connections import ArqRedis
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from jobs.catalog import Catalog
from jobs.events import EventLog
from jobs.repository import CheckpointRepository, FileRepository, JobRepository, ModelRepository
from jobs.store import Store
from service.metrics import ApiMetrics
from service.settings import Settings


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
    events: EventLog
    metrics: ApiMetrics
    serving: httpx.AsyncClient


def provide_services(state: State) -> Services:
    return state.services


def provide_tenant(request: Request) -> str:
    """The caller's tenant, set by the `require_api_key` guard."""
    return request.state.tenant


Deps = NamedDependency[Services]
Tenant = NamedDependency[str]
