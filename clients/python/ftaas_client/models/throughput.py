from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Throughput")


@_attrs_define
class Throughput:
    """
    Attributes:
        jobs (int): How many succeeded jobs were measured.
        tokens_per_second (float): Trained tokens per second of training (moving average).
        overhead_seconds (float | None | Unset): The rest of a job's run on its worker, from `running` to `succeeded`:
            loading the model, measuring it before and after, saving and uploading (moving average; null until a job
            measured it).
    """

    jobs: int
    tokens_per_second: float
    overhead_seconds: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        jobs = self.jobs

        tokens_per_second = self.tokens_per_second

        overhead_seconds: float | None | Unset
        if isinstance(self.overhead_seconds, Unset):
            overhead_seconds = UNSET
        else:
            overhead_seconds = self.overhead_seconds

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "jobs": jobs,
                "tokens_per_second": tokens_per_second,
            }
        )
        if overhead_seconds is not UNSET:
            field_dict["overhead_seconds"] = overhead_seconds

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        jobs = d.pop("jobs")

        tokens_per_second = d.pop("tokens_per_second")

        def _parse_overhead_seconds(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        overhead_seconds = _parse_overhead_seconds(d.pop("overhead_seconds", UNSET))

        throughput = cls(
            jobs=jobs,
            tokens_per_second=tokens_per_second,
            overhead_seconds=overhead_seconds,
        )

        throughput.additional_properties = d
        return throughput

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
