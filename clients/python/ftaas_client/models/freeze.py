from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Freeze")


@_attrs_define
class Freeze:
    """
    Attributes:
        head_only (bool | Unset): Train only the output head (feature extraction). Default: False.
        layers (int | Unset): Freeze the embeddings and the first K decoder layers. Default: 0.
    """

    head_only: bool | Unset = False
    layers: int | Unset = 0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        head_only = self.head_only

        layers = self.layers

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if head_only is not UNSET:
            field_dict["head_only"] = head_only
        if layers is not UNSET:
            field_dict["layers"] = layers

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        head_only = d.pop("head_only", UNSET)

        layers = d.pop("layers", UNSET)

        freeze = cls(
            head_only=head_only,
            layers=layers,
        )

        freeze.additional_properties = d
        return freeze

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
