from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.qlora_training_compute_dtype import QloraTrainingComputeDtype
from ..models.qlora_training_target_modules_type_0 import QloraTrainingTargetModulesType0
from ..types import UNSET, Unset

T = TypeVar("T", bound="QloraTraining")


@_attrs_define
class QloraTraining:
    """
    Attributes:
        type_ (Literal['qlora']):
        alpha (float | Unset):  Default: 32.0.
        compute_dtype (QloraTrainingComputeDtype | Unset): dtype of the 4-bit layers' matmuls (auto: bfloat16 on CUDA,
            float32 on CPU). Default: QloraTrainingComputeDtype.AUTO.
        dropout (float | Unset):  Default: 0.0.
        r (int | Unset):  Default: 16.
        target_modules (list[str] | QloraTrainingTargetModulesType0 | Unset):  Default:
            QloraTrainingTargetModulesType0.ALL_LINEAR.
        use_dora (bool | Unset): Weight-decomposed LoRA: learn each weight's magnitude separately. Default: False.
        use_rslora (bool | Unset): Scale by alpha/sqrt(r) instead of alpha/r (rank-stabilised LoRA). Default: False.
    """

    type_: Literal["qlora"]
    alpha: float | Unset = 32.0
    compute_dtype: QloraTrainingComputeDtype | Unset = QloraTrainingComputeDtype.AUTO
    dropout: float | Unset = 0.0
    r: int | Unset = 16
    target_modules: list[str] | QloraTrainingTargetModulesType0 | Unset = QloraTrainingTargetModulesType0.ALL_LINEAR
    use_dora: bool | Unset = False
    use_rslora: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_

        alpha = self.alpha

        compute_dtype: str | Unset = UNSET
        if not isinstance(self.compute_dtype, Unset):
            compute_dtype = self.compute_dtype.value

        dropout = self.dropout

        r = self.r

        target_modules: list[str] | str | Unset
        if isinstance(self.target_modules, Unset):
            target_modules = UNSET
        elif isinstance(self.target_modules, QloraTrainingTargetModulesType0):
            target_modules = self.target_modules.value
        else:
            target_modules = self.target_modules

        use_dora = self.use_dora

        use_rslora = self.use_rslora

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
            }
        )
        if alpha is not UNSET:
            field_dict["alpha"] = alpha
        if compute_dtype is not UNSET:
            field_dict["compute_dtype"] = compute_dtype
        if dropout is not UNSET:
            field_dict["dropout"] = dropout
        if r is not UNSET:
            field_dict["r"] = r
        if target_modules is not UNSET:
            field_dict["target_modules"] = target_modules
        if use_dora is not UNSET:
            field_dict["use_dora"] = use_dora
        if use_rslora is not UNSET:
            field_dict["use_rslora"] = use_rslora

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        type_ = cast(Literal["qlora"], d.pop("type"))
        if type_ != "qlora":
            raise ValueError(f"type must match const 'qlora', got '{type_}'")

        alpha = d.pop("alpha", UNSET)

        _compute_dtype = d.pop("compute_dtype", UNSET)
        compute_dtype: QloraTrainingComputeDtype | Unset
        if isinstance(_compute_dtype, Unset):
            compute_dtype = UNSET
        else:
            compute_dtype = QloraTrainingComputeDtype(_compute_dtype)

        dropout = d.pop("dropout", UNSET)

        r = d.pop("r", UNSET)

        def _parse_target_modules(data: object) -> list[str] | QloraTrainingTargetModulesType0 | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                target_modules_type_0 = QloraTrainingTargetModulesType0(data)

                return target_modules_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, list):
                raise TypeError()
            target_modules_type_1 = cast(list[str], data)

            return target_modules_type_1

        target_modules = _parse_target_modules(d.pop("target_modules", UNSET))

        use_dora = d.pop("use_dora", UNSET)

        use_rslora = d.pop("use_rslora", UNSET)

        qlora_training = cls(
            type_=type_,
            alpha=alpha,
            compute_dtype=compute_dtype,
            dropout=dropout,
            r=r,
            target_modules=target_modules,
            use_dora=use_dora,
            use_rslora=use_rslora,
        )

        qlora_training.additional_properties = d
        return qlora_training

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
