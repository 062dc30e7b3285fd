"""The training loop every recipe shares: plain PyTorch, no HF Trainer.

One optimizer step = `gradient_accumulation_steps` batches of `batch_size` examples; the loss is the
mean over all targets of the step, however they are split into batches. AdamW (fused) over the
trainable parameter groups, the plan's scheduler with warm-up, gradient-norm clipping, evaluation on
the validation set at planned steps with optional early stopping (the best weights are kept), one
metrics event and one `results/metrics.csv` row per step.

The task (jobs/training/causal_lm.py and its siblings) says how examples become batches and losses;
hooks let a recipe change what is trainable as training goes (gradual unfreezing). Under torchrun the
same loop runs in every process (jobs/training/distributed.py says how they split the work).
"""

import csv
import itertools
import math
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.distributed.tensor import DTensor
from transformers import get_scheduler

from jobs.spec import TrainingPlan
from jobs.training import checkpoints, events
from jobs.training.distributed import ProcessGroup
from jobs.training.events import Report
from jobs.training.memory import forward_pieces

FINAL_LOSS_STEPS = 10  # final_train_loss is the mean over this many last steps (one step's loss is noisy)
METRICS_COLUMNS = [
    "step", "epoch", "train_loss", "train_accuracy", "valid_loss", "valid_accuracy", "learning_rate", "grad_norm",
    "tokens_per_second",
]
CHECKPOINT_METRICS = ("train_loss", "train_accuracy", "valid_loss", "valid_accuracy")  # reported with each checkpoint
# Before each step: (step about to run, 0-based epoch) -> a message to report when something changed.
StepHook = Callable[[int, int], str | None]


class TrainingStopped(Exception):
    """The run stopped on request (SIGTERM) before it finished; `step` is the checkpoint that resumes it (None
    when training had not started, so nothing needed keeping)."""

    def __init__(self, step: int | None) -> None:
        super().__init__(f"stopped at step {step}" if step is not None else "stopped before training started")
        self.step = step


class StopRequest:
    """SIGTERM (a worker draining, a rollout, Kubernetes deleting a training pod) as the loop sees it: during
    training, the step under way finishes, a checkpoint is written and the run stops (`TrainingStopped`);
    before training starts there is nothing to keep, so the run stops at once; once training has ended, the
    run finishes (saving the result is the quickest way not to lose it)."""

    def __init__(self) -> None:
        self.requested = False
        self.phase = "before"  # "training", then "after": set by the loop

    def handle_signal(self, signum, frame) -> None:
        self.requested = True
        if self.phase == "before":
            raise TrainingStopped(None)


@dataclass
class LoopResult:
    steps: int
    trained_tokens: int  # non-padding tokens fed to the model, over all epochs
    final_train_loss: float
    final_valid: dict | None  # the last evaluation (or the best, after early stopping)
    seconds: float
    stopped_early: bool = False
    evaluations: list[dict] = field(default_factory=list)


def steps_per_epoch(n_examples: int, plan: TrainingPlan) -> int:
    return math.ceil(math.ceil(n_examples / plan.batch_size) / plan.gradient_accumulation_steps)


def planned_steps(n_examples: int, plan: TrainingPlan) -> int:
    return plan.max_steps if plan.max_steps is not None else plan.n_epochs * steps_per_epoch(n_examples, plan)


def _steps(task, examples: list[dict], plan: TrainingPlan, rng: random.Random) -> Iterator[tuple[int, float, list]]:
    """(0-based epoch, epoch progress after the step, the step's batches), until n_epochs or max_steps."""
    step, epoch = 0, 0
    while True:
        batches = task.batches(examples, plan.batch_size, rng)
        groups = [batches[i : i + plan.gradient_accumulation_steps] for i in range(0, len(batches), plan.gradient_accumulation_steps)]
        for index, group in enumerate(groups):
            if plan.max_steps is not None and step == plan.max_steps:
                return
            step += 1
            yield epoch, epoch + (index + 1) / len(groups), group
        epoch += 1
        if plan.max_steps is None and epoch == plan.n_epochs:
            return


@dataclass
class Accumulated:
    loss: float  # mean over the step's targets
    accuracy: float
    n_tokens: int


