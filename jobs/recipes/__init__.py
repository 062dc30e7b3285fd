"""Training recipes by `training_type.type`: one module per method, each with the same `run` function.

    run(spec, plan, train_examples, valid_examples, out_dir, catalog, report) -> RecipeResult
"""

from collections.abc import Callable
from importlib import import_module

# Module paths rather than imports, so looking up a recipe does not import torch.
RECIPES = {"lora": "jobs.recipes.lora"}


def get_recipe(training_type: str) -> Callable:
    if training_type not in RECIPES:
        raise ValueError(f"unknown training type {training_type!r}; available: {', '.join(sorted(RECIPES))}")
    return import_module(RECIPES[training_type]).run
