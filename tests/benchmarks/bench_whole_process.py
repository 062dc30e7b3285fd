"""Benchmark: the whole command a user runs, `ftaas train` with its defaults against a TRL `SFTTrainer` script with its
defaults, on the same data and hyper-parameters: wall time and peak RSS of each process, as `/usr/bin/time` reports them.

    python -m tests.benchmarks.bench_whole_process            # 96 examples (docs/benchmarks.md; `make bench`)
    python -m tests.benchmarks.bench_whole_process --quick    # a smoke check on 16 examples

Data: bench_sft_vs_trl's variable-length chat generator. Hyper-parameters on both sides: LoRA r=16, alpha=32, dropout 0,
all-linear; lr 1e-3 linear, no warm-up, weight decay 0, max grad norm 1.0; batch 8; 1 epoch; max length 512; float32;
seed 0. `ftaas train` does everything a job does (its before/after report included); the TRL script trains and saves
the adapter. Each side runs in its own process, one after the other.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.bench_sft_vs_trl import MODEL_ID, ROOT, make_data, machine

TRL_SCRIPT = '''
import json, sys, tempfile
from datasets import Dataset
from peft import LoraConfig
from trl import SFTConfig, SFTTrainer

folder, data = sys.argv[1], sys.argv[2]
rows = [json.loads(line) for line in open(data)]
with tempfile.TemporaryDirectory() as out:
    args = SFTConfig(output_dir=out, per_device_train_batch_size=8, num_train_epochs=1, learning_rate=1e-3,
                     lr_scheduler_type="linear", warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0, max_length=512,
                     seed=0, bf16=False, model_init_kwargs={"dtype": "float32"}, report_to="none", save_strategy="no")
    trainer = SFTTrainer(model=folder, args=args, train_dataset=Dataset.from_list(rows), peft_config=LoraConfig(
        r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM"))
    trainer.train()
    trainer.save_model(out + "/adapter")
'''


def timed(command: list[str], env: dict) -> dict:
    """Wall time and peak RSS of `command`, run alone (this process's children's maximum before and after)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    process = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{command[:3]} failed:\n{process.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        raise SystemExit("the second process peaked below the first: run each side in its own invocation")
    return {"seconds": round(seconds, 1), "peak_rss_bytes": peak * 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_whole_process", description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=96, help="training examples (default 96)")
    parser.add_argument("--side", choices=["both", "ours", "trl"], default="both",
                        help="ftaas first, then TRL (default); ru_maxrss of children only grows, so TRL peaking lower is "
                        "reported as an error: then run each side alone")
    parser.add_argument("--quick", action="store_true", help="smoke check: 16 examples")
    args = parser.parse_args(argv)
    n = 16 if args.quick else args.examples

    from jobs.catalog import Catalog

    cache_dir = Path(os.environ.get("FTAAS_CACHE_DIR") or Path.home() / ".cache" / "ftaas-test").expanduser()
    folder = Catalog.from_setting("", cache_dir).local_folder(MODEL_ID)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "FTAAS_CACHE_DIR": str(cache_dir), "FTAAS_MODELS": "",
           "TOKENIZERS_PARALLELISM": "false", "PYTHONWARNINGS": "ignore"}
    results = {"machine": machine(), "examples": n}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        train, _ = make_data(n, 1, 28, 0)
        (work / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in train))
        spec = {
            "model": MODEL_ID, "training_file": "train.jsonl", "seed": 0,
            "hyperparameters": {"n_epochs": 1, "batch_size": 8, "learning_rate": 1e-3, "lr_scheduler": "linear",
                                "warmup_ratio": 0.0, "weight_decay": 0.0, "max_grad_norm": 1.0, "max_seq_length": 512},
            "training_type": {"type": "lora", "r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"},
        }
        (work / "spec.json").write_text(json.dumps(spec))
        (work / "trl_train.py").write_text(TRL_SCRIPT)
        if args.side in ("both", "ours"):
            ftaas = str(Path(sys.executable).with_name("ftaas"))
            results["ftaas"] = timed([ftaas, "train", str(work / "spec.json"), "--out", str(work / "out")], env)
            print(f"# ftaas train: {results['ftaas']}", flush=True)
        if args.side in ("both", "trl"):
            results["trl"] = timed([sys.executable, str(work / "trl_train.py"), str(folder), str(work / "train.jsonl")], env)
            print(f"# TRL SFTTrainer script: {results['trl']}", flush=True)
    if "ftaas" in results and "trl" in results:
        results["speedup"] = round(results["trl"]["seconds"] / results["ftaas"]["seconds"], 2)
        results["memory_ratio"] = round(results["ftaas"]["peak_rss_bytes"] / results["trl"]["peak_rss_bytes"], 2)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
