"""Benchmark: our LoRA training loop against TRL's SFTTrainer with its defaults, on CPU (or CUDA when present).

    python -m tests.benchmarks.bench_sft_vs_trl            # the measurement behind docs/benchmarks.md (`make bench`)
    python -m tests.benchmarks.bench_sft_vs_trl --quick    # a smoke check on tiny data (a minute or two)

Same model (the catalog's SmolLM2-135M-Instruct safetensors folder), same data (deterministic variable-length chat
examples generated here, ~30 to ~400 tokens), same hyper-parameters (LoRA r=16, alpha=32, dropout 0, all-linear;
lr 1e-3 linear, no warm-up, weight decay 0, max grad norm 1.0, batch size 8, 1 epoch, max length 512, float32, same
seed and torch thread count) and the same machine, in one invocation. Everything else on the TRL side is
SFTTrainer's default: what a user would write.

Each side trains in its own subprocess, so each peak RSS is its own. Measured per run:
  tokens/s      non-padding tokens fed to the model / wall time of the training loop only (ours: `loop.train`;
                TRL: `trainer.train()`); model loading, tokenisation and evaluation are outside the timer.
  peak memory   ru_maxrss of the process right after training (CUDA: torch.cuda.max_memory_allocated), and the
                RSS right after the model was loaded, so the training increment is visible.
  eval loss     both trained models evaluated by the same function (CausalLmTask.evaluate: mean loss per
                assistant token) on the same held-out examples.
With --repeats N the two sides alternate (ours, trl, trl, ours, ...) and the medians are reported.
Speed and memory targets live here, never as timed assertions in tests.
"""

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results"
TARGETS = {"speedup": 2.0, "memory_ratio": 0.8, "eval_loss_diff_percent": 2.0}

# ---------------------------------------------------------------------------------------------- data

ITEMS = (
    "apples bananas cherries lemons oranges pears plums grapes melons peaches carrots onions potatoes tomatoes "
    "peppers cabbages turnips radishes hammers wrenches screwdrivers pliers chisels saws drills nails screws bolts "
    "washers hinges pencils erasers notebooks folders staplers envelopes stamps markers crayons rulers candles "
    "buckets brooms mops sponges towels blankets pillows lamps batteries cables"
).split()
OPERATIONS = {  # the assistant's answer follows from the user's message: learnable, so the loss falls
    "double": lambda n: 2 * n,
    "add ten to": lambda n: n + 10,
    "keep": lambda n: n,
}
SYSTEM = "Stock bot."


def make_example(rng: random.Random, max_items: int) -> dict:
    n_items = rng.randint(1, max_items)
    items = rng.sample(ITEMS, min(n_items, len(ITEMS)))
    counts = [rng.randint(1, 99) for _ in items]
    operation = rng.choice(sorted(OPERATIONS))
    listing = ", ".join(f"{count} {item}" for count, item in zip(counts, items))
    user = f"Stock: {listing}. {operation.capitalize()} each quantity."
    lines = [f"- {item}: {OPERATIONS[operation](count)}" for count, item in zip(counts, items)]
    total = sum(OPERATIONS[operation](count) for count in counts)
    answer = "\n".join(lines) + f"\nTotal: {total}."
    return {"messages": [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": user},
        {"role": "assistant", "content": answer},
    ]}


def make_data(n_train: int, n_eval: int, max_items: int, seed: int) -> tuple[list[dict], list[dict]]:
    """Deterministic train and held-out examples (independent random streams, so --examples leaves eval alone)."""
    train_rng, eval_rng = random.Random(seed), random.Random(seed + 1_000_003)
    return [make_example(train_rng, max_items) for _ in range(n_train)], [make_example(eval_rng, max_items) for _ in range(n_eval)]


# ---------------------------------------------------------------------------------------------- workers


def _rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _peak_rss_bytes() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def _setup(cfg: dict):
    import torch

    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(cfg["seed"])
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        import datasets

        datasets.disable_progress_bars()
    except ImportError:
        pass
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch, device


def _eval_set(cfg: dict, tokenizer):
    from jobs.data.tokenize import tokenize_examples

    return tokenize_examples("chat", cfg["eval"], tokenizer, cfg["max_length"]).examples


def _memory(torch, device) -> dict:
    out = {"peak_rss_bytes": _peak_rss_bytes()}
    if device.type == "cuda":
        out["cuda_max_allocated_bytes"] = torch.cuda.max_memory_allocated()
    return out


