"""Experiment trackers a job reports to: its `integrations` (jobs.spec), W&B (OpenAI's integration) and MLflow
(an ftaas extension).

Rank 0 of the training process (jobs.train) opens one run per integration and wraps the run's event reporter:
every event still goes to the job first, and each metrics event's numbers (train loss, learning rate, tokens/s,
validation loss, …) are logged to the trackers at its step. The run's parameters (the resolved hyper-parameters,
method, training type, base model, job id, seed) are logged when it opens; at the end the result files
(metrics.csv, loss.png, report.json, summary.json) and the trained model's folder (FTAAS_TRACKING_LOG_MODEL:
an adapter whole, a full model's small files only, unless `all`).

Each tracker works in a thread of its own, so a slow tracker never slows training, and a tracker that fails
(unreachable, a refused key, …) costs one warning event on the job: training goes on without it.

A job that resumes (a pause, a worker lost or stopped) continues its run: W&B's run id is the job id, and the
MLflow run is found by its `ftaas.job_id` tag; the steps the run has already logged are not logged again.
Without a job id (`ftaas train`), each run of the command is a run of its own.
"""

import logging
import math
import os
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.spec import INTEGRATION_SETTINGS, MlflowSettings, WandbSettings
from jobs.training import events
from jobs.training.events import Event, Report
from jobs.training_input import TrainingInput

log = logging.getLogger("ftaas.tracking")

FINISH_TIMEOUT_S = 120  # at the end, how long training waits for a tracker's last metrics and uploads
WANDB_INIT_TIMEOUT_S = 30
NOT_METRICS = ("step", "total_steps")  # in a metrics event's data, besides the numbers logged
# Full models' weight files: not copied into a tracker unless FTAAS_TRACKING_LOG_MODEL=all.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
# MLflow's client retries a failing request for minutes by default; here a tracker that does not answer is given
# up sooner (the operator's own MLFLOW_HTTP_REQUEST_* settings win).
MLFLOW_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


@dataclass(frozen=True)
class TrackingConfig:
    """The deployment's tracker settings (jobs.settings.Settings: FTAAS_WANDB_*, FTAAS_MLFLOW_TRACKING_URI)."""

    wandb_api_key: str | None = None
    wandb_base_url: str = ""
    mlflow_tracking_uri: str = ""
    log_model: str = "adapter"  # "none", "adapter" or "all"

    @classmethod
    def from_settings(cls, settings) -> "TrackingConfig":
        key = settings.wandb_api_key.get_secret_value() if settings.wandb_api_key is not None else None
        return cls(wandb_api_key=key or None, wandb_base_url=settings.wandb_base_url,
                   mlflow_tracking_uri=settings.mlflow_tracking_uri.strip(), log_model=settings.tracking_log_model)

    def secrets(self) -> list[str]:
        found = [self.wandb_api_key] + [os.environ.get(name) for name in (
            "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN", "WANDB_API_KEY")]
        return [s for s in found if s]


def run_params(training: TrainingInput) -> dict[str, str | int | float | bool]:
    """What a tracker records of the run, flat: job, models, method, training type, the resolved plan, files."""
    spec, plan = training.spec, training.plan
    params: dict[str, Any] = {
        "job_id": training.job_id, "model": spec.model, "base_model": training.base_model,
        "method": spec.method_type, "training_type": spec.training_type.type, "format": training.format,
        "n_examples": training.n_examples, "seed": plan.seed, "suffix": spec.suffix,
        "training_file": spec.training_file, "validation_file": spec.validation_file,
    }
    _flatten(params, "training_type", {k: v for k, v in spec.training_type.model_dump().items() if k != "type"})
    _flatten(params, "hyperparameters", plan.model_dump(exclude={"seed"}))
    _flatten(params, "compute", spec.compute.model_dump())
    return {k: v for k, v in params.items() if v is not None}


