from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.compute import Compute
    from ..models.full_training import FullTraining
    from ..models.hyperparameters import Hyperparameters
    from ..models.ia_3_training import Ia3Training
    from ..models.job_spec_metadata_type_0 import JobSpecMetadataType0
    from ..models.lora_training import LoraTraining
    from ..models.method import Method
    from ..models.mlflow_integration import MlflowIntegration
    from ..models.prefix_tuning import PrefixTuning
    from ..models.prompt_tuning import PromptTuning
    from ..models.qlora_training import QloraTraining
    from ..models.wandb_integration import WandbIntegration


T = TypeVar("T", bound="JobSpec")


@_attrs_define
class JobSpec:
    """
    Attributes:
        model (str): A base model id from the catalog (GET /v1/models), or, to continue training, one of your fine-tuned
            model ids (ft:…) or checkpoints (ftckpt-… or its ft:…:ckpt-step-N name).
        training_file (str): A file id (or a local path for `ftaas train`).
        compute (Compute | Unset):
        hyperparameters (Hyperparameters | None | Unset):
        integrations (list[MlflowIntegration | WandbIntegration] | None | Unset): Experiment trackers the run reports
            to: OpenAI's W&B integration, and (extension) MLflow. Each needs the deployment to have configured it.
        metadata (JobSpecMetadataType0 | None | Unset):
        method (Method | None | Unset):
        seed (int | None | Unset):
        suffix (None | str | Unset):
        training_type (FullTraining | Ia3Training | LoraTraining | PrefixTuning | PromptTuning | QloraTraining | Unset):
        validation_file (None | str | Unset):
    """

    model: str
    training_file: str
    compute: Compute | Unset = UNSET
    hyperparameters: Hyperparameters | None | Unset = UNSET
    integrations: list[MlflowIntegration | WandbIntegration] | None | Unset = UNSET
    metadata: JobSpecMetadataType0 | None | Unset = UNSET
    method: Method | None | Unset = UNSET
    seed: int | None | Unset = UNSET
    suffix: None | str | Unset = UNSET
    training_type: FullTraining | Ia3Training | LoraTraining | PrefixTuning | PromptTuning | QloraTraining | Unset = (
        UNSET
    )
    validation_file: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.full_training import FullTraining  # noqa: PLC0415
        from ..models.hyperparameters import Hyperparameters  # noqa: PLC0415
        from ..models.ia_3_training import Ia3Training  # noqa: PLC0415
        from ..models.job_spec_metadata_type_0 import JobSpecMetadataType0  # noqa: PLC0415
        from ..models.lora_training import LoraTraining  # noqa: PLC0415
        from ..models.method import Method  # noqa: PLC0415
        from ..models.prefix_tuning import PrefixTuning  # noqa: PLC0415
        from ..models.qlora_training import QloraTraining  # noqa: PLC0415
        from ..models.wandb_integration import WandbIntegration  # noqa: PLC0415

        model = self.model

        training_file = self.training_file

        compute: dict[str, Any] | Unset = UNSET
        if not isinstance(self.compute, Unset):
            compute = self.compute.to_dict()

        hyperparameters: dict[str, Any] | None | Unset
        if isinstance(self.hyperparameters, Unset):
            hyperparameters = UNSET
        elif isinstance(self.hyperparameters, Hyperparameters):
            hyperparameters = self.hyperparameters.to_dict()
        else:
            hyperparameters = self.hyperparameters

        integrations: list[dict[str, Any]] | None | Unset
        if isinstance(self.integrations, Unset):
            integrations = UNSET
        elif isinstance(self.integrations, list):
            integrations = []
            for integrations_type_0_item_data in self.integrations:
                integrations_type_0_item: dict[str, Any]
                if isinstance(integrations_type_0_item_data, WandbIntegration):
                    integrations_type_0_item = integrations_type_0_item_data.to_dict()
                else:
                    integrations_type_0_item = integrations_type_0_item_data.to_dict()

                integrations.append(integrations_type_0_item)

        else:
            integrations = self.integrations

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, JobSpecMetadataType0):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        method: dict[str, Any] | None | Unset
        if isinstance(self.method, Unset):
            method = UNSET
        elif isinstance(self.method, Method):
            method = self.method.to_dict()
        else:
            method = self.method

        seed: int | None | Unset
        if isinstance(self.seed, Unset):
            seed = UNSET
        else:
            seed = self.seed

        suffix: None | str | Unset
        if isinstance(self.suffix, Unset):
            suffix = UNSET
        else:
            suffix = self.suffix

        training_type: dict[str, Any] | Unset
        if isinstance(self.training_type, Unset):
            training_type = UNSET
        elif isinstance(self.training_type, FullTraining):
            training_type = self.training_type.to_dict()
        elif isinstance(self.training_type, LoraTraining):
            training_type = self.training_type.to_dict()
        elif isinstance(self.training_type, QloraTraining):
            training_type = self.training_type.to_dict()
        elif isinstance(self.training_type, Ia3Training):
            training_type = self.training_type.to_dict()
        elif isinstance(self.training_type, PrefixTuning):
            training_type = self.training_type.to_dict()
        else:
            training_type = self.training_type.to_dict()

        validation_file: None | str | Unset
        if isinstance(self.validation_file, Unset):
            validation_file = UNSET
        else:
            validation_file = self.validation_file

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "model": model,
                "training_file": training_file,
            }
        )
        if compute is not UNSET:
            field_dict["compute"] = compute
        if hyperparameters is not UNSET:
            field_dict["hyperparameters"] = hyperparameters
        if integrations is not UNSET:
            field_dict["integrations"] = integrations
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if method is not UNSET:
            field_dict["method"] = method
        if seed is not UNSET:
            field_dict["seed"] = seed
        if suffix is not UNSET:
            field_dict["suffix"] = suffix
        if training_type is not UNSET:
            field_dict["training_type"] = training_type
        if validation_file is not UNSET:
            field_dict["validation_file"] = validation_file

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.compute import Compute  # noqa: PLC0415
        from ..models.full_training import FullTraining  # noqa: PLC0415
        from ..models.hyperparameters import Hyperparameters  # noqa: PLC0415
        from ..models.ia_3_training import Ia3Training  # noqa: PLC0415
        from ..models.job_spec_metadata_type_0 import JobSpecMetadataType0  # noqa: PLC0415
        from ..models.lora_training import LoraTraining  # noqa: PLC0415
        from ..models.method import Method  # noqa: PLC0415
        from ..models.mlflow_integration import MlflowIntegration  # noqa: PLC0415
        from ..models.prefix_tuning import PrefixTuning  # noqa: PLC0415
        from ..models.prompt_tuning import PromptTuning  # noqa: PLC0415
        from ..models.qlora_training import QloraTraining  # noqa: PLC0415
        from ..models.wandb_integration import WandbIntegration  # noqa: PLC0415

        d = dict(src_dict)
        model = d.pop("model")

        training_file = d.pop("training_file")

        _compute = d.pop("compute", UNSET)
        compute: Compute | Unset
        if isinstance(_compute, Unset):
            compute = UNSET
        else:
            compute = Compute.from_dict(_compute)

        def _parse_hyperparameters(data: object) -> Hyperparameters | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                hyperparameters_type_0 = Hyperparameters.from_dict(data)

                return hyperparameters_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Hyperparameters | None | Unset, data)

        hyperparameters = _parse_hyperparameters(d.pop("hyperparameters", UNSET))

        def _parse_integrations(data: object) -> list[MlflowIntegration | WandbIntegration] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                integrations_type_0 = []
                _integrations_type_0 = data
                for integrations_type_0_item_data in _integrations_type_0:

                    def _parse_integrations_type_0_item(data: object) -> MlflowIntegration | WandbIntegration:
                        try:
                            if not isinstance(data, dict):
                                raise TypeError()
                            integrations_type_0_item_type_0 = WandbIntegration.from_dict(data)

                            return integrations_type_0_item_type_0
                        except (TypeError, ValueError, AttributeError, KeyError):
                            pass
                        if not isinstance(data, dict):
                            raise TypeError()
                        integrations_type_0_item_type_1 = MlflowIntegration.from_dict(data)

                        return integrations_type_0_item_type_1

                    integrations_type_0_item = _parse_integrations_type_0_item(integrations_type_0_item_data)

                    integrations_type_0.append(integrations_type_0_item)

                return integrations_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[MlflowIntegration | WandbIntegration] | None | Unset, data)

        integrations = _parse_integrations(d.pop("integrations", UNSET))

        def _parse_metadata(data: object) -> JobSpecMetadataType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metadata_type_0 = JobSpecMetadataType0.from_dict(data)

                return metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobSpecMetadataType0 | None | Unset, data)

        metadata = _parse_metadata(d.pop("metadata", UNSET))

        def _parse_method(data: object) -> Method | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                method_type_0 = Method.from_dict(data)

                return method_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Method | None | Unset, data)

        method = _parse_method(d.pop("method", UNSET))

        def _parse_seed(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        seed = _parse_seed(d.pop("seed", UNSET))

        def _parse_suffix(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        suffix = _parse_suffix(d.pop("suffix", UNSET))

        def _parse_training_type(
            data: object,
        ) -> FullTraining | Ia3Training | LoraTraining | PrefixTuning | PromptTuning | QloraTraining | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                training_type_type_0 = FullTraining.from_dict(data)

                return training_type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                training_type_type_1 = LoraTraining.from_dict(data)

                return training_type_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                training_type_type_2 = QloraTraining.from_dict(data)

                return training_type_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                training_type_type_3 = Ia3Training.from_dict(data)

                return training_type_type_3
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                training_type_type_4 = PrefixTuning.from_dict(data)

                return training_type_type_4
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            training_type_type_5 = PromptTuning.from_dict(data)

            return training_type_type_5

        training_type = _parse_training_type(d.pop("training_type", UNSET))

        def _parse_validation_file(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        validation_file = _parse_validation_file(d.pop("validation_file", UNSET))

        job_spec = cls(
            model=model,
            training_file=training_file,
            compute=compute,
            hyperparameters=hyperparameters,
            integrations=integrations,
            metadata=metadata,
            method=method,
            seed=seed,
            suffix=suffix,
            training_type=training_type,
            validation_file=validation_file,
        )

        job_spec.additional_properties = d
        return job_spec

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
