"""The one resolver of model names: (tenant, name) → what the name is and where its weights lie.

A name is a catalog base model (`HuggingFaceTB/SmolLM2-135M-Instruct`), a fine-tuned model
(`ft:{base}:{suffix}:{short}`), or a checkpoint (`ft:…:ckpt-step-N`, or its id `ftckpt-…`): the tenant's own,
or one another tenant shares with it (checkpoint permissions; its `owner` is then that tenant). The API
(`GET /v1/models/{id}`, continuing training), the embedded engine and the vLLM resolver plugin all ask
this module, so a name means the same thing everywhere. Torch-free and blocking (store reads);
async callers use `aresolve`.
"""

import asyncio
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, unquote

from jobs.catalog import Catalog
from jobs.ids import InvalidId, is_checkpoint_ref, is_fine_tuned_model_id, is_tenant
from jobs.repository import CheckpointPermissionRepository, CheckpointRepository, ModelRepository, RecordNotFound
from jobs.store import Store

ModelRole = Literal["base", "fine_tuned", "checkpoint"]

# Training types whose artifact is a LoRA adapter (DoRA and rsLoRA are LoRA options); vLLM and the
# embedded engine's mixed-adapter batches serve these.
LORA_FAMILY = frozenset({"lora", "qlora"})


class ModelNotFound(LookupError):
    """Neither a catalog base model nor a fine-tuned model or checkpoint of this tenant."""

    def __init__(self, name: str, reason: str = "") -> None:
        super().__init__(f"model {name!r} not found{': ' + reason if reason else ''}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class ResolvedModel:
    name: str  # as the caller named it
    role: ModelRole
    base_model: str  # the catalog model at the root of its lineage (itself for a base model)
    owner: str  # the tenant, or "ftaas" for a catalog model
    created_at: int
    training_type: dict[str, Any] | None = None  # None for a base model
    task_format: str = "chat"  # chat | completion | classification | preference …
    artifacts: str | None = None  # store prefix of its adapter/ or model/ folder; None for a base model
    files: tuple[str, ...] = ()  # what the folder must hold (a model's manifest lists them)
    parent: str | None = None  # what its job continued training, if anything

    @property
    def kind(self) -> str:
        """`base`, or the training_type that made it (`lora`, `qlora`, `full`, `ia3`, `prefix_tuning`, …)."""
        return "base" if self.training_type is None else str(self.training_type["type"])

    @property
    def model_kind(self) -> str:
        """The `model_kind` label of serving metrics: `classifier` for any classifier, else `kind`."""
        return "classifier" if self.is_classifier else self.kind

    @property
    def is_classifier(self) -> bool:
        return self.task_format == "classification"

    @property
    def is_lora_family(self) -> bool:
        return self.kind in LORA_FAMILY and not self.is_classifier

    @property
    def uses_dora(self) -> bool:
        """DoRA adapters cannot share a mixed-adapter batch (peft) and vLLM does not serve them."""
        return bool((self.training_type or {}).get("use_dora"))


BASE_OWNER = "ftaas"


class ModelResolver:
    def __init__(self, catalog: Catalog, store: Store) -> None:
        self.catalog = catalog
        self.store = store
        self._checkpoints = CheckpointRepository(store)
        self._models = ModelRepository(store)
        self._permissions = CheckpointPermissionRepository(store)

    def resolve(self, tenant: str, name: str) -> ResolvedModel:
        """Raises ModelNotFound; never falls back to the base model. Store outages propagate (StoreUnavailable)."""
        if not isinstance(name, str) or not name:
            raise ModelNotFound(str(name))
        if name in self.catalog:
            return ResolvedModel(name=name, role="base", base_model=name, owner=BASE_OWNER, created_at=0)
        if not (is_fine_tuned_model_id(name) or is_checkpoint_ref(name)):
            raise ModelNotFound(name)
        try:
            resolved = self._checkpoint(tenant, name) if is_checkpoint_ref(name) else self._fine_tuned(tenant, name)
        except (RecordNotFound, InvalidId):
            raise ModelNotFound(name) from None
        if resolved.base_model not in self.catalog:
            raise ModelNotFound(name, f"its base model {resolved.base_model!r} is not in this deployment's catalog")
        return resolved

    async def aresolve(self, tenant: str, name: str) -> ResolvedModel:
        return await asyncio.to_thread(self.resolve, tenant, name)

    def _fine_tuned(self, tenant: str, name: str) -> ResolvedModel:
        if not is_fine_tuned_model_id(name):
            raise RecordNotFound(name)
        manifest = self._models.read(tenant, name)
        return ResolvedModel(
            name=name, role="fine_tuned", base_model=manifest.base_model, owner=tenant,
            created_at=manifest.created_at,
            training_type=manifest.extra.get("training_type") or {"type": manifest.kind},
            task_format=manifest.task_format, artifacts=manifest.artifacts, files=tuple(manifest.files),
            parent=manifest.parent,
        )

    def _checkpoint(self, tenant: str, name: str) -> ResolvedModel:
        try:
            checkpoint = self._checkpoints.read(tenant, name)
        except RecordNotFound:
            checkpoint = self._checkpoints.read(self._permissions.owner_of(tenant, name), name)
        return ResolvedModel(
            name=name, role="checkpoint", base_model=checkpoint.base_model, owner=checkpoint.tenant,
            created_at=checkpoint.created_at, training_type=checkpoint.training_type,
            task_format=checkpoint.task_format, artifacts=checkpoint.artifacts,
        )


# -- names inside an engine ---------------------------------------------------------------------
# An engine shared by every tenant (vLLM) knows a fine-tuned model by one string that carries its
# tenant, so the API never sends a name another tenant could also mean.


def engine_model_name(tenant: str, name: str) -> str:
    """`{tenant}/{name, %-quoted}`: what the API sends to an engine for a tenant's model."""
    if not is_tenant(tenant):
        raise InvalidId(f"{tenant!r} is not a tenant")
    return f"{tenant}/{quote(name, safe='')}"


def parse_engine_model_name(engine_name: str) -> tuple[str, str]:
    """(tenant, model name) from `engine_model_name`'s output; ModelNotFound for anything else."""
    tenant, sep, quoted_name = engine_name.partition("/")
    if not sep or not is_tenant(tenant) or "/" in quoted_name or not quoted_name:
        raise ModelNotFound(engine_name)
    return tenant, unquote(quoted_name)
