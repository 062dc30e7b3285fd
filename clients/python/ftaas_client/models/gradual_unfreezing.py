from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="GradualUnfreezing")


@_attrs_define
class GradualUnfreezing:
    """
    Attributes:
        every_epochs (int | None | Unset):
        every_steps (int | None | Unset):
    """

    every_epochs: int | None | Unset = UNSET
    every_steps: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        every_epochs: int | None | Unset
        if isinstance(self.every_epochs, Unset):
            every_epochs = UNSET
        else:
            every_epochs = self.every_epochs

        every_steps: int | None | Unset
        if isinstance(self.every_steps, Unset):
            every_steps = UNSET
        else:
            every_steps = self.every_steps

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if every_epochs is not UNSET:
            field_dict["every_epochs"] = every_epochs
        if every_steps is not UNSET:
            field_dict["every_steps"] = every_steps

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_every_epochs(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        every_epochs = _parse_every_epochs(d.pop("every_epochs", UNSET))

        def _parse_every_steps(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        every_steps = _parse_every_steps(d.pop("every_steps", UNSET))

        gradual_unfreezing = cls(
            every_epochs=every_epochs,
            every_steps=every_steps,
        )

        gradual_unfreezing.additional_properties = d
        return gradual_unfreezing

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
