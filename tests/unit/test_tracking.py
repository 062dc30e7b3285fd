"""jobs/training/tracking.py without a tracker server: what is logged, and what a failing tracker costs."""

from pathlib import Path

from jobs.training import events
from jobs.training.tracking import Tracking, TrackingConfig, _Active, _Thread, model_files, step_metrics


class Failing:
    title = "MLflow"

    def __init__(self) -> None:
        self.calls = []

    def start(self, params: dict) -> None:
        raise ConnectionError("POST http://admin:hunter2@mlflow:5000/api failed; key sk-wandb-secret refused")

    def log_steps(self, rows) -> None:
        self.calls.append(rows)

    def end(self, status: str) -> None:
        self.calls.append(status)


class Recording(Failing):
    def start(self, params: dict) -> None:
        self.calls.append(params)


def test_a_failing_tracker_costs_one_warning_without_secrets_and_every_event_still_goes_to_the_job() -> None:
    reported = []
    tracking = Tracking(reported.append, TrackingConfig(wandb_api_key="sk-wandb-secret"))
    failing, working = Failing(), Recording()
    for tracker, name in ((failing, "mlflow"), (working, "wandb")):
        thread = _Thread(name)
        thread.submit(tracker.start, {"seed": 1})
        tracking.active.append(_Active(tracker, thread, []))
    for step in (1, 2, 3):
        tracking(events.metrics({"step": step, "total_steps": 3, "train_loss": 1.0 / step, "learning_rate": 1e-3,
                                 "train_accuracy": 0.5, "stopped": True, "note": "x"}))
    tracking.finish(None, "FINISHED")

    assert [e["data"]["step"] for e in reported if e["type"] == "metrics"] == [1, 2, 3]
    (warning,) = [e for e in reported if e["level"] == "warning"]
    assert warning["message"].startswith("MLflow tracking failed: ConnectionError: ")
    assert "hunter2" not in warning["message"] and "sk-wandb-secret" not in warning["message"]
    assert failing.calls == []  # nothing after the failure
    assert working.calls[0] == {"seed": 1} and working.calls[-1] == "FINISHED"
    rows = [row for call in working.calls[1:-1] for row in call]
    assert [step for step, _, _ in rows] == [1, 2, 3]
    assert rows[1][1] == {"train_loss": 0.5, "learning_rate": 1e-3, "train_accuracy": 0.5}


def test_step_metrics_are_the_events_numbers() -> None:
    data = {"step": 4, "total_steps": 9, "epoch": 0.5, "train_loss": 2.0, "valid_loss": None, "flag": True,
            "eta_seconds": 3, "nan": float("nan")}
    assert step_metrics(data) == {"epoch": 0.5, "train_loss": 2.0, "eta_seconds": 3.0}


def test_a_full_models_weights_reach_a_tracker_only_with_all(tmp_path: Path) -> None:
    for folder, names in (("model", ["config.json", "model.safetensors", "tokenizer.json", "ftaas.json"]),
                          ("adapter", ["adapter_config.json", "adapter_model.safetensors"])):
        (tmp_path / folder).mkdir()
        for name in names:
            (tmp_path / folder / name).write_text("x")
    assert [p.name for p in model_files(tmp_path / "model", "adapter")] == ["config.json", "ftaas.json", "tokenizer.json"]
    assert "model.safetensors" in [p.name for p in model_files(tmp_path / "model", "all")]
    assert [p.name for p in model_files(tmp_path / "adapter", "adapter")] == ["adapter_config.json", "adapter_model.safetensors"]
    assert model_files(tmp_path / "adapter", "none") == []
