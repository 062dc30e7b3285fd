from litestar import Controller, get
from litestar.params import FromPath

from service.errors import ERROR_RESPONSES
from service.dependencies import Deps, Tenant
from service.models import service
from service.models.schemas import ModelList, ModelObject


class ModelsController(Controller):
    path = "/models"
    tags = ["models"]

    @get("/", responses=ERROR_RESPONSES, operation_id="list_models", summary="Base models from the catalog and your fine-tuned models")
    async def list_models(self, services: Deps, tenant: Tenant) -> ModelList:
        return ModelList(data=await service.list_models(services, tenant))

    @get("/{model_id:path}", responses=ERROR_RESPONSES, operation_id="retrieve_model", summary="Get one model")
    async def retrieve_model(self, services: Deps, tenant: Tenant, model_id: FromPath[str]) -> ModelObject:
        return await service.get_model(services, tenant, model_id.lstrip("/"))
