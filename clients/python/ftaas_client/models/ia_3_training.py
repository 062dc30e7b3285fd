from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.ia_3_training_feedforward_modules_type_0 import Ia3TrainingFeedforwardModulesType0
from ..models.ia_3_training_target_modules_type_0 import Ia3TrainingTargetModulesType0
from ..types import UNSET, Unset

T = TypeVar("T", bound="Ia3Training")


@_attrs_define
class Ia3Training:
    """
    Attributes:
        type_ (Literal['ia3']):
        feedforward_modules (Ia3TrainingFeedforwardModulesType0 | list[str] | Unset):  Default:
            Ia3TrainingFeedforwardModulesType0.AUTO.
        target_modules (Ia3TrainingTargetModulesType0 | list[str] | Unset):  Default:
            Ia3TrainingTargetModulesType0.AUTO.
    """

    type_: Literal["ia3"]
    feedforward_modules: Ia3TrainingFeedforwardModulesType0 | list[str] | Unset = (
        Ia3TrainingFeedforwardModulesType0.AUTO
    )
    target_modules: Ia3TrainingTargetModulesType0 | list[str] | Unset = Ia3TrainingTargetModulesType0.AUTO
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_

        feedforward_modules: list[str] | str | Unset
        if isinstance(self.feedforward_modules, Unset):
            feedforward_modules = UNSET
        elif isinstance(self.feedforward_modules, Ia3TrainingFeedforwardModulesType0):
            feedforward_modules = self.feedforward_modules.value
        else:
            feedforward_modules = self.feedforward_modules

        target_modules: list[str] | str | Unset
        if isinstance(self.target_modules, Unset):
            target_modules = UNSET
        elif isinstance(self.target_modules, Ia3TrainingTargetModulesType0):
            target_modules = self.target_modules.value
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

        def _parse_feedforward_modules(data: object) -> Ia3TrainingFeedforwardModulesType0 | list[str] | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                feedforward_modules_type_0 = Ia3TrainingFeedforwardModulesType0(data)

                return feedforward_modules_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, list):
                raise TypeError()
            feedforward_modules_type_1 = cast(list[str], data)

            return feedforward_modules_type_1

        feedforward_modules = _parse_feedforward_modules(d.pop("feedforward_modules", UNSET))

        def _parse_target_modules(data: object) -> Ia3TrainingTargetModulesType0 | list[str] | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                target_modules_type_0 = Ia3TrainingTargetModulesType0(data)

                return target_modules_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
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
