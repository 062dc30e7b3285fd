from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.mlflow_settings_tags_type_0 import MlflowSettingsTagsType0


T = TypeVar("T", bound="MlflowSettings")


@_attrs_define
class MlflowSettings:
    """
    Attributes:
        experiment (str): The MLflow experiment, by name (created when it does not exist).
        run_name (None | str | Unset): The run's name (default: the job id).
        tags (MlflowSettingsTagsType0 | None | Unset): Tags for the run, besides ftaas's own (ftaas.*).
    """

    experiment: str
    run_name: None | str | Unset = UNSET
    tags: MlflowSettingsTagsType0 | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.mlflow_settings_tags_type_0 import MlflowSettingsTagsType0  # noqa: PLC0415

        experiment = self.experiment

        run_name: None | str | Unset
        if isinstance(self.run_name, Unset):
            run_name = UNSET
        else:
            run_name = self.run_name

        tags: dict[str, Any] | None | Unset
        if isinstance(self.tags, Unset):
            tags = UNSET
        elif isinstance(self.tags, MlflowSettingsTagsType0):
            tags = self.tags.to_dict()
        else:
            tags = self.tags

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "experiment": experiment,
            }
        )
        if run_name is not UNSET:
            field_dict["run_name"] = run_name
        if tags is not UNSET:
            field_dict["tags"] = tags

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.mlflow_settings_tags_type_0 import MlflowSettingsTagsType0  # noqa: PLC0415

        d = dict(src_dict)
        experiment = d.pop("experiment")

        def _parse_run_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        run_name = _parse_run_name(d.pop("run_name", UNSET))

        def _parse_tags(data: object) -> MlflowSettingsTagsType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                tags_type_0 = MlflowSettingsTagsType0.from_dict(data)

                return tags_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MlflowSettingsTagsType0 | None | Unset, data)

        tags = _parse_tags(d.pop("tags", UNSET))

        mlflow_settings = cls(
            experiment=experiment,
            run_name=run_name,
            tags=tags,
        )

        mlflow_settings.additional_properties = d
        return mlflow_settings

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
