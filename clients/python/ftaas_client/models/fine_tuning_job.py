from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.fine_tuning_job_status import FineTuningJobStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.compute import Compute
    from ..models.fine_tuning_job_metadata_type_0 import FineTuningJobMetadataType0
    from ..models.fine_tuning_job_method import FineTuningJobMethod
    from ..models.fine_tuning_job_training_type import FineTuningJobTrainingType
    from ..models.hyperparameters_object import HyperparametersObject
    from ..models.job_error_object import JobErrorObject
    from ..models.job_progress import JobProgress
    from ..models.mlflow_integration import MlflowIntegration
    from ..models.wandb_integration import WandbIntegration


T = TypeVar("T", bound="FineTuningJob")


@_attrs_define
class FineTuningJob:
    """
    Attributes:
        compute (Compute):
        created_at (int):
        error (JobErrorObject | None):
        estimated_finish (int | None):
        fine_tuned_model (None | str):
        finished_at (int | None):
        hyperparameters (HyperparametersObject):
        id (str):
        metadata (FineTuningJobMetadataType0 | None):
        method (FineTuningJobMethod):
        model (str):
        organization_id (str):
        progress (JobProgress | None):
        result_files (list[str]):
        seed (int | None):
        status (FineTuningJobStatus): OpenAI's status set: a paused job is `queued`, with `paused: true`.
        trained_tokens (int | None):
        training_file (str):
        training_type (FineTuningJobTrainingType):
        user_provided_suffix (None | str):
        validation_file (None | str):
        integrations (list[MlflowIntegration | WandbIntegration] | Unset): The job's integrations as it asked for them:
            OpenAI's wandb objects, and (extension) mlflow.
        object_ (Literal['fine_tuning.job'] | Unset):  Default: 'fine_tuning.job'.
        paused (bool | Unset): Paused by request (status `queued`): POST …/resume to go on. Default: False.
        paused_at (int | None | Unset):
        queue_position (int | None | Unset): While the job waits for a worker: how many jobs (all tenants') a free
            worker takes before it, plus one.
        task_format (None | str | Unset): The training file's format (chat, prompt_completion, text, classification,
            preference), known once validated.
    """

    compute: Compute
    created_at: int
    error: JobErrorObject | None
    estimated_finish: int | None
    fine_tuned_model: None | str
    finished_at: int | None
    hyperparameters: HyperparametersObject
    id: str
    metadata: FineTuningJobMetadataType0 | None
    method: FineTuningJobMethod
    model: str
    organization_id: str
    progress: JobProgress | None
    result_files: list[str]
    seed: int | None
    status: FineTuningJobStatus
    trained_tokens: int | None
    training_file: str
    training_type: FineTuningJobTrainingType
    user_provided_suffix: None | str
    validation_file: None | str
    integrations: list[MlflowIntegration | WandbIntegration] | Unset = UNSET
    object_: Literal["fine_tuning.job"] | Unset = "fine_tuning.job"
    paused: bool | Unset = False
    paused_at: int | None | Unset = UNSET
    queue_position: int | None | Unset = UNSET
    task_format: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.fine_tuning_job_metadata_type_0 import FineTuningJobMetadataType0  # noqa: PLC0415
        from ..models.job_error_object import JobErrorObject  # noqa: PLC0415
        from ..models.job_progress import JobProgress  # noqa: PLC0415
        from ..models.wandb_integration import WandbIntegration  # noqa: PLC0415

        compute = self.compute.to_dict()

        created_at = self.created_at

        error: dict[str, Any] | None
        if isinstance(self.error, JobErrorObject):
            error = self.error.to_dict()
        else:
            error = self.error

        estimated_finish: int | None
        estimated_finish = self.estimated_finish

        fine_tuned_model: None | str
        fine_tuned_model = self.fine_tuned_model

        finished_at: int | None
        finished_at = self.finished_at

        hyperparameters = self.hyperparameters.to_dict()

        id = self.id

        metadata: dict[str, Any] | None
        if isinstance(self.metadata, FineTuningJobMetadataType0):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        method = self.method.to_dict()

        model = self.model

        organization_id = self.organization_id

        progress: dict[str, Any] | None
        if isinstance(self.progress, JobProgress):
            progress = self.progress.to_dict()
        else:
            progress = self.progress

        result_files = self.result_files

        seed: int | None
        seed = self.seed

        status = self.status.value

        trained_tokens: int | None
        trained_tokens = self.trained_tokens

        training_file = self.training_file

        training_type = self.training_type.to_dict()

        user_provided_suffix: None | str
        user_provided_suffix = self.user_provided_suffix

        validation_file: None | str
        validation_file = self.validation_file

        integrations: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.integrations, Unset):
            integrations = []
            for integrations_item_data in self.integrations:
                integrations_item: dict[str, Any]
                if isinstance(integrations_item_data, WandbIntegration):
                    integrations_item = integrations_item_data.to_dict()
                else:
                    integrations_item = integrations_item_data.to_dict()

                integrations.append(integrations_item)

        object_ = self.object_

        paused = self.paused

        paused_at: int | None | Unset
        if isinstance(self.paused_at, Unset):
            paused_at = UNSET
        else:
            paused_at = self.paused_at

        queue_position: int | None | Unset
        if isinstance(self.queue_position, Unset):
            queue_position = UNSET
        else:
            queue_position = self.queue_position

        task_format: None | str | Unset
        if isinstance(self.task_format, Unset):
            task_format = UNSET
        else:
            task_format = self.task_format

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "compute": compute,
                "created_at": created_at,
                "error": error,
                "estimated_finish": estimated_finish,
                "fine_tuned_model": fine_tuned_model,
                "finished_at": finished_at,
                "hyperparameters": hyperparameters,
                "id": id,
                "metadata": metadata,
                "method": method,
                "model": model,
                "organization_id": organization_id,
                "progress": progress,
                "result_files": result_files,
                "seed": seed,
                "status": status,
                "trained_tokens": trained_tokens,
                "training_file": training_file,
                "training_type": training_type,
                "user_provided_suffix": user_provided_suffix,
                "validation_file": validation_file,
            }
        )
        if integrations is not UNSET:
            field_dict["integrations"] = integrations
        if object_ is not UNSET:
            field_dict["object"] = object_
        if paused is not UNSET:
            field_dict["paused"] = paused
        if paused_at is not UNSET:
            field_dict["paused_at"] = paused_at
        if queue_position is not UNSET:
            field_dict["queue_position"] = queue_position
        if task_format is not UNSET:
            field_dict["task_format"] = task_format

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.compute import Compute  # noqa: PLC0415
        from ..models.fine_tuning_job_metadata_type_0 import FineTuningJobMetadataType0  # noqa: PLC0415
        from ..models.fine_tuning_job_method import FineTuningJobMethod  # noqa: PLC0415
        from ..models.fine_tuning_job_training_type import FineTuningJobTrainingType  # noqa: PLC0415
        from ..models.hyperparameters_object import HyperparametersObject  # noqa: PLC0415
        from ..models.job_error_object import JobErrorObject  # noqa: PLC0415
        from ..models.job_progress import JobProgress  # noqa: PLC0415
        from ..models.mlflow_integration import MlflowIntegration  # noqa: PLC0415
        from ..models.wandb_integration import WandbIntegration  # noqa: PLC0415

        d = dict(src_dict)
        compute = Compute.from_dict(d.pop("compute"))

        created_at = d.pop("created_at")

        def _parse_error(data: object) -> JobErrorObject | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = JobErrorObject.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobErrorObject | None, data)

        error = _parse_error(d.pop("error"))

        def _parse_estimated_finish(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        estimated_finish = _parse_estimated_finish(d.pop("estimated_finish"))

        def _parse_fine_tuned_model(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        fine_tuned_model = _parse_fine_tuned_model(d.pop("fine_tuned_model"))

        def _parse_finished_at(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        finished_at = _parse_finished_at(d.pop("finished_at"))

        hyperparameters = HyperparametersObject.from_dict(d.pop("hyperparameters"))

        id = d.pop("id")

        def _parse_metadata(data: object) -> FineTuningJobMetadataType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metadata_type_0 = FineTuningJobMetadataType0.from_dict(data)

                return metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(FineTuningJobMetadataType0 | None, data)

        metadata = _parse_metadata(d.pop("metadata"))

        method = FineTuningJobMethod.from_dict(d.pop("method"))

        model = d.pop("model")

        organization_id = d.pop("organization_id")

        def _parse_progress(data: object) -> JobProgress | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                progress_type_0 = JobProgress.from_dict(data)

                return progress_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobProgress | None, data)

        progress = _parse_progress(d.pop("progress"))

        result_files = cast(list[str], d.pop("result_files"))

        def _parse_seed(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        seed = _parse_seed(d.pop("seed"))

        status = FineTuningJobStatus(d.pop("status"))

        def _parse_trained_tokens(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        trained_tokens = _parse_trained_tokens(d.pop("trained_tokens"))

        training_file = d.pop("training_file")

        training_type = FineTuningJobTrainingType.from_dict(d.pop("training_type"))

        def _parse_user_provided_suffix(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        user_provided_suffix = _parse_user_provided_suffix(d.pop("user_provided_suffix"))

        def _parse_validation_file(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        validation_file = _parse_validation_file(d.pop("validation_file"))

        _integrations = d.pop("integrations", UNSET)
        integrations: list[MlflowIntegration | WandbIntegration] | Unset = UNSET
        if _integrations is not UNSET:
            integrations = []
            for integrations_item_data in _integrations:

                def _parse_integrations_item(data: object) -> MlflowIntegration | WandbIntegration:
                    try:
                        if not isinstance(data, dict):
                            raise TypeError()
                        integrations_item_type_0 = WandbIntegration.from_dict(data)

                        return integrations_item_type_0
                    except (TypeError, ValueError, AttributeError, KeyError):
                        pass
                    if not isinstance(data, dict):
                        raise TypeError()
                    integrations_item_type_1 = MlflowIntegration.from_dict(data)

                    return integrations_item_type_1

                integrations_item = _parse_integrations_item(integrations_item_data)

                integrations.append(integrations_item)

        object_ = cast(Literal["fine_tuning.job"] | Unset, d.pop("object", UNSET))
        if object_ != "fine_tuning.job" and not isinstance(object_, Unset):
            raise ValueError(f"object must match const 'fine_tuning.job', got '{object_}'")

        paused = d.pop("paused", UNSET)

        def _parse_paused_at(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        paused_at = _parse_paused_at(d.pop("paused_at", UNSET))

        def _parse_queue_position(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        queue_position = _parse_queue_position(d.pop("queue_position", UNSET))

        def _parse_task_format(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        task_format = _parse_task_format(d.pop("task_format", UNSET))

        fine_tuning_job = cls(
            compute=compute,
            created_at=created_at,
            error=error,
            estimated_finish=estimated_finish,
            fine_tuned_model=fine_tuned_model,
            finished_at=finished_at,
            hyperparameters=hyperparameters,
            id=id,
            metadata=metadata,
            method=method,
            model=model,
            organization_id=organization_id,
            progress=progress,
            result_files=result_files,
            seed=seed,
            status=status,
            trained_tokens=trained_tokens,
            training_file=training_file,
            training_type=training_type,
            user_provided_suffix=user_provided_suffix,
            validation_file=validation_file,
            integrations=integrations,
            object_=object_,
            paused=paused,
            paused_at=paused_at,
            queue_position=queue_position,
            task_format=task_format,
        )

        fine_tuning_job.additional_properties = d
        return fine_tuning_job

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
