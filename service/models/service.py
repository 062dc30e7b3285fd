"""The models a tenant can call: the catalog's base models and the tenant's own fine-tuned ones."""

from jobs.ids import is_fine_tuned_model_id
from jobs.repository import RecordNotFound
from service.dependencies import Services
from service.errors import NotFound, quoted
from service.models.schemas import ModelObject

BASE_OWNER = "ftaas"


def _base(model_id: str) -> ModelObject:
    return ModelObject(id=model_id, created=0, owned_by=BASE_OWNER)


async def list_models(services: Services, tenant: str) -> list[ModelObject]:
    fine_tuned = await services.models.list(tenant)
    return [_base(i) for i in services.catalog.ids()] + [
        ModelObject(id=m.id, created=m.created_at, owned_by=tenant, parent=m.base_model) for m in fine_tuned
    ]


async def get_model(services: Services, tenant: str, model_id: str) -> ModelObject:
    if model_id in services.catalog:
        return _base(model_id)
    if is_fine_tuned_model_id(model_id):
        try:
            manifest = await services.models.get(tenant, model_id)
            return ModelObject(id=manifest.id, created=manifest.created_at, owned_by=tenant, parent=manifest.base_model)
        except RecordNotFound:
            pass
    raise NotFound(f"no model {quoted(model_id)}; GET /v1/models lists the models you can use", param="model")
