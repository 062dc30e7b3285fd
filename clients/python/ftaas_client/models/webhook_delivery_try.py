from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="WebhookDeliveryTry")


@_attrs_define
class WebhookDeliveryTry:
    """
    Attributes:
        at (int):
        attempt (int):
        delivered (bool): The endpoint answered 2xx.
        error (None | str):
        event_id (str): The event's id: its `webhook-id` header, the same on every try.
        job_id (str):
        next_attempt_at (int | None): When it is tried again; null once delivered or given up.
        status_code (int | None): What the endpoint answered; null when it could not be reached.
        type_ (str):
        object_ (Literal['webhook_endpoint.delivery'] | Unset):  Default: 'webhook_endpoint.delivery'.
    """

    at: int
    attempt: int
    delivered: bool
    error: None | str
    event_id: str
    job_id: str
    next_attempt_at: int | None
    status_code: int | None
    type_: str
    object_: Literal["webhook_endpoint.delivery"] | Unset = "webhook_endpoint.delivery"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        at = self.at

        attempt = self.attempt

        delivered = self.delivered

        error: None | str
        error = self.error

        event_id = self.event_id

        job_id = self.job_id

        next_attempt_at: int | None
        next_attempt_at = self.next_attempt_at

        status_code: int | None
        status_code = self.status_code

        type_ = self.type_

        object_ = self.object_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "at": at,
                "attempt": attempt,
                "delivered": delivered,
                "error": error,
                "event_id": event_id,
                "job_id": job_id,
                "next_attempt_at": next_attempt_at,
                "status_code": status_code,
                "type": type_,
            }
        )
        if object_ is not UNSET:
            field_dict["object"] = object_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        at = d.pop("at")

        attempt = d.pop("attempt")

        delivered = d.pop("delivered")

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))

        event_id = d.pop("event_id")

        job_id = d.pop("job_id")

        def _parse_next_attempt_at(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        next_attempt_at = _parse_next_attempt_at(d.pop("next_attempt_at"))

        def _parse_status_code(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        status_code = _parse_status_code(d.pop("status_code"))

        type_ = d.pop("type")

        object_ = cast(Literal["webhook_endpoint.delivery"] | Unset, d.pop("object", UNSET))
        if object_ != "webhook_endpoint.delivery" and not isinstance(object_, Unset):
            raise ValueError(f"object must match const 'webhook_endpoint.delivery', got '{object_}'")

        webhook_delivery_try = cls(
            at=at,
            attempt=attempt,
            delivered=delivered,
            error=error,
            event_id=event_id,
            job_id=job_id,
            next_attempt_at=next_attempt_at,
            status_code=status_code,
            type_=type_,
            object_=object_,
        )

        webhook_delivery_try.additional_properties = d
        return webhook_delivery_try

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
