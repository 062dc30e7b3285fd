from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.fine_tuning_job_stream_message_event import FineTuningJobStreamMessageEvent

T = TypeVar("T", bound="FineTuningJobStreamMessage")


@_attrs_define
class FineTuningJobStreamMessage:
    """
    Attributes:
        data (str): JSON: a fine_tuning.job.event object, or (last) the fine_tuning.job.
        event (FineTuningJobStreamMessageEvent):
        id (str): The event's id (send it as Last-Event-ID to go on after it), or the job's.
    """

    data: str
    event: FineTuningJobStreamMessageEvent
    id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.data

        event = self.event.value

        id = self.id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
                "event": event,
                "id": id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        data = d.pop("data")

        event = FineTuningJobStreamMessageEvent(d.pop("event"))

        id = d.pop("id")

        fine_tuning_job_stream_message = cls(
            data=data,
            event=event,
            id=id,
        )

        fine_tuning_job_stream_message.additional_properties = d
        return fine_tuning_job_stream_message

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
