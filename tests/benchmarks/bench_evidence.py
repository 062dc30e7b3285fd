"""Benchmark: what the before/after evidence (report.json) costs in a default job's wall time.

    python -m tests.benchmarks.bench_evidence [--examples 100]

Runs `python -m jobs.train` (the worker's child) on generated variable-length chat data (the generator of
bench_sft_vs_trl) with a validation file and default hyper-parameters, and reads the job's own events: the
seconds of "Measured the base model" and "Measured the fine-tuned model" against the whole process's wall
time. Results go to tests/benchmarks/results/evidence.json.
"""

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.bench_sft_vs_trl import MODEL_ID, RESULTS, ROOT, make_example


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=100, help="training examples (a fifth as many validate)")
    args = parser.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        for name, n in (("train", args.examples), ("valid", max(1, args.examples // 5))):
            lines = [json.dumps(make_example(rng, 24)) for _ in range(n)]
            (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
        spec = {"model": MODEL_ID, "training_file": "train.jsonl", "validation_file": "valid.jsonl"}
        (folder / "spec.json").write_text(json.dumps(spec))
        started = time.perf_counter()
        process = subprocess.run(
            [sys.executable, "-m", "jobs.train", str(folder / "spec.json"), "--out", str(folder / "out"), "--events", "jsonl"],
            cwd=ROOT, capture_output=True, text=True, check=True, env={**os.environ, "FTAAS_MODELS": ""},
        )
        wall = time.perf_counter() - started
        events = [json.loads(line) for line in process.stdout.splitlines()]
        summary = json.loads((folder / "out" / "summary.json").read_text())
    measured = {e["message"].split(" in ")[0].removeprefix("Measured "): e["data"]["seconds"]
                for e in events if e["message"].startswith("Measured ")}
    evidence = sum(sum(parts.values()) for parts in measured.values())
    result = {
        "command": f"python -m tests.benchmarks.bench_evidence --examples {args.examples}",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}",
        "examples": args.examples, "steps": summary["steps"], "wall_seconds": round(wall, 1),
        "train_seconds": summary["train_seconds"], "measurements": measured,
        "evidence_seconds": round(evidence, 1), "evidence_share_percent": round(100 * evidence / wall, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "evidence.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
