"""Benchmark: serving fine-tuned models to many callers, through the API, as applications call it.

    python -m tests.benchmarks.bench_serving            # the measurement behind docs/benchmarks.md (`make bench`)
    python -m tests.benchmarks.bench_serving --quick    # a smoke check (fewer, shorter requests)

Setup: 16 distinct LoRA adapters of SmolLM2-135M-Instruct (r 16, all linear layers, random weights with fixed
seeds, published in a local-folder store as the worker publishes them) and the base model. Each engine runs as
its own process behind `ftaas api`, which every request goes through (auth, model resolution, routing, relay):

  before   the inference server as it was before batching (commit c5a8a00, one generation at a time per base
           model, transformers' generate), run from a git worktree of that commit
  embedded the embedded engine now (`ftaas serve`, defaults)
  vllm     vLLM with ftaas's resolver plugin (`ftaas serve --engine vllm`, defaults), when `.venv-vllm` exists

Loads (each with 16 concurrent clients, 2 requests each, every request streamed with the official `openai`
package, 48 new tokens at most, temperature 0.8 with a per-request seed so answers run long and differ):
  mixed     each request picks one of the 16 adapters or the base (17 models), round robin (all loaded first)
  base      every request on the base model
  adapter   every request on one (already loaded) adapter
Measured: generated tokens / wall time of the whole load (tokens/s), time to first token (median; for `before`,
which cannot stream, the whole answer's time), and for a cold adapter (never asked for before) its time to
first token minus the same adapter's warm one.
The load generator runs on the same machine as the engines (as `make run` users have it); on 2 cores it
takes CPU from them, the same for every engine.
"""

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results"
BASELINE_COMMIT = "c5a8a00"
MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
N_ADAPTERS = 16
CLIENTS = 16
TARGETS = {"embedded_over_before": 3.0, "adapter_cost_over_base": 1.15}
TOPICS = ("the sea", "a lighthouse", "winter", "a city at night", "an old clock", "the desert", "a garden", "rain",
          "a library", "mountains", "a train journey", "the moon", "a market", "a forest", "a river", "a storm")
KEY = "sk-bench"


def adapter_id(i: int) -> str:
    return f"ft:{MODEL}:bench{i:02d}:abcd{i:04d}"


def make_adapters(store_root: Path, base_model_dir: Path) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from jobs.store import LocalStore
    from tests.support.serving import publish

    store = LocalStore(store_root)
    tokenizer = AutoTokenizer.from_pretrained(base_model_dir)
    for i in range(N_ADAPTERS):
        torch.manual_seed(i)
        model = AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32)
        peft_model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"))
        with torch.no_grad():
            for name, param in peft_model.named_parameters():
                if "lora_B" in name:
                    param.normal_(0, 0.002)
        folder = Path(tempfile.mkdtemp())
        peft_model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        publish(store, "bench", adapter_id(i), folder)
        shutil.rmtree(folder)