def _flatten(into: dict, prefix: str, values: dict) -> None:
    for key, value in values.items():
        if isinstance(value, dict):
            _flatten(into, f"{prefix}.{key}", value)
        else:
            into[f"{prefix}.{key}"] = value if not isinstance(value, list) else ",".join(map(str, value))


def step_metrics(data: dict) -> dict[str, float]:
    """A metrics event's numbers, by their names in the event (train_loss, learning_rate, valid_loss, …)."""
    return {k: float(v) for k, v in data.items()
            if k not in NOT_METRICS and isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)}


def model_files(folder: Path, log_model: str) -> list[Path]:
    """The files of a saved adapter/ or model/ folder a tracker gets (FTAAS_TRACKING_LOG_MODEL)."""
    if log_model == "none" or not folder.is_dir():
        return []
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if folder.name == "model" and log_model != "all":
        files = [p for p in files if not p.name.endswith(WEIGHT_SUFFIXES)]
    return files


class _Thread:
    """One tracker's calls, in order, on a thread of its own; the first that fails stops the rest."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: queue.Queue = queue.Queue()
        self.error: str | None = None
        self.thread = threading.Thread(target=self._loop, name=f"ftaas-tracking-{name}", daemon=True)
        self.thread.start()

    def submit(self, call: Callable, *args) -> None:
        if self.error is None:
            self.calls.put((call, args))

    def _loop(self) -> None:
        while (item := self.calls.get()) is not None:
            call, args = item
            if self.error is not None:
                continue
            try:
                call(*args)
            except BaseException as exc:  # noqa: BLE001 — whatever a tracker raises, training goes on
                self.error = f"{type(exc).__name__}: {exc}"
                log.debug("%s tracking failed", self.name, exc_info=True)

    def close(self, timeout_s: float) -> bool:
        """Wait for the calls submitted so far; False when they did not finish in time."""
        self.calls.put(None)
        self.thread.join(timeout_s)
        return not self.thread.is_alive()


class WandbRun:
    """OpenAI's W&B integration: a W&B run (id = the job id), config = run_params, metrics per step, artifacts."""

    title = "W&B"

    def __init__(self, settings: WandbSettings, config: TrackingConfig, training: TrainingInput, out_dir: Path) -> None:
        self.settings, self.config, self.training, self.out_dir = settings, config, training, out_dir
        self.run = None
        self.last_step = 0

    def start(self, params: dict) -> None:
        import wandb

        options: dict[str, Any] = dict(
            api_key=self.config.wandb_api_key, console="off", silent=True, x_disable_stats=True, save_code=False,
            disable_git=True, x_save_requirements=False, init_timeout=WANDB_INIT_TIMEOUT_S,
        )
        if self.config.wandb_base_url:
            options["base_url"] = self.config.wandb_base_url
        job_id, base = self.training.job_id, self.training.base_model
        tags = ["ftaas/finetune", f"ftaas/{base}"[:64], *([f"ftaas/{job_id}"[:64]] if job_id else [])]
        self.run = wandb.init(
            project=self.settings.project, entity=self.settings.entity, name=self.settings.name or job_id,
            id=job_id, resume="allow" if job_id else None, tags=[*tags, *(self.settings.tags or [])],
            config=params, dir=os.environ.get("WANDB_DIR") or str(self.out_dir), settings=wandb.Settings(**options),
            reinit="create_new",
        )
        if self.run.resumed:
            self.last_step = int(self.run.summary.get("step", 0) or 0)
        self.run.define_metric("step")
        self.run.define_metric("*", step_metric="step")

    def log_steps(self, rows: list[tuple[int, dict[str, float], int]]) -> None:
        for step, metrics, _ in rows:
            if step > self.last_step:
                self.run.log({"step": step, **metrics})
                self.last_step = step

    def log_files(self, results: list[Path], model: list[Path], model_folder: Path) -> None:
        import wandb

        name = self.training.job_id or self.run.id
        if results:
            artifact = wandb.Artifact(f"{name}-results", type="results")
            for path in results:
                artifact.add_file(str(path), name=path.name)
            self.run.log_artifact(artifact)
        if model:
            artifact = wandb.Artifact(f"{name}-{model_folder.name}", type="model",
                                      metadata={"base_model": self.training.base_model})
            for path in model:
                artifact.add_file(str(path), name=str(path.relative_to(model_folder)))
            self.run.log_artifact(artifact)

    def end(self, status: str) -> None:
        if status == "KILLED":
            self.run.mark_preempting()  # stopped to be resumed (a pause, a worker stopping)
        self.run.finish(exit_code=1 if status == "FAILED" else 0)


