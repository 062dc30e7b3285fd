from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.lora_training_target_modules_type_0 import LoraTrainingTargetModulesType0
from ..types import UNSET, Unset

T = TypeVar("T", bound="LoraTraining")


@_attrs_define
class LoraTraining:
    """
    Attributes:
        alpha (float | Unset):  Default: 32.0.
        dropout (float | Unset):  Default: 0.0.
        r (int | Unset):  Default: 16.
        target_modules (list[str] | LoraTrainingTargetModulesType0 | Unset):  Default:
            LoraTrainingTargetModulesType0.ALL_LINEAR.
        type_ (Literal['lora'] | Unset):  Default: 'lora'.
        use_dora (bool | Unset): Weight-decomposed LoRA: learn each weight's magnitude separately. Default: False.
        use_rslora (bool | Unset): Scale by alpha/sqrt(r) instead of alpha/r (rank-stabilised LoRA). Default: False.
    """

    alpha: float | Unset = 32.0
    dropout: float | Unset = 0.0
    r: int | Unset = 16
    target_modules: list[str] | LoraTrainingTargetModulesType0 | Unset = LoraTrainingTargetModulesType0.ALL_LINEAR
    type_: Literal["lora"] | Unset = "lora"
    use_dora: bool | Unset = False
    use_rslora: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        alpha = self.alpha

        dropout = self.dropout

        r = self.r

        target_modules: list[str] | str | Unset
        if isinstance(self.target_modules, Unset):
            target_modules = UNSET
        elif isinstance(self.target_modules, LoraTrainingTargetModulesType0):
            target_modules = self.target_modules.value
        else:
            target_modules = self.target_modules

        type_ = self.type_

        use_dora = self.use_dora

        use_rslora = self.use_rslora

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if alpha is not UNSET:
            field_dict["alpha"] = alpha
        if dropout is not UNSET:
            field_dict["dropout"] = dropout
        if r is not UNSET:
            field_dict["r"] = r
        if target_modules is not UNSET:
            field_dict["target_modules"] = target_modules
        if type_ is not UNSET:
            field_dict["type"] = type_
        if use_dora is not UNSET:
            field_dict["use_dora"] = use_dora
        if use_rslora is not UNSET:
            field_dict["use_rslora"] = use_rslora

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        alpha = d.pop("alpha", UNSET)

        dropout = d.pop("dropout", UNSET)

        r = d.pop("r", UNSET)

        def _parse_target_modules(data: object) -> list[str] | LoraTrainingTargetModulesType0 | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                target_modules_type_0 = LoraTrainingTargetModulesType0(data)

                return target_modules_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, list):
                raise TypeError()
            target_modules_type_1 = cast(list[str], data)

            return target_modules_type_1

        target_modules = _parse_target_modules(d.pop("target_modules", UNSET))

        type_ = cast(Literal["lora"] | Unset, d.pop("type", UNSET))
        if type_ != "lora" and not isinstance(type_, Unset):
            raise ValueError(f"type must match const 'lora', got '{type_}'")

        use_dora = d.pop("use_dora", UNSET)

        use_rslora = d.pop("use_rslora", UNSET)

        lora_training = cls(
            alpha=alpha,
            dropout=dropout,
            r=r,
            target_modules=target_modules,
            type_=type_,
            use_dora=use_dora,
            use_rslora=use_rslora,
        )

        lora_training.additional_properties = d
        return lora_training

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