class Stack:
    """An engine and the API in front of it, as processes; stopped (process groups) on exit."""

    def __init__(self, name: str, env: dict[str, str], work: Path) -> None:
        self.name, self.env, self.work = name, env, work
        self.processes: list[subprocess.Popen] = []

    def start(self, command: list[str], cwd: Path, log: str, extra_env: dict[str, str] | None = None) -> None:
        out = open(self.work / f"{self.name}-{log}.log", "wb")
        self.processes.append(subprocess.Popen(
            command, cwd=cwd, env={**self.env, **(extra_env or {})}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        ))

    def wait(self, url: str, timeout_s: float = 900) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for p in self.processes:
                if p.poll() is not None:
                    raise RuntimeError(f"{self.name}: a process exited; see {self.work}/{self.name}-*.log")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise TimeoutError(f"{self.name}: {url} not ready")

    def stop(self) -> None:
        for p in self.processes:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in self.processes:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_stack(engine: str, env: dict[str, str], work: Path, baseline_tree: Path | None) -> tuple[Stack, str]:
    me = [sys.executable, "-m", "service.cli"]
    stack = Stack(engine, env, work)
    serving_port, api_port = free_port(), free_port()
    api_env = {"FTAAS_SERVING_URL": f"http://127.0.0.1:{serving_port}"}
    if engine == "vllm":
        stack.start(me + ["serve", "--engine", "vllm", "--port", str(serving_port)], ROOT, "vllm")
        stack.wait(f"http://127.0.0.1:{serving_port}/health")
        api_env = {"FTAAS_VLLM_URLS": json.dumps({MODEL: f"http://127.0.0.1:{serving_port}"}),
                   "FTAAS_SERVING_URL": "http://127.0.0.1:9"}
    elif engine == "before":
        assert baseline_tree is not None
        stack.start(me + ["serve", "--port", str(serving_port)], baseline_tree, "serve", {"PYTHONPATH": str(baseline_tree)})
        stack.wait(f"http://127.0.0.1:{serving_port}/healthz")
    else:
        stack.start(me + ["serve", "--port", str(serving_port)], ROOT, "serve")
        stack.wait(f"http://127.0.0.1:{serving_port}/readyz")
    stack.start(me + ["api", "--port", str(api_port)], ROOT, "api", api_env)
    stack.wait(f"http://127.0.0.1:{api_port}/healthz")
    return stack, f"http://127.0.0.1:{api_port}"


STREAMING = {"on": True}  # the engine before batching could not stream: its requests wait for the whole answer


async def one_request(client, model: str, topic: str, seed: int, max_tokens: int) -> tuple[int, float]:
    """(generated tokens, seconds to the first token) of one request, streamed where the engine can."""
    started = time.perf_counter()
    first = None
    tokens = 0
    params = dict(model=model, messages=[{"role": "user", "content": f"Write a long story about {topic}."}],
                  max_tokens=max_tokens, temperature=0.8, seed=seed)
    if not STREAMING["on"]:
        reply = await client.chat.completions.create(**params)
        return reply.usage.completion_tokens, time.perf_counter() - started
    stream = await client.chat.completions.create(**params, stream=True, stream_options={"include_usage": True})
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - started
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
    return tokens, first if first is not None else time.perf_counter() - started


async def run_load(api: str, models: list[str], per_client: int, max_tokens: int) -> dict:
    import openai

    client = openai.AsyncOpenAI(base_url=f"{api}/v1", api_key=KEY, max_retries=0, timeout=1800)
    jobs = [(models[(c * per_client + r) % len(models)], c * per_client + r) for c in range(CLIENTS) for r in range(per_client)]
    queue: asyncio.Queue = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    results: list[tuple[int, float]] = []

    async def worker() -> None:
        while not queue.empty():
            model, n = queue.get_nowait()
            results.append(await one_request(client, model, TOPICS[n % len(TOPICS)], n, max_tokens))

    started = time.perf_counter()
    async with client:
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    wall = time.perf_counter() - started
    tokens = sum(t for t, _ in results)
    return {"requests": len(results), "tokens": tokens, "wall_s": round(wall, 2), "tokens_per_s": round(tokens / wall, 2),
            "ttft_median_s": round(statistics.median(f for _, f in results), 3)}


async def warm_up(api: str, models: list[str]) -> None:
    import openai

    async with openai.AsyncOpenAI(base_url=f"{api}/v1", api_key=KEY, max_retries=0, timeout=600) as client:
        for i, model in enumerate(models):
            await one_request(client, model, "a warm-up", i, 2)


async def cold_vs_warm(api: str, adapters: list[str], max_tokens: int) -> dict:
    import openai

    client = openai.AsyncOpenAI(base_url=f"{api}/v1", api_key=KEY, max_retries=0, timeout=600)
    diffs = []
    async with client:
        for i, model in enumerate(adapters):
            _, cold = await one_request(client, model, "a cold start", i, 4)
            _, warm = await one_request(client, model, "a cold start", i, 4)
            diffs.append(cold - warm)
    return {"adapters": len(adapters), "cold_minus_warm_ttft_median_s": round(statistics.median(diffs), 3)}