class StepLoss(torch.nn.Module):
    """The task's loss of a batch as a module's forward: what DDP wraps, so it sees every forward."""

    def __init__(self, model: torch.nn.Module, task) -> None:
        super().__init__()
        self.model = model
        self.task = task

    def forward(self, batch: dict):
        return self.task.loss(self.model, batch)


def accumulate_gradients(step_loss: torch.nn.Module, task, group: list[list[dict]],
                         processes: ProcessGroup = ProcessGroup(), max_forward_tokens: int | None = None) -> Accumulated:
    """Backward over one optimizer step's batches; the gradients are those of the mean loss over all
    their targets, exactly as if the batches were one (each batch's summed loss is divided by the
    step's total target count, counted before any forward). Over several processes each takes its share
    of every batch and the gradients are summed over them in the step's last backward (DDP, FSDP2). A share
    larger than `max_forward_tokens` goes through in several forwards (jobs/training/memory.py)."""
    shares = [
        piece
        for examples in group if (share := processes.share(examples))
        for piece in (forward_pieces(share, max_forward_tokens, task.padded_tokens) if max_forward_tokens else [share])
    ]
    # Every rank runs as many forwards as the busiest (FSDP2's are collective); a rank with fewer pieces (a last
    # batch smaller than the world, shorter examples) runs one example more times, counting nothing.
    n_forwards = processes.max(len(shares))
    padding = [group[0][:1]] * (n_forwards - len(shares))
    batches = [task.collate(examples) for examples in shares + padding]
    counted = [task.count_targets(batch) for batch in batches[: len(shares)]]
    n_targets = processes.sum(sum(counted))[0] or 1  # a float under class weights
    scale = processes.world_size / n_targets  # DDP and FSDP2 average the gradients over the ranks
    total, n_correct = 0.0, 0
    for i, batch in enumerate(batches):
        counts = i < len(shares)
        with processes.accumulating(step_loss, last=i == len(batches) - 1):
            loss = step_loss(batch)
            (loss.total * (scale if counts else 0.0)).backward()
        if counts:
            total += loss.total.item()
            n_correct += loss.n_correct
    n_tokens = sum(batch["n_tokens"] for batch in batches[: len(shares)])
    total, n_correct, n_tokens = processes.sum(total, n_correct, n_tokens)
    return Accumulated(total / n_targets, n_correct / n_targets, int(n_tokens))


def evaluation_steps(plan: TrainingPlan, total_steps: int, steps_per_epoch: int) -> set[int]:
    """Steps after which the validation set is evaluated; the last step always is."""
    if plan.eval_every:
        steps = set(range(plan.eval_every, total_steps + 1, plan.eval_every))
    elif plan.n_evals:
        steps = {max(1, round(total_steps * (i + 1) / plan.n_evals)) for i in range(plan.n_evals)}
    else:
        steps = set(range(steps_per_epoch, total_steps + 1, steps_per_epoch))
    return steps | {total_steps}


def checkpoint_steps(plan: TrainingPlan, total_steps: int) -> set[int]:
    """Steps after which a checkpoint is written: evenly spaced, and always the last one, so the finished
    model is also a checkpoint a new job can continue from by name."""
    if plan.checkpoint_every:
        return set(range(plan.checkpoint_every, total_steps + 1, plan.checkpoint_every)) | {total_steps}
    if plan.n_checkpoints:
        return {max(1, round(total_steps * (i + 1) / plan.n_checkpoints)) for i in range(plan.n_checkpoints)}
    return set()


def _snapshot(parameters: list[torch.nn.Parameter]) -> list[torch.Tensor]:
    return [p.detach().to("cpu", copy=True) for p in parameters]


