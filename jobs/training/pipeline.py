"""One training run, the same for every method: load, measure the base, make trainable, train,
measure again, save, and write the evidence into `out_dir/results/`.

The recipe (jobs/recipes/<method>.py) decides how the base is loaded and what becomes trainable;
the task (causal LM, classification, preference) decides batches, loss and evaluation metrics.
"""

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import AutoTokenizer

from jobs.catalog import Catalog
from jobs.data.tokenize import tokenize_examples
from jobs.recipes import RecipeContext, Trainable, get_recipe
from jobs.spec import JobSpec, TrainingPlan
from jobs.training_input import TrainingInput
from jobs.training import artifacts, checkpoints, events, evidence, loop, memory
from jobs.training.causal_lm import CausalLmTask
from jobs.training.classification import ClassificationTask, balanced_class_weights
from jobs.training.distributed import ProcessGroup
from jobs.training.events import Report
from jobs.training.preference import PreferenceTask
from jobs.training.tracking import TrackingConfig

N_SAMPLES = 3  # before/after generations shown in the report
SAMPLE_MAX_NEW_TOKENS = 48
SFT_FORMATS = ("chat", "prompt_completion", "text")  # next-token loss on labelled tokens
CAUSAL_FORMATS = SFT_FORMATS + ("preference",)  # trained on a causal LM (classification gets a head instead)


@dataclass
class TrainingData:
    format: str  # jobs.data.formats.FORMATS
    train: list[dict]
    valid: list[dict] | None
    labels: list[str] | None = None  # classification: the class names, sorted (class i = labels[i])


@dataclass
class RunOptions:
    """How this deployment runs every job, beside the job's own spec (FTAAS_* settings that jobs.train reads)."""

    evidence_level: str = "full"  # Settings.training_evidence: "full" or "validation"
    report_validation_examples: int = 200  # Settings.report_validation_examples (_report_validation)
    checkpoint_interval_s: float | None = None  # Settings.checkpoint_interval_seconds (loop.train)
    activation_budget_bytes: int = 0  # Settings.training_activation_budget_bytes; 0: memory.activation_budget decides
    stop: loop.StopRequest = field(default_factory=loop.StopRequest)  # SIGTERM's handler (jobs.train)
    tracking: TrackingConfig | None = None  # the deployment's trackers (FTAAS_WANDB_*, FTAAS_MLFLOW_*; jobs.train)


def device_and_dtype(spec: JobSpec) -> tuple[torch.device, torch.dtype]:
    if not torch.cuda.is_available():
        return torch.device("cpu"), torch.float32
    # Full fine-tuning keeps float32 weights: AdamW updates vanish in bfloat16 for small learning rates.
    return torch.device("cuda"), torch.float32 if spec.training_type.type == "full" else torch.bfloat16


def _tokenize(data: TrainingData, tokenizer, plan: TrainingPlan, report: Report):
    label_ids = {label: i for i, label in enumerate(data.labels)} if data.labels else None
    train = tokenize_examples(data.format, data.train, tokenizer, plan.max_seq_length, label_ids)
    valid = tokenize_examples(data.format, data.valid, tokenizer, plan.max_seq_length, label_ids) if data.valid else None
    n_truncated = train.n_truncated + (valid.n_truncated if valid else 0)
    n_dropped = train.n_dropped + (valid.n_dropped if valid else 0)
    if n_truncated:
        report(events.message(
            f"{n_truncated} examples were longer than max_seq_length={plan.max_seq_length} tokens and were truncated"
            + (f"; {n_dropped} of them kept nothing to learn from and were left out" if n_dropped else ""),
            level="warning", n_truncated=n_truncated, n_dropped=n_dropped, max_seq_length=plan.max_seq_length,
        ))
    if train.n_split:
        report(events.message(
            f"Long texts were split into {train.n_split} chunks of at most max_seq_length={plan.max_seq_length} tokens",
            n_split=train.n_split,
        ))
    if not train.examples:
        raise ValueError("no training example has anything to learn from within max_seq_length")
    return train, valid, n_truncated