def _spec(cfg: dict):
    from jobs.spec import JobSpec

    return JobSpec(
        model=MODEL_ID,
        training_file="bench-train.jsonl",
        seed=cfg["seed"],
        hyperparameters={
            "n_epochs": 1, "batch_size": cfg["batch_size"], "learning_rate": cfg["learning_rate"],
            "lr_scheduler": "linear", "warmup_ratio": 0.0, "weight_decay": 0.0, "max_grad_norm": 1.0,
            "max_seq_length": cfg["max_length"], "gradient_checkpointing": cfg["ours_gradient_checkpointing"],
        },
        training_type={"type": "lora", "r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"},
    )


def _ours_context(cfg: dict, torch, device):
    from transformers import AutoTokenizer

    from jobs.recipes import RecipeContext

    folder = Path(cfg["model_folder"])
    tokenizer = AutoTokenizer.from_pretrained(folder)
    spec = _spec(cfg)
    plan = spec.resolve(len(cfg["train"]))
    dtype = torch.float32 if device.type == "cpu" else torch.bfloat16  # what jobs/training/pipeline.py picks
    ctx = RecipeContext(
        spec=spec, plan=plan, model_folder=folder, tokenizer=tokenizer, device=device, dtype=dtype,
        task="causal_lm", labels=None, report=lambda event: None,
    )
    return ctx, tokenizer, plan


def worker_base(cfg: dict) -> dict:
    """The untrained model's held-out loss: the reference both trained models should beat."""
    torch, device = _setup(cfg)
    from jobs.recipes import lora
    from jobs.training.causal_lm import CausalLmTask

    ctx, tokenizer, plan = _ours_context(cfg, torch, device)
    model = lora.load_model(ctx)
    task = CausalLmTask(tokenizer.pad_token_id, plan.max_seq_length, False, device)
    return {"eval": task.evaluate(model, _eval_set(cfg, tokenizer), plan.batch_size)}


def worker_ours(cfg: dict) -> dict:
    torch, device = _setup(cfg)
    from jobs.data.tokenize import length_grouped_batches, tokenize_examples
    from jobs.recipes import lora
    from jobs.training import loop, memory
    from jobs.training.causal_lm import CausalLmTask

    ctx, tokenizer, plan = _ours_context(cfg, torch, device)
    train = tokenize_examples("chat", cfg["train"], tokenizer, plan.max_seq_length).examples
    valid = _eval_set(cfg, tokenizer)
    model = lora.load_model(ctx)
    rss_loaded = _rss_bytes()
    torch.manual_seed(plan.seed)  # as pipeline.run does before the recipe initialises the adapters
    model = lora.make_trainable(model, ctx).model
    task = CausalLmTask(tokenizer.pad_token_id, plan.max_seq_length, plan.packing, device)
    activations = memory.prepare(model, task, train, plan.gradient_checkpointing, device, ctx.dtype, causal=True)  # as pipeline.run
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()

    with tempfile.TemporaryDirectory() as out_dir:
        started = time.perf_counter()
        result = loop.train(model, task, train, None, plan, Path(out_dir), report=lambda event: None,
                            max_forward_tokens=activations.max_forward_tokens)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
    memory = _memory(torch, device)

    # The loop's first epoch draws its batches with random.Random(seed): the same batches, to count the padding.
    batches = length_grouped_batches(train, plan.batch_size, random.Random(plan.seed))
    padded = sum(len(batch) * max(len(e["input_ids"]) for e in batch) for batch in batches)
    labelled = sum(sum(label != -100 for label in e["labels"][1:]) for e in train)
    return {
        "train_seconds": seconds,
        "loop_seconds": result.seconds,
        "useful_tokens": result.trained_tokens,
        "padded_tokens": padded,
        "loss_tokens": labelled,
        "tokens_per_second": result.trained_tokens / seconds,
        "steps": result.steps,
        "final_train_loss": result.final_train_loss,
        "gradient_checkpointing": activations.gradient_checkpointing,
        "max_forward_tokens": activations.max_forward_tokens,
        "rss_after_load_bytes": rss_loaded,
        **memory,
        "eval": task.evaluate(model, valid, plan.batch_size),
    }


