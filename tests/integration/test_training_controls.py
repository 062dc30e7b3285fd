"""The loop's controls on the real model: accumulation, packing, schedules, evaluation, early stopping,
checkpointed activations and seeds. LoRA on SmolLM2-135M-Instruct, a few steps each, in process."""

import copy
import json
import math
from pathlib import Path

import pytest
import torch

from jobs.catalog import DEFAULT_MODEL_ID
from jobs.data.tokenize import tokenize_examples
from jobs.recipes import RecipeContext
from jobs.recipes.lora import make_trainable
from jobs.spec import JobSpec
from jobs.train import run_training
from jobs.training import checkpoints, loop
from jobs.training.causal_lm import CausalLmTask
from tests.support.tasks import classification_examples, write_jsonl

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base(base_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32)
    model.config.use_cache = False
    return model, AutoTokenizer.from_pretrained(base_model_dir)


def lora_model(base, spec: JobSpec, seed: int = 0):
    model, tokenizer = base
    plan = spec.resolve(16)
    ctx = RecipeContext(spec=spec, plan=plan, model_folder=Path("."), tokenizer=tokenizer, device=torch.device("cpu"),
                        dtype=torch.float32, task="causal_lm", labels=None, report=lambda event: None)
    torch.manual_seed(seed)
    return make_trainable(copy.deepcopy(model), ctx).model


def spec_with(**hyperparameters) -> JobSpec:
    return JobSpec.model_validate({"model": DEFAULT_MODEL_ID, "training_file": "t", "validation_file": "v", "seed": 1,
                                   "training_type": {"type": "lora", "r": 4},
                                   "hyperparameters": {"batch_size": 4, "max_seq_length": 64, **hyperparameters}})


def examples(tokenizer, n: int, split: str = "train") -> list[dict]:
    return tokenize_examples("chat", classification_examples(n, seed=4, split=split), tokenizer, 64).examples


def train(base, tmp_path, spec: JobSpec, n_train: int = 16, n_valid: int = 4, packing: bool = False):
    _, tokenizer = base
    model = lora_model(base, spec)
    plan = spec.resolve(n_train)
    task = CausalLmTask(tokenizer.pad_token_id, plan.max_seq_length, packing or plan.packing, torch.device("cpu"))
    events = []
    result = loop.train(model, task, examples(tokenizer, n_train), examples(tokenizer, n_valid, "test") if n_valid else None,
                        plan, tmp_path, events.append)
    return result, [e["data"] for e in events if e["type"] == "metrics"], [e for e in events if e["type"] == "message"], model


def test_accumulated_batches_give_the_gradient_of_one_big_batch(base):
    _, tokenizer = base
    data = examples(tokenizer, 6)  # of different lengths, so per-batch means would weigh tokens differently
    task = CausalLmTask(tokenizer.pad_token_id, 64, False, torch.device("cpu"))
    grads = []
    for group in ([data], [data[:1], data[1:4], data[4:]]):
        model = lora_model(base, spec_with())
        accumulated = loop.accumulate_gradients(loop.StepLoss(model, task), task, group)
        grads.append((accumulated.loss, torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad])))
    (loss_one, grad_one), (loss_three, grad_three) = grads
    assert loss_three == pytest.approx(loss_one, rel=1e-5)
    # float32 sums in another order (other padding widths): equal up to rounding
    assert (grad_three - grad_one).norm() / grad_one.norm() < 1e-4


def test_packed_steps_have_the_same_loss_as_padded_steps(base, tmp_path):
    spec = spec_with(max_steps=3)
    _, padded, _, _ = train(base, tmp_path, spec, n_valid=0)
    _, packed, _, _ = train(base, tmp_path, spec, n_valid=0, packing=True)
    assert [m["train_loss"] for m in packed] == pytest.approx([m["train_loss"] for m in padded], rel=1e-4)


def test_the_same_seed_gives_the_same_loss_curve(base, tmp_path):
    spec = spec_with(max_steps=4)
    runs = [[m["train_loss"] for m in train(base, tmp_path, spec, n_valid=0)[1]] for _ in range(2)]
    assert runs[0] == runs[1]
    other = JobSpec.model_validate({**spec.model_dump(exclude_none=True), "seed": 2})
    assert [m["train_loss"] for m in train(base, tmp_path, other, n_valid=0)[1]] != runs[0]


@pytest.mark.parametrize("scheduler, shape", [
    ("constant", lambda lrs: len(set(lrs[2:])) == 1),
    ("linear", lambda lrs: lrs[1] > lrs[0] and all(a > b for a, b in zip(lrs[2:], lrs[3:]))),
    ("cosine", lambda lrs: lrs[2] > lrs[5] > lrs[-1]),
    ("cosine_with_restarts", lambda lrs: any(b > a for a, b in zip(lrs[2:], lrs[3:]))),  # it climbs again
])
def test_learning_rate_schedules(base, tmp_path, scheduler, shape):
    _, metrics, _, _ = train(base, tmp_path, spec_with(max_steps=8, warmup_ratio=0.25, lr_scheduler=scheduler), n_valid=0)
    rates = [m["learning_rate"] for m in metrics]
    assert rates[0] < rates[1] <= rates[2], rates  # warm-up
    assert shape(rates), rates
    assert all(m["grad_norm"] > 0 for m in metrics)


