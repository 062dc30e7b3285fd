"""JobSpec: the one model of a fine-tuning request (OpenAI's create body plus ftaas extensions).

Torch-free: the API validates with it, the worker and `ftaas train` run with it.

Validation context (optional, given by the API): `allowed_models` (the catalog ids),
`known_files` (a mapping of the caller's file ids to their detected format, e.g. "chat") and, when
`model` names a fine-tuned model or checkpoint of the caller's, `starting_model` (its
jobs.records.StartingModel as a dict). With them, unknown models, missing files and files or
methods that do not suit the method or the starting model are reported in the same error list as
every other bad field. A continued job without a `training_type` inherits its starting model's. Without them
(`ftaas train` with local paths) the same file checks run once the files are read: see `file_format_problems`.
`compute_limits` (a ComputeLimits, from jobs.settings.Settings.compute_limits) adds what the deployment can
run: processes per node, and more than one node only with Kubeflow Trainer. `integrations_configured` (a set of
integration types, from jobs.settings.Settings.configured_integrations) refuses an integration the deployment lacks.
"""

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    StrictBool,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from jobs.ids import is_checkpoint_ref, is_file_id, is_fine_tuned_model_id

# "auto" defaults: chosen so that the default job learns a small chat task (a few hundred examples)
# in a minute or two on two CPU cores (tests/support/measure_task.py measures it). Documented in
# README.md ("What `auto` means").
# Small data sets learn more per CPU-second from many small updates than from few large ones: with
# 250 examples, batches of 2 (125 updates) learnt the test task every time, batches of 4 or 8 in one
# epoch only sometimes. Large data sets get larger batches, so an epoch stays near
# AUTO_MAX_STEPS_PER_EPOCH steps.
AUTO_BATCH_SIZE = 2
AUTO_MAX_BATCH_SIZE = 64
AUTO_MAX_STEPS_PER_EPOCH = 500
# Epochs: enough for at least AUTO_MIN_STEPS updates (a set of 200 or more examples gets one epoch).
AUTO_MIN_STEPS = 100
AUTO_MAX_EPOCHS = 10
AUTO_MIN_EPOCHS = 1
AUTO_MAX_SEQ_LENGTH = 1024
AUTO_DPO_BETA = 0.1
# Peak learning rate at learning_rate_multiplier 1, per method: adapters with few parameters take
# much larger steps than full fine-tuning. LoRA's was tuned with measure_task.py; the others follow
# the usual ratios in the methods' papers and peft's examples.
BASE_LEARNING_RATES = {
    "full": 5e-5,
    "lora": 1e-3,
    "qlora": 1e-3,
    "ia3": 5e-3,
    "prefix_tuning": 5e-3,
    "prompt_tuning": 3e-2,
}
# DPO moves a model that already answers well; the usual learning rates are about 10× below SFT's.
DPO_LEARNING_RATE_FACTOR = 0.1

# Which training-file formats (jobs/data/formats.py) each kind of method trains on.
SUPERVISED_FORMATS = ("chat", "prompt_completion", "text", "classification")
PACKABLE_FORMATS = ("chat", "prompt_completion", "text")
# Virtual tokens are prepended to every row, so examples packed into one row would share them.
UNPACKABLE_TRAINING_TYPES = ("prefix_tuning", "prompt_tuning")
# Classification trains a new head next to the method's parameters; prompt-learning methods have no place for it here.
CLASSIFICATION_TRAINING_TYPES = ("full", "lora", "qlora", "ia3")
# Methods whose parameters FSDP2 (compute.strategy "fsdp") cannot shard, and why; they need DDP.
UNSHARDABLE_TRAINING_TYPES = {
    "qlora": "bitsandbytes' 4-bit weights do not shard with FSDP2",
    "prefix_tuning": "peft keeps its virtual tokens outside the modules FSDP2 shards",
    "prompt_tuning": "peft keeps its virtual tokens outside the modules FSDP2 shards",
}
COMPUTE_STRATEGIES = ("auto", "ddp", "fsdp")
MAX_NODES = 1024
MAX_PROCS_PER_NODE = 1024


KEYWORDS = ("auto", "all-linear")  # what a field may say instead of a value (service/openapi_keywords.py)


def _keyword_or(keyword: str, value_type: Any, expected: str) -> Any:
    """A field that is either `keyword` (like "auto") or a value of `value_type`, with one clear error message."""
    message = f"must be '{keyword}' or {expected}"

    def validate(value: Any, handler: Any) -> Any:
        if isinstance(value, bool) and value_type is not StrictBool:  # JSON true/false must not pass as 1/0
            raise PydanticCustomError("invalid_value", message)
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError("invalid_value", message) from None

    return Annotated[Literal[keyword] | value_type, WrapValidator(validate)]


