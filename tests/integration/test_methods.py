"""Every training method trains SmolLM2-135M-Instruct on CPU through `run_training`, as a job would.

Each run is a few steps on a small chat task; the assertions check what the method promises: which
weights move, which stay, what is saved, and that the saved artefacts load again.
"""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from jobs.catalog import DEFAULT_MODEL_ID
from jobs.spec import JobSpec
from jobs.train import run_training
from jobs.training.pipeline import RunOptions
from tests.support.tasks import classification_examples, write_jsonl

pytestmark = pytest.mark.slow


def train(tmp_path: Path, catalog, training_type: dict, events: list | None = None, **hyperparameters) -> tuple[Path, dict]:
    write_jsonl(tmp_path / "train.jsonl", classification_examples(16, seed=2))
    write_jsonl(tmp_path / "valid.jsonl", classification_examples(4, seed=2, split="test"))
    spec = JobSpec.model_validate({
        "model": DEFAULT_MODEL_ID, "training_file": "train.jsonl", "validation_file": "valid.jsonl", "seed": 5,
        "training_type": training_type,
        "hyperparameters": {"max_steps": 3, "batch_size": 4, "max_seq_length": 64, **hyperparameters},
    })
    out = tmp_path / "out"
    report = events.append if events is not None else (lambda event: None)
    summary = run_training(spec, tmp_path / "train.jsonl", tmp_path / "valid.jsonl", out, catalog, report, threads=0,
                           options=RunOptions(evidence_level="validation"))
    return out, summary


def base_weights(base_model_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(base_model_dir / "model.safetensors")


def changed(before: torch.Tensor, after: torch.Tensor) -> bool:
    return not torch.equal(before, after)


def test_full_fine_tuning_with_frozen_layers_saves_a_whole_model(tmp_path, catalog, base_model_dir):
    out, summary = train(tmp_path, catalog, {"type": "full", "freeze": {"layers": 20}}, learning_rate=1e-4)

    assert summary["artifact"] == "model" and not (out / "adapter").exists()
    base, tuned = base_weights(base_model_dir), load_file(out / "model" / "model.safetensors")
    n_layers = 30  # SmolLM2-135M
    for i in range(n_layers):
        weight = f"model.layers.{i}.mlp.down_proj.weight"
        assert changed(base[weight], tuned[weight]) == (i >= 20), f"layer {i}"
    assert not changed(base["model.embed_tokens.weight"], tuned["model.embed_tokens.weight"])
    assert (out / "model" / "tokenizer_config.json").is_file()


def test_head_only_trains_nothing_but_the_head(tmp_path, catalog, base_model_dir):
    out, _ = train(tmp_path, catalog, {"type": "full", "freeze": {"head_only": True}}, learning_rate=1e-4)
    base, tuned = base_weights(base_model_dir), load_file(out / "model" / "model.safetensors")
    moved = {name for name in base if changed(base[name], tuned[name])}
    # SmolLM2 ties its head to the input embeddings, so the head is that one matrix (and the final norm).
    assert moved and moved <= {"model.embed_tokens.weight", "model.norm.weight"}


def test_gradual_unfreezing_reaches_only_the_top_layers_it_unfroze(tmp_path, catalog, base_model_dir):
    events = []
    out, _ = train(tmp_path, catalog, {"type": "full", "gradual_unfreezing": {"every_steps": 1}}, events, learning_rate=1e-4)
    messages = [e["message"] for e in events if "Gradual unfreezing" in e["message"]]
    assert messages == [
        "Gradual unfreezing at step 2: training the head and the top 1 decoder layer",
        "Gradual unfreezing at step 3: training the head and the top 2 decoder layers",
    ]
    base, tuned = base_weights(base_model_dir), load_file(out / "model" / "model.safetensors")
    moved_layers = {i for i in range(30) if changed(base[f"model.layers.{i}.mlp.up_proj.weight"], tuned[f"model.layers.{i}.mlp.up_proj.weight"])}
    assert moved_layers == {28, 29}


@pytest.mark.parametrize(
    "training_type, config_check",
    [
        ({"type": "lora", "r": 4, "use_rslora": True}, lambda c: c["peft_type"] == "LORA" and c["use_rslora"] is True),
        ({"type": "lora", "r": 4, "use_dora": True, "target_modules": ["q_proj", "v_proj"]},
         lambda c: c["use_dora"] is True and set(c["target_modules"]) == {"q_proj", "v_proj"}),
        ({"type": "qlora", "r": 4}, lambda c: c["peft_type"] == "LORA"),
        ({"type": "ia3"}, lambda c: c["peft_type"] == "IA3"),
        ({"type": "prefix_tuning", "num_virtual_tokens": 4}, lambda c: c["peft_type"] == "PREFIX_TUNING" and c["num_virtual_tokens"] == 4),
        ({"type": "prompt_tuning", "num_virtual_tokens": 4, "init_text": "Reply with the topic code."},
         lambda c: c["peft_type"] == "PROMPT_TUNING" and c["prompt_tuning_init"] == "TEXT"),
    ],
    ids=["lora-rslora", "lora-dora", "qlora", "ia3", "prefix_tuning", "prompt_tuning"],
)
def test_adapter_methods_train_and_save_a_loadable_adapter(tmp_path, catalog, base_model_dir, training_type, config_check):
    out, summary = train(tmp_path, catalog, training_type)

    assert summary["artifact"] == "adapter" and not (out / "model").exists()
    config = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == DEFAULT_MODEL_ID
    assert config_check(config), config
    tensors = load_file(out / "adapter" / "adapter_model.safetensors")
    assert tensors and all(torch.isfinite(t).all() for t in tensors.values())
    if training_type.get("use_dora"):
        assert any("lora_magnitude_vector" in name for name in tensors)

    # The adapter loads onto the full-precision base and gives the loss the training run measured.
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32), out / "adapter")
    report = json.loads((out / "results" / "report.json").read_text())
    if training_type["type"] != "qlora":  # QLoRA trained on 4-bit weights; on full precision the loss differs a little
        from jobs.data.tokenize import tokenize_examples
        from jobs.training.causal_lm import CausalLmTask
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(out / "adapter")
        valid = tokenize_examples("chat", classification_examples(4, seed=2, split="test"), tokenizer, 64)
        task = CausalLmTask(tokenizer.pad_token_id, 64, False, torch.device("cpu"))
        assert task.evaluate(model, valid.examples, 4)["loss"] == pytest.approx(report["after"]["validation"]["loss"], rel=1e-3)


def test_layerwise_learning_rates_decay_from_the_top(catalog, base_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from jobs.recipes import RecipeContext
    from jobs.recipes.full import make_trainable

    spec = JobSpec.model_validate({"model": DEFAULT_MODEL_ID, "training_file": "x",
                                   "training_type": {"type": "full", "freeze": {"layers": 2}, "layerwise_lr_decay": 0.5}})
    plan = spec.resolve(10)
    model = AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32)
    ctx = RecipeContext(spec=spec, plan=plan, model_folder=base_model_dir, tokenizer=AutoTokenizer.from_pretrained(base_model_dir),
                        device=torch.device("cpu"), dtype=torch.float32, task="causal_lm", labels=None, report=print)
    trainable = make_trainable(model, ctx)
    rates = [group["lr"] for group in trainable.parameter_groups]
    # bottom first: layers 2..29 at base × 0.5^(30 - i), then the head at the base rate
    assert rates == pytest.approx([plan.learning_rate * 0.5 ** (30 - i) for i in range(2, 30)] + [plan.learning_rate])
    assert not any(p.requires_grad for p in model.model.layers[1].parameters())
