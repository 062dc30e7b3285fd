from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.supervised_method import SupervisedMethod


T = TypeVar("T", bound="Method")


@_attrs_define
class Method:
    """
    Attributes:
        supervised (None | SupervisedMethod | Unset):
        type_ (Literal['supervised'] | Unset):  Default: 'supervised'.
    """

    supervised: None | SupervisedMethod | Unset = UNSET
    type_: Literal["supervised"] | Unset = "supervised"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.supervised_method import SupervisedMethod  # noqa: PLC0415

        supervised: dict[str, Any] | None | Unset
        if isinstance(self.supervised, Unset):
            supervised = UNSET
        elif isinstance(self.supervised, SupervisedMethod):
            supervised = self.supervised.to_dict()
        else:
            supervised = self.supervised

        type_ = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if supervised is not UNSET:
            field_dict["supervised"] = supervised
        if type_ is not UNSET:
            field_dict["type"] = type_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.supervised_method import SupervisedMethod  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_supervised(data: object) -> None | SupervisedMethod | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                supervised_type_0 = SupervisedMethod.from_dict(data)

                return supervised_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SupervisedMethod | Unset, data)

        supervised = _parse_supervised(d.pop("supervised", UNSET))

        type_ = cast(Literal["supervised"] | Unset, d.pop("type", UNSET))
        if type_ != "supervised" and not isinstance(type_, Unset):
            raise ValueError(f"type must match const 'supervised', got '{type_}'")

        method = cls(
            supervised=supervised,
            type_=type_,
        )

        method.additional_properties = d
        return method

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
