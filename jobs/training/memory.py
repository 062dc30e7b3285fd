"""How much memory one forward may keep for its backward, and what that decides.

Training keeps each layer's activations from a forward until its backward: the part of a run's memory that
grows with the tokens fed at once. Rather than an on/off switch, a budget bounds it:

- each batch is cut into micro-batches whose estimated activations fit the budget (the loop's gradients are
  the same however a step is cut: its loss is the sum over its targets divided by their count), and
- gradient checkpointing (recomputing each layer's forward in the backward) is turned on only when a single
  training example alone would not fit; it costs about a third more compute.

The budget: FTAAS_TRAINING_ACTIVATION_BUDGET_BYTES when set, else a share of the accelerator's free memory,
else (CPU) DEFAULT_CPU_BUDGET_BYTES.

It also says whether a base model fits one accelerator beside its training (`fits_one_accelerator`): where it does
not, compute.strategy "auto" shards the adapter methods too (jobs.spec.sharding_strategy).
"""

import os
from dataclasses import dataclass
from pathlib import Path

import torch

DEFAULT_CPU_BUDGET_BYTES = 2 * 2**30
CUDA_FREE_MEMORY_SHARE = 0.6  # the rest: the allocator's fragmentation, temporaries, the evaluation's batches
OPTIMIZER_BYTES_PER_TRAINABLE = 12  # a float32 gradient and AdamW's two moments
# Under DDP every accelerator holds the whole base model; a model taking more than this share of one is sharded
# instead (what is left: activations, the adapters' state, the allocator's slack).
DDP_MAX_WEIGHTS_SHARE = 0.5


@dataclass(frozen=True)
class ActivationPlan:
    budget_bytes: int
    bytes_per_token: int
    gradient_checkpointing: bool
    max_forward_tokens: int  # padded positions per forward (rows × width); a forward holds at least one example

    def describe(self) -> str:
        text = f"at most {self.max_forward_tokens:,} tokens per forward (activation budget {self.budget_bytes / 2**30:.1f} GiB)"
        return text + (", gradient checkpointing on" if self.gradient_checkpointing else "")


def bytes_per_token(config, element_bytes: int, causal: bool, checkpointed: bool) -> int:
    """Estimated activation bytes a decoder keeps per token for the backward. Per layer, 16 hidden-size and 7
    intermediate-size values: the constant measured on SmolLM2-135M (LoRA on every linear layer, SDPA attention,
    float32), which over-estimates full fine-tuning slightly. With gradient checkpointing, each layer keeps its
    input and only the layer being recomputed keeps the rest. A causal LM adds the float32 logits, log-softmax
    and gradient of the vocabulary projection (computed only at labelled positions, counted at every one)."""
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    hidden = text.hidden_size
    intermediate = getattr(text, "intermediate_size", None) or 4 * hidden
    layer = (16 * hidden + 7 * intermediate) * element_bytes
    layers = text.num_hidden_layers * (2 * hidden * element_bytes) + layer if checkpointed else text.num_hidden_layers * layer
    return layers + (text.vocab_size * 12 if causal else 0)


def weights_bytes(folder: Path, element_bytes: int) -> int:
    """What the weights of the model in `folder` take at `element_bytes` per value, counted from its safetensors
    files' headers (shapes only: no weight is read)."""
    from safetensors import safe_open

    values = 0
    for path in folder.glob("*.safetensors"):
        with safe_open(path, framework="pt") as weights:
            for name in weights.keys():
                shape = weights.get_slice(name).get_shape()
                values += int(torch.Size(shape).numel())
    return values * element_bytes


def fits_one_accelerator(folder: Path, element_bytes: int) -> bool:
    """Whether a process can hold the whole model in `folder` on its accelerator, as DDP does (on CPU there is
    no accelerator to outgrow: True). Under torchrun each process asks of its own (LOCAL_RANK's) accelerator."""
    if not torch.cuda.is_available():
        return True
    total = torch.cuda.get_device_properties(int(os.environ.get("LOCAL_RANK", "0"))).total_memory
    return weights_bytes(folder, element_bytes) <= total * DDP_MAX_WEIGHTS_SHARE


def activation_budget(device: torch.device, n_trainable: int, configured_bytes: int = 0) -> int:
    if configured_bytes:
        return configured_bytes
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return max(0, int((free - n_trainable * OPTIMIZER_BYTES_PER_TRAINABLE) * CUDA_FREE_MEMORY_SHARE))
    return DEFAULT_CPU_BUDGET_BYTES


def plan_activations(config, element_bytes: int, causal: bool, longest_example_tokens: int, budget_bytes: int,
                     gradient_checkpointing: bool | str) -> ActivationPlan:
    """`gradient_checkpointing` is the job's: True, False, or "auto" (on when the longest example alone exceeds the
    budget without it)."""
    full = bytes_per_token(config, element_bytes, causal, checkpointed=False)
    if gradient_checkpointing == "auto":
        gradient_checkpointing = longest_example_tokens * full > budget_bytes
    per_token = bytes_per_token(config, element_bytes, causal, checkpointed=True) if gradient_checkpointing else full
    return ActivationPlan(
        budget_bytes=budget_bytes, bytes_per_token=per_token, gradient_checkpointing=bool(gradient_checkpointing),
        max_forward_tokens=max(1, budget_bytes // per_token),
    )


def forward_pieces(examples: list[dict], max_tokens: int, padded_tokens) -> list[list[dict]]:
    """`examples` cut into the fewest pieces, longest first, whose `padded_tokens(piece)` is at most `max_tokens`
    (a piece holds at least one example)."""
    pieces: list[list[dict]] = []
    for example in sorted(examples, key=lambda e: padded_tokens([e]), reverse=True):
        if pieces and padded_tokens([*pieces[-1], example]) <= max_tokens:
            pieces[-1].append(example)
        else:
            pieces.append([example])
    return pieces


def prepare(model: torch.nn.Module, task, examples: list[dict], gradient_checkpointing: bool | str, device: torch.device,
            dtype: torch.dtype, causal: bool, configured_budget_bytes: int = 0) -> ActivationPlan:
    """The run's activation plan for `model` (made trainable) on `examples`, with gradient checkpointing turned
    on when the plan says so; the loop takes `max_forward_tokens`."""
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    plan = plan_activations(
        model.config, dtype.itemsize, causal, max(task.padded_tokens([e]) for e in examples),
        activation_budget(device, n_trainable, configured_budget_bytes), gradient_checkpointing,
    )
    if plan.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return plan
