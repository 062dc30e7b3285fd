"""What a training process is handed: a job resolved once, before any training process starts.

The API validated the spec. Whoever starts training (the worker for a job, `ftaas train` for a local spec)
resolves it here, once: the files' format, labels and number of examples (checked), the plan (every `auto`
decided), the catalog model at the root of the lineage, and the model a continued run starts from (checked
against the continuation rules, jobs.spec.continuation_problems, and its labels). The training process
(`python -m jobs.train --input FILE`) trusts it: it checks neither the files, the spec nor the catalog again.

Torch-free: the worker imports it.
"""

from pathlib import Path

from pydantic import BaseModel

from jobs.catalog import Catalog
from jobs.data.validation import check_files
from jobs.spec import JobSpec, TrainingPlan, continuation_problems
from jobs.training.artifacts import ArtifactInfo, read_info


class TrainingInput(BaseModel):
    spec: JobSpec
    plan: TrainingPlan
    format: str  # jobs.data.formats.FORMATS
    labels: list[str] | None = None  # classification: the class names, sorted (class i = labels[i])
    n_examples: int
    training_path: Path
    validation_path: Path | None = None
    base_model: str  # the catalog model at the root of the lineage
    start_from: Path | None = None  # a saved adapter/ or model/ folder that the run trains further
    start_info: ArtifactInfo | None = None  # what trained it
    job_id: str | None = None  # the job it runs (None for `ftaas train`): trackers name and find its run by it

    @property
    def continues_adapter(self) -> bool:
        return self.start_info is not None and self.start_info.is_adapter

    def model_folder(self, catalog: Catalog) -> Path:
        """Where the run loads its model and tokenizer from: a continued full model's own folder; else (a new run,
        or a continued adapter, which goes onto its base) the catalog base's."""
        if self.start_info is not None and not self.continues_adapter:
            assert self.start_from is not None
            return self.start_from
        return catalog.local_folder(self.base_model)


def resolve(spec: JobSpec, training_path: Path, validation_path: Path | None, catalog: Catalog,
            start_from: Path | None = None, names: tuple[str, str] | None = None) -> TrainingInput:
    """Check the files against `spec` and decide everything a training process needs. Raises InvalidFiles
    (a ValueError) naming every problem of the files, or ValueError naming why the model cannot be trained
    so. `names` label the files in messages (default: their file names)."""
    files = check_files(spec, training_path, validation_path, names)
    parent = read_info(start_from) if start_from is not None else None
    if parent is not None:
        problems = [message for _, message in continuation_problems(spec, parent.as_starting_model(spec.model), files.format)]
        if parent.labels is not None and parent.labels != files.labels:
            problems.append(f"the training file's labels ({', '.join(files.labels or [])}) differ from the starting "
                            f"model's ({', '.join(parent.labels)}); a continued classifier keeps its labels")
        if problems:
            raise ValueError("; ".join(problems))
    base_model = parent.base_model if parent is not None else spec.model
    if base_model not in catalog:
        raise ValueError(f"unknown model {base_model!r}; the catalog has: {', '.join(catalog.ids())}")
    return TrainingInput(
        spec=spec, plan=spec.resolve(files.n_examples), format=files.format, labels=files.labels,
        n_examples=files.n_examples, training_path=training_path, validation_path=validation_path,
        base_model=base_model, start_from=start_from, start_info=parent,
    )