class MlflowRun:
    """ftaas's MLflow integration: a run in the named experiment (tag ftaas.job_id), params = run_params, metrics
    per step, the result files under `results/` and the model under `adapter/` or `model/`."""

    title = "MLflow"

    def __init__(self, settings: MlflowSettings, config: TrackingConfig, training: TrainingInput, out_dir: Path) -> None:
        self.settings, self.config, self.training = settings, config, training
        self.client = self.run_id = None
        self.last_step = 0

    def start(self, params: dict) -> None:
        for name, value in MLFLOW_HTTP_DEFAULTS.items():
            os.environ.setdefault(name, value)
        from mlflow.entities import Param
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        self.client = client = MlflowClient(tracking_uri=self.config.mlflow_tracking_uri)
        experiment = client.get_experiment_by_name(self.settings.experiment)
        if experiment is not None:
            experiment_id = experiment.experiment_id
        else:
            try:
                experiment_id = client.create_experiment(self.settings.experiment)
            except MlflowException:  # another job created it meanwhile
                experiment_id = client.get_experiment_by_name(self.settings.experiment).experiment_id
        job_id = self.training.job_id
        if job_id is not None:
            found = client.search_runs([experiment_id], filter_string=f"tags.`ftaas.job_id` = '{job_id}'", max_results=1)
            if found:  # the job resumes: its run goes on
                self.run_id = found[0].info.run_id
                client.update_run(self.run_id, status="RUNNING")
                history = client.get_metric_history(self.run_id, "train_loss")
                self.last_step = max((m.step for m in history), default=0)
                return
        tags = {"ftaas.base_model": self.training.base_model, "ftaas.method": self.training.spec.method_type,
                **({"ftaas.job_id": job_id} if job_id else {}), **(self.settings.tags or {})}
        run = client.create_run(experiment_id, run_name=self.settings.run_name or job_id, tags=tags)
        self.run_id = run.info.run_id
        items = [Param(key, str(value)) for key, value in params.items()]
        for i in range(0, len(items), 100):  # MLflow takes at most 100 params per batch
            client.log_batch(self.run_id, params=items[i:i + 100])

    def log_steps(self, rows: list[tuple[int, dict[str, float], int]]) -> None:
        from mlflow.entities import Metric

        metrics = [Metric(key, value, timestamp, step) for step, values, timestamp in rows if step > self.last_step
                   for key, value in values.items()]
        for i in range(0, len(metrics), 1000):  # MLflow takes at most 1000 metrics per batch
            self.client.log_batch(self.run_id, metrics=metrics[i:i + 1000])
        self.last_step = max([self.last_step, *(step for step, _, _ in rows)])

    def log_files(self, results: list[Path], model: list[Path], model_folder: Path) -> None:
        for path in results:
            self.client.log_artifact(self.run_id, str(path), "results")
        for path in model:
            where = Path(model_folder.name) / path.relative_to(model_folder).parent
            self.client.log_artifact(self.run_id, str(path), where.as_posix())

    def end(self, status: str) -> None:
        self.client.set_terminated(self.run_id, status)


TRACKERS = {"wandb": WandbRun, "mlflow": MlflowRun}


def _configured(kind: str, config: TrackingConfig) -> bool:
    return bool(config.wandb_api_key) if kind == "wandb" else bool(config.mlflow_tracking_uri)


