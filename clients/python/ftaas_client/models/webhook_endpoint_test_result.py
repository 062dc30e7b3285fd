from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="WebhookEndpointTestResult")


@_attrs_define
class WebhookEndpointTestResult:
    """
    Attributes:
        event_type (str):
        status_code (int): What the endpoint answered to the sample event.
        webhook_endpoint_id (str):
        object_ (Literal['webhook_endpoint.test'] | Unset):  Default: 'webhook_endpoint.test'.
        success (bool | Unset):  Default: True.
    """

    event_type: str
    status_code: int
    webhook_endpoint_id: str
    object_: Literal["webhook_endpoint.test"] | Unset = "webhook_endpoint.test"
    success: bool | Unset = True
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event_type = self.event_type

        status_code = self.status_code

        webhook_endpoint_id = self.webhook_endpoint_id

        object_ = self.object_

        success = self.success

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "event_type": event_type,
                "status_code": status_code,
                "webhook_endpoint_id": webhook_endpoint_id,
            }
        )
        if object_ is not UNSET:
            field_dict["object"] = object_
        if success is not UNSET:
            field_dict["success"] = success

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        event_type = d.pop("event_type")

        status_code = d.pop("status_code")

        webhook_endpoint_id = d.pop("webhook_endpoint_id")

        object_ = cast(Literal["webhook_endpoint.test"] | Unset, d.pop("object", UNSET))
        if object_ != "webhook_endpoint.test" and not isinstance(object_, Unset):
            raise ValueError(f"object must match const 'webhook_endpoint.test', got '{object_}'")

        success = d.pop("success", UNSET)

        webhook_endpoint_test_result = cls(
            event_type=event_type,
            status_code=status_code,
            webhook_endpoint_id=webhook_endpoint_id,
            object_=object_,
            success=success,
        )

        webhook_endpoint_test_result.additional_properties = d
        return webhook_endpoint_test_result

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