def _task(data: TrainingData, tokenizer, plan: TrainingPlan, device: torch.device):
    pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if data.format == "preference":
        return PreferenceTask(pad_token_id, plan.beta, device)
    if data.format in SFT_FORMATS:
        return CausalLmTask(pad_token_id, plan.max_seq_length, plan.packing, device)
    weights = None
    if plan.class_weights == "balanced":
        weights = balanced_class_weights([str(example["label"]) for example in data.train], data.labels)
    # The same pad id RecipeContext.load_model gives the model, which finds each text's last token by it.
    return ClassificationTask(pad_token_id, data.labels, device, weights)


def _sample_prompts(data: TrainingData) -> list[list[dict]]:
    """The first validation (else training) chat prompts: each conversation up to its last assistant turn
    (preference files: the pair's input messages)."""
    if data.format == "preference":
        return [
            [{"role": m["role"], "content": m["content"]} for m in example["input"]["messages"]]
            for example in (data.valid or data.train)[:N_SAMPLES]
        ]
    if data.format != "chat":
        return []
    prompts = []
    for example in (data.valid or data.train)[:N_SAMPLES]:
        messages = example["messages"]
        last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        prompts.append([{"role": m["role"], "content": m["content"]} for m in messages[:last]])
    return prompts


def _report_validation(examples: list[dict] | None, at_most: int) -> list[dict] | None:
    """The validation examples the report's before/after loss is measured on: all of them, or `at_most` spread
    evenly over the set, so that a large validation set costs bounded time."""
    if examples is None or len(examples) <= at_most:
        return examples
    stride = len(examples) / at_most
    return [examples[int(i * stride)] for i in range(at_most)]


def _measure(model, task, valid_examples, tokenizer, device, plan: TrainingPlan, prompts, full: bool,
             report: Report, what: str, validation: dict | None = None, n_valid_total: int = 0) -> dict:
    """The report's numbers for `what` ("the base model", …), each part timed and shown as progress.
    `validation`, when the loop has just evaluated these weights, is used instead of evaluating again.
    `full` adds the general-text loss and the sample answers to `prompts` (causal models only).
    `valid_examples` may be a part of the validation set's `n_valid_total` examples (_report_validation)."""
    parts = []
    if valid_examples and validation is None:
        of = f" of {n_valid_total:,}" if n_valid_total > len(valid_examples) else ""
        parts.append(f"validation loss on {len(valid_examples):,}{of} examples")
    if full:
        parts.append("loss on general text")
        if prompts:
            parts.append(f"{len(prompts)} sample answers")
    if parts:
        report(events.message(f"Measuring {what}: {', '.join(parts)}"))
    measured, seconds = {}, {}

    def timed(name: str, measure):
        started = time.perf_counter()
        measured[name] = measure()
        seconds[name] = round(time.perf_counter() - started, 2)

    if valid_examples:
        if validation is None:
            timed("validation", lambda: task.evaluate(model, valid_examples, plan.batch_size))
        else:
            measured["validation"] = {k: v for k, v in validation.items() if k != "step"}
        measured["validation"]["examples"] = len(valid_examples)
    if full:
        timed("general_text_loss", lambda: evidence.general_text_loss(model, tokenizer, device))
        if prompts:
            timed("samples", lambda: evidence.sample_generations(model, tokenizer, prompts, SAMPLE_MAX_NEW_TOKENS))
    if seconds:
        report(events.message(f"Measured {what} in {sum(seconds.values()):.1f}s", seconds=seconds))
    return measured