def worker_trl(cfg: dict) -> dict:
    torch, device = _setup(cfg)
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from jobs.training.causal_lm import CausalLmTask

    folder = cfg["model_folder"]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    valid = _eval_set(cfg, tokenizer)
    extra = {} if cfg["trl_gradient_checkpointing"] is None else {"gradient_checkpointing": cfg["trl_gradient_checkpointing"]}
    with tempfile.TemporaryDirectory() as out_dir:
        args = SFTConfig(
            output_dir=out_dir,
            per_device_train_batch_size=cfg["batch_size"],
            num_train_epochs=1,
            learning_rate=cfg["learning_rate"],
            lr_scheduler_type="linear",
            warmup_steps=0,
            weight_decay=0.0,
            max_grad_norm=1.0,
            max_length=cfg["max_length"],
            seed=cfg["seed"],
            # float32 like our side on CPU (TRL's default would be bf16 autocast); on CUDA both use bf16.
            bf16=device.type == "cuda",
            model_init_kwargs={"dtype": "float32" if device.type == "cpu" else "bfloat16"},
            report_to="none",
            save_strategy="no",
            disable_tqdm=True,
            **extra,
        )
        trainer = SFTTrainer(
            model=folder,
            args=args,
            train_dataset=Dataset.from_list(cfg["train"]),
            peft_config=LoraConfig(
                r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM",
            ),
        )
        rss_loaded = _rss_bytes()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        output = trainer.train()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
        memory = _memory(torch, device)

        # Non-padding tokens of the batches TRL's own collator built (counted after training, outside the timer).
        useful, padded, loss_tokens = 0, 0, 0
        for batch in trainer.get_train_dataloader():
            mask = batch.get("attention_mask")
            useful += int(mask.sum()) if mask is not None else batch["input_ids"].numel()
            padded += batch["input_ids"].numel()
            loss_tokens += int((batch["labels"][:, 1:] != -100).sum())
    model = trainer.model
    task = CausalLmTask(tokenizer.pad_token_id, cfg["max_length"], False, device)
    return {
        "train_seconds": seconds,
        "useful_tokens": useful,
        "padded_tokens": padded,
        "loss_tokens": loss_tokens,
        "tokens_per_second": useful / seconds,
        "steps": output.global_step,
        "final_train_loss": output.training_loss,
        "gradient_checkpointing": bool(args.gradient_checkpointing),
        "rss_after_load_bytes": rss_loaded,
        **memory,
        "eval": task.evaluate(model, valid, cfg["batch_size"]),
    }


WORKERS = {"base": worker_base, "ours": worker_ours, "trl": worker_trl}


