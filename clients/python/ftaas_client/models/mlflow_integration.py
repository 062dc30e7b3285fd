from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.mlflow_settings import MlflowSettings


T = TypeVar("T", bound="MlflowIntegration")


@_attrs_define
class MlflowIntegration:
    """
    Attributes:
        mlflow (MlflowSettings):
        type_ (Literal['mlflow']):
    """

    mlflow: MlflowSettings
    type_: Literal["mlflow"]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        mlflow = self.mlflow.to_dict()

        type_ = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "mlflow": mlflow,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.mlflow_settings import MlflowSettings  # noqa: PLC0415

        d = dict(src_dict)
        mlflow = MlflowSettings.from_dict(d.pop("mlflow"))

        type_ = cast(Literal["mlflow"], d.pop("type"))
        if type_ != "mlflow":
            raise ValueError(f"type must match const 'mlflow', got '{type_}'")

        mlflow_integration = cls(
            mlflow=mlflow,
            type_=type_,
        )

        mlflow_integration.additional_properties = d
        return mlflow_integration

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
