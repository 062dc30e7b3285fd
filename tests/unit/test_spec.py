import pytest
from pydantic import ValidationError

from jobs.records import JobRecord
from jobs.spec import (
    AUTO_BATCH_SIZE,
    BASE_LEARNING_RATES,
    UNSHARDABLE_TRAINING_TYPES,
    ComputeLimits,
    JobSpec,
    processes_per_node,
    sharding_strategy,
)

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
    message = problems({**BASE, "training_type": {"type": "magic"}})["training_type"]
    assert "'magic'" in message and "lora" in message and "prompt_tuning" in message


def test_conflicts_are_errors():
    found = problems({**BASE, "hyperparameters": {"learning_rate": 1e-4, "learning_rate_multiplier": 2,
                                                  "n_epochs": 2, "max_steps": 10, "n_evals": 2, "eval_every": 5,
                                                  "lr_cycles": 3}})
    assert set(found) == {"hyperparameters." + name for name in ("learning_rate", "max_steps", "eval_every", "lr_cycles")}
    assert all("not both" in found[f"hyperparameters.{name}"] for name in ("learning_rate", "max_steps", "eval_every"))
    both = {**BASE, "hyperparameters": {"n_epochs": 1}, "method": {"type": "supervised", "supervised": {}}}
    assert "not both" in problems(both)["hyperparameters"]


def test_context_checks_models_and_files_with_everything_else():
    found = problems({**BASE, "validation_file": "file-v", "hyperparameters": {"n_epochs": 0}},
                     allowed_models={"a", "b"}, known_files={"file-abc"})
    assert found["model"] == "unknown model 'm'; allowed: a, b"
    assert "no file 'file-v'" in found["validation_file"] and "training_file" not in found
    assert "hyperparameters.n_epochs" in found


def test_auto_resolves_to_documented_defaults():
    plan = JobSpec.model_validate(BASE).resolve(n_examples=300)
    assert plan.batch_size == AUTO_BATCH_SIZE
    assert plan.learning_rate == BASE_LEARNING_RATES["lora"] and plan.learning_rate_multiplier == 1.0
    assert plan.n_epochs >= 1
    small = JobSpec.model_validate(BASE).resolve(n_examples=3)
    assert small.batch_size == min(AUTO_BATCH_SIZE, 3)  # never larger than the data set
    assert small.n_epochs >= plan.n_epochs  # tiny data sets get more passes


def test_explicit_values_win_over_auto():
    spec = JobSpec.model_validate({**BASE, "seed": 3, "hyperparameters": {"n_epochs": 4, "batch_size": 2, "learning_rate": 5e-5}})
    plan = spec.resolve(n_examples=100)
    assert (plan.n_epochs, plan.batch_size, plan.learning_rate, plan.seed) == (4, 2, 5e-5, 3)
    assert plan.learning_rate_multiplier == pytest.approx(5e-5 / BASE_LEARNING_RATES["lora"])


@pytest.mark.parametrize(
    "training_type",
    [
        {"type": "full"},
        {"type": "full", "freeze": {"layers": 4}, "layerwise_lr_decay": 0.8, "gradual_unfreezing": {"every_steps": 10}},
        {"type": "full", "freeze": {"head_only": True}},
        {"type": "lora", "use_rslora": True, "use_dora": True, "target_modules": ["q_proj", "v_proj"]},
        {"type": "qlora", "r": 8, "compute_dtype": "float32"},
        {"type": "ia3"},
        {"type": "ia3", "target_modules": ["k_proj", "down_proj"], "feedforward_modules": ["down_proj"]},
        {"type": "prefix_tuning", "num_virtual_tokens": 8},
        {"type": "prompt_tuning", "init_text": "Answer the question."},
    ],
)
def test_every_method_is_accepted(training_type):
    spec = JobSpec.model_validate({**BASE, "training_type": training_type})
    assert spec.training_type.type == training_type["type"]
    assert spec.resolve(100).learning_rate == BASE_LEARNING_RATES[training_type["type"]]


