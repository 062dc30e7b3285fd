from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="HyperparametersObject")


@_attrs_define
class HyperparametersObject:
    """
    Attributes:
        batch_size (int | Literal['auto']):
        learning_rate_multiplier (float | Literal['auto']):
        n_epochs (int | Literal['auto']):
    """

    batch_size: int | Literal["auto"]
    learning_rate_multiplier: float | Literal["auto"]
    n_epochs: int | Literal["auto"]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        batch_size: int | Literal["auto"]
        batch_size = self.batch_size

        learning_rate_multiplier: float | Literal["auto"]
        learning_rate_multiplier = self.learning_rate_multiplier

        n_epochs: int | Literal["auto"]
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

        def _parse_batch_size(data: object) -> int | Literal["auto"]:
            batch_size_type_1 = cast(Literal["auto"], data)
            if batch_size_type_1 != "auto":
                raise ValueError(f"batch_size_type_1 must match const 'auto', got '{batch_size_type_1}'")
            return batch_size_type_1
            return cast(int | Literal["auto"], data)

        batch_size = _parse_batch_size(d.pop("batch_size"))

        def _parse_learning_rate_multiplier(data: object) -> float | Literal["auto"]:
            learning_rate_multiplier_type_1 = cast(Literal["auto"], data)
            if learning_rate_multiplier_type_1 != "auto":
                raise ValueError(
                    f"learning_rate_multiplier_type_1 must match const 'auto', got '{learning_rate_multiplier_type_1}'"
                )
            return learning_rate_multiplier_type_1
            return cast(float | Literal["auto"], data)

        learning_rate_multiplier = _parse_learning_rate_multiplier(d.pop("learning_rate_multiplier"))

        def _parse_n_epochs(data: object) -> int | Literal["auto"]:
            n_epochs_type_1 = cast(Literal["auto"], data)
            if n_epochs_type_1 != "auto":
                raise ValueError(f"n_epochs_type_1 must match const 'auto', got '{n_epochs_type_1}'")
            return n_epochs_type_1
            return cast(int | Literal["auto"], data)

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