def _auto_or(value_type: Any, expected: str) -> Any:
    return _keyword_or("auto", value_type, expected)


Problem = tuple[tuple[str | int, ...], str]


def _reject(title: str, problems: list[Problem]) -> None:
    """Raise every cross-field problem at once, each at its own location (a plain raise reports only one)."""
    if problems:
        raise ValidationError.from_exception_data(
            title,
            [
                InitErrorDetails(type=PydanticCustomError("invalid_combination", message), loc=loc, input=None)
                for loc, message in problems
            ],
        )


class EarlyStopping(BaseModel):
    """Stop when the validation loss has not improved by `min_delta` for `patience` evaluations; keep the best weights."""

    model_config = ConfigDict(extra="forbid")
    patience: Annotated[int, Field(ge=1, le=100)] = 3
    min_delta: Annotated[float, Field(ge=0)] = 0.0


LR_SCHEDULERS = ("linear", "cosine", "constant", "cosine_with_restarts")


class Hyperparameters(BaseModel):
    """OpenAI's three hyper-parameters plus ftaas extras. Unset extras take the documented defaults."""

    model_config = ConfigDict(extra="forbid")

    n_epochs: _auto_or(Annotated[int, Field(ge=1, le=50)], "an integer from 1 to 50") = "auto"
    max_steps: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        None, description="Train for exactly this many optimizer steps (epochs repeat as needed); instead of n_epochs."
    )
    batch_size: _auto_or(Annotated[int, Field(ge=1, le=256)], "an integer from 1 to 256") = "auto"
    gradient_accumulation_steps: Annotated[int, Field(ge=1, le=1024)] = Field(
        1, description="Batches whose gradients are summed before each optimizer step."
    )
    learning_rate_multiplier: _auto_or(Annotated[float, Field(gt=0, le=100)], "a number above 0 and at most 100") = "auto"
    learning_rate: Annotated[float, Field(gt=0, lt=1)] | None = Field(
        None, description="Absolute peak learning rate; an alternative to learning_rate_multiplier."
    )
    lr_scheduler: Literal[LR_SCHEDULERS] = "linear"
    lr_cycles: Annotated[int, Field(ge=1, le=100)] | None = Field(
        None, description="Restarts for lr_scheduler cosine_with_restarts (default 2)."
    )
    warmup_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.0
    weight_decay: Annotated[float, Field(ge=0, le=1)] = 0.0
    max_grad_norm: Annotated[float, Field(ge=0)] = Field(1.0, description="Gradient-norm clipping; 0 turns it off.")
    max_seq_length: _auto_or(Annotated[int, Field(ge=32, le=32768)], "an integer from 32 to 32768") = "auto"
    packing: bool = Field(False, description="Concatenate examples into rows without padding (chat, prompt/completion, text).")
    gradient_checkpointing: _auto_or(StrictBool, "true or false") = Field(
        "auto", description="Recompute activations in the backward pass: less memory, ~30% slower. \"auto\": on only "
        "when one training example alone exceeds the worker's activation memory budget (larger batches are split "
        "into several forwards instead, which gives the same gradients).",
    )
    n_evals: Annotated[int, Field(ge=1, le=1000)] | None = Field(
        None, description="Evaluations on the validation file, evenly spaced (default: one per epoch)."
    )
    eval_every: Annotated[int, Field(ge=1)] | None = Field(None, description="Evaluate every this many steps; instead of n_evals.")
    early_stopping: EarlyStopping | None = None
    n_checkpoints: Annotated[int, Field(ge=1, le=100)] | None = Field(
        None, description="Checkpoints to write, evenly spaced; a stopped job resumes from the latest."
    )
    checkpoint_every: Annotated[int, Field(ge=1)] | None = Field(None, description="Write a checkpoint every this many steps.")
    class_weights: Literal["balanced"] | None = Field(
        None, description="Classification only: weigh each class's loss by the inverse of its frequency."
    )

    @model_validator(mode="after")
    def _no_conflicts(self) -> "Hyperparameters":
        problems: list[Problem] = []
        if self.learning_rate is not None and self.learning_rate_multiplier != "auto":
            problems.append((("learning_rate",), "give learning_rate or learning_rate_multiplier, not both"))
        if self.max_steps is not None and self.n_epochs != "auto":
            problems.append((("max_steps",), "give n_epochs or max_steps, not both"))
        if self.n_evals is not None and self.eval_every is not None:
            problems.append((("eval_every",), "give n_evals or eval_every, not both"))
        if self.n_checkpoints is not None and self.checkpoint_every is not None:
            problems.append((("checkpoint_every",), "give n_checkpoints or checkpoint_every, not both"))
        if self.lr_cycles is not None and self.lr_scheduler != "cosine_with_restarts":
            problems.append((("lr_cycles",), "lr_cycles applies only to lr_scheduler 'cosine_with_restarts'"))
        _reject("Hyperparameters", problems)
        return self


