"""The models a tenant can call: the catalog's base models, the tenant's fine-tuned models and their checkpoints."""

from jobs.resolver import BASE_OWNER, ModelNotFound
from service.dependencies import Services
from service.errors import Conflict, InvalidRequest, NotFound, quoted
from service.fine_tuning.service import unfinished_jobs
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


async def delete_model(services: Services, tenant: str, model_id: str) -> None:
    """Delete one of the tenant's fine-tuned models: from then on no API replica or engine resolves it, so it is
    served nowhere. Base models and checkpoints are not deleted; neither is a model a job still continues."""
    try:
        resolved = await services.resolver.aresolve(tenant, model_id)
    except ModelNotFound:
        raise NotFound(f"no model {quoted(model_id)}; GET /v1/models lists the models you can use", param="model") from None
    if resolved.role == "base":
        raise InvalidRequest(f"{quoted(model_id)} is a base model of this deployment's catalog; only your fine-tuned "
                             "models can be deleted", param="model")
    if resolved.role == "checkpoint":
        raise InvalidRequest(f"{quoted(model_id)} is a checkpoint of a job, not a fine-tuned model; checkpoints are "
                             "not deleted one by one", param="model")
    users = [job.id for job in await unfinished_jobs(services, tenant)
             if job.starting_model is not None and job.starting_model.id == model_id]
    if users:
        raise Conflict(f"model {model_id} is being trained further by job{'s' if len(users) > 1 else ''} "
                       f"{', '.join(users)}, which has not ended; cancel it or let it finish, then delete the model",
                       param="model")
    await services.models.delete(tenant, model_id)
