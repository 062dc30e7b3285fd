"""`python -m jobs.train` as the worker runs it: a child process that streams JSON-line events."""

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.catalog import DEFAULT_MODEL_ID
from tests.support.tasks import classification_examples, write_jsonl

REPO = Path(__file__).resolve().parents[2]
EVENT_KEYS = {"type", "level", "message", "data"}
METRICS_KEYS = {"step", "total_steps", "epoch", "train_loss", "learning_rate", "tokens_per_second", "eta_seconds"}


def run_train(spec: dict, work: Path, cache_dir: Path, **settings: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    spec_path = work / "spec.json"
    spec_path.write_text(json.dumps(spec))
    env = {**os.environ, "FTAAS_CACHE_DIR": str(cache_dir), "FTAAS_MODELS": "", "FTAAS_TRAIN_THREADS": "0",
           "FTAAS_TRAINING_EVIDENCE": "full", **settings}  # a user's default
    process = subprocess.run(
        [sys.executable, "-m", "jobs.train", str(spec_path), "--out", str(work / "out"), "--events", "jsonl"],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # Every stdout line is an event, nothing else: libraries' prints went to stderr.
    parsed = [json.loads(line) for line in process.stdout.splitlines()]
    for event in parsed:
        assert set(event) == EVENT_KEYS, event
        assert event["type"] in ("message", "metrics") and event["level"] in ("info", "warning", "error")
    return process, parsed


@pytest.mark.slow
def test_trains_a_lora_adapter_and_streams_events(tmp_path, base_model_dir, cache_dir):
    long_example = {
        "messages": [{"role": "user", "content": "blah " * 100}, {"role": "assistant", "content": "zorblat"}]
    }
    write_jsonl(tmp_path / "train.jsonl", classification_examples(40, seed=1) + [long_example])
    write_jsonl(tmp_path / "valid.jsonl", classification_examples(8, seed=1, split="test"))
    spec = {
        "model": DEFAULT_MODEL_ID,
        "training_file": "train.jsonl",  # relative to the spec file
        "validation_file": str(tmp_path / "valid.jsonl"),
        "hyperparameters": {"n_epochs": 1, "batch_size": 4, "max_seq_length": 64},
        "seed": 3,
    }

    # The report measures at most 5 of the 8 validation examples (a large set's bound, made small here).
    process, events = run_train(spec, tmp_path, cache_dir, FTAAS_REPORT_VALIDATION_EXAMPLES="5")

    assert process.returncode == 0, process.stderr[-3000:]
    messages = [e["message"] for e in events if e["type"] == "message"]
    assert any(m.startswith("Loading base model") for m in messages)
    assert any(m.startswith("Measuring the base model: validation loss on 5 of 8 examples") for m in messages)
    assert any(m.startswith("Measuring the fine-tuned model: validation loss on 5 of 8 examples") for m in messages)
    assert any(m.startswith("Training lora (") and "on 40 chat examples" in m for m in messages)
    assert "Saving the adapter" in messages
    assert messages[-1].startswith("Training finished")
    warnings = [e for e in events if e["level"] == "warning"]
    assert len(warnings) == 1 and warnings[0]["data"]["n_truncated"] == 1
    assert "max_seq_length=64" in warnings[0]["message"]

    metrics = [e["data"] for e in events if e["type"] == "metrics"]
    assert [m["step"] for m in metrics] == list(range(1, 11))
    assert all(METRICS_KEYS <= set(m) and m["total_steps"] == 10 for m in metrics)
    losses = [m["train_loss"] for m in metrics]
    assert sum(losses[-3:]) / 3 < 0.5 * sum(losses[:3]) / 3, losses
    assert "valid_loss" in metrics[-1] and metrics[-1]["valid_loss"] < losses[0]
    assert metrics[-1]["learning_rate"] < metrics[0]["learning_rate"]  # linear decay

    with open(tmp_path / "out" / "results" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(1, 11))
    assert rows[0]["valid_loss"] == "" and float(rows[-1]["valid_loss"]) == pytest.approx(metrics[-1]["valid_loss"])

    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["n_examples"] == 40 and summary["n_truncated"] == 1
    assert summary["plan"]["n_epochs"] == 1 and summary["plan"]["seed"] == 3
    assert summary["trained_tokens"] > 40 * 20
    assert summary["final_valid_loss"] == pytest.approx(metrics[-1]["valid_loss"])

    # The evidence: a loss curve, and base vs fine-tuned on the validation set, general text and samples.
    results = tmp_path / "out" / "results"
    assert (results / "loss.png").read_bytes().startswith(b"\x89PNG")
    report = json.loads((results / "report.json").read_text())
    assert report["before"]["validation"]["examples"] == report["after"]["validation"]["examples"] == 5
    assert report["after"]["validation"]["loss"] != pytest.approx(metrics[-1]["valid_loss"])  # the loop's used all 8
    assert report["after"]["validation"]["loss"] < report["before"]["validation"]["loss"]
    assert set(report["forgetting"]) == {"before", "after", "change_percent", "warn"}
    assert len(report["before"]["samples"]) == len(report["after"]["samples"]) == 3

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    adapter = tmp_path / "out" / "adapter"
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == DEFAULT_MODEL_ID
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32), adapter)
    lora_b = [p for name, p in model.named_parameters() if "lora_B" in name]
    assert lora_b and any(p.abs().sum() > 0 for p in lora_b)  # peft initialises B to zero: these were trained


