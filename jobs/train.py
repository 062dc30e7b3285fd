"""Run one fine-tuning job in this process: the entry point the worker's child process and `ftaas train` use.

    python -m jobs.train spec.json --out run/ [--events jsonl]
    python -m torch.distributed.run --standalone --nproc-per-node 2 -m jobs.train spec.json --out run/
    python -m jobs.train --input resolved.json --out run/ --events jsonl    (the worker's)

A spec is resolved here first (jobs.training_input: files checked, plan decided, catalog and continuation
checked); the worker resolves a job itself and hands over the result with --input, which is not checked again.

Writes `out/adapter/` (adapter methods) or `out/model/` (full fine-tuning) with the tokenizer,
`out/results/` (metrics.csv, loss.png, report.json) and `out/summary.json`. With `--events jsonl` stdout
carries only events, one JSON object per line. Under torchrun every process trains its share of each batch
(DDP or FSDP2; jobs/training/distributed.py) and rank 0 alone reports and writes.

Importing this module is cheap: torch and transformers load only when training starts.
"""

import argparse
import contextlib
import ctypes
import json
import math
import os
import signal
import sys
import traceback
from pathlib import Path

from pydantic import ValidationError

from jobs.catalog import Catalog
from jobs.data.formats import read_examples
from jobs.spec import JobSpec, sharding_strategy
from jobs.training.artifacts import read_info
from jobs.training_input import TrainingInput, resolve
from jobs.training import events
from jobs.training.events import Event, Report


def run_training(
    spec: JobSpec,
    training_path: Path,
    validation_path: Path | None,
    out_dir: Path,
    catalog: Catalog,
    report: Report,
    threads: int = 0,
    resume: bool = False,
    start_from: Path | None = None,
    processes=None,
    options=None,
) -> dict | None:
    """Resolve `spec` with its local files (jobs.training_input.resolve: the files are checked, the plan
    decided; with `start_from`, a saved `adapter/` or `model/` folder, that model is trained further) and
    train it: `train_resolved`."""
    training = resolve(spec, training_path, validation_path, catalog, start_from)
    return train_resolved(training, out_dir, catalog, report, threads, resume, processes, options)