def run_worker(side: str, cfg_path: Path, env: dict) -> dict:
    """One side in a fresh Python process; its result is the last line of its stdout."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result_path = Path(handle.name)
    try:
        command = [sys.executable, "-m", "tests.benchmarks.bench_sft_vs_trl", "--worker", side, str(cfg_path), str(result_path)]
        completed = subprocess.run(command, cwd=ROOT, env=env)
        if completed.returncode != 0:
            raise SystemExit(f"the {side} worker failed (exit {completed.returncode})")
        return json.loads(result_path.read_text())
    finally:
        result_path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------- report


def machine() -> dict:
    import importlib.metadata as md

    cpu = platform.processor() or "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    ram = 0
    try:
        ram = next(int(line.split()[1]) * 1024 for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        pass
    versions = {}
    for package in ("torch", "transformers", "peft", "trl", "accelerate", "datasets"):
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_bytes": ram,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def summarize(runs: dict[str, list[dict]], base: dict | None, device: str) -> dict:
    memory_key = "cuda_max_allocated_bytes" if device == "cuda" else "peak_rss_bytes"

    def median(side: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[side])

    def median_eval(side: str) -> float:
        return statistics.median(run["eval"]["loss"] for run in runs[side])

    ours_tps, trl_tps = median("ours", "tokens_per_second"), median("trl", "tokens_per_second")
    ours_mem, trl_mem = median("ours", memory_key), median("trl", memory_key)
    ours_loss, trl_loss = median_eval("ours"), median_eval("trl")
    speedup = ours_tps / trl_tps
    memory_ratio = ours_mem / trl_mem
    loss_diff = 100 * (ours_loss - trl_loss) / trl_loss
    return {
        "memory_metric": memory_key,
        "ours": {
            "tokens_per_second": ours_tps, "memory_bytes": ours_mem, "eval_loss": ours_loss,
            "rss_after_load_bytes": median("ours", "rss_after_load_bytes"), "train_seconds": median("ours", "train_seconds"),
        },
        "trl": {
            "tokens_per_second": trl_tps, "memory_bytes": trl_mem, "eval_loss": trl_loss,
            "rss_after_load_bytes": median("trl", "rss_after_load_bytes"), "train_seconds": median("trl", "train_seconds"),
        },
        "base_eval_loss": base["eval"]["loss"] if base else None,
        "speedup": speedup,
        "memory_ratio": memory_ratio,
        "eval_loss_diff_percent": loss_diff,
        "targets": TARGETS,
        "met": {
            "speedup": speedup >= TARGETS["speedup"],
            "memory_ratio": memory_ratio <= TARGETS["memory_ratio"],
            # lower than TRL's is never a miss; "within 2 %" guards against a worse model
            "eval_loss": loss_diff <= TARGETS["eval_loss_diff_percent"],
            "eval_loss_within_abs": abs(loss_diff) <= TARGETS["eval_loss_diff_percent"],
        },
    }


def table(summary: dict, runs: dict[str, list[dict]]) -> str:
    ours, trl = summary["ours"], summary["trl"]
    mem = "peak CUDA allocated" if summary["memory_metric"].startswith("cuda") else "peak RSS"
    yes = {True: "met", False: "**not met**"}
    onoff = {True: "on", False: "off"}
    first = {side: runs[side][0] for side in runs}
    lines = [
        "| | ours (`jobs.training.loop`) | TRL `SFTTrainer` | ratio | target |",
        "|---|---:|---:|---:|---|",
        f"| useful tokens/s | {ours['tokens_per_second']:.0f} | {trl['tokens_per_second']:.0f} | "
        f"{summary['speedup']:.2f}× | ≥ {TARGETS['speedup']}×: {yes[summary['met']['speedup']]} |",
        f"| {mem} | {_gib(ours['memory_bytes'])} | {_gib(trl['memory_bytes'])} | {summary['memory_ratio']:.2f}× | "
        f"≤ {TARGETS['memory_ratio']}×: {yes[summary['met']['memory_ratio']]} |",
        f"| RSS after model load | {_gib(ours['rss_after_load_bytes'])} | {_gib(trl['rss_after_load_bytes'])} | | |",
        f"| training wall time | {ours['train_seconds']:.1f} s | {trl['train_seconds']:.1f} s | | |",
        f"| held-out loss per assistant token | {ours['eval_loss']:.4f} | {trl['eval_loss']:.4f} | "
        f"{summary['eval_loss_diff_percent']:+.2f} % | within {TARGETS['eval_loss_diff_percent']:g} %: "
        f"{yes[summary['met']['eval_loss']]} |",
        f"| non-padding / padded tokens fed | {first['ours']['useful_tokens']} / {first['ours']['padded_tokens']} | "
        f"{first['trl']['useful_tokens']} / {first['trl']['padded_tokens']} | | |",
        f"| tokens the loss is taken on | {first['ours']['loss_tokens']} | {first['trl']['loss_tokens']} | | |",
        f"| gradient checkpointing | {onoff[first['ours']['gradient_checkpointing']]} | "
        f"{onoff[first['trl']['gradient_checkpointing']]} | | |",
        f"| tokens per forward, at most | {first['ours'].get('max_forward_tokens', '')} | one batch | | |",
    ]
    if summary["base_eval_loss"] is not None:
        lines.append(f"| held-out loss of the untrained model | {summary['base_eval_loss']:.4f} | (same) | | |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.bench_sft_vs_trl",
        description="Train SmolLM2-135M-Instruct with LoRA on the same generated chat data with our loop and with "
        "TRL's SFTTrainer (its defaults), each in its own process, and compare useful tokens/s, peak memory and "
        "held-out loss. Needs the `bench` extra (pip install -e '.[bench]'); never touches the Hub.",
    )
    parser.add_argument("--examples", type=int, default=256, help="training examples (default 256)")
    parser.add_argument("--eval-examples", type=int, default=64, help="held-out examples (default 64)")
    parser.add_argument("--max-items", type=int, default=28, help="most stock items per example; sets the length spread (default 28: ~40 to ~400 tokens)")
    parser.add_argument("--batch-size", type=int, default=8, help="examples per optimizer step, both sides (default 8)")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="peak learning rate, linear decay, no warm-up (default 1e-3)")
    parser.add_argument("--max-length", type=int, default=512, help="max sequence length, both sides (default 512)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per side, alternating; medians reported (default 2)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads for both sides (default: all cores)")
    parser.add_argument("--seed", type=int, default=0, help="data, adapter initialisation and shuffling seed (default 0)")
    parser.add_argument(
        "--trl-gradient-checkpointing", choices=["default", "on", "off"], default="default",
        help="TRL's gradient checkpointing (default: TRL's own default, which is on)",
    )
    parser.add_argument(
        "--ours-gradient-checkpointing", choices=["auto", "on", "off"], default="auto",
        help="our gradient_checkpointing hyper-parameter (default: auto, our default: on only when one example "
        "exceeds the activation budget; larger batches go through in several forwards)",
    )
    parser.add_argument("--no-base", action="store_true", help="skip evaluating the untrained model")
    parser.add_argument("--quick", action="store_true", help="smoke check: 16 short examples, 8 held out, one run per side")
    parser.add_argument("--out", type=Path, default=None, help="result JSON (default: tests/benchmarks/results/sft_vs_trl-<machine>.json; --quick: not written)")
    parser.add_argument("--worker", nargs=3, metavar=("SIDE", "CONFIG", "RESULT"), help=argparse.SUPPRESS)
    return parser


def _machine_slug(info: dict, device: str) -> str:
    name = info["cpu"] if device == "cpu" else device
    return re.sub(r"[^a-z0-9]+", "-", f"{name}-{info['cores']}c".lower()).strip("-")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.worker:
        side, cfg_path, result_path = args.worker
        cfg = json.loads(Path(cfg_path).read_text())
        result = WORKERS[side](cfg)
        Path(result_path).write_text(json.dumps(result))
        return 0

    if args.quick:
        args.examples, args.eval_examples, args.max_items, args.repeats = 16, 8, 6, 1
    threads = args.threads or os.cpu_count() or 1

    from jobs.catalog import Catalog

    cache_dir = Path(os.environ.get("FTAAS_CACHE_DIR") or Path.home() / ".cache" / "ftaas-test").expanduser()
    folder = Catalog.from_setting("", cache_dir).local_folder(MODEL_ID)
    train, held_out = make_data(args.examples, args.eval_examples, args.max_items, args.seed)
    cfg = {
        "model_folder": str(folder), "train": train, "eval": held_out, "batch_size": args.batch_size,
        "learning_rate": args.learning_rate, "max_length": args.max_length, "threads": threads, "seed": args.seed,
        "ours_gradient_checkpointing": {"auto": "auto", "on": True, "off": False}[args.ours_gradient_checkpointing],
        "trl_gradient_checkpointing": {"default": None, "on": True, "off": False}[args.trl_gradient_checkpointing],
    }
    env = {
        **os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT),
        "ACCELERATE_DISABLE_RICH": "1", "PYTHONWARNINGS": "ignore",
    }
    import importlib.util

    device = "cuda" if importlib.util.find_spec("torch") and _cuda_available(env) else "cpu"
    info = machine()
    load_before = os.getloadavg()
    print(f"# {info['cpu']}, {info['cores']} cores, {_gib(info['ram_bytes'])} RAM; device {device}; threads {threads}; "
          f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}", flush=True)
    print(f"# {len(train)} training / {len(held_out)} held-out examples, batch size {args.batch_size}, "
          f"{args.repeats} run(s) per side", flush=True)

    runs: dict[str, list[dict]] = {"ours": [], "trl": []}
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        cfg_path = Path(tmp) / "config.json"
        cfg_path.write_text(json.dumps(cfg))
        base = None if args.no_base else run_worker("base", cfg_path, env)
        for repeat in range(args.repeats):
            for side in (("ours", "trl") if repeat % 2 == 0 else ("trl", "ours")):
                result = run_worker(side, cfg_path, env)
                runs[side].append(result)
                print(f"# run {repeat + 1} {side}: {result['tokens_per_second']:.0f} tokens/s, "
                      f"{result['train_seconds']:.1f} s, peak RSS {_gib(result['peak_rss_bytes'])}, "
                      f"eval loss {result['eval']['loss']:.4f}", flush=True)
    load_after = os.getloadavg()

    summary = summarize(runs, base, device)
    print()
    print(table(summary, runs))
    print()
    record = {
        "command": "python -m tests.benchmarks.bench_sft_vs_trl " + " ".join(argv if argv is not None else sys.argv[1:]),
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "wall_seconds": round(time.time() - started, 1),
        "machine": info, "device": device, "threads": threads,
        "load_average_before": load_before, "load_average_after": load_after,
        "config": {k: v for k, v in cfg.items() if k not in ("train", "eval")} | {
            "n_train": len(train), "n_eval": len(held_out), "max_items": args.max_items, "repeats": args.repeats,
        },
        "summary": summary,
        "base": base,
        "runs": runs,
    }
    out = args.out or (None if args.quick else RESULTS / f"sft_vs_trl-{_machine_slug(info, device)}.json")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=2) + "\n")
        print(f"# results written to {out}")
    return 0


def _cuda_available(env: dict) -> bool:
    probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"], env=env, capture_output=True, text=True)
    return probe.stdout.strip() == "True"


if __name__ == "__main__":
    sys.exit(main())
