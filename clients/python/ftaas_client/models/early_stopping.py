from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="EarlyStopping")


@_attrs_define
class EarlyStopping:
    """
    Attributes:
        min_delta (float | Unset):  Default: 0.0.
        patience (int | Unset):  Default: 3.
    """

    min_delta: float | Unset = 0.0
    patience: int | Unset = 3
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        min_delta = self.min_delta

        patience = self.patience

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if min_delta is not UNSET:
            field_dict["min_delta"] = min_delta
        if patience is not UNSET:
            field_dict["patience"] = patience

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        min_delta = d.pop("min_delta", UNSET)

        patience = d.pop("patience", UNSET)

        early_stopping = cls(
            min_delta=min_delta,
            patience=patience,
        )

        early_stopping.additional_properties = d
        return early_stopping

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
