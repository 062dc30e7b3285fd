"""QLoRA: the base model loaded in 4-bit NF4 with double quantisation (bitsandbytes), LoRA on top.

The 4-bit weights stay frozen; k-bit preparation keeps layer norms and the head in float32 so the
adapters train stably. Works on CUDA and, with bitsandbytes ≥ 0.49, on CPU.
"""

import torch
from peft import prepare_model_for_kbit_training
from transformers import BitsAndBytesConfig

from jobs.recipes import RecipeContext, Trainable
from jobs.recipes.lora import lora_config


def compute_dtype(ctx: RecipeContext) -> torch.dtype:
    chosen = ctx.spec.training_type.compute_dtype
    if chosen == "auto":
        return torch.bfloat16 if ctx.device.type == "cuda" else torch.float32
    return getattr(torch, chosen)


def load_model(ctx: RecipeContext):
    quantization = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype(ctx),
    )
    return ctx.load_model(quantization_config=quantization, device_map={"": ctx.device})


def make_trainable(model, ctx: RecipeContext) -> Trainable:
    # Gradient checkpointing, when the run needs it, is turned on by the pipeline (jobs/training/memory.py).
    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    return Trainable(ctx.adapter(model, lora_config(ctx)))
