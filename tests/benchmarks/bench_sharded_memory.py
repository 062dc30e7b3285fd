"""Benchmark: what FSDP2 saves each process, measured as a user runs training: full fine-tuning of SmolLM2-135M in one
process, then sharded over two (`torchrun --nproc-per-node 2 -m jobs.train`, gloo on CPU, as the worker starts it for
`compute.num_proc_per_node: 2`), with the peak RSS of the largest process of each run as `/usr/bin/time` reports it
(its `%M`: the largest of the command's processes, torchrun's ranks included).

    python -m tests.benchmarks.bench_sharded_memory            # docs/benchmarks.md; `make bench`
    python -m tests.benchmarks.bench_sharded_memory --steps 2  # a quicker look

What it shows on CPU: each rank holds half of the gradients and AdamW's moments, and rank 0 alone reads the weights
(every rank builds the model on the meta device). The same mechanism bounds accelerator memory on GPUs, which this
machine does not have: the per-GPU numbers are still to be measured (docs/benchmarks.md, "GPU").
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.benchmarks.bench_sft_vs_trl import ROOT, machine
from tests.support.tasks import classification_examples, write_jsonl


def run(spec_path: Path, out: Path, processes: int, env: dict) -> dict:
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}"]
    training = [*(launcher if processes > 1 else [sys.executable]), "-m", "jobs.train", str(spec_path), "--out", str(out)]
    report = out.with_suffix(".time")
    process = subprocess.run(["/usr/bin/time", "-o", str(report), "-f", "%M %e", *training], env=env, cwd=ROOT,
                             capture_output=True, text=True)
    if process.returncode != 0:
        raise SystemExit(f"training in {processes} process(es) failed:\n{process.stderr[-3000:]}")
    peak_kib, seconds = report.read_text().split()[-2:]
    return {"processes": processes, "peak_rss_bytes": int(peak_kib) * 1024, "seconds": float(seconds)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_sharded_memory",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps of each run (default 4)")
    args = parser.parse_args(argv)
    cache_dir = Path(os.environ.get("FTAAS_CACHE_DIR") or Path.home() / ".cache" / "ftaas-test").expanduser()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "FTAAS_CACHE_DIR": str(cache_dir), "FTAAS_MODELS": "",
           "FTAAS_TRAIN_THREADS": "1", "FTAAS_TRAINING_EVIDENCE": "validation", "PYTHONWARNINGS": "ignore"}
    results = {"machine": machine(), "steps": args.steps, "runs": []}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        write_jsonl(work / "train.jsonl", classification_examples(8 * args.steps, seed=1))
        spec = {"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "training_file": str(work / "train.jsonl"), "seed": 0,
                "training_type": {"type": "full"},
                "hyperparameters": {"n_epochs": 1, "batch_size": 8, "max_seq_length": 128}}
        (work / "spec.json").write_text(json.dumps(spec))
        for processes in (1, 2):
            results["runs"].append(run(work / "spec.json", work / f"out-{processes}", processes, env))
            print(f"# {results['runs'][-1]}", flush=True)
    one, two = results["runs"]
    results["largest_process_ratio"] = round(two["peak_rss_bytes"] / one["peak_rss_bytes"], 2)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