def train(
    model: torch.nn.Module,
    task,
    train_examples: list[dict],
    valid_examples: list[dict] | None,
    plan: TrainingPlan,
    out_dir: Path,
    report: Report,
    parameter_groups: list[dict] | None = None,
    hooks: list[StepHook] = (),
    resume_from: Path | None = None,
    export: Callable[[Path], object] | None = None,
    processes: ProcessGroup = ProcessGroup(),
    checkpoint_interval_s: float | None = None,
    stop: StopRequest | None = None,
    max_forward_tokens: int | None = None,
) -> LoopResult:
    """Train `model`'s trainable parameters (or `parameter_groups`) on tokenized examples.

    Checkpoints (when the plan asks for them) go to `out_dir/checkpoints/`; `resume_from` names one to
    go on from, giving the same losses at the same steps as a run that was never interrupted.
    `export(folder)` writes the model as of a checkpoint into the checkpoint's folder (called on every rank).
    With several `processes` (a model FSDP2 shards comes sharded: ProcessGroup.shard_from_main), rank 0 alone
    evaluates (every rank, when the model is sharded) and reports (it is the one given a `report` that
    reports: jobs.train); the others get its decisions.

    Beside the plan's checkpoints, one is written whenever `checkpoint_interval_s` has passed since the last
    (so a lost worker never restarts a long job from the start), and one when `stop` is requested, after
    which `TrainingStopped` is raised. `max_forward_tokens` bounds one forward (accumulate_gradients).
    """
    torch.manual_seed(plan.seed)
    rng = random.Random(plan.seed)
    total_steps = planned_steps(len(train_examples), plan)
    epoch_steps = steps_per_epoch(len(train_examples), plan)
    evaluate_after = evaluation_steps(plan, total_steps, epoch_steps) if valid_examples else set()
    checkpoint_after = checkpoint_steps(plan, total_steps)

    if parameter_groups is None:
        parameter_groups = [{"params": [p for p in model.parameters() if p.requires_grad]}]
    processes.reshard(model)
    name_of = {id(p): name for name, p in model.named_parameters()}  # checkpoints name the parameters
    trained = {name_of[id(p)]: p for group in parameter_groups for p in group["params"]}
    parameters = list(trained.values())
    step_loss = processes.wrap(StepLoss(model, task), model)
    # fused: one kernel for all parameters instead of a loop over ~400 small LoRA tensors (CPU and CUDA).
    optimizer = torch.optim.AdamW(parameter_groups, lr=plan.learning_rate, weight_decay=plan.weight_decay, fused=True)
    scheduler = get_scheduler(
        "constant_with_warmup" if plan.lr_scheduler == "constant" else plan.lr_scheduler,
        optimizer,
        num_warmup_steps=round(plan.warmup_ratio * total_steps),
        num_training_steps=total_steps,
        scheduler_specific_kwargs={"num_cycles": plan.lr_cycles} if plan.lr_scheduler == "cosine_with_restarts" else None,
    )

    # Other ranks keep their (identical) metrics rows in a scratch folder: only rank 0's are the run's.
    scratch = None if processes.is_main else tempfile.TemporaryDirectory(prefix=f"ftaas-rank-{processes.rank}-")
    results = out_dir / "results" if scratch is None else Path(scratch.name)
    results.mkdir(parents=True, exist_ok=True)
    metrics_csv = results / "metrics.csv"
    model.train()
    step, trained_tokens, elapsed_before = 0, 0, 0.0
    losses: list[float] = []
    evaluations: list[dict] = []
    best, best_state, stale = None, None, 0
    stopped_early = False
    if resume_from is not None:
        state = checkpoints.load(resume_from, model, trained, optimizer, scheduler, metrics_csv)
        step, trained_tokens, elapsed_before = state["step"], state["trained_tokens"], state["seconds"]
        losses, evaluations, best, stale = state["losses"], state["evaluations"], state["best"], state["stale"]
        report(events.message(f"Resumed from the checkpoint at step {step}", step=step))
    elif processes.is_main:
        shutil.rmtree(out_dir / "checkpoints", ignore_errors=True)  # an earlier run's would mix with this one's
    started = time.perf_counter() - elapsed_before
    last_checkpoint_at = time.perf_counter()
    stop = stop or StopRequest()
    stop.phase = "training"
    with open(metrics_csv, "a" if resume_from else "w", newline="") as csv_file:
        writer = csv.DictWriter(csv_file, fieldnames=METRICS_COLUMNS)
        if resume_from is None:
            writer.writeheader()
        # A resumed run replays the data order's random draws up to its step, without training on them.
        for epoch, epoch_progress, group in itertools.islice(_steps(task, train_examples, plan, rng), step, None):
            for hook in hooks:
                if (change := hook(step, epoch)) is not None:
                    report(events.message(change))
            learning_rate = optimizer.param_groups[-1]["lr"]  # the top layer's, under layer-wise decay
            accumulated = accumulate_gradients(step_loss, task, group, processes, max_forward_tokens)
            grad_norm = torch.nn.utils.clip_grad_norm_(parameters, plan.max_grad_norm or math.inf)
            if isinstance(grad_norm, DTensor):  # over FSDP2's shards
                grad_norm = grad_norm.full_tensor()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)

            step += 1
            trained_tokens += accumulated.n_tokens
            losses.append(accumulated.loss)
            elapsed = time.perf_counter() - started
            data = {
                "step": step,
                "total_steps": total_steps,
                "epoch": round(epoch_progress, 4),
                "train_loss": losses[-1],
                "train_accuracy": round(accumulated.accuracy, 4),
                "grad_norm": round(float(grad_norm), 4),
                "learning_rate": learning_rate,
                "tokens_per_second": round(trained_tokens / elapsed, 1),
                "eta_seconds": round(elapsed / step * (total_steps - step), 1),
            }
            if step in evaluate_after:
                evaluates = processes.is_main or processes.sharded  # a sharded model evaluates on every rank
                result = processes.from_main(task.evaluate(model, valid_examples, plan.batch_size) if evaluates else None)
                evaluations.append({"step": step, **result})
                data.update({f"valid_{name}": value for name, value in result.items()})
                early = plan.early_stopping
                if best is None or result["loss"] < best["loss"] - (early.min_delta if early else 0.0):
                    best, stale = {"step": step, **result}, 0
                    if early is not None:
                        best_state = _snapshot(parameters)
                else:
                    stale += 1
                stopped_early = early is not None and stale >= early.patience and step < total_steps
            report(events.metrics(data))
            writer.writerow({column: data.get(column, "") for column in METRICS_COLUMNS})
            csv_file.flush()
            interval_passed = (checkpoint_interval_s is not None and step < total_steps and processes.is_main
                               and time.perf_counter() - last_checkpoint_at >= checkpoint_interval_s)
            # Every rank takes the same decision: a signal reaches the ranks at slightly different times.
            stopping, interval_passed = (flag > 0 for flag in processes.sum(stop.requested, interval_passed))
            stopping = stopping and not stopped_early
            if (step in checkpoint_after or interval_passed or stopping) and not stopped_early:
                state = {
                    "step": step, "trained_tokens": trained_tokens, "seconds": time.perf_counter() - started,
                    "losses": losses[-FINAL_LOSS_STEPS:], "evaluations": evaluations, "best": best, "stale": stale,
                }
                saved = checkpoints.save(out_dir / "checkpoints", model, trained, optimizer, scheduler, state, metrics_csv,
                                         export, processes)
                metrics = {name: data[name] for name in CHECKPOINT_METRICS if name in data}
                # Interim: written on the interval or on a stop, not because the plan asked; the next one replaces it.
                report(events.message(f"Checkpoint saved at step {step}", step=step, checkpoint=saved.name, metrics=metrics,
                                      interim=step not in checkpoint_after))
                last_checkpoint_at = time.perf_counter()
            if stopping:
                report(events.message(f"Stopped at step {step} of {total_steps} on request (SIGTERM); the checkpoint "
                                      f"at step {step} resumes it", step=step))
                raise TrainingStopped(step)
            if stopped_early:
                report(events.message(
                    f"Early stopping after step {step}: validation loss has not improved by {plan.early_stopping.min_delta} "
                    f"for {plan.early_stopping.patience} evaluations; keeping the weights of step {best['step']} "
                    f"(validation loss {best['loss']:.4f})",
                    step=step, best_step=best["step"],
                ))
                break

    stop.phase = "after"
    if best_state is not None:
        with torch.no_grad():
            for p, saved in zip(parameters, best_state):
                p.copy_(saved)
    last = losses[-FINAL_LOSS_STEPS:]
    return LoopResult(
        steps=step,
        trained_tokens=trained_tokens,
        final_train_loss=sum(last) / len(last),
        final_valid=best if best_state is not None else (evaluations[-1] if evaluations else None),
        seconds=time.perf_counter() - started,
        stopped_early=stopped_early,
        evaluations=evaluations,
    )
