from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.freeze import Freeze
    from ..models.gradual_unfreezing import GradualUnfreezing


T = TypeVar("T", bound="FullTraining")


@_attrs_define
class FullTraining:
    """
    Attributes:
        type_ (Literal['full']):
        freeze (Freeze | None | Unset):
        gradual_unfreezing (GradualUnfreezing | None | Unset):
        layerwise_lr_decay (float | None | Unset): Each layer's learning rate = base × decay^(distance from the top
            layer).
    """

    type_: Literal["full"]
    freeze: Freeze | None | Unset = UNSET
    gradual_unfreezing: GradualUnfreezing | None | Unset = UNSET
    layerwise_lr_decay: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.freeze import Freeze  # noqa: PLC0415
        from ..models.gradual_unfreezing import GradualUnfreezing  # noqa: PLC0415

        type_ = self.type_

        freeze: dict[str, Any] | None | Unset
        if isinstance(self.freeze, Unset):
            freeze = UNSET
        elif isinstance(self.freeze, Freeze):
            freeze = self.freeze.to_dict()
        else:
            freeze = self.freeze

        gradual_unfreezing: dict[str, Any] | None | Unset
        if isinstance(self.gradual_unfreezing, Unset):
            gradual_unfreezing = UNSET
        elif isinstance(self.gradual_unfreezing, GradualUnfreezing):
            gradual_unfreezing = self.gradual_unfreezing.to_dict()
        else:
            gradual_unfreezing = self.gradual_unfreezing

        layerwise_lr_decay: float | None | Unset
        if isinstance(self.layerwise_lr_decay, Unset):
            layerwise_lr_decay = UNSET
        else:
            layerwise_lr_decay = self.layerwise_lr_decay

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
            }
        )
        if freeze is not UNSET:
            field_dict["freeze"] = freeze
        if gradual_unfreezing is not UNSET:
            field_dict["gradual_unfreezing"] = gradual_unfreezing
        if layerwise_lr_decay is not UNSET:
            field_dict["layerwise_lr_decay"] = layerwise_lr_decay

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.freeze import Freeze  # noqa: PLC0415
        from ..models.gradual_unfreezing import GradualUnfreezing  # noqa: PLC0415

        d = dict(src_dict)
        type_ = cast(Literal["full"], d.pop("type"))
        if type_ != "full":
            raise ValueError(f"type must match const 'full', got '{type_}'")

        def _parse_freeze(data: object) -> Freeze | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                freeze_type_0 = Freeze.from_dict(data)

                return freeze_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Freeze | None | Unset, data)

        freeze = _parse_freeze(d.pop("freeze", UNSET))

        def _parse_gradual_unfreezing(data: object) -> GradualUnfreezing | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                gradual_unfreezing_type_0 = GradualUnfreezing.from_dict(data)

                return gradual_unfreezing_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(GradualUnfreezing | None | Unset, data)

        gradual_unfreezing = _parse_gradual_unfreezing(d.pop("gradual_unfreezing", UNSET))

        def _parse_layerwise_lr_decay(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        layerwise_lr_decay = _parse_layerwise_lr_decay(d.pop("layerwise_lr_decay", UNSET))

        full_training = cls(
            type_=type_,
            freeze=freeze,
            gradual_unfreezing=gradual_unfreezing,
            layerwise_lr_decay=layerwise_lr_decay,
        )

        full_training.additional_properties = d
        return full_training

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
