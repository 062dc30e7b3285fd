"""The models a tenant can call: the catalog's base models, the tenant's fine-tuned models and their checkpoints."""

from jobs.resolver import BASE_OWNER, ModelNotFound
from service.dependencies import Services
from service.errors import NotFound, quoted
from service.models.schemas import ModelObject


async def list_models(services: Services, tenant: str) -> list[ModelObject]:
    fine_tuned = await services.models.list(tenant)
    return [ModelObject(id=i, created=0, owned_by=BASE_OWNER) for i in services.catalog.ids()] + [
        ModelObject(id=m.id, created=m.created_at, owned_by=tenant, parent=m.base_model) for m in fine_tuned
    ]


async def get_model(services: Services, tenant: str, model_id: str) -> ModelObject:
    """Whatever the one resolver finds: a base model, a fine-tuned model or a checkpoint (by its model name)."""
    try:
        resolved = await services.resolver.aresolve(tenant, model_id)
    except ModelNotFound:
        raise NotFound(f"no model {quoted(model_id)}; GET /v1/models lists the models you can use", param="model") from None
    parent = None if resolved.role == "base" else resolved.base_model
    return ModelObject(id=model_id, created=resolved.created_at, owned_by=resolved.owner, parent=parent)
