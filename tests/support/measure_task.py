"""Measure what a DEFAULT job learns on the code-word task: base vs fine-tuned exact-match accuracy.

    python -m tests.support.measure_task [--n-train 250] [--n-test 50] [--hp '{"n_epochs": 2}']

Trains through `jobs.train.run_training` with no hyper-parameters given (unless --hp/--lora),
then answers the held-out prompts greedily (max_new_tokens 8) with the base model and with the
adapter loaded back from disk. Not a pytest test: it is how the "auto" defaults in jobs/spec.py
were chosen; tests/benchmarks/ may wrap it.
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

from jobs.catalog import DEFAULT_MODEL_ID, Catalog
from jobs.spec import JobSpec
from jobs.train import run_training
from tests.support.tasks import classification_examples, exact_match_accuracy, write_jsonl


def greedy_predictor(model, tokenizer, max_new_tokens: int = 8):
    def predict(messages: list[dict]) -> str:
        inputs = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
        )
        with torch.no_grad():
            output = model.generate(
                **inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
            )
        return tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)

    return predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-train", type=int, default=250)
    parser.add_argument("--n-test", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0, help="data seed (the job's seed stays unset)")
    parser.add_argument("--hp", default=None, help="hyperparameters JSON (default: none, i.e. all auto)")
    parser.add_argument("--lora", default=None, help="training_type JSON overrides, e.g. '{\"r\": 8}'")
    parser.add_argument("--skip-base", action="store_true", help="do not measure the base model")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()

    cache_dir = Path(os.environ.get("FTAAS_TEST_CACHE", "~/.cache/ftaas-test")).expanduser()
    catalog = Catalog.from_setting("", cache_dir)
    folder = catalog.local_folder(DEFAULT_MODEL_ID)
    torch.set_num_threads(args.threads or os.cpu_count())
    test = classification_examples(args.n_test, seed=args.seed, split="test")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        train_path = write_jsonl(work / "train.jsonl", classification_examples(args.n_train, seed=args.seed))
        raw = {"model": DEFAULT_MODEL_ID, "training_file": str(train_path)}
        if args.hp:
            raw["hyperparameters"] = json.loads(args.hp)
        if args.lora:
            raw["training_type"] = {"type": "lora", **json.loads(args.lora)}
        spec = JobSpec.model_validate(raw)

        def report(event: dict) -> None:
            data = event["data"]
            if event["type"] == "message" or data["step"] % 10 == 0 or data["step"] == data["total_steps"]:
                print(event["message"], flush=True)

        cpu0, wall0 = time.process_time(), time.perf_counter()
        summary = run_training(spec, train_path, None, work / "out", catalog, report, threads=args.threads)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0

        tokenizer = AutoTokenizer.from_pretrained(folder)
        base = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        base_accuracy = None if args.skip_base else exact_match_accuracy(greedy_predictor(base, tokenizer), test)
        tuned = PeftModel.from_pretrained(base, work / "out" / "adapter").eval()
        eval0 = time.perf_counter()
        tuned_accuracy = exact_match_accuracy(greedy_predictor(tuned, tokenizer), test)
        eval_seconds = time.perf_counter() - eval0

    result = {
        "n_train": args.n_train,
        "n_test": args.n_test,
        "plan": summary["plan"],
        "trained_tokens": summary["trained_tokens"],
        "final_train_loss": round(summary["final_train_loss"], 4),
        "base_accuracy": base_accuracy,
        "tuned_accuracy": tuned_accuracy,
        "run_training_wall_seconds": round(wall, 1),
        "train_loop_seconds": summary["train_seconds"],
        "run_training_cpu_seconds": round(cpu, 1),
        "eval_seconds": round(eval_seconds, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