def test_evaluations_follow_n_evals_and_eval_every(base, tmp_path):
    _, metrics, _, _ = train(base, tmp_path, spec_with(max_steps=6, n_evals=3))
    assert [m["step"] for m in metrics if "valid_loss" in m] == [2, 4, 6]
    _, metrics, _, _ = train(base, tmp_path, spec_with(max_steps=6, eval_every=4))
    assert [m["step"] for m in metrics if "valid_loss" in m] == [4, 6]
    assert all(0 <= m["valid_accuracy"] <= 1 for m in metrics if "valid_loss" in m)


def test_early_stopping_stops_and_keeps_the_best_weights(base, tmp_path):
    spec = spec_with(max_steps=8, eval_every=1, early_stopping={"patience": 2, "min_delta": 100.0})
    result, metrics, messages, model = train(base, tmp_path, spec)
    # Nothing improves by 100: the first evaluation stays the best and two more end the run.
    assert result.stopped_early and result.steps == 3 and len(metrics) == 3
    assert any("Early stopping after step 3" in m["message"] for m in messages)
    _, tokenizer = base
    task = CausalLmTask(tokenizer.pad_token_id, 64, False, torch.device("cpu"))
    restored = task.evaluate(model, examples(tokenizer, 4, "test"), 4)["loss"]
    assert restored == pytest.approx(metrics[0]["valid_loss"], rel=1e-5) and result.final_valid["step"] == 1


def test_gradient_checkpointing_gives_the_same_losses(base, tmp_path):
    spec = spec_with(max_steps=2)
    _, plain, _, _ = train(base, tmp_path, spec, n_valid=0)
    model = lora_model(base, spec)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    assert any(getattr(module, "gradient_checkpointing", False) for module in model.modules())
    _, tokenizer = base
    plan = spec.resolve(16)
    events = []
    loop.train(model, CausalLmTask(tokenizer.pad_token_id, 64, False, torch.device("cpu")), examples(tokenizer, 16), None,
               plan, tmp_path, events.append)
    checkpointed = [e["data"]["train_loss"] for e in events if e["type"] == "metrics"]
    assert checkpointed == pytest.approx([m["train_loss"] for m in plain], rel=1e-5)


@pytest.mark.parametrize("rows, expected_format", [
    ([{"prompt": f"Say the code for item {i}:", "completion": f" code-{i % 3}"} for i in range(12)], "prompt_completion"),
    ([{"text": " ".join(["The river flows past the old mill towards the sea."] * (20 if i == 0 else 2))} for i in range(12)], "text"),
])
def test_prompt_completion_and_text_files_train(tmp_path, catalog, rows, expected_format):
    write_jsonl(tmp_path / "train.jsonl", rows)
    spec = JobSpec.model_validate({"model": DEFAULT_MODEL_ID, "training_file": "train.jsonl", "seed": 1,
                                   "hyperparameters": {"max_steps": 3, "batch_size": 4, "max_seq_length": 64, "packing": True}})
    events = []
    summary = run_training(spec, tmp_path / "train.jsonl", None, tmp_path / "out", catalog, events.append)
    assert summary["format"] == expected_format and summary["steps"] == 3
    assert math.isfinite(summary["final_train_loss"])
    report = json.loads((tmp_path / "out" / "results" / "report.json").read_text())
    assert report["format"] == expected_format and "general_text_loss" in report["after"]
    if expected_format == "text":  # the long first text was split, not truncated
        assert any("split into" in e["message"] for e in events) and summary["n_truncated"] == 0


class Interrupted(Exception):
    pass


def test_a_resumed_run_ends_like_an_uninterrupted_one(base, tmp_path):
    _, tokenizer = base
    spec = spec_with(max_steps=6, checkpoint_every=2, lr_scheduler="cosine", warmup_ratio=0.2, eval_every=3)
    plan = spec.resolve(16)
    task = CausalLmTask(tokenizer.pad_token_id, 64, False, torch.device("cpu"))
    data, valid = examples(tokenizer, 16), examples(tokenizer, 4, "test")

    def run(out: Path, hooks=(), resume=False):
        events = []
        result = loop.train(lora_model(base, spec), task, data, valid, plan, out, events.append, hooks=hooks,
                            resume_from=checkpoints.latest(out / "checkpoints") if resume else None)
        return result, events

    straight, _ = run(tmp_path / "straight")

    def stop_before_step_6(step, epoch):  # hooks see the 0-based index of the step about to run
        if step == 5:
            raise Interrupted

    with pytest.raises(Interrupted):
        run(tmp_path / "resumed", hooks=[stop_before_step_6])
    assert checkpoints.latest(tmp_path / "resumed" / "checkpoints").name == "step-4"
    resumed, events = run(tmp_path / "resumed", resume=True)

    assert "Resumed from the checkpoint at step 4" in [e["message"] for e in events]
    assert [e["data"]["step"] for e in events if e["type"] == "metrics"] == [5, 6]
    assert resumed.steps == straight.steps == 6
    assert resumed.final_train_loss == pytest.approx(straight.final_train_loss, rel=1e-4)
    assert resumed.final_valid["loss"] == pytest.approx(straight.final_valid["loss"], rel=1e-4)
    rows = (tmp_path / "resumed" / "results" / "metrics.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["1", "2", "3", "4", "5", "6"]