@dataclass
class _Active:
    tracker: Any  # WandbRun or MlflowRun
    thread: _Thread
    pending: list[tuple[int, dict[str, float], int]]  # (step, metrics, time in ms) not yet handed to the thread


class Tracking:
    """The trackers of one run, and the reporter that feeds them: call it with every event (it forwards each to
    `report` first); `finish` at the end. Only rank 0 makes one."""

    def __init__(self, report: Report, config: TrackingConfig) -> None:
        self.report = report
        self.config = config
        self.active: list[_Active] = []
        self.warned: set[str] = set()

    @classmethod
    def start(cls, training: TrainingInput, config: TrackingConfig, out_dir: Path, report: Report) -> "Tracking | None":
        """Open a run in each tracker the job asks for (None when it asks for none)."""
        integrations = training.spec.integrations or []
        if not integrations:
            return None
        tracking = cls(report, config)
        params = run_params(training)
        for integration in integrations:
            kind = integration.type
            if not _configured(kind, config):
                report(events.message(f"The job asks for the {kind} integration, which is not configured here (set "
                                      f"{INTEGRATION_SETTINGS[kind].split(' ')[0]}); training goes on without it",
                                      level="warning", integration=kind))
                continue
            tracker = TRACKERS[kind](getattr(integration, kind), config, training, out_dir)
            thread = _Thread(kind)
            thread.submit(tracker.start, params)
            tracking.active.append(_Active(tracker, thread, []))
        if tracking.active:
            report(events.message("Tracking the run in " + " and ".join(a.tracker.title for a in tracking.active)))
        return tracking

    def __call__(self, event: Event) -> None:
        self.report(event)
        if event["type"] == "metrics":
            row = (int(event["data"]["step"]), step_metrics(event["data"]), int(time.time() * 1000))
            for active in self.active:
                active.pending.append(row)
                # While a tracker is busy its steps wait here, and go in one call once it has caught up.
                if active.thread.calls.empty():
                    active.thread.submit(active.tracker.log_steps, active.pending)
                    active.pending = []
        self._warn()

    def finish(self, out_dir: Path | None, status: str = "FINISHED") -> None:
        """Log the steps left, the result files and the model (when `out_dir` is given: the run succeeded), end
        the runs with `status` (MLflow's FINISHED, FAILED or KILLED) and wait for the trackers, at most
        FINISH_TIMEOUT_S."""
        results, model, folder = [], [], None
        if out_dir is not None:
            results = sorted(p for p in (out_dir / "results").glob("*") if p.is_file())
            results += [out_dir / "summary.json"] if (out_dir / "summary.json").is_file() else []
            folder = next((out_dir / name for name in ("adapter", "model") if (out_dir / name).is_dir()), None)
            model = model_files(folder, self.config.log_model) if folder is not None else []
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        for active in self.active:
            if active.pending:
                active.thread.submit(active.tracker.log_steps, active.pending)
            if results or model:
                active.thread.submit(active.tracker.log_files, results, model, folder)
            active.thread.submit(active.tracker.end, status)
        for active in self.active:
            if not active.thread.close(max(0.0, deadline - time.monotonic())) and active.thread.error is None:
                active.thread.error = (f"it did not finish within {FINISH_TIMEOUT_S} s; its run may lack the last "
                                       "metrics or files")
        self._warn()

    def _warn(self) -> None:
        for active in self.active:
            error, name = active.thread.error, active.thread.name
            if error is not None and name not in self.warned:
                self.warned.add(name)
                self.report(events.message(
                    f"{active.tracker.title} tracking failed: {self._scrubbed(error)}; training goes on without it",
                    level="warning", integration=name,
                ))

    def _scrubbed(self, text: str) -> str:
        text = re.sub(r"://[^/@\s]+@", "://***@", text)  # credentials in a URL
        for secret in self.config.secrets():
            text = text.replace(secret, "***")
        return text[:500]