@pytest.mark.slow
def test_a_malformed_training_file_fails_naming_the_line(tmp_path, cache_dir):
    lines = [json.dumps(e) for e in classification_examples(4)]
    lines.insert(2, '{"messages": [')
    (tmp_path / "train.jsonl").write_text("\n".join(lines) + "\n")

    process, events = run_train({"model": DEFAULT_MODEL_ID, "training_file": "train.jsonl"}, tmp_path, cache_dir)

    assert process.returncode == 1
    assert events[-1]["level"] == "error"
    assert "line 3" in events[-1]["message"] and "not valid JSON" in events[-1]["message"]
    assert not (tmp_path / "out" / "adapter").exists()


def test_an_invalid_spec_reports_every_problem(tmp_path, cache_dir):
    spec = {"model": DEFAULT_MODEL_ID, "training_file": "t.jsonl", "hyperparameters": {"n_epochs": 0, "batch_size": "x"}}

    process, events = run_train(spec, tmp_path, cache_dir)

    assert process.returncode == 2
    assert [e["level"] for e in events] == ["error"]
    problems = events[0]["data"]["problems"]
    assert any("n_epochs" in p for p in problems) and any("batch_size" in p for p in problems)


def test_a_resolved_input_is_trusted_as_it_is_and_needs_an_out_folder(tmp_path, cache_dir, catalog):
    """`--input` (the worker's) carries a job resolved once: the training process checks neither its files nor
    its spec again. Here the file it names was resolved while valid and broken afterwards; the process reads it
    as it is and fails on parsing it (json's own error), not in the validation that names the problem."""
    from jobs.spec import JobSpec
    from jobs.training_input import resolve

    write_jsonl(tmp_path / "train.jsonl", classification_examples(4))
    spec = JobSpec.model_validate({"model": DEFAULT_MODEL_ID, "training_file": "train.jsonl"})
    training = resolve(spec, tmp_path / "train.jsonl", None, catalog)
    assert (training.format, training.n_examples, training.plan.batch_size) == ("chat", 4, 2)
    (tmp_path / "input.json").write_text(training.model_dump_json())
    command = [sys.executable, "-m", "jobs.train", "--input", str(tmp_path / "input.json"), "--events", "jsonl"]
    env = {**os.environ, "FTAAS_CACHE_DIR": str(cache_dir), "FTAAS_MODELS": ""}

    usage = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2 and "--input needs --out" in usage.stderr
    both = subprocess.run([*command, "spec.json", "--out", str(tmp_path / "out")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert both.returncode == 2 and "give a spec file, or --input" in both.stderr

    (tmp_path / "train.jsonl").write_text("not json\n")
    broken = subprocess.run([*command, "--out", str(tmp_path / "out")], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=300)
    assert broken.returncode == 1
    error = json.loads(broken.stdout.splitlines()[-1])["message"]
    assert "Expecting value" in error and "not valid JSON" not in error, error


@pytest.mark.slow
def test_a_run_checkpoints_on_an_interval_and_on_sigterm_then_resumes(tmp_path, cache_dir):
    """No checkpoints asked for: FTAAS_CHECKPOINT_INTERVAL_SECONDS still leaves them (here after every step but the
    last), and SIGTERM makes the run checkpoint the step it is on and stop with exit code 75; --resume goes on."""
    write_jsonl(tmp_path / "train.jsonl", classification_examples(12, seed=2))
    spec = {"model": DEFAULT_MODEL_ID, "training_file": "train.jsonl", "seed": 5,
            "hyperparameters": {"max_steps": 10, "batch_size": 2, "max_seq_length": 64}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    command = [sys.executable, "-m", "jobs.train", str(tmp_path / "spec.json"), "--out", str(tmp_path / "out"), "--events", "jsonl"]
    env = {**os.environ, "FTAAS_CACHE_DIR": str(cache_dir), "FTAAS_MODELS": "", "FTAAS_CHECKPOINT_INTERVAL_SECONDS": "0.001"}

    run = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    first = []
    for line in run.stdout:
        first.append(json.loads(line))
        if first[-1]["message"] == "Checkpoint saved at step 2":
            run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=300) == 75
    stopped = [e for e in first if e["message"].startswith("Stopped at step")]
    assert len(stopped) == 1 and stopped[0]["data"]["step"] >= 2
    stopped_at = stopped[0]["data"]["step"]
    assert (tmp_path / "out" / "checkpoints" / f"step-{stopped_at}" / "state.json").is_file()
    assert not (tmp_path / "out" / "adapter").exists()

    resumed = subprocess.run([*command, "--resume"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    events = [json.loads(line) for line in resumed.stdout.splitlines()]
    assert f"Resumed from the checkpoint at step {stopped_at}" in [e["message"] for e in events]
    saved = [e["data"]["step"] for e in first + events if e["message"].startswith("Checkpoint saved")]
    assert saved == list(range(1, 10)), saved  # every step but the last (the finished model is saved anyway)
    assert [m["data"]["step"] for m in events if m["type"] == "metrics"] == list(range(stopped_at + 1, 11))
    assert (tmp_path / "out" / "adapter" / "adapter_config.json").is_file()
