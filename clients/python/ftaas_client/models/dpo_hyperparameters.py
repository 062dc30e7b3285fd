from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.dpo_hyperparameters_batch_size_type_0 import DpoHyperparametersBatchSizeType0
from ..models.dpo_hyperparameters_beta_type_0 import DpoHyperparametersBetaType0
from ..models.dpo_hyperparameters_class_weights_type_1 import DpoHyperparametersClassWeightsType1
from ..models.dpo_hyperparameters_class_weights_type_2_type_1 import DpoHyperparametersClassWeightsType2Type1
from ..models.dpo_hyperparameters_class_weights_type_3_type_1 import DpoHyperparametersClassWeightsType3Type1
from ..models.dpo_hyperparameters_gradient_checkpointing_type_0 import DpoHyperparametersGradientCheckpointingType0
from ..models.dpo_hyperparameters_learning_rate_multiplier_type_0 import DpoHyperparametersLearningRateMultiplierType0
from ..models.dpo_hyperparameters_lr_scheduler import DpoHyperparametersLrScheduler
from ..models.dpo_hyperparameters_max_seq_length_type_0 import DpoHyperparametersMaxSeqLengthType0
from ..models.dpo_hyperparameters_n_epochs_type_0 import DpoHyperparametersNEpochsType0
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.early_stopping import EarlyStopping


T = TypeVar("T", bound="DpoHyperparameters")