class DpoHyperparameters(Hyperparameters):
    beta: _auto_or(Annotated[float, Field(gt=0, le=10)], "a number above 0 and at most 10") = Field(
        "auto", description="How far the policy may move from the reference model (auto: 0.1)."
    )


class SupervisedMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)


class DpoMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hyperparameters: DpoHyperparameters = Field(default_factory=DpoHyperparameters)


class Method(BaseModel):
    """OpenAI's `method`: supervised fine-tuning, or direct preference optimisation on preference pairs."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["supervised", "dpo"] = "supervised"
    supervised: SupervisedMethod | None = None
    dpo: DpoMethod | None = None

    @model_validator(mode="after")
    def _settings_match_type(self) -> "Method":
        other = "dpo" if self.type == "supervised" else "supervised"
        if getattr(self, other) is not None:
            raise PydanticCustomError(
                "conflict", "method.{other} is given but method.type is '{type}'", {"other": other, "type": self.type}
            )
        return self

    @property
    def hyperparameters(self) -> Hyperparameters | None:
        settings = self.dpo if self.type == "dpo" else self.supervised
        return settings.hyperparameters if settings is not None else None


_MODULE_LIST = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


class Freeze(BaseModel):
    """What stays fixed in full fine-tuning: embeddings plus the first `layers` decoder layers, or all but the head."""

    model_config = ConfigDict(extra="forbid")
    layers: Annotated[int, Field(ge=0, le=1000)] = Field(0, description="Freeze the embeddings and the first K decoder layers.")
    head_only: bool = Field(False, description="Train only the output head (feature extraction).")

    @model_validator(mode="after")
    def _one_choice(self) -> "Freeze":
        if self.head_only and self.layers:
            raise PydanticCustomError("conflict", "give freeze.layers or freeze.head_only, not both")
        return self


class GradualUnfreezing(BaseModel):
    """Start with only the head trainable; unfreeze one more decoder layer from the top at each interval."""

    model_config = ConfigDict(extra="forbid")
    every_steps: Annotated[int, Field(ge=1)] | None = None
    every_epochs: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _one_interval(self) -> "GradualUnfreezing":
        if (self.every_steps is None) == (self.every_epochs is None):
            raise PydanticCustomError("conflict", "give exactly one of every_steps or every_epochs")
        return self


class FullTraining(BaseModel):
    """Every weight of the model (or all but the frozen ones); saves the whole model."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["full"]
    freeze: Freeze | None = None
    layerwise_lr_decay: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None, description="Each layer's learning rate = base × decay^(distance from the top layer)."
    )
    gradual_unfreezing: GradualUnfreezing | None = None

    @model_validator(mode="after")
    def _head_only_has_no_layers(self) -> "FullTraining":
        if self.freeze is not None and self.freeze.head_only:
            _reject(
                "FullTraining",
                [((name,), f"{name} needs trainable decoder layers; freeze.head_only trains only the head")
                 for name in ("layerwise_lr_decay", "gradual_unfreezing") if getattr(self, name) is not None],
            )
        return self


class LoraTraining(BaseModel):
    """Low-rank adapters on a frozen base model (peft)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["lora"] = "lora"
    r: Annotated[int, Field(ge=1, le=1024)] = 16
    alpha: Annotated[float, Field(gt=0)] = 32
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0
    target_modules: _keyword_or("all-linear", _MODULE_LIST, "a non-empty list of module names") = "all-linear"
    use_rslora: bool = Field(False, description="Scale by alpha/sqrt(r) instead of alpha/r (rank-stabilised LoRA).")
    use_dora: bool = Field(False, description="Weight-decomposed LoRA: learn each weight's magnitude separately.")


class QloraTraining(LoraTraining):
    """LoRA on a base model loaded in 4-bit NF4 with double quantisation (bitsandbytes)."""

    type: Literal["qlora"]
    compute_dtype: Literal["auto", "bfloat16", "float32"] = Field(
        "auto", description="dtype of the 4-bit layers' matmuls (auto: bfloat16 on CUDA, float32 on CPU)."
    )


class Ia3Training(BaseModel):
    """(IA)³: learned vectors that rescale keys, values and feed-forward activations (peft)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["ia3"]
    target_modules: _keyword_or("auto", _MODULE_LIST, "a non-empty list of module names") = "auto"
    feedforward_modules: _keyword_or("auto", _MODULE_LIST, "a non-empty list of module names") = "auto"

    @model_validator(mode="after")
    def _feedforward_within_targets(self) -> "Ia3Training":
        if self.target_modules == "auto" and self.feedforward_modules != "auto":
            raise PydanticCustomError("conflict", "feedforward_modules needs an explicit target_modules list")
        if isinstance(self.target_modules, list) and isinstance(self.feedforward_modules, list):
            outside = sorted(set(self.feedforward_modules) - set(self.target_modules))
            if outside:
                raise PydanticCustomError(
                    "conflict", "feedforward_modules must be among target_modules: {outside}", {"outside": ", ".join(outside)}
                )
        if isinstance(self.target_modules, list) and self.feedforward_modules == "auto":
            raise PydanticCustomError("conflict", "with a target_modules list, list the feedforward_modules among them too")
        return self