def test_bad_method_settings_are_all_reported():
    found = problems({**BASE, "training_type": {"type": "full", "freeze": {"head_only": True, "layers": 2}}})
    assert "not both" in found["training_type.freeze"]
    found = problems({**BASE, "training_type": {"type": "full", "freeze": {"head_only": True}, "layerwise_lr_decay": 0.5,
                                                "gradual_unfreezing": {"every_epochs": 1}}})
    assert set(found) == {"training_type.layerwise_lr_decay", "training_type.gradual_unfreezing"}
    assert "exactly one" in problems({**BASE, "training_type": {"type": "full", "gradual_unfreezing": {}}})[
        "training_type.gradual_unfreezing"]
    assert "among target_modules" in problems(
        {**BASE, "training_type": {"type": "ia3", "target_modules": ["k_proj"], "feedforward_modules": ["down_proj"]}}
    )["training_type"]
    found = problems({**BASE, "training_type": {"type": "qlora", "r": -1, "compute_dtype": "float8"}})
    assert set(found) == {"training_type.r", "training_type.compute_dtype"}


def test_impossible_combinations_are_listed_together():
    found = problems({**BASE, "training_type": {"type": "prefix_tuning"},
                      "hyperparameters": {"packing": True, "early_stopping": {"patience": 2}, "n_evals": 3}})
    assert "prefix_tuning" in found["hyperparameters.packing"]
    assert found["hyperparameters.early_stopping"] == "early_stopping needs a validation_file"
    assert found["hyperparameters.n_evals"] == "n_evals needs a validation_file"


def test_file_formats_must_suit_the_method():
    files = {"file-chat": "chat", "file-pref": "preference", "file-cls": "classification", "file-text": "text"}
    dpo = {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2}}}
    assert "preference" in problems({**BASE, "training_file": "file-chat", "method": dpo}, known_files=files)["training_file"]
    assert "'dpo'" in problems({**BASE, "training_file": "file-pref"}, known_files=files)["training_file"]
    found = problems({**BASE, "training_file": "file-text", "validation_file": "file-cls",
                      "hyperparameters": {"class_weights": "balanced"}}, known_files=files)
    assert "text file" in found["hyperparameters.class_weights"]
    assert "classification file" in found["validation_file"]
    found = problems({**BASE, "training_file": "file-cls", "training_type": {"type": "prompt_tuning"},
                      "hyperparameters": {"packing": True}}, known_files=files)
    assert set(found) == {"hyperparameters.packing", "training_type.type"}
    spec = JobSpec.model_validate({**BASE, "training_file": "file-pref", "method": dpo}, context={"known_files": files})
    plan = spec.resolve(50)
    assert plan.beta == 0.2 and plan.learning_rate < BASE_LEARNING_RATES["lora"]


def test_dpo_settings_live_under_method_dpo():
    assert "method.dpo" in problems({**BASE, "method": {"type": "dpo", "dpo": {}}, "hyperparameters": {"n_epochs": 1}})[
        "hyperparameters"]
    assert "method.supervised.hyperparameters.beta" in problems(
        {**BASE, "method": {"type": "supervised", "supervised": {"hyperparameters": {"beta": 1}}}})
    assert "method.dpo is given" in problems({**BASE, "method": {"type": "supervised", "dpo": {}}})["method"]


def test_max_steps_and_accumulation_shape_the_plan():
    plan = JobSpec.model_validate({**BASE, "hyperparameters": {"max_steps": 25, "batch_size": 4,
                                                               "gradient_accumulation_steps": 2}}).resolve(40)
    assert (plan.max_steps, plan.batch_size, plan.gradient_accumulation_steps) == (25, 4, 2)
    assert plan.n_epochs == 5  # 40 examples / 8 per step = 5 steps per epoch
    restarts = JobSpec.model_validate({**BASE, "hyperparameters": {"lr_scheduler": "cosine_with_restarts"}}).resolve(10)
    assert restarts.lr_cycles == 2


def test_compute_defaults_to_one_node_and_auto_and_round_trips_through_the_job_record():
    assert JobSpec.model_validate(BASE).compute.model_dump() == {"num_nodes": 1, "num_proc_per_node": "auto", "strategy": "auto"}
    spec = JobSpec.model_validate({**BASE, "compute": {"num_nodes": 2, "num_proc_per_node": 4, "strategy": "ddp"}})
    record = JobRecord(id="ftjob-abc", tenant="t", spec=spec)
    again = JobRecord.model_validate_json(record.model_dump_json())
    assert again.spec.compute.model_dump() == {"num_nodes": 2, "num_proc_per_node": 4, "strategy": "ddp"}


