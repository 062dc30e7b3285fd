"""JobSpec: the one model of a fine-tuning request (OpenAI's create body plus ftaas extensions).

Torch-free: the API validates with it, the worker and `ftaas train` run with it.

Validation context (optional, given by the API): `allowed_models` (the catalog ids) and
`known_files` (file ids that exist for the caller's tenant). With them, unknown models and missing
files are reported in the same error list as every other bad field.
"""

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

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
LORA_BASE_LEARNING_RATE = 1e-3


def _keyword_or(keyword: str, value_type: Any, expected: str) -> Any:
    """A field that is either `keyword` (like "auto") or a value of `value_type`, with one clear error message."""
    message = f"must be '{keyword}' or {expected}"

    def validate(value: Any, handler: Any) -> Any:
        if isinstance(value, bool):  # JSON true/false must not pass as 1/0
            raise PydanticCustomError("invalid_value", message)
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError("invalid_value", message) from None

    return Annotated[Literal[keyword] | value_type, WrapValidator(validate)]


def _auto_or(value_type: Any, expected: str) -> Any:
    return _keyword_or("auto", value_type, expected)


class Hyperparameters(BaseModel):
    """OpenAI's three hyper-parameters plus ftaas extras. Unset extras take the documented defaults."""

    model_config = ConfigDict(extra="forbid")

    n_epochs: _auto_or(Annotated[int, Field(ge=1, le=50)], "an integer from 1 to 50") = "auto"
    batch_size: _auto_or(Annotated[int, Field(ge=1, le=256)], "an integer from 1 to 256") = "auto"
    learning_rate_multiplier: _auto_or(Annotated[float, Field(gt=0, le=100)], "a number above 0 and at most 100") = "auto"
    learning_rate: Annotated[float, Field(gt=0, lt=1)] | None = Field(
        None, description="Absolute peak learning rate; an alternative to learning_rate_multiplier."
    )
    max_seq_length: _auto_or(Annotated[int, Field(ge=32, le=32768)], "an integer from 32 to 32768") = "auto"
    warmup_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.0
    weight_decay: Annotated[float, Field(ge=0, le=1)] = 0.0

    @model_validator(mode="after")
    def _one_learning_rate(self) -> "Hyperparameters":
        if self.learning_rate is not None and self.learning_rate_multiplier != "auto":
            raise PydanticCustomError(
                "conflict", "give learning_rate or learning_rate_multiplier, not both"
            )
        return self


class SupervisedMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)


class Method(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["supervised"] = "supervised"
    supervised: SupervisedMethod | None = None


class LoraTraining(BaseModel):
    """Low-rank adapters on a frozen base model (peft)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["lora"] = "lora"
    r: Annotated[int, Field(ge=1, le=1024)] = 16
    alpha: Annotated[float, Field(gt=0)] = 32
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0
    target_modules: _keyword_or(
        "all-linear", Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)],
        "a non-empty list of module names",
    ) = "all-linear"


TrainingType = LoraTraining


class JobSpec(BaseModel):
    """A fine-tuning request, as `POST /v1/fine_tuning/jobs` takes it and `ftaas train` reads it."""

    model_config = ConfigDict(extra="forbid")

    model: Annotated[str, Field(min_length=1, description="A base model id from the catalog (GET /v1/models).")]
    training_file: Annotated[str, Field(min_length=1, description="A file id (or a local path for `ftaas train`).")]
    validation_file: str | None = None
    suffix: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")] | None = None
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    metadata: Annotated[dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=512)]], Field(max_length=16)] | None = None
    hyperparameters: Hyperparameters | None = None
    method: Method | None = None
    training_type: TrainingType = Field(default_factory=LoraTraining)

    @field_validator("model")
    @classmethod
    def _model_in_catalog(cls, model: str, info: ValidationInfo) -> str:
        allowed = (info.context or {}).get("allowed_models")
        if allowed is not None and model not in allowed:
            raise PydanticCustomError(
                "model_not_found",
                "unknown model '{model}'; allowed: {allowed}",
                {"model": model, "allowed": ", ".join(sorted(allowed))},
            )
        return model

    @field_validator("training_file", "validation_file")
    @classmethod
    def _file_exists(cls, file_id: str | None, info: ValidationInfo) -> str | None:
        known = (info.context or {}).get("known_files")
        if file_id is not None and known is not None and file_id not in known:
            raise PydanticCustomError(
                "file_not_found", "no file '{file_id}'; upload it first with POST /v1/files", {"file_id": file_id}
            )
        return file_id

    @model_validator(mode="after")
    def _hyperparameters_in_one_place(self) -> "JobSpec":
        if self.hyperparameters is not None and self.method is not None and self.method.supervised is not None:
            raise PydanticCustomError(
                "conflict", "give hyperparameters either at the top level or in method.supervised, not both"
            )
        return self

    @property
    def effective_hyperparameters(self) -> Hyperparameters:
        if self.method is not None and self.method.supervised is not None:
            return self.method.supervised.hyperparameters
        return self.hyperparameters or Hyperparameters()

    def resolve(self, n_examples: int) -> "TrainingPlan":
        """Turn every "auto" into a number, given the size of the training set."""
        hp = self.effective_hyperparameters
        if hp.batch_size == "auto":
            grown = min(AUTO_MAX_BATCH_SIZE, math.ceil(n_examples / AUTO_MAX_STEPS_PER_EPOCH))
            batch_size = min(n_examples, max(AUTO_BATCH_SIZE, grown))
        else:
            batch_size = hp.batch_size
        if hp.n_epochs == "auto":
            steps_per_epoch = math.ceil(n_examples / batch_size)
            n_epochs = min(AUTO_MAX_EPOCHS, max(AUTO_MIN_EPOCHS, math.ceil(AUTO_MIN_STEPS / steps_per_epoch)))
        else:
            n_epochs = hp.n_epochs
        multiplier = 1.0 if hp.learning_rate_multiplier == "auto" else hp.learning_rate_multiplier
        learning_rate = hp.learning_rate if hp.learning_rate is not None else LORA_BASE_LEARNING_RATE * multiplier
        return TrainingPlan(
            n_epochs=n_epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_multiplier=multiplier if hp.learning_rate is None else learning_rate / LORA_BASE_LEARNING_RATE,
            max_seq_length=AUTO_MAX_SEQ_LENGTH if hp.max_seq_length == "auto" else hp.max_seq_length,
            warmup_ratio=hp.warmup_ratio,
            weight_decay=hp.weight_decay,
            seed=self.seed if self.seed is not None else 0,
        )


class TrainingPlan(BaseModel):
    """The hyper-parameters a run actually uses: no "auto" left."""

    n_epochs: int
    batch_size: int
    learning_rate: float
    learning_rate_multiplier: float
    max_seq_length: int
    warmup_ratio: float
    weight_decay: float
    seed: int