class PrefixTuning(BaseModel):
    """Trained key/value prefixes in every attention layer; the model's weights stay frozen (peft)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["prefix_tuning"]
    num_virtual_tokens: Annotated[int, Field(ge=1, le=512)] = 20


class PromptTuning(BaseModel):
    """Trained soft-prompt embeddings prepended to the input; the model's weights stay frozen (peft)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["prompt_tuning"]
    num_virtual_tokens: Annotated[int, Field(ge=1, le=512)] = 20
    init_text: Annotated[str, Field(min_length=1, max_length=2000)] | None = Field(
        None, description="Initialise the soft prompt from this text's token embeddings (default: random)."
    )


TRAINING_TYPE_MODELS: dict[str, type[BaseModel]] = {
    "full": FullTraining,
    "lora": LoraTraining,
    "qlora": QloraTraining,
    "ia3": Ia3Training,
    "prefix_tuning": PrefixTuning,
    "prompt_tuning": PromptTuning,
}
TRAINING_TYPES = tuple(TRAINING_TYPE_MODELS)


def _by_type(value: Any, handler: Any) -> Any:
    """Validate with the model its `type` names (lora when absent); errors stay at training_type.<field>."""
    if not isinstance(value, dict):
        return handler(value)
    tag = value.get("type", "lora")
    if not isinstance(tag, str) or tag not in TRAINING_TYPE_MODELS:  # a list or an object is no type name
        raise PydanticCustomError(
            "unknown_training_type",
            "unknown training_type.type '{tag}'; available: {available}",
            {"tag": str(tag), "available": ", ".join(TRAINING_TYPES)},
        )
    return TRAINING_TYPE_MODELS[tag].model_validate({**value, "type": tag})


TrainingType = Annotated[
    FullTraining | LoraTraining | QloraTraining | Ia3Training | PrefixTuning | PromptTuning,
    Field(discriminator="type"),
    WrapValidator(_by_type),
]


class Compute(BaseModel):
    """Where a job trains: training processes per node (torchrun) and nodes (more than one: Kubeflow Trainer)."""

    model_config = ConfigDict(extra="forbid")
    num_nodes: Annotated[int, Field(strict=True, ge=1, le=MAX_NODES)] = Field(
        1, description="Machines to train on; more than one runs the job as a Kubeflow Trainer TrainJob."
    )
    num_proc_per_node: _auto_or(
        Annotated[int, Field(strict=True, ge=1, le=MAX_PROCS_PER_NODE)], f"an integer from 1 to {MAX_PROCS_PER_NODE}"
    ) = Field("auto", description="Training processes on each node (auto: one per accelerator, one on CPU).")
    strategy: Literal[COMPUTE_STRATEGIES] = Field(
        "auto", description="How the processes share the work: ddp (each holds the whole model), fsdp (FSDP2 shards "
        "parameters, gradients and optimizer state), or auto (FSDP2 for full fine-tuning; DDP for the adapter methods, "
        "FSDP2 where the base model takes more than half of one accelerator)."
    )


def _wandb_name(value: str) -> str:
    if any(c in value for c in "/\\#?%:"):  # W&B refuses these in project and entity names
        raise PydanticCustomError("invalid_name", "must not contain any of / \\ # ? % :")
    return value


_WANDB_NAME = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_wandb_name)]


class WandbSettings(BaseModel):
    """OpenAI's `wandb` settings (the SDK's FineTuningJobWandbIntegration), sent to the W&B server the deployment
    configures (FTAAS_WANDB_API_KEY, FTAAS_WANDB_BASE_URL)."""

    model_config = ConfigDict(extra="forbid")
    project: _WANDB_NAME = Field(description="The W&B project the run is created in.")
    name: Annotated[str, Field(min_length=1, max_length=128)] | None = Field(
        None, description="The run's display name (default: the job id).")
    entity: _WANDB_NAME | None = Field(None, description="The W&B team or user (default: the API key's).")
    tags: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=50)] | None = Field(
        None, description="Tags for the run, besides ftaas's own (ftaas/finetune, ftaas/{base model}, ftaas/{job id}).")