def measure(engine: str, env: dict[str, str], work: Path, baseline_tree: Path | None, quick: bool) -> dict:
    per_client, max_tokens = (1, 16) if quick else (2, 48)
    adapters = [adapter_id(i) for i in range(N_ADAPTERS)]
    STREAMING["on"] = engine != "before"
    stack, api = start_stack(engine, env, work, baseline_tree)
    try:
        result = {"cold_start": asyncio.run(cold_vs_warm(api, adapters[-3:], max_tokens))}
        asyncio.run(warm_up(api, [MODEL] + adapters))  # the loads measure steady serving, not first loads
        result["mixed"] = asyncio.run(run_load(api, [MODEL] + adapters, per_client, max_tokens))
        result["base"] = asyncio.run(run_load(api, [MODEL], per_client, max_tokens))
        result["adapter"] = asyncio.run(run_load(api, [adapters[0]], per_client, max_tokens))
        result["adapter_cost_over_base"] = round(result["base"]["tokens_per_s"] / result["adapter"]["tokens_per_s"], 3)
        return result
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 short request per client: a smoke check")
    parser.add_argument("--engines", default="before,embedded,vllm", help="comma-separated (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None, help="results JSON (default: tests/benchmarks/results/)")
    args = parser.parse_args()

    from jobs.catalog import Catalog

    work = Path(tempfile.mkdtemp(prefix="ftaas-bench-serving-"))
    cache = Path(os.environ.get("FTAAS_TEST_CACHE", "~/.cache/ftaas-test")).expanduser()
    base_model_dir = Catalog.from_setting("", cache).local_folder(MODEL)
    print(f"making {N_ADAPTERS} adapters in {work}/store …", file=sys.stderr)
    make_adapters(work / "store", base_model_dir)
    env = dict(
        os.environ, FTAAS_API_KEYS=f"{KEY}:bench", FTAAS_STORE_URL=f"file://{work}/store",
        FTAAS_MODELS=json.dumps({MODEL: str(base_model_dir)}), FTAAS_CACHE_DIR=str(work / "cache"),
        FTAAS_SERVING_MAX_ADAPTERS=str(N_ADAPTERS + 1), FTAAS_VLLM_MAX_LORAS=str(N_ADAPTERS),
        FTAAS_VLLM_MAX_CPU_LORAS=str(N_ADAPTERS + 1), HF_HUB_OFFLINE="1",
    )
    engines = [e for e in args.engines.split(",") if e]
    if "vllm" in engines and not (ROOT / ".venv-vllm" / "bin" / "python").is_file():
        print("no .venv-vllm (`make vllm-env`): vLLM left out", file=sys.stderr)
        engines.remove("vllm")
    baseline_tree = None
    if "before" in engines:
        baseline_tree = work / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline_tree), BASELINE_COMMIT],
                       check=True, capture_output=True)
    results: dict = {}
    try:
        for engine in engines:
            print(f"measuring {engine} …", file=sys.stderr)
            results[engine] = measure(engine, env, work, baseline_tree, args.quick)
            print(json.dumps({engine: results[engine]}, indent=1), file=sys.stderr)
    finally:
        if baseline_tree is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline_tree)], check=False)
    if "before" in results and "embedded" in results:
        results["embedded_over_before"] = round(
            results["embedded"]["mixed"]["tokens_per_s"] / results["before"]["mixed"]["tokens_per_s"], 2
        )
    report = {
        "command": "python -m tests.benchmarks.bench_serving" + (" --quick" if args.quick else ""),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "clients": CLIENTS, "adapters": N_ADAPTERS, "targets": TARGETS, "results": results,
    }
    out = args.out or RESULTS / f"serving-{'quick' if args.quick else 'full'}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
