from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Hyperparameters")


@_attrs_define
class Hyperparameters:
    """
    Attributes:
        batch_size (int | Literal['auto'] | Unset):  Default: 'auto'.
        learning_rate (float | None | Unset): Absolute peak learning rate; an alternative to learning_rate_multiplier.
        learning_rate_multiplier (float | Literal['auto'] | Unset):  Default: 'auto'.
        max_seq_length (int | Literal['auto'] | Unset):  Default: 'auto'.
        n_epochs (int | Literal['auto'] | Unset):  Default: 'auto'.
        warmup_ratio (float | Unset):  Default: 0.0.
        weight_decay (float | Unset):  Default: 0.0.
    """

    batch_size: int | Literal["auto"] | Unset = "auto"
    learning_rate: float | None | Unset = UNSET
    learning_rate_multiplier: float | Literal["auto"] | Unset = "auto"
    max_seq_length: int | Literal["auto"] | Unset = "auto"
    n_epochs: int | Literal["auto"] | Unset = "auto"
    warmup_ratio: float | Unset = 0.0
    weight_decay: float | Unset = 0.0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        batch_size: int | Literal["auto"] | Unset
        if isinstance(self.batch_size, Unset):
            batch_size = UNSET
        else:
            batch_size = self.batch_size

        learning_rate: float | None | Unset
        if isinstance(self.learning_rate, Unset):
            learning_rate = UNSET
        else:
            learning_rate = self.learning_rate

        learning_rate_multiplier: float | Literal["auto"] | Unset
        if isinstance(self.learning_rate_multiplier, Unset):
            learning_rate_multiplier = UNSET
        else:
            learning_rate_multiplier = self.learning_rate_multiplier

        max_seq_length: int | Literal["auto"] | Unset
        if isinstance(self.max_seq_length, Unset):
            max_seq_length = UNSET
        else:
            max_seq_length = self.max_seq_length

        n_epochs: int | Literal["auto"] | Unset
        if isinstance(self.n_epochs, Unset):
            n_epochs = UNSET
        else:
            n_epochs = self.n_epochs

        warmup_ratio = self.warmup_ratio

        weight_decay = self.weight_decay

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if batch_size is not UNSET:
            field_dict["batch_size"] = batch_size
        if learning_rate is not UNSET:
            field_dict["learning_rate"] = learning_rate
        if learning_rate_multiplier is not UNSET:
            field_dict["learning_rate_multiplier"] = learning_rate_multiplier
        if max_seq_length is not UNSET:
            field_dict["max_seq_length"] = max_seq_length
        if n_epochs is not UNSET:
            field_dict["n_epochs"] = n_epochs
        if warmup_ratio is not UNSET:
            field_dict["warmup_ratio"] = warmup_ratio
        if weight_decay is not UNSET:
            field_dict["weight_decay"] = weight_decay

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_batch_size(data: object) -> int | Literal["auto"] | Unset:
            if isinstance(data, Unset):
                return data
            batch_size_type_0 = cast(Literal["auto"], data)
            if batch_size_type_0 != "auto":
                raise ValueError(f"batch_size_type_0 must match const 'auto', got '{batch_size_type_0}'")
            return batch_size_type_0
            return cast(int | Literal["auto"] | Unset, data)

        batch_size = _parse_batch_size(d.pop("batch_size", UNSET))

        def _parse_learning_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        learning_rate = _parse_learning_rate(d.pop("learning_rate", UNSET))

        def _parse_learning_rate_multiplier(data: object) -> float | Literal["auto"] | Unset:
            if isinstance(data, Unset):
                return data
            learning_rate_multiplier_type_0 = cast(Literal["auto"], data)
            if learning_rate_multiplier_type_0 != "auto":
                raise ValueError(
                    f"learning_rate_multiplier_type_0 must match const 'auto', got '{learning_rate_multiplier_type_0}'"
                )
            return learning_rate_multiplier_type_0
            return cast(float | Literal["auto"] | Unset, data)

        learning_rate_multiplier = _parse_learning_rate_multiplier(d.pop("learning_rate_multiplier", UNSET))

        def _parse_max_seq_length(data: object) -> int | Literal["auto"] | Unset:
            if isinstance(data, Unset):
                return data
            max_seq_length_type_0 = cast(Literal["auto"], data)
            if max_seq_length_type_0 != "auto":
                raise ValueError(f"max_seq_length_type_0 must match const 'auto', got '{max_seq_length_type_0}'")
            return max_seq_length_type_0
            return cast(int | Literal["auto"] | Unset, data)

        max_seq_length = _parse_max_seq_length(d.pop("max_seq_length", UNSET))

        def _parse_n_epochs(data: object) -> int | Literal["auto"] | Unset:
            if isinstance(data, Unset):
                return data
            n_epochs_type_0 = cast(Literal["auto"], data)
            if n_epochs_type_0 != "auto":
                raise ValueError(f"n_epochs_type_0 must match const 'auto', got '{n_epochs_type_0}'")
            return n_epochs_type_0
            return cast(int | Literal["auto"] | Unset, data)

        n_epochs = _parse_n_epochs(d.pop("n_epochs", UNSET))

        warmup_ratio = d.pop("warmup_ratio", UNSET)

        weight_decay = d.pop("weight_decay", UNSET)

        hyperparameters = cls(
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_multiplier=learning_rate_multiplier,
            max_seq_length=max_seq_length,
            n_epochs=n_epochs,
            warmup_ratio=warmup_ratio,
            weight_decay=weight_decay,
        )

        hyperparameters.additional_properties = d
        return hyperparameters

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