class WandbIntegration(BaseModel):
    """OpenAI's W&B integration object."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["wandb"]
    wandb: WandbSettings


class MlflowSettings(BaseModel):
    """Where in the deployment's MLflow tracking server (FTAAS_MLFLOW_TRACKING_URI) a job's run goes."""

    model_config = ConfigDict(extra="forbid")
    experiment: Annotated[str, Field(min_length=1, max_length=256)] = Field(
        description="The MLflow experiment, by name (created when it does not exist).")
    run_name: Annotated[str, Field(min_length=1, max_length=256)] | None = Field(
        None, description="The run's name (default: the job id).")
    tags: Annotated[dict[Annotated[str, Field(min_length=1, max_length=250)], Annotated[str, Field(max_length=5000)]],
                    Field(max_length=50)] | None = Field(None, description="Tags for the run, besides ftaas's own (ftaas.*).")


class MlflowIntegration(BaseModel):
    """ftaas extension: track the job in a self-hosted MLflow server (params, per-step metrics, artifacts)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["mlflow"]
    mlflow: MlflowSettings


INTEGRATION_MODELS: dict[str, type[BaseModel]] = {"wandb": WandbIntegration, "mlflow": MlflowIntegration}
# The setting that makes each integration available: a job asking for one the deployment lacks is refused.
INTEGRATION_SETTINGS = {
    "wandb": "FTAAS_WANDB_API_KEY (Helm: integrations.wandb.apiKey)",
    "mlflow": "FTAAS_MLFLOW_TRACKING_URI (Helm: integrations.mlflow.trackingUri)",
}


def _integration_by_type(value: Any, handler: Any) -> Any:
    """Validate with the model its `type` names; an unknown type names the ones there are."""
    if isinstance(value, dict):
        tag = value.get("type")
        if not isinstance(tag, str) or tag not in INTEGRATION_MODELS:
            raise PydanticCustomError(
                "unknown_integration_type", "unknown integration type {tag}; available: {available}",
                {"tag": repr(tag)[:80], "available": ", ".join(INTEGRATION_MODELS)},
            )
        return INTEGRATION_MODELS[tag].model_validate(value)
    return handler(value)


Integration = Annotated[WandbIntegration | MlflowIntegration, Field(discriminator="type"), WrapValidator(_integration_by_type)]


@dataclass(frozen=True)
class ComputeLimits:
    """What a deployment can run (jobs.settings.Settings.compute_limits)."""

    worker_procs_per_node: int  # training processes one worker may start for a job
    kubeflow_procs_per_node: int | None  # per Kubeflow training node; None: Kubeflow Trainer is not configured


def _changes_what_trains(training_type: Any) -> bool:
    """Gradual unfreezing makes more parameters trainable as training goes, which DDP cannot follow."""
    return getattr(training_type, "gradual_unfreezing", None) is not None


def compute_problems(compute: Compute, training_type: Any, limits: ComputeLimits | None) -> list[Problem]:
    """Why `compute` cannot train `training_type` (a TrainingType model, None when it was invalid itself), or
    cannot run on a deployment with these limits (locations within `compute`)."""
    problems: list[Problem] = []
    kind = training_type.type if training_type is not None else None
    unshardable = UNSHARDABLE_TRAINING_TYPES.get(kind)
    if compute.strategy == "fsdp" and unshardable:
        problems.append((("strategy",), f"strategy 'fsdp' cannot train {kind}: {unshardable}; "
                         "use strategy 'ddp' or 'auto'"))
    if compute.num_proc_per_node not in ("auto", 1) and _changes_what_trains(training_type):
        problems.append((("num_proc_per_node",), "gradual_unfreezing trains in one process (DDP cannot follow "
                         "parameters that become trainable mid-run); use num_proc_per_node 1 or 'auto'"))
    if limits is None:
        return problems
    across_nodes = compute.num_nodes > 1
    if across_nodes and limits.kubeflow_procs_per_node is None:
        problems.append((("num_nodes",), f"training across {compute.num_nodes} nodes needs Kubeflow Trainer, which "
                         "this deployment has not configured; use num_nodes 1, or ask its operator to install Kubeflow "
                         "Trainer and set FTAAS_KUBEFLOW_ENABLED=true (Helm: kubeflow.enabled; docs/deploy.md)"))
    if compute.num_proc_per_node != "auto":
        if across_nodes and limits.kubeflow_procs_per_node is not None:
            limit, where = limits.kubeflow_procs_per_node, "each Kubeflow training node of this deployment runs"
        else:
            limit, where = limits.worker_procs_per_node, "this deployment's workers run"
        if compute.num_proc_per_node > limit:
            problems.append((("num_proc_per_node",), f"{where} at most {limit} training "
                             f"process{'es' if limit > 1 else ''} per node; ask for {limit} or fewer, or 'auto'"))
    return problems


