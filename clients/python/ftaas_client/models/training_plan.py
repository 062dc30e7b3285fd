from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.training_plan_gradient_checkpointing_type_1 import TrainingPlanGradientCheckpointingType1
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.early_stopping import EarlyStopping


T = TypeVar("T", bound="TrainingPlan")


@_attrs_define
class TrainingPlan:
    """Every hyper-parameter as the job would resolve it (no `auto` left).

    Attributes:
        batch_size (int):
        learning_rate (float):
        learning_rate_multiplier (float):
        max_seq_length (int):
        n_epochs (int):
        seed (int):
        warmup_ratio (float):
        weight_decay (float):
        beta (float | None | Unset):
        checkpoint_every (int | None | Unset):
        class_weights (None | str | Unset):
        early_stopping (EarlyStopping | None | Unset):
        eval_every (int | None | Unset):
        gradient_accumulation_steps (int | Unset):  Default: 1.
        gradient_checkpointing (bool | TrainingPlanGradientCheckpointingType1 | Unset):  Default:
            TrainingPlanGradientCheckpointingType1.AUTO.
        lr_cycles (int | Unset):  Default: 1.
        lr_scheduler (str | Unset):  Default: 'linear'.
        max_grad_norm (float | Unset):  Default: 1.0.
        max_steps (int | None | Unset):
        n_checkpoints (int | None | Unset):
        n_evals (int | None | Unset):
        packing (bool | Unset):  Default: False.
    """

    batch_size: int
    learning_rate: float
    learning_rate_multiplier: float
    max_seq_length: int
    n_epochs: int
    seed: int
    warmup_ratio: float
    weight_decay: float
    beta: float | None | Unset = UNSET
    checkpoint_every: int | None | Unset = UNSET
    class_weights: None | str | Unset = UNSET
    early_stopping: EarlyStopping | None | Unset = UNSET
    eval_every: int | None | Unset = UNSET
    gradient_accumulation_steps: int | Unset = 1
    gradient_checkpointing: bool | TrainingPlanGradientCheckpointingType1 | Unset = (
        TrainingPlanGradientCheckpointingType1.AUTO
    )
    lr_cycles: int | Unset = 1
    lr_scheduler: str | Unset = "linear"
    max_grad_norm: float | Unset = 1.0
    max_steps: int | None | Unset = UNSET
    n_checkpoints: int | None | Unset = UNSET
    n_evals: int | None | Unset = UNSET
    packing: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.early_stopping import EarlyStopping  # noqa: PLC0415

        batch_size = self.batch_size

        learning_rate = self.learning_rate

        learning_rate_multiplier = self.learning_rate_multiplier

        max_seq_length = self.max_seq_length

        n_epochs = self.n_epochs

        seed = self.seed

        warmup_ratio = self.warmup_ratio

        weight_decay = self.weight_decay

        beta: float | None | Unset
        if isinstance(self.beta, Unset):
            beta = UNSET
        else:
            beta = self.beta

        checkpoint_every: int | None | Unset
        if isinstance(self.checkpoint_every, Unset):
            checkpoint_every = UNSET
        else:
            checkpoint_every = self.checkpoint_every

        class_weights: None | str | Unset
        if isinstance(self.class_weights, Unset):
            class_weights = UNSET
        else:
            class_weights = self.class_weights

        early_stopping: dict[str, Any] | None | Unset
        if isinstance(self.early_stopping, Unset):
            early_stopping = UNSET
        elif isinstance(self.early_stopping, EarlyStopping):
            early_stopping = self.early_stopping.to_dict()
        else:
            early_stopping = self.early_stopping

        eval_every: int | None | Unset
        if isinstance(self.eval_every, Unset):
            eval_every = UNSET
        else:
            eval_every = self.eval_every

        gradient_accumulation_steps = self.gradient_accumulation_steps

        gradient_checkpointing: bool | str | Unset
        if isinstance(self.gradient_checkpointing, Unset):
            gradient_checkpointing = UNSET
        elif isinstance(self.gradient_checkpointing, TrainingPlanGradientCheckpointingType1):
            gradient_checkpointing = self.gradient_checkpointing.value
        else:
            gradient_checkpointing = self.gradient_checkpointing

        lr_cycles = self.lr_cycles

        lr_scheduler = self.lr_scheduler

        max_grad_norm = self.max_grad_norm

        max_steps: int | None | Unset
        if isinstance(self.max_steps, Unset):
            max_steps = UNSET
        else:
            max_steps = self.max_steps

        n_checkpoints: int | None | Unset
        if isinstance(self.n_checkpoints, Unset):
            n_checkpoints = UNSET
        else:
            n_checkpoints = self.n_checkpoints

        n_evals: int | None | Unset
        if isinstance(self.n_evals, Unset):
            n_evals = UNSET
        else:
            n_evals = self.n_evals

        packing = self.packing

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "batch_size": batch_size,
                "learning_rate": learning_rate,
                "learning_rate_multiplier": learning_rate_multiplier,
                "max_seq_length": max_seq_length,
                "n_epochs": n_epochs,
                "seed": seed,
                "warmup_ratio": warmup_ratio,
                "weight_decay": weight_decay,
            }
        )
        if beta is not UNSET:
            field_dict["beta"] = beta
        if checkpoint_every is not UNSET:
            field_dict["checkpoint_every"] = checkpoint_every
        if class_weights is not UNSET:
            field_dict["class_weights"] = class_weights
        if early_stopping is not UNSET:
            field_dict["early_stopping"] = early_stopping
        if eval_every is not UNSET:
            field_dict["eval_every"] = eval_every
        if gradient_accumulation_steps is not UNSET:
            field_dict["gradient_accumulation_steps"] = gradient_accumulation_steps
        if gradient_checkpointing is not UNSET:
            field_dict["gradient_checkpointing"] = gradient_checkpointing
        if lr_cycles is not UNSET:
            field_dict["lr_cycles"] = lr_cycles
        if lr_scheduler is not UNSET:
            field_dict["lr_scheduler"] = lr_scheduler
        if max_grad_norm is not UNSET:
            field_dict["max_grad_norm"] = max_grad_norm
        if max_steps is not UNSET:
            field_dict["max_steps"] = max_steps
        if n_checkpoints is not UNSET:
            field_dict["n_checkpoints"] = n_checkpoints
        if n_evals is not UNSET:
            field_dict["n_evals"] = n_evals
        if packing is not UNSET:
            field_dict["packing"] = packing

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.early_stopping import EarlyStopping  # noqa: PLC0415

        d = dict(src_dict)
        batch_size = d.pop("batch_size")

        learning_rate = d.pop("learning_rate")

        learning_rate_multiplier = d.pop("learning_rate_multiplier")

        max_seq_length = d.pop("max_seq_length")

        n_epochs = d.pop("n_epochs")

        seed = d.pop("seed")

        warmup_ratio = d.pop("warmup_ratio")

        weight_decay = d.pop("weight_decay")

        def _parse_beta(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        beta = _parse_beta(d.pop("beta", UNSET))

        def _parse_checkpoint_every(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        checkpoint_every = _parse_checkpoint_every(d.pop("checkpoint_every", UNSET))

        def _parse_class_weights(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        class_weights = _parse_class_weights(d.pop("class_weights", UNSET))

        def _parse_early_stopping(data: object) -> EarlyStopping | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                early_stopping_type_0 = EarlyStopping.from_dict(data)

                return early_stopping_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EarlyStopping | None | Unset, data)

        early_stopping = _parse_early_stopping(d.pop("early_stopping", UNSET))

        def _parse_eval_every(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        eval_every = _parse_eval_every(d.pop("eval_every", UNSET))

        gradient_accumulation_steps = d.pop("gradient_accumulation_steps", UNSET)

        def _parse_gradient_checkpointing(data: object) -> bool | TrainingPlanGradientCheckpointingType1 | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                gradient_checkpointing_type_1 = TrainingPlanGradientCheckpointingType1(data)

                return gradient_checkpointing_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(bool | TrainingPlanGradientCheckpointingType1 | Unset, data)

        gradient_checkpointing = _parse_gradient_checkpointing(d.pop("gradient_checkpointing", UNSET))

        lr_cycles = d.pop("lr_cycles", UNSET)

        lr_scheduler = d.pop("lr_scheduler", UNSET)

        max_grad_norm = d.pop("max_grad_norm", UNSET)

        def _parse_max_steps(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_steps = _parse_max_steps(d.pop("max_steps", UNSET))

        def _parse_n_checkpoints(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        n_checkpoints = _parse_n_checkpoints(d.pop("n_checkpoints", UNSET))

        def _parse_n_evals(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        n_evals = _parse_n_evals(d.pop("n_evals", UNSET))

        packing = d.pop("packing", UNSET)

        training_plan = cls(
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_multiplier=learning_rate_multiplier,
            max_seq_length=max_seq_length,
            n_epochs=n_epochs,
            seed=seed,
            warmup_ratio=warmup_ratio,
            weight_decay=weight_decay,
            beta=beta,
            checkpoint_every=checkpoint_every,
            class_weights=class_weights,
            early_stopping=early_stopping,
            eval_every=eval_every,
            gradient_accumulation_steps=gradient_accumulation_steps,
            gradient_checkpointing=gradient_checkpointing,
            lr_cycles=lr_cycles,
            lr_scheduler=lr_scheduler,
            max_grad_norm=max_grad_norm,
            max_steps=max_steps,
            n_checkpoints=n_checkpoints,
            n_evals=n_evals,
            packing=packing,
        )

        training_plan.additional_properties = d
        return training_plan

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
