from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="PromptTuning")


@_attrs_define
class PromptTuning:
    """
    Attributes:
        type_ (Literal['prompt_tuning']):
        init_text (None | str | Unset): Initialise the soft prompt from this text's token embeddings (default: random).
        num_virtual_tokens (int | Unset):  Default: 20.
    """

    type_: Literal["prompt_tuning"]
    init_text: None | str | Unset = UNSET
    num_virtual_tokens: int | Unset = 20
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_

        init_text: None | str | Unset
        if isinstance(self.init_text, Unset):
            init_text = UNSET
        else:
            init_text = self.init_text

        num_virtual_tokens = self.num_virtual_tokens

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
            }
        )
        if init_text is not UNSET:
            field_dict["init_text"] = init_text
        if num_virtual_tokens is not UNSET:
            field_dict["num_virtual_tokens"] = num_virtual_tokens

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        type_ = cast(Literal["prompt_tuning"], d.pop("type"))
        if type_ != "prompt_tuning":
            raise ValueError(f"type must match const 'prompt_tuning', got '{type_}'")

        def _parse_init_text(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        init_text = _parse_init_text(d.pop("init_text", UNSET))

        num_virtual_tokens = d.pop("num_virtual_tokens", UNSET)

        prompt_tuning = cls(
            type_=type_,
            init_text=init_text,
            num_virtual_tokens=num_virtual_tokens,
        )

        prompt_tuning.additional_properties = d
        return prompt_tuning

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