def sharding_strategy(compute: Compute, training_type: Any, model_fits_one_device: bool = True) -> str:
    """What a job's processes train with: the strategy it asks for, or for "auto" FSDP2 for full fine-tuning
    (every weight has gradients and two optimizer moments: sharding them is what lets a large model fit) and
    DDP for the other methods (their trained parameters are small; each rank keeps the whole model), unless the
    base model does not fit one accelerator beside its training (jobs.training.memory.fits_one_accelerator):
    then FSDP2 for the methods it can shard."""
    if compute.strategy != "auto":
        return compute.strategy
    if training_type.type == "full":
        return "fsdp"
    if not model_fits_one_device and training_type.type not in UNSHARDABLE_TRAINING_TYPES:
        return "fsdp"
    return "ddp"


def processes_per_node(compute: Compute, training_type: Any, available: int) -> int:
    """How many processes train a job on one node with `available` accelerators (1 on CPU): the number it
    asks for, or for "auto" every accelerator; one where the method changes what trains mid-run."""
    if _changes_what_trains(training_type):
        return 1
    return available if compute.num_proc_per_node == "auto" else compute.num_proc_per_node


def continuation_problems(spec: "JobSpec", starting: dict, training_format: str | None) -> list[Problem]:
    """Why `spec` cannot continue training `starting` (a StartingModel dict): continuing trains the same
    kind of model further, on the same kind of task; an adapter keeps its shape."""
    problems: list[Problem] = []
    given, inherited = spec.training_type.model_dump(), starting["training_type"]
    name = starting["id"]
    if given["type"] != inherited["type"]:
        problems.append((("training_type", "type"), f"{name} was trained with {inherited['type']}; continuing it trains "
                         f"the same {inherited['type']} model further, so training_type.type must be {inherited['type']} "
                         "(or leave training_type out to inherit it)"))
    elif given["type"] != "full":
        for field, value in given.items():  # the given fields over the inherited ones (see _inherit_training_type)
            if field in inherited and inherited[field] != value:
                problems.append((("training_type", field), f"{name}'s adapter has {field}={inherited[field]!r}, not "
                                 f"{value!r}; a continued "
                                 "adapter keeps its settings (leave training_type out to inherit them)"))
    if training_format is not None and (training_format == "classification") != (starting["task_format"] == "classification"):
        problems.append((("training_file",), f"{name} was trained on {starting['task_format']} examples and cannot "
                         f"continue on a {training_format} file"))
    return problems


def file_format_problems(spec: "JobSpec", training_format: str | None, validation_format: str | None) -> list[Problem]:
    """Why the files' formats (jobs/data/formats.py) do not suit the spec's method, if they do not."""
    problems: list[Problem] = []
    hp = spec.effective_hyperparameters
    method = spec.method_type
    if training_format is not None:
        if method == "dpo" and training_format != "preference":
            problems.append((("training_file",), f"method 'dpo' trains on preference examples "
                             f"({{\"input\", \"preferred_output\", \"non_preferred_output\"}}); this is a {training_format} file"))
        if method == "supervised" and training_format == "preference":
            problems.append((("training_file",), "this is a preference file; train on it with method.type 'dpo' "
                             "(supervised fine-tuning needs chat, prompt/completion, text or classification examples)"))
        if hp.packing and training_format not in PACKABLE_FORMATS:
            problems.append((("hyperparameters", "packing"), f"packing applies to {', '.join(PACKABLE_FORMATS)} files; this is a {training_format} file"))
        if hp.class_weights is not None and training_format != "classification":
            problems.append((("hyperparameters", "class_weights"), f"class_weights applies to classification files "
                             f"({{\"text\", \"label\"}}); this is a {training_format} file"))
        if training_format == "classification" and spec.training_type.type not in CLASSIFICATION_TRAINING_TYPES:
            problems.append((("training_type", "type"), f"classification trains with {', '.join(CLASSIFICATION_TRAINING_TYPES)}, "
                             f"not {spec.training_type.type}"))
    if training_format is not None and validation_format is not None and validation_format != training_format:
        problems.append((("validation_file",), f"the validation file is a {validation_format} file but the training file is a {training_format} file"))
    return problems


