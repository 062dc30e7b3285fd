"""Prompt tuning: trained soft-prompt embeddings prepended to every input; the model stays frozen.

The soft prompt starts random, or from the token embeddings of `init_text` (often faster to train).
"""

from peft import PromptTuningConfig, PromptTuningInit

from jobs.recipes import RecipeContext, Trainable


def load_model(ctx: RecipeContext):
    return ctx.load_model()


def make_trainable(model, ctx: RecipeContext) -> Trainable:
    prompt = ctx.spec.training_type
    if prompt.init_text is not None:
        config = PromptTuningConfig(
            num_virtual_tokens=prompt.num_virtual_tokens,
            prompt_tuning_init=PromptTuningInit.TEXT,
            prompt_tuning_init_text=prompt.init_text,
            tokenizer_name_or_path=str(ctx.model_folder),
            task_type=ctx.peft_task_type,
        )
    else:
        config = PromptTuningConfig(num_virtual_tokens=prompt.num_virtual_tokens, task_type=ctx.peft_task_type)
    return Trainable(ctx.adapter(model, config))
