from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.hyperparameters_object_batch_size_type_1 import HyperparametersObjectBatchSizeType1
from ..models.hyperparameters_object_learning_rate_multiplier_type_1 import (
    HyperparametersObjectLearningRateMultiplierType1,
)
from ..models.hyperparameters_object_n_epochs_type_1 import HyperparametersObjectNEpochsType1

T = TypeVar("T", bound="HyperparametersObject")


@_attrs_define
class HyperparametersObject:
    """
    Attributes:
        batch_size (HyperparametersObjectBatchSizeType1 | int):
        learning_rate_multiplier (float | HyperparametersObjectLearningRateMultiplierType1):
        n_epochs (HyperparametersObjectNEpochsType1 | int):
    """

    batch_size: HyperparametersObjectBatchSizeType1 | int
    learning_rate_multiplier: float | HyperparametersObjectLearningRateMultiplierType1
    n_epochs: HyperparametersObjectNEpochsType1 | int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        batch_size: int | str
        if isinstance(self.batch_size, HyperparametersObjectBatchSizeType1):
            batch_size = self.batch_size.value
        else:
            batch_size = self.batch_size

        learning_rate_multiplier: float | str
        if isinstance(self.learning_rate_multiplier, HyperparametersObjectLearningRateMultiplierType1):
            learning_rate_multiplier = self.learning_rate_multiplier.value
        else:
            learning_rate_multiplier = self.learning_rate_multiplier

        n_epochs: int | str
        if isinstance(self.n_epochs, HyperparametersObjectNEpochsType1):
            n_epochs = self.n_epochs.value
        else:
            n_epochs = self.n_epochs

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "batch_size": batch_size,
                "learning_rate_multiplier": learning_rate_multiplier,
                "n_epochs": n_epochs,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_batch_size(data: object) -> HyperparametersObjectBatchSizeType1 | int:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                batch_size_type_1 = HyperparametersObjectBatchSizeType1(data)

                return batch_size_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(HyperparametersObjectBatchSizeType1 | int, data)

        batch_size = _parse_batch_size(d.pop("batch_size"))

        def _parse_learning_rate_multiplier(data: object) -> float | HyperparametersObjectLearningRateMultiplierType1:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                learning_rate_multiplier_type_1 = HyperparametersObjectLearningRateMultiplierType1(data)

                return learning_rate_multiplier_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(float | HyperparametersObjectLearningRateMultiplierType1, data)

        learning_rate_multiplier = _parse_learning_rate_multiplier(d.pop("learning_rate_multiplier"))

        def _parse_n_epochs(data: object) -> HyperparametersObjectNEpochsType1 | int:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                n_epochs_type_1 = HyperparametersObjectNEpochsType1(data)

                return n_epochs_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(HyperparametersObjectNEpochsType1 | int, data)

        n_epochs = _parse_n_epochs(d.pop("n_epochs"))

        hyperparameters_object = cls(
            batch_size=batch_size,
            learning_rate_multiplier=learning_rate_multiplier,
            n_epochs=n_epochs,
        )

        hyperparameters_object.additional_properties = d
        return hyperparameters_object

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
