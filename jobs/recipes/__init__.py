"""Training recipes by `training_type.type`: one module per method, each with the same two functions.

    load_model(ctx: RecipeContext) -> the base model, as the method needs it loaded
    make_trainable(model, ctx: RecipeContext) -> Trainable

jobs/training/pipeline.py runs them: load, measure the base, make trainable, train, measure, save.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

from jobs.spec import JobSpec, TrainingPlan
from jobs.training.events import Report

# Module paths rather than imports, so looking up a recipe does not import torch.
RECIPES = {
    "full": "jobs.recipes.full",
    "lora": "jobs.recipes.lora",
    "qlora": "jobs.recipes.qlora",
    "ia3": "jobs.recipes.ia3",
    "prefix_tuning": "jobs.recipes.prefix_tuning",
    "prompt_tuning": "jobs.recipes.prompt_tuning",
}


@dataclass
class RecipeContext:
    spec: JobSpec
    plan: TrainingPlan
    model_folder: Path
    tokenizer: Any
    device: Any  # torch.device
    dtype: Any  # torch.dtype of the trained weights
    task: str  # "causal_lm" or "classification"
    labels: list[str] | None  # classification: class i is labels[i]
    report: Report
    parent_adapter: Path | None = None  # continuing a fine-tuned adapter: its folder, trained further

    def load_model(self, **kwargs: Any):
        """The catalog model for this task (a causal LM, or one with a classification head), on the device.
        On the meta device: the model's shape without its weights (jobs.training.pipeline shards it and fills it)."""
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification

        auto, head = AutoModelForCausalLM, {}
        if self.task == "classification":
            auto, head = AutoModelForSequenceClassification, {
                "num_labels": len(self.labels), "id2label": dict(enumerate(self.labels)),
                "label2id": {label: i for i, label in enumerate(self.labels)},
            }
        if self.device.type == "meta":
            with torch.device("meta"):
                model = auto.from_config(AutoConfig.from_pretrained(self.model_folder, **head), dtype=self.dtype, **kwargs)
        else:
            model = auto.from_pretrained(self.model_folder, dtype=self.dtype, **head, **kwargs)
        if self.task == "classification":
            model.config.pad_token_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        if "device_map" not in kwargs:
            model = model.to(self.device)
        model.config.use_cache = False  # training never reuses a KV cache; packing needs it off
        return model

    def adapter(self, model, config):
        """`model` with a new trainable adapter made from `config`, or with the parent's adapter, trainable,
        when this run continues a fine-tuned one (its config, saved with it, wins)."""
        from peft import PeftModel, get_peft_model

        if self.parent_adapter is not None:
            model = PeftModel.from_pretrained(model, self.parent_adapter, is_trainable=True)
            # The saved config names the base by catalog id; saving would look that name up on the Hub.
            for loaded in model.peft_config.values():
                loaded.base_model_name_or_path = str(self.model_folder)
            return model
        return get_peft_model(model, config)

    @property
    def peft_task_type(self) -> str:
        return "SEQ_CLS" if self.task == "classification" else "CAUSAL_LM"


@dataclass
class Trainable:
    model: Any  # torch.nn.Module: a PeftModel (adapter methods) or the model itself (full)
    parameter_groups: list[dict] | None = None  # for per-layer learning rates; default: every trainable parameter
    hooks: list[Callable[[int, int], str | None]] = field(default_factory=list)  # see jobs.training.loop.StepHook


def get_recipe(training_type: str) -> ModuleType:
    if training_type not in RECIPES:
        raise ValueError(f"unknown training type {training_type!r}; available: {', '.join(sorted(RECIPES))}")
    return import_module(RECIPES[training_type])
