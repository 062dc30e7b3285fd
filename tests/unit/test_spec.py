import pytest
from pydantic import ValidationError

from jobs.spec import AUTO_BATCH_SIZE, JobSpec, LORA_BASE_LEARNING_RATE

BASE = {"model": "m", "training_file": "file-abc"}


def problems(body, **context):
    with pytest.raises(ValidationError) as info:
        JobSpec.model_validate(body, context=context or None)
    return {".".join(map(str, e["loc"])): e["msg"] for e in info.value.errors()}


def test_openai_create_body_is_accepted():
    spec = JobSpec.model_validate(
        {**BASE, "validation_file": "file-v", "suffix": "my-model", "seed": 7, "metadata": {"team": "x"},
         "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2, "batch_size": "auto",
                                                                              "learning_rate_multiplier": 0.5}}}}
    )
    hp = spec.effective_hyperparameters
    assert (hp.n_epochs, hp.batch_size, hp.learning_rate_multiplier) == (2, "auto", 0.5)
    assert spec.training_type.type == "lora" and spec.training_type.r == 16


def test_every_bad_field_is_reported_at_once():
    found = problems(
        {**BASE, "suffix": "a:b", "seed": -1, "bogus": 1,
         "hyperparameters": {"n_epochs": 0, "batch_size": "big", "learning_rate_multiplier": -2, "warmup_ratio": 1.5,
                             "max_seq_length": 8},
         "training_type": {"type": "lora", "r": 0, "dropout": 1.0, "target_modules": []}},
    )
    assert set(found) == {
        "suffix", "seed", "bogus", "hyperparameters.n_epochs", "hyperparameters.batch_size",
        "hyperparameters.learning_rate_multiplier", "hyperparameters.warmup_ratio", "hyperparameters.max_seq_length",
        "training_type.r", "training_type.dropout", "training_type.target_modules",
    }
    assert found["hyperparameters.n_epochs"] == "must be 'auto' or an integer from 1 to 50"


def test_booleans_are_not_numbers():
    assert "hyperparameters.n_epochs" in problems({**BASE, "hyperparameters": {"n_epochs": True}})


def test_unknown_training_type_names_the_allowed_ones():
    assert "'lora'" in problems({**BASE, "training_type": {"type": "magic"}})["training_type.type"]


def test_conflicts_are_errors():
    assert "not both" in problems({**BASE, "hyperparameters": {"learning_rate": 1e-4, "learning_rate_multiplier": 2}})[
        "hyperparameters"]
    both = {**BASE, "hyperparameters": {"n_epochs": 1}, "method": {"type": "supervised", "supervised": {}}}
    assert "not both" in problems(both)[""]


def test_context_checks_models_and_files_with_everything_else():
    found = problems({**BASE, "validation_file": "file-v", "hyperparameters": {"n_epochs": 0}},
                     allowed_models={"a", "b"}, known_files={"file-abc"})
    assert found["model"] == "unknown model 'm'; allowed: a, b"
    assert "no file 'file-v'" in found["validation_file"] and "training_file" not in found
    assert "hyperparameters.n_epochs" in found


def test_auto_resolves_to_documented_defaults():
    plan = JobSpec.model_validate(BASE).resolve(n_examples=300)
    assert plan.batch_size == AUTO_BATCH_SIZE
    assert plan.learning_rate == LORA_BASE_LEARNING_RATE and plan.learning_rate_multiplier == 1.0
    assert plan.n_epochs >= 1
    small = JobSpec.model_validate(BASE).resolve(n_examples=3)
    assert small.batch_size == min(AUTO_BATCH_SIZE, 3)  # never larger than the data set
    assert small.n_epochs >= plan.n_epochs  # tiny data sets get more passes


def test_explicit_values_win_over_auto():
    spec = JobSpec.model_validate({**BASE, "seed": 3, "hyperparameters": {"n_epochs": 4, "batch_size": 2, "learning_rate": 5e-5}})
    plan = spec.resolve(n_examples=100)
    assert (plan.n_epochs, plan.batch_size, plan.learning_rate, plan.seed) == (4, 2, 5e-5, 3)
    assert plan.learning_rate_multiplier == pytest.approx(5e-5 / LORA_BASE_LEARNING_RATE)