@_attrs_define
class DpoHyperparameters:
    """
    Attributes:
        batch_size (DpoHyperparametersBatchSizeType0 | int | Unset):  Default: DpoHyperparametersBatchSizeType0.AUTO.
        beta (DpoHyperparametersBetaType0 | float | Unset): How far the policy may move from the reference model (auto:
            0.1). Default: DpoHyperparametersBetaType0.AUTO.
        checkpoint_every (int | None | Unset): Write a checkpoint every this many steps.
        class_weights (DpoHyperparametersClassWeightsType1 | DpoHyperparametersClassWeightsType2Type1 |
            DpoHyperparametersClassWeightsType3Type1 | None | Unset): Classification only: weigh each class's loss by the
            inverse of its frequency.
        early_stopping (EarlyStopping | None | Unset):
        eval_every (int | None | Unset): Evaluate every this many steps; instead of n_evals.
        gradient_accumulation_steps (int | Unset): Batches whose gradients are summed before each optimizer step.
            Default: 1.
        gradient_checkpointing (bool | DpoHyperparametersGradientCheckpointingType0 | Unset): Recompute activations in
            the backward pass: less memory, ~30% slower. "auto": on only when one training example alone exceeds the
            worker's activation memory budget (larger batches are split into several forwards instead, which gives the same
            gradients). Default: DpoHyperparametersGradientCheckpointingType0.AUTO.
        learning_rate (float | None | Unset): Absolute peak learning rate; an alternative to learning_rate_multiplier.
        learning_rate_multiplier (DpoHyperparametersLearningRateMultiplierType0 | float | Unset):  Default:
            DpoHyperparametersLearningRateMultiplierType0.AUTO.
        lr_cycles (int | None | Unset): Restarts for lr_scheduler cosine_with_restarts (default 2).
        lr_scheduler (DpoHyperparametersLrScheduler | Unset):  Default: DpoHyperparametersLrScheduler.LINEAR.
        max_grad_norm (float | Unset): Gradient-norm clipping; 0 turns it off. Default: 1.0.
        max_seq_length (DpoHyperparametersMaxSeqLengthType0 | int | Unset):  Default:
            DpoHyperparametersMaxSeqLengthType0.AUTO.
        max_steps (int | None | Unset): Train for exactly this many optimizer steps (epochs repeat as needed); instead
            of n_epochs.
        n_checkpoints (int | None | Unset): Checkpoints to write, evenly spaced; a stopped job resumes from the latest.
        n_epochs (DpoHyperparametersNEpochsType0 | int | Unset):  Default: DpoHyperparametersNEpochsType0.AUTO.
        n_evals (int | None | Unset): Evaluations on the validation file, evenly spaced (default: one per epoch).
        packing (bool | Unset): Concatenate examples into rows without padding (chat, prompt/completion, text). Default:
            False.
        warmup_ratio (float | Unset):  Default: 0.0.
        weight_decay (float | Unset):  Default: 0.0.
    """

    batch_size: DpoHyperparametersBatchSizeType0 | int | Unset = DpoHyperparametersBatchSizeType0.AUTO
    beta: DpoHyperparametersBetaType0 | float | Unset = DpoHyperparametersBetaType0.AUTO
    checkpoint_every: int | None | Unset = UNSET
    class_weights: (
        DpoHyperparametersClassWeightsType1
        | DpoHyperparametersClassWeightsType2Type1
        | DpoHyperparametersClassWeightsType3Type1
        | None
        | Unset
    ) = UNSET
    early_stopping: EarlyStopping | None | Unset = UNSET
    eval_every: int | None | Unset = UNSET
    gradient_accumulation_steps: int | Unset = 1
    gradient_checkpointing: bool | DpoHyperparametersGradientCheckpointingType0 | Unset = (
        DpoHyperparametersGradientCheckpointingType0.AUTO
    )
    learning_rate: float | None | Unset = UNSET
    learning_rate_multiplier: DpoHyperparametersLearningRateMultiplierType0 | float | Unset = (
        DpoHyperparametersLearningRateMultiplierType0.AUTO
    )
    lr_cycles: int | None | Unset = UNSET
    lr_scheduler: DpoHyperparametersLrScheduler | Unset = DpoHyperparametersLrScheduler.LINEAR
    max_grad_norm: float | Unset = 1.0
    max_seq_length: DpoHyperparametersMaxSeqLengthType0 | int | Unset = DpoHyperparametersMaxSeqLengthType0.AUTO
    max_steps: int | None | Unset = UNSET
    n_checkpoints: int | None | Unset = UNSET
    n_epochs: DpoHyperparametersNEpochsType0 | int | Unset = DpoHyperparametersNEpochsType0.AUTO
    n_evals: int | None | Unset = UNSET
    packing: bool | Unset = False
    warmup_ratio: float | Unset = 0.0
    weight_decay: float | Unset = 0.0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.early_stopping import EarlyStopping  # noqa: PLC0415

        batch_size: int | str | Unset
        if isinstance(self.batch_size, Unset):
            batch_size = UNSET
        elif isinstance(self.batch_size, DpoHyperparametersBatchSizeType0):
            batch_size = self.batch_size.value
        else:
            batch_size = self.batch_size

        beta: float | str | Unset
        if isinstance(self.beta, Unset):
            beta = UNSET
        elif isinstance(self.beta, DpoHyperparametersBetaType0):
            beta = self.beta.value
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
        elif isinstance(self.class_weights, DpoHyperparametersClassWeightsType1):
            class_weights = self.class_weights.value
        elif isinstance(self.class_weights, DpoHyperparametersClassWeightsType2Type1):
            class_weights = self.class_weights.value
        elif isinstance(self.class_weights, DpoHyperparametersClassWeightsType3Type1):
            class_weights = self.class_weights.value
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
        elif isinstance(self.gradient_checkpointing, DpoHyperparametersGradientCheckpointingType0):
            gradient_checkpointing = self.gradient_checkpointing.value
        else:
            gradient_checkpointing = self.gradient_checkpointing

        learning_rate: float | None | Unset
        if isinstance(self.learning_rate, Unset):
            learning_rate = UNSET
        else:
            learning_rate = self.learning_rate

        learning_rate_multiplier: float | str | Unset
        if isinstance(self.learning_rate_multiplier, Unset):
            learning_rate_multiplier = UNSET
        elif isinstance(self.learning_rate_multiplier, DpoHyperparametersLearningRateMultiplierType0):
            learning_rate_multiplier = self.learning_rate_multiplier.value
        else:
            learning_rate_multiplier = self.learning_rate_multiplier

        lr_cycles: int | None | Unset
        if isinstance(self.lr_cycles, Unset):
            lr_cycles = UNSET
        else:
            lr_cycles = self.lr_cycles

        lr_scheduler: str | Unset = UNSET
        if not isinstance(self.lr_scheduler, Unset):
            lr_scheduler = self.lr_scheduler.value

        max_grad_norm = self.max_grad_norm

        max_seq_length: int | str | Unset
        if isinstance(self.max_seq_length, Unset):
            max_seq_length = UNSET
        elif isinstance(self.max_seq_length, DpoHyperparametersMaxSeqLengthType0):
            max_seq_length = self.max_seq_length.value
        else:
            max_seq_length = self.max_seq_length

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

        n_epochs: int | str | Unset
        if isinstance(self.n_epochs, Unset):
            n_epochs = UNSET
        elif isinstance(self.n_epochs, DpoHyperparametersNEpochsType0):
            n_epochs = self.n_epochs.value
        else:
            n_epochs = self.n_epochs

        n_evals: int | None | Unset
        if isinstance(self.n_evals, Unset):
            n_evals = UNSET
        else:
            n_evals = self.n_evals

        packing = self.packing

        warmup_ratio = self.warmup_ratio

        weight_decay = self.weight_decay

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if batch_size is not UNSET:
            field_dict["batch_size"] = batch_size
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
        if learning_rate is not UNSET:
            field_dict["learning_rate"] = learning_rate
        if learning_rate_multiplier is not UNSET:
            field_dict["learning_rate_multiplier"] = learning_rate_multiplier
        if lr_cycles is not UNSET:
            field_dict["lr_cycles"] = lr_cycles
        if lr_scheduler is not UNSET:
            field_dict["lr_scheduler"] = lr_scheduler
        if max_grad_norm is not UNSET:
            field_dict["max_grad_norm"] = max_grad_norm
        if max_seq_length is not UNSET:
            field_dict["max_seq_length"] = max_seq_length
        if max_steps is not UNSET:
            field_dict["max_steps"] = max_steps
        if n_checkpoints is not UNSET:
            field_dict["n_checkpoints"] = n_checkpoints
        if n_epochs is not UNSET:
            field_dict["n_epochs"] = n_epochs
        if n_evals is not UNSET:
            field_dict["n_evals"] = n_evals
        if packing is not UNSET:
            field_dict["packing"] = packing
        if warmup_ratio is not UNSET:
            field_dict["warmup_ratio"] = warmup_ratio
        if weight_decay is not UNSET:
            field_dict["weight_decay"] = weight_decay

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.early_stopping import EarlyStopping  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_batch_size(data: object) -> DpoHyperparametersBatchSizeType0 | int | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                batch_size_type_0 = DpoHyperparametersBatchSizeType0(data)

                return batch_size_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DpoHyperparametersBatchSizeType0 | int | Unset, data)

        batch_size = _parse_batch_size(d.pop("batch_size", UNSET))

        def _parse_beta(data: object) -> DpoHyperparametersBetaType0 | float | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                beta_type_0 = DpoHyperparametersBetaType0(data)

                return beta_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DpoHyperparametersBetaType0 | float | Unset, data)

        beta = _parse_beta(d.pop("beta", UNSET))

        def _parse_checkpoint_every(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        checkpoint_every = _parse_checkpoint_every(d.pop("checkpoint_every", UNSET))

        def _parse_class_weights(
            data: object,
        ) -> (
            DpoHyperparametersClassWeightsType1
            | DpoHyperparametersClassWeightsType2Type1
            | DpoHyperparametersClassWeightsType3Type1
            | None
            | Unset
        ):
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                class_weights_type_1 = DpoHyperparametersClassWeightsType1(data)

                return class_weights_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, str):
                    raise TypeError()
                class_weights_type_2_type_1 = DpoHyperparametersClassWeightsType2Type1(data)

                return class_weights_type_2_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, str):
                    raise TypeError()
                class_weights_type_3_type_1 = DpoHyperparametersClassWeightsType3Type1(data)

                return class_weights_type_3_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(
                DpoHyperparametersClassWeightsType1
                | DpoHyperparametersClassWeightsType2Type1
                | DpoHyperparametersClassWeightsType3Type1
                | None
                | Unset,
                data,
            )

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

        def _parse_gradient_checkpointing(data: object) -> bool | DpoHyperparametersGradientCheckpointingType0 | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                gradient_checkpointing_type_0 = DpoHyperparametersGradientCheckpointingType0(data)

                return gradient_checkpointing_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(bool | DpoHyperparametersGradientCheckpointingType0 | Unset, data)

        gradient_checkpointing = _parse_gradient_checkpointing(d.pop("gradient_checkpointing", UNSET))

        def _parse_learning_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        learning_rate = _parse_learning_rate(d.pop("learning_rate", UNSET))

        def _parse_learning_rate_multiplier(
            data: object,
        ) -> DpoHyperparametersLearningRateMultiplierType0 | float | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                learning_rate_multiplier_type_0 = DpoHyperparametersLearningRateMultiplierType0(data)

                return learning_rate_multiplier_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DpoHyperparametersLearningRateMultiplierType0 | float | Unset, data)

        learning_rate_multiplier = _parse_learning_rate_multiplier(d.pop("learning_rate_multiplier", UNSET))

        def _parse_lr_cycles(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        lr_cycles = _parse_lr_cycles(d.pop("lr_cycles", UNSET))

        _lr_scheduler = d.pop("lr_scheduler", UNSET)
        lr_scheduler: DpoHyperparametersLrScheduler | Unset
        if isinstance(_lr_scheduler, Unset):
            lr_scheduler = UNSET
        else:
            lr_scheduler = DpoHyperparametersLrScheduler(_lr_scheduler)

        max_grad_norm = d.pop("max_grad_norm", UNSET)

        def _parse_max_seq_length(data: object) -> DpoHyperparametersMaxSeqLengthType0 | int | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                max_seq_length_type_0 = DpoHyperparametersMaxSeqLengthType0(data)

                return max_seq_length_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DpoHyperparametersMaxSeqLengthType0 | int | Unset, data)

        max_seq_length = _parse_max_seq_length(d.pop("max_seq_length", UNSET))

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

        def _parse_n_epochs(data: object) -> DpoHyperparametersNEpochsType0 | int | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                n_epochs_type_0 = DpoHyperparametersNEpochsType0(data)

                return n_epochs_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DpoHyperparametersNEpochsType0 | int | Unset, data)

        n_epochs = _parse_n_epochs(d.pop("n_epochs", UNSET))

        def _parse_n_evals(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        n_evals = _parse_n_evals(d.pop("n_evals", UNSET))

        packing = d.pop("packing", UNSET)

        warmup_ratio = d.pop("warmup_ratio", UNSET)

        weight_decay = d.pop("weight_decay", UNSET)

        dpo_hyperparameters = cls(
            batch_size=batch_size,
            beta=beta,
            checkpoint_every=checkpoint_every,
            class_weights=class_weights,
            early_stopping=early_stopping,
            eval_every=eval_every,
            gradient_accumulation_steps=gradient_accumulation_steps,
            gradient_checkpointing=gradient_checkpointing,
            learning_rate=learning_rate,
            learning_rate_multiplier=learning_rate_multiplier,
            lr_cycles=lr_cycles,
            lr_scheduler=lr_scheduler,
            max_grad_norm=max_grad_norm,
            max_seq_length=max_seq_length,
            max_steps=max_steps,
            n_checkpoints=n_checkpoints,
            n_epochs=n_epochs,
            n_evals=n_evals,
            packing=packing,
            warmup_ratio=warmup_ratio,
            weight_decay=weight_decay,
        )

        dpo_hyperparameters.additional_properties = d
        return dpo_hyperparameters

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
