"""LoRA: train low-rank adapters on a frozen base model, save only the adapter.

Reads top to bottom: load the base model, tokenize, wrap with peft, train, save `out_dir/adapter/`
(the adapter plus the tokenizer, what serving needs next to the base model).
"""

import json
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from jobs.catalog import Catalog
from jobs.data.tokenize import tokenize_chats
from jobs.spec import JobSpec, TrainingPlan
from jobs.training import events, loop
from jobs.training.events import Report


def run(
    spec: JobSpec,
    plan: TrainingPlan,
    train_examples: list[dict],
    valid_examples: list[dict] | None,
    out_dir: Path,
    catalog: Catalog,
    report: Report,
) -> dict:
    """Fine-tune `spec.model` with LoRA; returns the numbers the job summary reports."""
    lora = spec.training_type
    report(events.message(f"Loading base model {spec.model}"))
    folder = catalog.local_folder(spec.model)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(device)
    model.config.use_cache = False
    pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    train_set = tokenize_chats(train_examples, tokenizer, plan.max_seq_length)
    valid_set = tokenize_chats(valid_examples, tokenizer, plan.max_seq_length) if valid_examples else None
    n_truncated = train_set.n_truncated + (valid_set.n_truncated if valid_set else 0)
    if n_truncated:
        dropped = train_set.n_dropped + (valid_set.n_dropped if valid_set else 0)
        report(
            events.message(
                f"{n_truncated} examples were longer than max_seq_length={plan.max_seq_length} tokens and were "
                f"truncated" + (f"; {dropped} of them kept no assistant tokens and were left out" if dropped else ""),
                level="warning",
                n_truncated=n_truncated,
                n_dropped=dropped,
                max_seq_length=plan.max_seq_length,
            )
        )
    if not train_set.examples:
        raise ValueError("no training example has an assistant token within max_seq_length")

    # Seed before peft initialises the adapter weights, so a run is reproducible from its seed.
    torch.manual_seed(plan.seed)
    model = get_peft_model(
        model,
        LoraConfig(
            r=lora.r,
            lora_alpha=lora.alpha,
            lora_dropout=lora.dropout,
            target_modules=lora.target_modules,
            task_type="CAUSAL_LM",
        ),
    )

    total_steps = loop.count_steps(len(train_set.examples), plan)
    report(
        events.message(
            f"Training on {len(train_set.examples)} examples ({train_set.n_tokens} tokens), {total_steps} steps",
            n_examples=len(train_set.examples),
            n_tokens=train_set.n_tokens,
            total_steps=total_steps,
        )
    )
    result = loop.train(
        model,
        train_set.examples,
        valid_set.examples if valid_set else None,
        plan,
        pad_token_id,
        out_dir,
        report,
    )

    report(events.message("Saving adapter"))
    adapter_dir = out_dir / "adapter"
    model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    # The adapter names its base by catalog id, not by this machine's folder. (Set after saving:
    # peft would look a non-folder name up on the Hub while saving.)
    config_path = adapter_dir / "adapter_config.json"
    config = json.loads(config_path.read_text())
    config["base_model_name_or_path"] = spec.model
    config_path.write_text(json.dumps(config, indent=2) + "\n")

    return {
        "trained_tokens": result.trained_tokens,
        "n_examples": len(train_set.examples),
        "n_truncated": n_truncated,
        "final_train_loss": result.final_train_loss,
        "final_valid_loss": result.final_valid_loss,
        "seconds": result.seconds,
    }
