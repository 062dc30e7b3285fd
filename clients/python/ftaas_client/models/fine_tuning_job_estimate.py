from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.memory_estimate import MemoryEstimate
    from ..models.throughput import Throughput
    from ..models.training_plan import TrainingPlan


T = TypeVar("T", bound="FineTuningJobEstimate")


@_attrs_define
class FineTuningJobEstimate:
    """
    Attributes:
        base_model (str): The catalog model at the root of its lineage (the model itself unless it continues one).
        cost (float | None): total_tokens / 1,000,000 × price_per_million_tokens; null without a price.
        expected_duration_seconds (float | None): From `running` to `succeeded` on this deployment's workers:
            total_tokens at the throughput measured by its succeeded jobs of the same base model, method and processes, plus
            their measured overhead (loading, measuring, saving). Null until such a job has succeeded: see
            duration_unavailable.
        hyperparameters (TrainingPlan): Every hyper-parameter as the job would resolve it (no `auto` left).
        memory (MemoryEstimate | None): Expected peak memory of a training process on the worker's device, and whether
            it fits. Null: see memory_unavailable.
        model (str): The request's model.
        n_epochs (int): Passes over the training examples (with max_steps, the passes it starts).
        n_examples (int): Training examples as training sees them: long texts split into max_seq_length chunks, examples
            with nothing to learn from left out.
        notes (list[str]): What training would report about the data before it starts (truncated examples, split texts).
        price_per_million_tokens (float | None): This deployment's price (FTAAS_PRICE_PER_MILLION_TOKENS); null when it
            sets none.
        processes (int): Training processes the job would run in on this deployment's workers.
        seed (int): The seed the estimate was computed with: the request's, else one drawn for it.
        steps (int): Optimizer steps the run plans.
        task_format (str): The training file's format (chat, prompt_completion, text, classification, preference).
        tokens_per_epoch (int): Tokens one pass over the training examples feeds the model (after truncation; both sides
            of preference pairs).
        total_tokens (int): Tokens the whole run feeds the model: what the job will record as `trained_tokens` (with
            early_stopping, at most that). With max_steps ending within an epoch they depend on the seed: create the job
            with this estimate's `seed`.
        duration_unavailable (None | str | Unset): Why expected_duration_seconds is null.
        memory_unavailable (None | str | Unset): Why memory is null.
        object_ (Literal['fine_tuning.job.estimate'] | Unset):  Default: 'fine_tuning.job.estimate'.
        quota_problems (list[str] | Unset): What your quotas (README, "Quotas") say of this job now, each naming the
            limit: a create refused (max_queued_jobs, max_trained_tokens_per_month reached), a wait for a running place
            (max_running_jobs), or total_tokens beyond what the month has left. Empty: none applies.
        throughput (None | Throughput | Unset): The measurements the expected duration comes from.
    """

    base_model: str
    cost: float | None
    expected_duration_seconds: float | None
    hyperparameters: TrainingPlan
    memory: MemoryEstimate | None
    model: str
    n_epochs: int
    n_examples: int
    notes: list[str]
    price_per_million_tokens: float | None
    processes: int
    seed: int
    steps: int
    task_format: str
    tokens_per_epoch: int
    total_tokens: int
    duration_unavailable: None | str | Unset = UNSET
    memory_unavailable: None | str | Unset = UNSET
    object_: Literal["fine_tuning.job.estimate"] | Unset = "fine_tuning.job.estimate"
    quota_problems: list[str] | Unset = UNSET
    throughput: None | Throughput | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.memory_estimate import MemoryEstimate  # noqa: PLC0415
        from ..models.throughput import Throughput  # noqa: PLC0415

        base_model = self.base_model

        cost: float | None
        cost = self.cost

        expected_duration_seconds: float | None
        expected_duration_seconds = self.expected_duration_seconds

        hyperparameters = self.hyperparameters.to_dict()

        memory: dict[str, Any] | None
        if isinstance(self.memory, MemoryEstimate):
            memory = self.memory.to_dict()
        else:
            memory = self.memory

        model = self.model

        n_epochs = self.n_epochs

        n_examples = self.n_examples

        notes = self.notes

        price_per_million_tokens: float | None
        price_per_million_tokens = self.price_per_million_tokens

        processes = self.processes

        seed = self.seed

        steps = self.steps

        task_format = self.task_format

        tokens_per_epoch = self.tokens_per_epoch

        total_tokens = self.total_tokens

        duration_unavailable: None | str | Unset
        if isinstance(self.duration_unavailable, Unset):
            duration_unavailable = UNSET
        else:
            duration_unavailable = self.duration_unavailable

        memory_unavailable: None | str | Unset
        if isinstance(self.memory_unavailable, Unset):
            memory_unavailable = UNSET
        else:
            memory_unavailable = self.memory_unavailable

        object_ = self.object_

        quota_problems: list[str] | Unset = UNSET
        if not isinstance(self.quota_problems, Unset):
            quota_problems = self.quota_problems

        throughput: dict[str, Any] | None | Unset
        if isinstance(self.throughput, Unset):
            throughput = UNSET
        elif isinstance(self.throughput, Throughput):
            throughput = self.throughput.to_dict()
        else:
            throughput = self.throughput

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "base_model": base_model,
                "cost": cost,
                "expected_duration_seconds": expected_duration_seconds,
                "hyperparameters": hyperparameters,
                "memory": memory,
                "model": model,
                "n_epochs": n_epochs,
                "n_examples": n_examples,
                "notes": notes,
                "price_per_million_tokens": price_per_million_tokens,
                "processes": processes,
                "seed": seed,
                "steps": steps,
                "task_format": task_format,
                "tokens_per_epoch": tokens_per_epoch,
                "total_tokens": total_tokens,
            }
        )
        if duration_unavailable is not UNSET:
            field_dict["duration_unavailable"] = duration_unavailable
        if memory_unavailable is not UNSET:
            field_dict["memory_unavailable"] = memory_unavailable
        if object_ is not UNSET:
            field_dict["object"] = object_
        if quota_problems is not UNSET:
            field_dict["quota_problems"] = quota_problems
        if throughput is not UNSET:
            field_dict["throughput"] = throughput

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.memory_estimate import MemoryEstimate  # noqa: PLC0415
        from ..models.throughput import Throughput  # noqa: PLC0415
        from ..models.training_plan import TrainingPlan  # noqa: PLC0415

        d = dict(src_dict)
        base_model = d.pop("base_model")

        def _parse_cost(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        cost = _parse_cost(d.pop("cost"))

        def _parse_expected_duration_seconds(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        expected_duration_seconds = _parse_expected_duration_seconds(d.pop("expected_duration_seconds"))

        hyperparameters = TrainingPlan.from_dict(d.pop("hyperparameters"))

        def _parse_memory(data: object) -> MemoryEstimate | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                memory_type_0 = MemoryEstimate.from_dict(data)

                return memory_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MemoryEstimate | None, data)

        memory = _parse_memory(d.pop("memory"))

        model = d.pop("model")

        n_epochs = d.pop("n_epochs")

        n_examples = d.pop("n_examples")

        notes = cast(list[str], d.pop("notes"))

        def _parse_price_per_million_tokens(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        price_per_million_tokens = _parse_price_per_million_tokens(d.pop("price_per_million_tokens"))

        processes = d.pop("processes")

        seed = d.pop("seed")

        steps = d.pop("steps")

        task_format = d.pop("task_format")

        tokens_per_epoch = d.pop("tokens_per_epoch")

        total_tokens = d.pop("total_tokens")

        def _parse_duration_unavailable(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        duration_unavailable = _parse_duration_unavailable(d.pop("duration_unavailable", UNSET))

        def _parse_memory_unavailable(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        memory_unavailable = _parse_memory_unavailable(d.pop("memory_unavailable", UNSET))

        object_ = cast(Literal["fine_tuning.job.estimate"] | Unset, d.pop("object", UNSET))
        if object_ != "fine_tuning.job.estimate" and not isinstance(object_, Unset):
            raise ValueError(f"object must match const 'fine_tuning.job.estimate', got '{object_}'")

        quota_problems = cast(list[str], d.pop("quota_problems", UNSET))

        def _parse_throughput(data: object) -> None | Throughput | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                throughput_type_0 = Throughput.from_dict(data)

                return throughput_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Throughput | Unset, data)

        throughput = _parse_throughput(d.pop("throughput", UNSET))

        fine_tuning_job_estimate = cls(
            base_model=base_model,
            cost=cost,
            expected_duration_seconds=expected_duration_seconds,
            hyperparameters=hyperparameters,
            memory=memory,
            model=model,
            n_epochs=n_epochs,
            n_examples=n_examples,
            notes=notes,
            price_per_million_tokens=price_per_million_tokens,
            processes=processes,
            seed=seed,
            steps=steps,
            task_format=task_format,
            tokens_per_epoch=tokens_per_epoch,
            total_tokens=total_tokens,
            duration_unavailable=duration_unavailable,
            memory_unavailable=memory_unavailable,
            object_=object_,
            quota_problems=quota_problems,
            throughput=throughput,
        )

        fine_tuning_job_estimate.additional_properties = d
        return fine_tuning_job_estimate

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
