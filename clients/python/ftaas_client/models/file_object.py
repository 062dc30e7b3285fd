from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.file_object_status import FileObjectStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="FileObject")


@_attrs_define
class FileObject:
    """
    Attributes:
        bytes_ (int):
        created_at (int):
        filename (str):
        id (str):
        purpose (str):
        status (FileObjectStatus):
        expires_at (int | None | Unset):
        format_ (None | str | Unset): chat, prompt_completion, text, classification or preference.
        n_examples (int | None | Unset):
        object_ (Literal['file'] | Unset):  Default: 'file'.
        status_details (None | str | Unset):
    """

    bytes_: int
    created_at: int
    filename: str
    id: str
    purpose: str
    status: FileObjectStatus
    expires_at: int | None | Unset = UNSET
    format_: None | str | Unset = UNSET
    n_examples: int | None | Unset = UNSET
    object_: Literal["file"] | Unset = "file"
    status_details: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bytes_ = self.bytes_

        created_at = self.created_at

        filename = self.filename

        id = self.id

        purpose = self.purpose

        status = self.status.value

        expires_at: int | None | Unset
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        else:
            expires_at = self.expires_at

        format_: None | str | Unset
        if isinstance(self.format_, Unset):
            format_ = UNSET
        else:
            format_ = self.format_

        n_examples: int | None | Unset
        if isinstance(self.n_examples, Unset):
            n_examples = UNSET
        else:
            n_examples = self.n_examples

        object_ = self.object_

        status_details: None | str | Unset
        if isinstance(self.status_details, Unset):
            status_details = UNSET
        else:
            status_details = self.status_details

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bytes": bytes_,
                "created_at": created_at,
                "filename": filename,
                "id": id,
                "purpose": purpose,
                "status": status,
            }
        )
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if format_ is not UNSET:
            field_dict["format"] = format_
        if n_examples is not UNSET:
            field_dict["n_examples"] = n_examples
        if object_ is not UNSET:
            field_dict["object"] = object_
        if status_details is not UNSET:
            field_dict["status_details"] = status_details

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        bytes_ = d.pop("bytes")

        created_at = d.pop("created_at")

        filename = d.pop("filename")

        id = d.pop("id")

        purpose = d.pop("purpose")

        status = FileObjectStatus(d.pop("status"))

        def _parse_expires_at(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        expires_at = _parse_expires_at(d.pop("expires_at", UNSET))

        def _parse_format_(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        format_ = _parse_format_(d.pop("format", UNSET))

        def _parse_n_examples(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        n_examples = _parse_n_examples(d.pop("n_examples", UNSET))

        object_ = cast(Literal["file"] | Unset, d.pop("object", UNSET))
        if object_ != "file" and not isinstance(object_, Unset):
            raise ValueError(f"object must match const 'file', got '{object_}'")

        def _parse_status_details(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        status_details = _parse_status_details(d.pop("status_details", UNSET))

        file_object = cls(
            bytes_=bytes_,
            created_at=created_at,
            filename=filename,
            id=id,
            purpose=purpose,
            status=status,
            expires_at=expires_at,
            format_=format_,
            n_examples=n_examples,
            object_=object_,
            status_details=status_details,
        )

        file_object.additional_properties = d
        return file_object

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
