from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Ia3Training")


@_attrs_define
class Ia3Training:
    """
    Attributes:
        type_ (Literal['ia3']):
        feedforward_modules (list[str] | Literal['auto'] | Unset):  Default: 'auto'.
        target_modules (list[str] | Literal['auto'] | Unset):  Default: 'auto'.
    """

    type_: Literal["ia3"]
    feedforward_modules: list[str] | Literal["auto"] | Unset = "auto"
    target_modules: list[str] | Literal["auto"] | Unset = "auto"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_

        feedforward_modules: list[str] | Literal["auto"] | Unset
        if isinstance(self.feedforward_modules, Unset):
            feedforward_modules = UNSET
        elif isinstance(self.feedforward_modules, list):
            feedforward_modules = self.feedforward_modules

        else:
            feedforward_modules = self.feedforward_modules

        target_modules: list[str] | Literal["auto"] | Unset
        if isinstance(self.target_modules, Unset):
            target_modules = UNSET
        elif isinstance(self.target_modules, list):
            target_modules = self.target_modules

        else:
            target_modules = self.target_modules

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
            }
        )
        if feedforward_modules is not UNSET:
            field_dict["feedforward_modules"] = feedforward_modules
        if target_modules is not UNSET:
            field_dict["target_modules"] = target_modules

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        type_ = cast(Literal["ia3"], d.pop("type"))
        if type_ != "ia3":
            raise ValueError(f"type must match const 'ia3', got '{type_}'")

        def _parse_feedforward_modules(data: object) -> list[str] | Literal["auto"] | Unset:
            if isinstance(data, Unset):
                return data
            feedforward_modules_type_0 = cast(Literal["auto"], data)
            if feedforward_modules_type_0 != "auto":
                raise ValueError(
                    f"feedforward_modules_type_0 must match const 'auto', got '{feedforward_modules_type_0}'"
                )
            return feedforward_modules_type_0
            if not isinstance(data, list):
                raise TypeError()
            feedforward_modules_type_1 = cast(list[str], data)

            return feedforward_modules_type_1

        feedforward_modules = _parse_feedforward_modules(d.pop("feedforward_modules", UNSET))

        def _parse_target_modules(data: object) -> list[str] | Literal["auto"] | Unset:
            if isinstance(data, Unset):
                return data
            target_modules_type_0 = cast(Literal["auto"], data)
            if target_modules_type_0 != "auto":
                raise ValueError(f"target_modules_type_0 must match const 'auto', got '{target_modules_type_0}'")
            return target_modules_type_0
            if not isinstance(data, list):
                raise TypeError()
            target_modules_type_1 = cast(list[str], data)

            return target_modules_type_1

        target_modules = _parse_target_modules(d.pop("target_modules", UNSET))

        ia_3_training = cls(
            type_=type_,
            feedforward_modules=feedforward_modules,
            target_modules=target_modules,
        )

        ia_3_training.additional_properties = d
        return ia_3_training

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
