from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="JobProgress")


@_attrs_define
class JobProgress:
    """
    Attributes:
        epoch (float | Unset):  Default: 0.0.
        step (int | Unset):  Default: 0.
        tokens_per_second (float | None | Unset):
        total_steps (int | Unset):  Default: 0.
        train_loss (float | None | Unset):
    """

    epoch: float | Unset = 0.0
    step: int | Unset = 0
    tokens_per_second: float | None | Unset = UNSET
    total_steps: int | Unset = 0
    train_loss: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        epoch = self.epoch

        step = self.step

        tokens_per_second: float | None | Unset
        if isinstance(self.tokens_per_second, Unset):
            tokens_per_second = UNSET
        else:
            tokens_per_second = self.tokens_per_second

        total_steps = self.total_steps

        train_loss: float | None | Unset
        if isinstance(self.train_loss, Unset):
            train_loss = UNSET
        else:
            train_loss = self.train_loss

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if epoch is not UNSET:
            field_dict["epoch"] = epoch
        if step is not UNSET:
            field_dict["step"] = step
        if tokens_per_second is not UNSET:
            field_dict["tokens_per_second"] = tokens_per_second
        if total_steps is not UNSET:
            field_dict["total_steps"] = total_steps
        if train_loss is not UNSET:
            field_dict["train_loss"] = train_loss

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        epoch = d.pop("epoch", UNSET)

        step = d.pop("step", UNSET)

        def _parse_tokens_per_second(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        tokens_per_second = _parse_tokens_per_second(d.pop("tokens_per_second", UNSET))

        total_steps = d.pop("total_steps", UNSET)

        def _parse_train_loss(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        train_loss = _parse_train_loss(d.pop("train_loss", UNSET))

        job_progress = cls(
            epoch=epoch,
            step=step,
            tokens_per_second=tokens_per_second,
            total_steps=total_steps,
            train_loss=train_loss,
        )

        job_progress.additional_properties = d
        return job_progress

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
