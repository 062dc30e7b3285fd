"""LoRA: low-rank adapters on every targeted linear layer of a frozen base model (peft).

Options: rank `r`, `alpha`, `dropout`, `target_modules`, rank-stabilised scaling (`use_rslora`:
alpha/sqrt(r) instead of alpha/r) and DoRA (`use_dora`: a learned magnitude per output channel).
"""

from peft import LoraConfig

from jobs.recipes import RecipeContext, Trainable


def load_model(ctx: RecipeContext):
    return ctx.load_model()


def lora_config(ctx: RecipeContext) -> LoraConfig:
    lora = ctx.spec.training_type
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        use_rslora=lora.use_rslora,
        use_dora=lora.use_dora,
        task_type=ctx.peft_task_type,
    )


def make_trainable(model, ctx: RecipeContext) -> Trainable:
    return Trainable(ctx.adapter(model, lora_config(ctx)))
