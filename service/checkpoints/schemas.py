"""Wire models for /v1/fine_tuning/checkpoints/{checkpoint}/permissions (OpenAI's `checkpoint.permission`)."""

from typing import Literal

from pydantic import BaseModel, Field

from jobs.records import CheckpointPermission


class PermissionCreate(BaseModel):
    project_ids: list[str] = Field(description="The tenants (OpenAI: projects) to share the checkpoint with.")


class CheckpointPermissionObject(BaseModel):
    id: str
    object: Literal["checkpoint.permission"] = "checkpoint.permission"
    created_at: int
    project_id: str

    @classmethod
    def from_record(cls, permission: CheckpointPermission) -> "CheckpointPermissionObject":
        return cls(id=permission.id, created_at=permission.created_at, project_id=permission.project_id)


class CheckpointPermissionList(BaseModel):
    object: Literal["list"] = "list"
    data: list[CheckpointPermissionObject]
    has_more: bool
    first_id: str | None = None
    last_id: str | None = None


class CheckpointPermissionDeleted(BaseModel):
    id: str
    object: Literal["checkpoint.permission"] = "checkpoint.permission"
    deleted: bool = True
