"""Sharing a checkpoint with other tenants (OpenAI's checkpoint permissions): a tenant it is shared with can train
from it and call it by its name or id, until the owner revokes the permission, which takes effect at once (the one
resolver, jobs.resolver, finds shared checkpoints only through a permission that exists)."""

from jobs.ids import is_tenant
from jobs.records import CheckpointPermission, CheckpointRecord
from jobs.repository import RecordNotFound
from service.dependencies import Services
from service.errors import NotFound, problems_error, quoted
from service.pagination import page_after

MAX_PROJECTS_PER_REQUEST = 100


async def owned_checkpoint(services: Services, tenant: str, ref: str) -> CheckpointRecord:
    """One of the tenant's own checkpoints, by its `ft:…:ckpt-step-N` name or `ftckpt-…` id (only its owner
    manages who may use it)."""
    try:
        return await services.checkpoints.get(tenant, ref)
    except RecordNotFound:
        raise NotFound(f"no checkpoint {quoted(ref)} of yours; GET /v1/fine_tuning/jobs/{{job_id}}/checkpoints lists a "
                       "job's checkpoints", param="fine_tuned_model_checkpoint") from None


async def create_permissions(services: Services, tenant: str, ref: str, project_ids: list[str]) -> list[CheckpointPermission]:
    checkpoint = await owned_checkpoint(services, tenant, ref)
    projects = list(dict.fromkeys(project_ids))
    known = set(services.settings.tenants_by_key.values())
    problems = []
    if not projects:
        problems.append((None, "project_ids is empty: name at least one project (tenant) to share the checkpoint with"))
    if len(projects) > MAX_PROJECTS_PER_REQUEST:
        problems.append((None, f"project_ids has {len(projects)} projects; at most {MAX_PROJECTS_PER_REQUEST} per request"))
    for project in projects:
        if project == tenant:
            problems.append((None, f"{quoted(project)} is your own project: it owns the checkpoint already"))
        elif not is_tenant(project) or project not in known:
            problems.append((None, f"no project {quoted(project)} in this deployment (projects are the tenants of its API keys)"))
    if problems:
        raise problems_error(problems, param="project_ids")
    return await services.permissions.grant(checkpoint, projects)


async def list_permissions(
    services: Services, tenant: str, ref: str, project_id: str | None, order: str, after: str | None, limit: int,
) -> tuple[list[CheckpointPermission], bool]:
    checkpoint = await owned_checkpoint(services, tenant, ref)
    permissions = await services.permissions.list(tenant, checkpoint.fine_tuned_model_checkpoint)
    if project_id is not None:
        permissions = [p for p in permissions if p.project_id == project_id]
    if order == "descending":
        permissions.reverse()
    return page_after(permissions, lambda p: p.id, after, limit, f"permission of checkpoint {checkpoint.fine_tuned_model_checkpoint}")


async def delete_permission(services: Services, tenant: str, ref: str, permission_id: str) -> None:
    checkpoint = await owned_checkpoint(services, tenant, ref)
    try:
        await services.permissions.revoke(tenant, checkpoint.fine_tuned_model_checkpoint, permission_id)
    except RecordNotFound:
        raise NotFound(f"no permission {quoted(permission_id)} on checkpoint {checkpoint.fine_tuned_model_checkpoint}",
                       param="permission_id") from None