def _load_sharded(recipe, ctx: RecipeContext, processes: ProcessGroup, seed: int) -> Trainable:
    """The model made trainable and sharded with FSDP2 without any process holding all of it on its device:
    rank 0 reads the weights into CPU memory and initialises the new ones (adapter, head) from the seed, every
    rank builds the same model on the meta device (shapes only), and ProcessGroup.shard_from_main gives each
    rank its shards. The base is measured after this, with the new adapter attached: the methods FSDP2 shards
    start as the base model (LoRA's B and IA³'s scales start at zero and one; prompt and prefix tuning, which
    do not, are refused for "fsdp" at create time)."""
    def build(device: torch.device) -> Trainable:
        on_device = dataclasses.replace(ctx, device=device)
        torch.manual_seed(seed)  # a classification head is initialised as the model loads
        model = recipe.load_model(on_device)
        torch.manual_seed(seed)
        return recipe.make_trainable(model, on_device)

    weights = buffers = None
    if processes.is_main:
        loaded = build(torch.device("cpu")).model
        weights, buffers = loaded.state_dict(), dict(loaded.named_buffers())  # they keep the CPU tensors alive
        del loaded
    trainable = build(torch.device("meta"))
    model = trainable.model
    name_of = {id(p): name for name, p in model.named_parameters()}
    group_names = [[name_of[id(p)] for p in group["params"]] for group in trainable.parameter_groups or []]
    processes.shard_from_main(model, weights, buffers)
    by_name = dict(model.named_parameters())  # FSDP2 made new parameters: the groups name them again
    groups = [{**group, "params": [by_name[name] for name in names]}
              for group, names in zip(trainable.parameter_groups or [], group_names)]
    return dataclasses.replace(trainable, parameter_groups=groups or None)


