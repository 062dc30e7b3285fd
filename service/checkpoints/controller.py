"""/v1/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions[/{permission_id}], as OpenAI's SDKs call it.

A checkpoint's name (`ft:{base}:…:ckpt-step-N`) holds the base model's '/', which the SDKs send percent-encoded;
the server sees it decoded, so one path parameter takes the rest of the path and `_parts` splits it."""

import re
from typing import Annotated, Literal

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter

from service.checkpoints import service
from service.checkpoints.schemas import (
    CheckpointPermissionDeleted,
    CheckpointPermissionList,
    CheckpointPermissionObject,
    PermissionCreate,
)
from service.dependencies import Deps, Tenant
from service.errors import BODY_RESPONSES, ERROR_RESPONSES, NotFound, quoted
from service.idempotency import idempotent
from service.pagination import After, cursor

PERMISSIONS_PATH = re.compile(r"/?(?P<checkpoint>.+?)/permissions(?:/(?P<permission_id>[^/]+))?")
CheckpointPath = Annotated[str, Parameter(description=(
    "`{fine_tuned_model_checkpoint}/permissions` (the checkpoint's `ft:…:ckpt-step-N` name or `ftckpt-…` id), "
    "and `/{permission_id}` after it to delete one"))]


def _parts(path: str, with_permission: bool) -> tuple[str, str | None]:
    match = PERMISSIONS_PATH.fullmatch(path)
    if match is None or (match.group("permission_id") is not None) != with_permission:
        shape = "{checkpoint}/permissions" + ("/{permission_id}" if with_permission else "")
        raise NotFound(f"no such route: /v1/fine_tuning/checkpoints/{quoted(path.lstrip('/'))}; it is {shape}")
    return match.group("checkpoint"), match.group("permission_id")


class CheckpointPermissionsController(Controller):
    path = "/fine_tuning/checkpoints"
    tags = ["fine_tuning"]

    @post(
        "/{checkpoint_path:path}", responses=BODY_RESPONSES, operation_id="create_checkpoint_permissions", status_code=200,
        middleware=[idempotent],
        summary="Share one of your checkpoints with other projects (tenants)",
        description="They can then train from it and call it by its name or id. Sharing again with a project that "
        "has a permission returns that permission.",
    )
    async def create_checkpoint_permissions(
        self, services: Deps, tenant: Tenant, checkpoint_path: FromPath[CheckpointPath], data: JSONBody[PermissionCreate],
    ) -> CheckpointPermissionList:
        checkpoint, _ = _parts(checkpoint_path, with_permission=False)
        granted = await service.create_permissions(services, tenant, checkpoint, data.project_ids)
        created = [CheckpointPermissionObject.from_record(p) for p in granted]
        return CheckpointPermissionList(data=created, has_more=False, first_id=created[0].id, last_id=created[-1].id)

    @get(
        "/{checkpoint_path:path}", responses=ERROR_RESPONSES, operation_id="list_checkpoint_permissions",
        summary="Who one of your checkpoints is shared with",
    )
    async def list_checkpoint_permissions(
        self, services: Deps, tenant: Tenant, checkpoint_path: FromPath[CheckpointPath], after: After = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 10,
        order: Annotated[Literal["ascending", "descending"], QueryParameter(description="By creation time")] = "descending",
        project_id: Annotated[str | None, QueryParameter(description="Only this project's permission")] = None,
    ) -> CheckpointPermissionList:
        checkpoint, _ = _parts(checkpoint_path, with_permission=False)
        found, has_more = await service.list_permissions(services, tenant, checkpoint, project_id, order, cursor(after), limit)
        data = [CheckpointPermissionObject.from_record(p) for p in found]
        return CheckpointPermissionList(data=data, has_more=has_more, first_id=data[0].id if data else None,
                                        last_id=data[-1].id if data else None)

    @delete(
        "/{checkpoint_path:path}", responses=ERROR_RESPONSES, operation_id="delete_checkpoint_permission", status_code=200,
        summary="Stop sharing a checkpoint with a project: it can no longer train from it or call it, at once",
    )
    async def delete_checkpoint_permission(
        self, services: Deps, tenant: Tenant, checkpoint_path: FromPath[CheckpointPath],
    ) -> CheckpointPermissionDeleted:
        checkpoint, permission_id = _parts(checkpoint_path, with_permission=True)
        await service.delete_permission(services, tenant, checkpoint, permission_id)
        return CheckpointPermissionDeleted(id=permission_id)