def train_resolved(
    training: TrainingInput,
    out_dir: Path,
    catalog: Catalog,
    report: Report,
    threads: int = 0,
    resume: bool = False,
    processes=None,
    options=None,
) -> dict | None:
    """Run the recipe on a resolved job and write `out_dir/summary.json`; returns the summary. With `resume`,
    training goes on from the latest checkpoint in `out_dir/checkpoints/`. Under torchrun (`processes`, a
    jobs.training.distributed.ProcessGroup), only rank 0 writes and returns it. `options` (a
    jobs.training.pipeline.RunOptions): how this deployment runs jobs."""
    import torch

    from jobs.training import pipeline
    from jobs.training.distributed import ProcessGroup
    from jobs.training.loop import TrainingStopped
    from jobs.training.tracking import Tracking

    processes = processes or ProcessGroup()
    # The cores are shared by the processes of this machine.
    torch.set_num_threads(max(1, (threads or os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
    data = pipeline.TrainingData(
        format=training.format,
        train=read_examples(training.training_path),
        valid=read_examples(training.validation_path) if training.validation_path else None,
        labels=training.labels,
    )
    plan = training.plan
    out_dir.mkdir(parents=True, exist_ok=True)
    tracking = None  # the job's integrations (jobs/training/tracking.py): rank 0 reports to them
    if processes.is_main and options is not None and options.tracking is not None:
        tracking = Tracking.start(training, options.tracking, out_dir, report)
        report = tracking or report
    try:
        result = pipeline.run(training, data, out_dir, catalog, report, resume=resume, processes=processes, options=options)
    except BaseException as exc:
        if tracking is not None:
            tracking.finish(None, "KILLED" if isinstance(exc, TrainingStopped) else "FAILED")
        raise
    if result is None:
        return None

    summary = {
        **{k: v for k, v in result.items() if k != "seconds"},
        "plan": plan.model_dump(),
        "train_seconds": round(result["seconds"], 1),
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    text = f"Training finished in {summary['train_seconds']:.0f}s: training loss {summary['final_train_loss']:.4f}"
    if summary["final_valid_loss"] is not None:
        text += f", validation loss {summary['final_valid_loss']:.4f}"
    report(events.message(text, final_train_loss=summary["final_train_loss"], final_valid_loss=summary["final_valid_loss"]))
    if tracking is not None:
        tracking.finish(out_dir)
    return summary


class JsonLinesReport:
    """Each event as one JSON line on the real stdout; fd 1 itself goes to stderr so stray prints cannot mix in."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self.out = os.fdopen(os.dup(1), "w")
        os.dup2(2, 1)

    def __call__(self, event: Event) -> None:
        self.out.write(json.dumps(event) + "\n")
        self.out.flush()


class HumanReport:
    """A progress bar over the steps; messages as plain lines."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, event: Event) -> None:
        from tqdm import tqdm

        if event["type"] == "metrics":
            data = event["data"]
            if self.bar is None:
                self.bar = tqdm(total=data["total_steps"], unit="step", dynamic_ncols=True)
            postfix = {"loss": f"{data['train_loss']:.4f}"}
            if data.get("valid_loss") is not None:
                postfix["valid"] = f"{data['valid_loss']:.4f}"
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)
            if data["step"] == data["total_steps"]:
                self.bar.close()
        else:
            prefix = "" if event["level"] == "info" else f"{event['level']}: "
            tqdm.write(prefix + event["message"], file=sys.stderr if event["level"] == "error" else sys.stdout)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ftaas train",
        description="Fine-tune a base model from the catalog on a local JSONL file (chat, prompt/completion, text, "
        "classification or preference examples), in this process, with any method: full, lora, qlora, ia3, "
        "prefix_tuning, prompt_tuning.",
        epilog="The spec file is a fine-tuning job body, e.g. "
        '{"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "training_file": "train.jsonl", '
        '"hyperparameters": {"n_epochs": 3}}. training_file and validation_file are local paths, relative '
        "to the spec file's folder. The catalog and cache come from FTAAS_MODELS and FTAAS_CACHE_DIR. "
        "Exit codes: 0 trained; 1 training failed; 2 invalid spec; 3 out of accelerator memory (a smaller "
        "FTAAS_TRAINING_ACTIVATION_BUDGET_BYTES and --resume go on); 75 stopped by SIGTERM (--resume goes on).",
    )
    parser.add_argument("spec", type=Path, nargs="?", help="the job spec, a JSON file")
    parser.add_argument(
        "--input", type=Path, default=None, metavar="FILE",
        help="instead of a spec: a job resolved already (jobs.training_input.TrainingInput as JSON), as the worker "
        "hands it to its training process; needs --out",
    )
    parser.add_argument(
        "--out", type=Path, default=None,
        help="folder for adapter/ or model/, results/ (metrics.csv, loss.png, report.json) and summary.json "
        "(default: SPEC-NAME-out/ beside the spec)",
    )
    parser.add_argument(
        "--events",
        choices=["jsonl"],
        help="write progress as JSON lines on stdout (for programs); default: a progress bar for people",
    )
    parser.add_argument(
        "--resume", action="store_true",
        help="go on from the latest checkpoint in --out (those the spec asks for with n_checkpoints or checkpoint_every, "
        "one every FTAAS_CHECKPOINT_INTERVAL_SECONDS, and one on SIGTERM, after which the run stops with exit code 75)",
    )
    parser.add_argument(
        "--start-from", type=Path, default=None, metavar="DIR",
        help="continue training a model an earlier run saved: its adapter/ or model/ folder (from --out, or a "
        "checkpoint's step-N/ folder); training_type must be the one that trained it",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: FTAAS_TRAIN_THREADS, else all cores)")
    return parser


def _continuing(raw: object, start_from: Path | None) -> dict | None:
    """The spec's validation context when it continues a saved model: as in the API, a left-out training_type
    is inherited and the continuation rules apply (jobs.spec)."""
    if start_from is None or not isinstance(raw, dict):
        return None
    try:
        info = read_info(start_from)
    except ValueError:
        return None  # resolving says what is wrong with the folder
    return {"starting_model": info.as_starting_model(raw.get("model"))}


def _local_path(value: str | None, base: Path) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


EXIT_STOPPED = 75  # EX_TEMPFAIL: stopped on SIGTERM, resumable from the checkpoint it wrote
EXIT_OUT_OF_MEMORY = 3  # the accelerator ran out of memory: the worker retries with a smaller activation budget
TRAINING_MODULE = "jobs.train"  # `python -m jobs.train`: the worker's child (also on each Kubeflow training node)


def training_command(python: str, processes: int = 1, stop_grace_s: float = 90, across_nodes: bool = False) -> list[str]:
    """The command that trains in `processes` processes on this machine (torchrun for more than one); the
    arguments of this module follow it. torchrun passes a SIGTERM on to the ranks and gives them
    `stop_grace_s` to checkpoint and stop before it kills them. `across_nodes`: this machine is one node of
    several, and torchrun takes the node count, the node's rank, its processes and the master's address from
    the PET_* variables (Kubeflow Trainer's torch runtime sets them)."""
    if processes == 1 and not across_nodes:
        return [python, "-m", TRAINING_MODULE]
    where = [] if across_nodes else ["--standalone", f"--nproc-per-node={processes}"]
    return [python, "-m", "torch.distributed.run", *where, f"--shutdown-timeout={math.ceil(stop_grace_s)}",
            "-m", TRAINING_MODULE]


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """The kernel kills this process when its parent dies, however the parent dies (Linux). The worker sets it
    in its child before exec; under torchrun, whose workers run in sessions of their own, each rank sets it,
    so a lost launcher never leaves ranks training on."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _silent(event: Event) -> None:
    pass


def _checkpoints_only(report: Report) -> Report:
    """Across nodes, each node's first process says when a checkpoint is written: its node's shards are then on
    its disk (jobs/across_nodes.py stores them)."""
    def forward(event: Event) -> None:
        if "checkpoint" in event["data"]:
            report(event)
    return forward


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.spec is None) == (args.input is None):
        parser.error("give a spec file, or --input with a resolved job (and --out)")
    if args.input is not None and (args.out is None or args.start_from is not None):
        parser.error("--input needs --out, and carries the model it starts from itself (no --start-from)")
    if "TORCHELASTIC_RUN_ID" in os.environ and sys.platform == "linux":
        die_with_parent()
    rank = int(os.environ.get("RANK", "0"))  # under torchrun: rank 0 alone reports
    if rank == 0:
        report: Report = JsonLinesReport() if args.events == "jsonl" else HumanReport()
    elif args.events == "jsonl" and os.environ.get("LOCAL_RANK") == "0":
        report = _checkpoints_only(JsonLinesReport())  # another node's first process: its shards are to store
    else:
        os.dup2(2, 1)  # stdout carries rank 0's events only
        report = _silent

    def fail(text: str, code: int, **data) -> int:
        if args.events == "jsonl":
            report(events.message(text, level="error", **data))
        else:
            print(f"error: {text}", file=sys.stderr)
        return code

    training = None
    if args.input is not None:  # the worker's: resolved already, trusted as it is
        try:
            training = TrainingInput.model_validate_json(args.input.read_text())
        except (OSError, ValidationError) as exc:
            return fail(f"cannot read the resolved input {args.input}: {exc}", 2)
        spec = training.spec
    else:
        try:
            raw = json.loads(args.spec.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            return fail(f"cannot read the spec {args.spec}: {exc}", 2)
        try:
            spec = JobSpec.model_validate(raw, context=_continuing(raw, args.start_from))
        except ValidationError as exc:
            problems = [f"{'.'.join(map(str, e['loc'])) or 'spec'}: {e['msg']}" for e in exc.errors()]
            if args.events != "jsonl":
                for problem in problems:
                    print(problem, file=sys.stderr)
            return fail(f"invalid spec {args.spec}: {'; '.join(problems)}", 2, problems=problems)

    from jobs.settings import Settings
    from jobs.training.loop import TrainingStopped
    from jobs.training.pipeline import RunOptions
    from jobs.training.tracking import TrackingConfig

    settings = Settings()
    options = RunOptions(
        evidence_level=settings.training_evidence,
        report_validation_examples=settings.report_validation_examples,
        checkpoint_interval_s=settings.checkpoint_interval_seconds or None,
        activation_budget_bytes=settings.training_activation_budget_bytes,
        tracking=TrackingConfig.from_settings(settings),
    )
    threads = args.threads if args.threads is not None else settings.train_threads
    out = args.out or args.spec.resolve().parent / f"{args.spec.stem}-out"
    try:
        signal.signal(signal.SIGTERM, options.stop.handle_signal)
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars are noise in a job's log
        catalog = Catalog.from_setting(settings.models, settings.cache_dir)
        if training is None:
            base = args.spec.resolve().parent
            training = resolve(spec, _local_path(spec.training_file, base), _local_path(spec.validation_file, base),
                               catalog, args.start_from)
        from jobs.training.distributed import ProcessGroup
        from jobs.training.memory import fits_one_accelerator
        from jobs.training.pipeline import device_and_dtype

        fits = fits_one_accelerator(training.model_folder(catalog), device_and_dtype(spec)[1].itemsize)
        processes = ProcessGroup.from_environment(sharding_strategy(spec.compute, spec.training_type, fits))
        train_resolved(training, out, catalog, report, threads=threads, resume=args.resume, processes=processes,
                       options=options)
        processes.close()
    except TrainingStopped as exc:
        if exc.step is None:
            report(events.message("Stopped on request (SIGTERM) before training started; nothing to keep"))
        elif args.events != "jsonl":
            print(f"Run again with --resume to go on from step {exc.step}.", file=sys.stderr)
        return EXIT_STOPPED
    except ValueError as exc:
        return fail(str(exc), 1)
    except Exception as exc:
        traceback.print_exc()
        import torch

        if isinstance(exc, torch.OutOfMemoryError):
            return fail(f"out of accelerator memory: {str(exc).splitlines()[0]}", EXIT_OUT_OF_MEMORY)
        return fail(f"training failed: {type(exc).__name__}: {exc}", 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