def run(
    training: TrainingInput, data: TrainingData, out_dir: Path, catalog: Catalog, report: Report, resume: bool = False,
    processes: ProcessGroup = ProcessGroup(), options: RunOptions | None = None,
) -> dict | None:
    """Train the resolved job `training` (jobs.training_input, checked before: nothing is checked again here)
    on its `data`; returns the numbers the job summary reports. With `resume`, go on from the latest checkpoint
    in `out_dir/checkpoints/` (from the start when there is none). A run that continues a saved model trains it
    further instead of the base. Under torchrun every process runs this; rank 0 alone measures, reports and
    saves (the others return None once training ends). `options`: how this deployment runs jobs (RunOptions)."""
    options = options or RunOptions()
    spec, plan, parent, start_from = training.spec, training.plan, training.start_info, training.start_from
    recipe = get_recipe(spec.training_type.type)
    device, dtype = device_and_dtype(spec)
    base_model = training.base_model
    continues_adapter = training.continues_adapter
    folder = training.model_folder(catalog)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    train_set, valid_set, n_truncated = _tokenize(data, tokenizer, plan, report)
    task = _task(data, tokenizer, plan, device)
    causal = data.format in CAUSAL_FORMATS
    full_evidence = causal and options.evidence_level == "full"
    ctx = RecipeContext(
        spec=spec, plan=plan, model_folder=folder, tokenizer=tokenizer, device=device, dtype=dtype,
        task="causal_lm" if causal else "classification", labels=data.labels,
        report=report, parent_adapter=start_from if continues_adapter else None,
    )

    report(events.message(f"Loading {'the starting model' if parent else 'base model'} {spec.model}"
                          + (f", sharded over {processes.world_size} processes" if processes.sharded else "")))
    trainable = None
    if processes.sharded:
        trainable = _load_sharded(recipe, ctx, processes, plan.seed)
        model = trainable.model
    else:
        torch.manual_seed(plan.seed)  # a classification head is initialised as the model loads
        model = recipe.load_model(ctx)
        if continues_adapter:
            # The parent adapter is the starting point, so it is attached before the base measurements and the
            # DPO reference. (A new adapter is attached after them: prompt and prefix tuning add random tokens.)
            torch.manual_seed(plan.seed)
            trainable = recipe.make_trainable(model, ctx)
            model = trainable.model
    valid_examples = valid_set.examples if valid_set else None
    if hasattr(task, "precompute_reference"):
        report(events.message("Computing the reference log-probabilities of the base model"))
        task.precompute_reference(model, train_set.examples, valid_examples, plan.batch_size)
    prompts = _sample_prompts(data)
    report_valid = _report_validation(valid_examples, options.report_validation_examples)
    n_valid = len(valid_examples or [])
    before = None
    if processes.is_main or processes.sharded:  # a sharded model measures on every rank
        before = _measure(model, task, report_valid, tokenizer, device, plan, prompts, full_evidence, report,
                          "the starting model" if parent else "the base model", n_valid_total=n_valid)

    if trainable is None:
        # Seed before the recipe initialises new weights (adapters, heads), so a run is reproducible from its seed.
        torch.manual_seed(plan.seed)
        trainable = recipe.make_trainable(model, ctx)
        model = trainable.model
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    n_total = sum(p.numel() for p in model.parameters())
    activations = memory.prepare(model, task, train_set.examples, plan.gradient_checkpointing, device, dtype, causal,
                                 options.activation_budget_bytes)
    report(events.message(f"Memory: {activations.describe()}", **dataclasses.asdict(activations)))
    total_steps = loop.planned_steps(len(train_set.examples), plan)
    report(events.message(
        f"Training {spec.training_type.type} ({n_trainable:,} of {n_total:,} parameters trainable) on "
        f"{len(train_set.examples)} {data.format} examples ({train_set.n_tokens} tokens), {total_steps} steps"
        + (f", in {processes.describe()}" if processes.distributed else ""),
        n_examples=len(train_set.examples), n_tokens=train_set.n_tokens, total_steps=total_steps,
        trainable_parameters=n_trainable, format=data.format, processes=processes.world_size,
        strategy=processes.strategy if processes.distributed else None,
    ))
    info = artifacts.ArtifactInfo(
        base_model=base_model, training_type=spec.training_type.model_dump(), format=data.format, labels=data.labels,
    )
    result = loop.train(
        model, task, train_set.examples, valid_examples, plan, out_dir, report,
        parameter_groups=trainable.parameter_groups, hooks=trainable.hooks,
        resume_from=checkpoints.latest(out_dir / "checkpoints") if resume else None,
        export=lambda folder: artifacts.save(model, tokenizer, info, folder, processes), processes=processes,
        checkpoint_interval_s=options.checkpoint_interval_s, stop=options.stop,
        max_forward_tokens=activations.max_forward_tokens,
    )
    if not (processes.is_main or processes.sharded):  # a sharded model measures and saves on every rank
        return None

    # The loop's last evaluation is the fine-tuned model's validation loss when it covered the same examples.
    after = _measure(model, task, report_valid, tokenizer, device, plan, prompts, full_evidence, report,
                     "the fine-tuned model", validation=result.final_valid if report_valid is valid_examples else None,
                     n_valid_total=n_valid)
    report(events.message("Saving the " + ("adapter" if hasattr(model, "peft_config") else "model")))
    artifact = artifacts.save(model, tokenizer, info, out_dir, processes)
    if not processes.is_main:
        return None

    results = out_dir / "results"
    evidence.plot_loss_curve(results / "metrics.csv", results / "loss.png")
    training_report = {"format": data.format, "training_type": spec.training_type.type, "before": before, "after": after}
    if full_evidence:
        forgetting = evidence.forgetting_report(before["general_text_loss"], after["general_text_loss"])
        training_report["forgetting"] = forgetting
        if forgetting["warn"]:
            report(events.message(
                f"Forgetting check: loss on general text rose {forgetting['change_percent']:.1f}% "
                f"({forgetting['before']:.3f} → {forgetting['after']:.3f}); the model may have lost general ability. "
                "Consider fewer epochs, a lower learning rate or an adapter method.",
                level="warning", **forgetting,
            ))
    if "validation" in before and "validation" in after:
        report(events.message(
            f"Validation loss {before['validation']['loss']:.4f} (base) → {after['validation']['loss']:.4f} (fine-tuned)",
            before=before["validation"], after=after["validation"],
        ))
    (results / "report.json").write_text(json.dumps(training_report, indent=2) + "\n")

    return {
        "artifact": artifact,
        "format": data.format,
        "trained_tokens": result.trained_tokens,
        "n_examples": len(train_set.examples),
        "n_truncated": n_truncated,
        "steps": result.steps,
        "stopped_early": result.stopped_early,
        "final_train_loss": result.final_train_loss,
        "final_valid_loss": result.final_valid["loss"] if result.final_valid else None,
        "seconds": result.seconds,
    }
