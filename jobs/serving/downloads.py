"""A fine-tuned model's folder from the store into a local cache: the one download helper every engine uses.

Torch-free (vLLM's resolver plugin imports it inside vLLM's own environment). A folder lands whole or not
at all: it is downloaded into a staging folder beside its target and renamed into place, so a reader never
sees half a model. Within a process one thread downloads a given model while the others asking for it
wait; when two processes race, the first rename wins and the loser uses the winner's folder (both hold
the same files). Targets are named by tenant, model name and creation time, so a model re-created under
the same name is never served from the stale copy.
"""

import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

from jobs.resolver import ResolvedModel
from jobs.store import ObjectNotFound, Store

log = logging.getLogger(__name__)

FETCHED = "models-fetched"
# What makes a folder a model: a PEFT adapter, or a transformers model (full fine-tunes).
MARKERS = ("adapter_config.json", "config.json")


class ModelUnavailable(RuntimeError):
    """The model exists (its manifest or checkpoint record does) but cannot be served: its folder in the store
    is not whole, or an engine could not load it. The message names the model and what is wrong."""


def fetched_folder(model: ResolvedModel, cache_dir: Path) -> Path:
    """Where `fetch_model_folder` puts `model`: `{cache_dir}/models-fetched/{tenant}/{quoted name}-{created_at}`."""
    return cache_dir / FETCHED / model.owner / f"{quote(model.name, safe='')}-{model.created_at}"


def fetch_model_folder(store: Store, model: ResolvedModel, cache_dir: Path) -> Path:
    """The model's folder on local disk, downloaded on first use. Raises ModelUnavailable when the store's
    copy is incomplete; store outages propagate (StoreUnavailable)."""
    if model.artifacts is None:
        raise ValueError(f"{model.name!r} is a {model.role} model; it has no folder in the store")
    target = fetched_folder(model, cache_dir)
    if target.is_dir():
        return target
    with _TargetLock(target):
        if target.is_dir():  # another thread finished while this one waited
            return target
        started = time.perf_counter()
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        try:
            try:
                store.download_folder(model.artifacts, staging)
            except ObjectNotFound as exc:  # listed, then gone before it was read
                raise ModelUnavailable(f"model {model.name!r} is incomplete in the store: {exc.args[0]} went missing "
                                       "while it was downloaded") from None
            _check_complete(model, staging)
            try:
                os.rename(staging, target)
            except OSError:  # another process renamed its copy first; the two are identical
                if not target.is_dir():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log.info("fetched model %s of %s into %s in %.1fs", model.name, model.owner, target,
                 time.perf_counter() - started)
    return target


def _check_complete(model: ResolvedModel, folder: Path) -> None:
    missing = [name for name in model.files if not (folder / name).is_file()]
    if not any((folder / marker).is_file() for marker in MARKERS):
        missing.append(" or ".join(MARKERS))
    if missing:
        raise ModelUnavailable(f"model {model.name!r} is incomplete in the store: missing {', '.join(missing)}")


class _TargetLock:
    """One lock per target folder, dropped when no thread holds or waits for it (no unbounded growth)."""

    _guard: ClassVar[threading.Lock] = threading.Lock()
    _locks: ClassVar[dict[Path, tuple[threading.Lock, int]]] = {}

    def __init__(self, target: Path) -> None:
        self.target = target

    def __enter__(self) -> None:
        with self._guard:
            lock, users = self._locks.get(self.target, (threading.Lock(), 0))
            self._locks[self.target] = (lock, users + 1)
        lock.acquire()

    def __exit__(self, *exc: object) -> None:
        with self._guard:
            lock, users = self._locks[self.target]
            lock.release()
            if users == 1:
                del self._locks[self.target]
            else:
                self._locks[self.target] = (lock, users - 1)
