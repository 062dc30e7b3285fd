"""Full fine-tuning: every weight, or all but a frozen part; saves the whole model.

Options (all in `training_type`):
- `freeze.layers: K` freezes the embeddings and the first K decoder layers; `freeze.head_only` trains
  only the head and the final norm. A causal LM whose head shares its matrix with the input
  embeddings (tied, like SmolLM2) trains that matrix as its head, unless freeze.layers freezes it.
- `layerwise_lr_decay: d` gives the head the base learning rate, decoder layer i (of N) base × d^(N - i),
  and the embeddings base × d^(N + 1): lower layers, which hold general features, move less.
- `gradual_unfreezing` starts with only the head trainable and unfreezes one more decoder layer from
  the top every `every_steps` steps or `every_epochs` epochs, then the embeddings.
"""

from jobs.recipes import RecipeContext, Trainable


def load_model(ctx: RecipeContext):
    return ctx.load_model()


def _parts(model) -> tuple[list, list[list], list, bool]:
    """(head parameters, each decoder layer's parameters bottom to top, embedding parameters, whether the
    head shares its matrix with the input embeddings)."""
    base = model.base_model  # the decoder stack (LlamaModel and the like)
    embedding = base.get_input_embeddings()
    layers = [list(layer.parameters()) for layer in base.layers]
    embeddings = list(embedding.parameters())
    taken = {id(p) for p in embeddings} | {id(p) for layer in layers for p in layer}
    head = [p for p in model.parameters() if id(p) not in taken]  # final norm, lm_head or score
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    tied = output is not None and output.weight is embedding.weight
    return head, layers, embeddings, tied


def make_trainable(model, ctx: RecipeContext) -> Trainable:
    full = ctx.spec.training_type
    head, layers, embeddings, tied = _parts(model)
    n_frozen = full.freeze.layers if full.freeze else 0
    if n_frozen > len(layers):
        raise ValueError(f"freeze.layers is {n_frozen} but {ctx.spec.model} has only {len(layers)} decoder layers")
    head_only = bool(full.freeze and full.freeze.head_only)
    if tied and (head_only or n_frozen == 0):
        head, embeddings = head + embeddings, []  # the head's matrix is the embeddings: it trains with the head
    trainable_layers = [] if head_only else layers[n_frozen:]
    trainable_embeddings = [] if head_only or n_frozen > 0 else embeddings

    for p in model.parameters():
        p.requires_grad_(False)
    for p in head + [p for layer in trainable_layers for p in layer] + trainable_embeddings:
        p.requires_grad_(True)

    base_lr = ctx.plan.learning_rate
    decay = full.layerwise_lr_decay or 1.0
    top = len(layers)
    groups = [{"params": trainable_embeddings, "lr": base_lr * decay ** (top + 1)}] if trainable_embeddings else []
    groups += [{"params": layers[i], "lr": base_lr * decay ** (top - i)} for i in range(top - len(trainable_layers), top)]
    groups.append({"params": head, "lr": base_lr})  # last, so the loop reports the head's learning rate

    hooks = []
    if full.gradual_unfreezing is not None:
        hooks.append(_gradual_unfreezing(full.gradual_unfreezing, trainable_layers, trainable_embeddings))
    return Trainable(model, parameter_groups=groups, hooks=hooks)


def _gradual_unfreezing(schedule, layers: list[list], embeddings: list):
    """A step hook: before each step, make the top `stage` layers trainable (then the embeddings)."""
    stages = [layer for layer in reversed(layers)] + ([embeddings] if embeddings else [])
    for stage in stages:
        for p in stage:
            p.requires_grad_(False)
    unfrozen = 0

    def hook(step: int, epoch: int) -> str | None:
        nonlocal unfrozen
        due = step // schedule.every_steps if schedule.every_steps else epoch // schedule.every_epochs
        due = min(due, len(stages))
        if due == unfrozen:
            return None
        for stage in stages[unfrozen:due]:
            for p in stage:
                p.requires_grad_(True)
        unfrozen = due
        n_layers = min(unfrozen, len(layers))
        what = f"the top {n_layers} decoder layer{'s' if n_layers != 1 else ''}"
        if unfrozen > len(layers):
            what += " and the embeddings"
        return f"Gradual unfreezing at step {step + 1}: training the head and {what}"

    return hook

