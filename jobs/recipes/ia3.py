"""(IA)³: learned vectors that rescale attention keys and values and the feed-forward activations.

About 0.01 % of the parameters of the model; peft picks the modules for known architectures
(`target_modules: "auto"`), or they are listed with the feed-forward ones among them.
"""

from peft import IA3Config

from jobs.recipes import RecipeContext, Trainable


def load_model(ctx: RecipeContext):
    return ctx.load_model()


def make_trainable(model, ctx: RecipeContext) -> Trainable:
    ia3 = ctx.spec.training_type
    config = IA3Config(
        target_modules=None if ia3.target_modules == "auto" else ia3.target_modules,
        feedforward_modules=None if ia3.feedforward_modules == "auto" else ia3.feedforward_modules,
        task_type=ctx.peft_task_type,
    )
    return Trainable(ctx.adapter(model, config))
