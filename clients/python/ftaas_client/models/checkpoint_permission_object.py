from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="CheckpointPermissionObject")


@_attrs_define
class CheckpointPermissionObject:
    """
    Attributes:
        created_at (int):
        id (str):
        project_id (str):
        object_ (Literal['checkpoint.permission'] | Unset):  Default: 'checkpoint.permission'.
    """

    created_at: int
    id: str
    project_id: str
    object_: Literal["checkpoint.permission"] | Unset = "checkpoint.permission"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at

        id = self.id

        project_id = self.project_id

        object_ = self.object_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "id": id,
                "project_id": project_id,
            }
        )
        if object_ is not UNSET:
            field_dict["object"] = object_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = d.pop("created_at")

        id = d.pop("id")

        project_id = d.pop("project_id")

        object_ = cast(Literal["checkpoint.permission"] | Unset, d.pop("object", UNSET))
        if object_ != "checkpoint.permission" and not isinstance(object_, Unset):
            raise ValueError(f"object must match const 'checkpoint.permission', got '{object_}'")

        checkpoint_permission_object = cls(
            created_at=created_at,
            id=id,
            project_id=project_id,
            object_=object_,
        )

        checkpoint_permission_object.additional_properties = d
        return checkpoint_permission_object

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
