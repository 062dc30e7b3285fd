from litestar import Controller, delete, get
from litestar.params import FromPath

from service.errors import CONFLICT_RESPONSES, ERROR_RESPONSES
from service.dependencies import Deps, Tenant
from service.models import service
from service.models.schemas import ModelDeleted, ModelList, ModelObject


class ModelsController(Controller):
    path = "/models"
    tags = ["models"]

    @get("/", responses=ERROR_RESPONSES, operation_id="list_models", summary="Base models from the catalog and your fine-tuned models")
    async def list_models(self, services: Deps, tenant: Tenant) -> ModelList:
        return ModelList(data=await service.list_models(services, tenant))

    @get("/{model_id:path}", responses=ERROR_RESPONSES, operation_id="retrieve_model", summary="Get one model")
    async def retrieve_model(self, services: Deps, tenant: Tenant, model_id: FromPath[str]) -> ModelObject:
        return await service.get_model(services, tenant, model_id.lstrip("/"))

    @delete(
        "/{model_id:path}", responses=CONFLICT_RESPONSES, operation_id="delete_model", status_code=200,
        summary="Delete one of your fine-tuned models", description="It stops being served at once, everywhere. "
        "Base models and checkpoints cannot be deleted; a model that a job is still training further cannot (409).",
    )
    async def delete_model(self, services: Deps, tenant: Tenant, model_id: FromPath[str]) -> ModelDeleted:
        model_id = model_id.lstrip("/")
        await service.delete_model(services, tenant, model_id)
        return ModelDeleted(id=model_id)