class JobSpec(BaseModel):
    """A fine-tuning request, as `POST /v1/fine_tuning/jobs` takes it and `ftaas train` reads it."""

    model_config = ConfigDict(extra="forbid")

    model: Annotated[str, Field(
        min_length=1,
        description="A base model id from the catalog (GET /v1/models), or, to continue training, one of your fine-tuned "
        "model ids (ft:…) or checkpoints (ftckpt-… or its ft:…:ckpt-step-N name).",
    )]
    training_file: Annotated[str, Field(min_length=1, description="A file id (or a local path for `ftaas train`).")]
    validation_file: str | None = None
    suffix: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")] | None = None
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    metadata: Annotated[dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=512)]], Field(max_length=16)] | None = None
    hyperparameters: Hyperparameters | None = None
    method: Method | None = None
    training_type: TrainingType = Field(default_factory=LoraTraining)
    compute: Compute = Field(default_factory=Compute)
    integrations: Annotated[list[Integration], Field(max_length=8)] | None = Field(  # one of each type
        None, description="Experiment trackers the run reports to: OpenAI's W&B integration, and (extension) MLflow. "
        "Each needs the deployment to have configured it.",
    )

    @model_validator(mode="before")
    @classmethod
    def _inherit_training_type(cls, data: Any, info: ValidationInfo) -> Any:
        starting = (info.context or {}).get("starting_model")
        if starting is None or not isinstance(data, dict) or data.get("model") != starting["id"]:
            return data
        given, inherited = data.get("training_type"), starting["training_type"]
        if given is None:
            return {**data, "training_type": inherited}
        if isinstance(given, dict) and given.get("type", "lora") == inherited["type"] != "full":
            # A continued adapter keeps its settings: the given ones go over them (and must equal them).
            return {**data, "training_type": {**inherited, **given}}
        return data

    @field_validator("model")
    @classmethod
    def _model_in_catalog(cls, model: str, info: ValidationInfo) -> str:
        context = info.context or {}
        allowed = context.get("allowed_models")
        starting = context.get("starting_model")
        if allowed is None or model in allowed or (starting is not None and starting["id"] == model):
            return model
        if is_fine_tuned_model_id(model) or is_checkpoint_ref(model):
            raise PydanticCustomError(
                "model_not_found",
                "no fine-tuned model or checkpoint '{model}' of yours to continue training; GET /v1/models lists your "
                "models and GET /v1/fine_tuning/jobs/JOB_ID/checkpoints a job's checkpoints",
                {"model": model},
            )
        raise PydanticCustomError(
            "model_not_found",
            "unknown model '{model}'; allowed: {allowed}",
            {"model": model, "allowed": ", ".join(sorted(allowed))},
        )

    @field_validator("training_file", "validation_file")
    @classmethod
    def _file_exists(cls, file_id: str | None, info: ValidationInfo) -> str | None:
        known = (info.context or {}).get("known_files")
        if file_id is not None and known is not None and not is_file_id(file_id):
            raise PydanticCustomError(
                "invalid_file_id", "{shown} is not a file id (file-…); upload the file with POST /v1/files and "
                "use the id it returns", {"shown": repr(file_id)[:80]},
            )
        if file_id is not None and known is not None and file_id not in known:
            raise PydanticCustomError(
                "file_not_found", "no file '{file_id}'; upload it first with POST /v1/files", {"file_id": file_id}
            )
        return file_id

    @field_validator("compute")
    @classmethod
    def _compute_fits(cls, compute: Compute, info: ValidationInfo) -> Compute:
        # A field validator, so these problems are listed with every other field's.
        training_type = info.data.get("training_type")  # absent when it was invalid itself
        _reject("Compute", compute_problems(compute, training_type, (info.context or {}).get("compute_limits")))
        return compute

    @field_validator("integrations")
    @classmethod
    def _integrations_available(cls, integrations: list | None, info: ValidationInfo) -> list | None:
        configured = (info.context or {}).get("integrations_configured")
        problems: list[Problem] = []
        seen: set[str] = set()
        for i, integration in enumerate(integrations or []):
            if integration.type in seen:
                problems.append(((i, "type"), f"at most one {integration.type} integration per job"))
            seen.add(integration.type)
            if configured is not None and integration.type not in configured:
                problems.append(((i, "type"), f"the {integration.type} integration is not configured on this "
                                 f"deployment; ask its operator to set {INTEGRATION_SETTINGS[integration.type]}"))
        _reject("Integrations", problems)
        return integrations

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> "JobSpec":
        problems: list[Problem] = []
        if self.hyperparameters is not None and self.method is not None and self.method.hyperparameters is not None:
            problems.append((("hyperparameters",), "give hyperparameters either at the top level or in method, not both"))
        if self.hyperparameters is not None and self.method_type == "dpo":
            problems.append((("hyperparameters",), "with method.type 'dpo', give hyperparameters in method.dpo.hyperparameters"))
        hp = self.effective_hyperparameters
        if hp.packing and self.training_type.type in UNPACKABLE_TRAINING_TYPES:
            problems.append((("hyperparameters", "packing"), f"packing is not possible with {self.training_type.type}: "
                             "its virtual tokens would be shared by the examples packed into one row"))
        if hp.packing and self.method_type == "dpo":
            problems.append((("hyperparameters", "packing"), "packing is not possible with method 'dpo'"))
        if self.validation_file is None:
            for name in ("early_stopping", "n_evals", "eval_every"):
                if getattr(hp, name) is not None:
                    problems.append((("hyperparameters", name), f"{name} needs a validation_file"))
        known = (info.context or {}).get("known_files")
        if isinstance(known, dict):
            problems += file_format_problems(self, known.get(self.training_file), known.get(self.validation_file))
        starting = (info.context or {}).get("starting_model")
        if starting is not None and starting["id"] == self.model:
            problems += continuation_problems(self, starting, known.get(self.training_file) if isinstance(known, dict) else None)
        _reject("JobSpec", problems)
        return self

    @property
    def method_type(self) -> str:
        return self.method.type if self.method is not None else "supervised"

    @property
    def effective_hyperparameters(self) -> Hyperparameters:
        if self.method is not None and self.method.hyperparameters is not None:
            return self.method.hyperparameters
        if self.method_type == "dpo":
            return DpoHyperparameters()
        return self.hyperparameters or Hyperparameters()

    def resolve(self, n_examples: int) -> "TrainingPlan":
        """Turn every "auto" into a number, given the size of the training set."""
        hp = self.effective_hyperparameters
        if hp.batch_size == "auto":
            grown = min(AUTO_MAX_BATCH_SIZE, math.ceil(n_examples / AUTO_MAX_STEPS_PER_EPOCH))
            batch_size = min(n_examples, max(AUTO_BATCH_SIZE, grown))
        else:
            batch_size = hp.batch_size
        examples_per_step = batch_size * hp.gradient_accumulation_steps
        if hp.max_steps is not None:
            n_epochs = math.ceil(hp.max_steps / math.ceil(n_examples / examples_per_step))
        elif hp.n_epochs == "auto":
            steps_per_epoch = math.ceil(n_examples / examples_per_step)
            n_epochs = min(AUTO_MAX_EPOCHS, max(AUTO_MIN_EPOCHS, math.ceil(AUTO_MIN_STEPS / steps_per_epoch)))
        else:
            n_epochs = hp.n_epochs
        base_learning_rate = BASE_LEARNING_RATES[self.training_type.type]
        if self.method_type == "dpo":
            base_learning_rate *= DPO_LEARNING_RATE_FACTOR
        multiplier = 1.0 if hp.learning_rate_multiplier == "auto" else hp.learning_rate_multiplier
        learning_rate = hp.learning_rate if hp.learning_rate is not None else base_learning_rate * multiplier
        beta = getattr(hp, "beta", None)
        return TrainingPlan(
            n_epochs=n_epochs,
            max_steps=hp.max_steps,
            batch_size=batch_size,
            gradient_accumulation_steps=hp.gradient_accumulation_steps,
            learning_rate=learning_rate,
            learning_rate_multiplier=learning_rate / base_learning_rate,
            lr_scheduler=hp.lr_scheduler,
            lr_cycles=hp.lr_cycles or (2 if hp.lr_scheduler == "cosine_with_restarts" else 1),
            warmup_ratio=hp.warmup_ratio,
            weight_decay=hp.weight_decay,
            max_grad_norm=hp.max_grad_norm,
            max_seq_length=AUTO_MAX_SEQ_LENGTH if hp.max_seq_length == "auto" else hp.max_seq_length,
            packing=hp.packing,
            gradient_checkpointing=hp.gradient_checkpointing,
            n_evals=hp.n_evals,
            eval_every=hp.eval_every,
            early_stopping=hp.early_stopping,
            n_checkpoints=hp.n_checkpoints,
            checkpoint_every=hp.checkpoint_every,
            class_weights=hp.class_weights,
            beta=(AUTO_DPO_BETA if beta == "auto" else beta) if self.method_type == "dpo" else None,
            seed=self.seed if self.seed is not None else 0,
        )


class TrainingPlan(BaseModel):
    """The hyper-parameters a run actually uses: no "auto" left."""

    n_epochs: int
    max_steps: int | None = None
    batch_size: int
    gradient_accumulation_steps: int = 1
    learning_rate: float
    learning_rate_multiplier: float
    lr_scheduler: str = "linear"
    lr_cycles: int = 1
    warmup_ratio: float
    weight_decay: float
    max_grad_norm: float = 1.0
    max_seq_length: int
    packing: bool = False
    gradient_checkpointing: bool | Literal["auto"] = "auto"
    n_evals: int | None = None
    eval_every: int | None = None
    early_stopping: EarlyStopping | None = None
    n_checkpoints: int | None = None
    checkpoint_every: int | None = None
    class_weights: str | None = None
    beta: float | None = None
    seed: int
