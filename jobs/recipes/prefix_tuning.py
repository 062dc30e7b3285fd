"""Prefix tuning: trained key/value vectors prepended in every attention layer; the model stays frozen."""

from peft import PrefixTuningConfig

from jobs.recipes import RecipeContext, Trainable


def load_model(ctx: RecipeContext):
    return ctx.load_model()


def make_trainable(model, ctx: RecipeContext) -> Trainable:
    config = PrefixTuningConfig(num_virtual_tokens=ctx.spec.training_type.num_virtual_tokens, task_type=ctx.peft_task_type)
    return Trainable(ctx.adapter(model, config))