def test_bad_compute_values_are_all_reported():
    found = problems({**BASE, "compute": {"num_nodes": 0, "num_proc_per_node": "many", "strategy": "zero", "gpus": 2}})
    assert set(found) == {"compute.num_nodes", "compute.num_proc_per_node", "compute.strategy", "compute.gpus"}
    assert found["compute.num_proc_per_node"].startswith("must be 'auto' or an integer from 1")
    found = problems({**BASE, "compute": {"num_nodes": True, "num_proc_per_node": 2.0}})
    assert set(found) == {"compute.num_nodes", "compute.num_proc_per_node"}


@pytest.mark.parametrize("training_type", sorted(UNSHARDABLE_TRAINING_TYPES))
def test_fsdp_is_refused_for_methods_it_cannot_shard_and_the_message_says_what_to_use(training_type):
    found = problems({**BASE, "training_type": {"type": training_type}, "compute": {"strategy": "fsdp"}})
    assert set(found) == {"compute.strategy"}
    assert training_type in found["compute.strategy"] and "'ddp'" in found["compute.strategy"]
    JobSpec.model_validate({**BASE, "training_type": {"type": training_type}, "compute": {"strategy": "ddp"}})


@pytest.mark.parametrize(("training_type", "asked", "strategy"), [
    ("full", "auto", "fsdp"), ("lora", "auto", "ddp"), ("ia3", "auto", "ddp"), ("lora", "fsdp", "fsdp"),
    ("full", "ddp", "ddp"), ("full", "fsdp", "fsdp"),
])
def test_auto_shards_full_fine_tuning_and_replicates_adapters(training_type, asked, strategy):
    spec = JobSpec.model_validate({**BASE, "training_type": {"type": training_type}, "compute": {"strategy": asked}})
    assert sharding_strategy(spec.compute, spec.training_type) == strategy


@pytest.mark.parametrize(("training_type", "asked", "strategy"), [
    ("lora", "auto", "fsdp"), ("ia3", "auto", "fsdp"), ("full", "auto", "fsdp"), ("qlora", "auto", "ddp"),
    ("prompt_tuning", "auto", "ddp"), ("lora", "ddp", "ddp"),
])
def test_auto_shards_an_adapter_method_whose_base_model_does_not_fit_one_accelerator(training_type, asked, strategy):
    spec = JobSpec.model_validate({**BASE, "training_type": {"type": training_type}, "compute": {"strategy": asked}})
    assert sharding_strategy(spec.compute, spec.training_type, model_fits_one_device=False) == strategy


def test_gradual_unfreezing_trains_in_one_process():
    full = {"type": "full", "gradual_unfreezing": {"every_steps": 2}}
    found = problems({**BASE, "training_type": full, "compute": {"num_proc_per_node": 2}})
    assert "gradual_unfreezing trains in one process" in found["compute.num_proc_per_node"]
    spec = JobSpec.model_validate({**BASE, "training_type": full})
    assert processes_per_node(spec.compute, spec.training_type, available=8) == 1


def test_processes_per_node_is_the_number_asked_for_or_every_accelerator():
    auto = JobSpec.model_validate(BASE)
    assert processes_per_node(auto.compute, auto.training_type, available=4) == 4
    two = JobSpec.model_validate({**BASE, "compute": {"num_proc_per_node": 2}})
    assert processes_per_node(two.compute, two.training_type, available=4) == 2


def test_what_the_deployment_cannot_run_is_listed_with_every_other_problem():
    body = {**BASE, "hyperparameters": {"n_epochs": 0}, "training_type": {"type": "qlora"},
            "compute": {"num_nodes": 2, "num_proc_per_node": 4, "strategy": "fsdp"}}
    found = problems(body, compute_limits=ComputeLimits(worker_procs_per_node=2, kubeflow_procs_per_node=None))
    assert set(found) == {"hyperparameters.n_epochs", "compute.strategy", "compute.num_nodes", "compute.num_proc_per_node"}
    assert "Kubeflow Trainer" in found["compute.num_nodes"] and "FTAAS_KUBEFLOW_ENABLED" in found["compute.num_nodes"]
    assert "at most 2 training processes per node" in found["compute.num_proc_per_node"]


def test_processes_per_node_are_checked_against_the_worker_or_the_kubeflow_node_that_runs_them():
    limits = {"compute_limits": ComputeLimits(worker_procs_per_node=1, kubeflow_procs_per_node=8)}
    assert "workers run at most 1 training process per node" in problems(
        {**BASE, "compute": {"num_proc_per_node": 2}}, **limits)["compute.num_proc_per_node"]
    assert "Kubeflow training node of this deployment runs at most 8" in problems(
        {**BASE, "compute": {"num_nodes": 4, "num_proc_per_node": 16}}, **limits)["compute.num_proc_per_node"]
    JobSpec.model_validate({**BASE, "compute": {"num_nodes": 4, "num_proc_per_node": 8}}, context=limits)
    JobSpec.model_validate({**BASE, "compute": {"num_nodes": 1, "num_proc_per_node": "auto"}}, context=limits)


STARTING_LORA = {
    "id": "ft:m::abcd1234", "base_model": "m", "task_format": "chat", "artifacts": "t/models/x/adapter/",
    "training_type": {"type": "lora", "r": 4, "alpha": 8.0, "dropout": 0.1, "target_modules": "all-linear",
                      "use_rslora": False, "use_dora": False},
}
CONTINUING = {"model": STARTING_LORA["id"], "training_file": "file-abc"}


def continue_context(training_format="chat", starting=STARTING_LORA):
    return {"allowed_models": {"m"}, "known_files": {"file-abc": training_format}, "starting_model": starting}


def test_a_continued_job_inherits_its_starting_adapter_settings():
    spec = JobSpec.model_validate(CONTINUING, context=continue_context())
    assert spec.training_type.model_dump() == STARTING_LORA["training_type"]
    # Settings given again must be the same ones; the rest are still inherited.
    spec = JobSpec.model_validate({**CONTINUING, "training_type": {"type": "lora", "r": 4}}, context=continue_context())
    assert spec.training_type.dropout == 0.1


def test_continuing_with_another_method_adapter_shape_or_task_is_refused_with_every_reason():
    found = problems({**CONTINUING, "training_type": {"r": 8, "alpha": 8}}, **continue_context("classification"))
    assert set(found) == {"training_type.r", "training_file"}
    assert "adapter has r=4, not 8" in found["training_type.r"]
    assert "trained on chat examples and cannot continue on a classification file" in found["training_file"]
    found = problems({**CONTINUING, "training_type": {"type": "ia3"}}, **continue_context())
    assert set(found) == {"training_type.type"} and "trained with lora" in found["training_type.type"]


def test_a_continued_full_model_may_change_what_is_frozen():
    starting = {**STARTING_LORA, "training_type": {"type": "full", "freeze": None}}
    body = {**CONTINUING, "training_type": {"type": "full", "freeze": {"layers": 2}}}
    assert JobSpec.model_validate(body, context=continue_context(starting=starting)).training_type.freeze.layers == 2


def test_an_unknown_fine_tuned_model_or_checkpoint_is_named_as_such():
    for model in ("ft:m::nope", "ftckpt-nope", "ft:m::abcd1234:ckpt-step-3"):
        found = problems({**BASE, "model": model}, allowed_models={"m"}, known_files={"file-abc": "chat"})
        assert found["model"].startswith(f"no fine-tuned model or checkpoint '{model}'")


@pytest.mark.parametrize("hyperparameters, total, expected", [
    ({"n_checkpoints": 3}, 6, {2, 4, 6}),
    ({"n_checkpoints": 1}, 6, {6}),
    ({"checkpoint_every": 4}, 10, {4, 8, 10}),
    ({"checkpoint_every": 2}, 6, {2, 4, 6}),
    ({}, 6, set()),
])
def test_checkpoints_are_evenly_spaced_and_always_include_the_last_step(hyperparameters, total, expected):
    from jobs.training.loop import checkpoint_steps

    spec = JobSpec.model_validate({"model": "m", "training_file": "f", "hyperparameters": hyperparameters})
    assert checkpoint_steps(spec.resolve(100), total) == expected
