"""The check a job's files pass before any training: each file's rows, and the files against the spec.

Used at `validating_files` by the worker and by `ftaas train`, so a file that does not suit the
method fails there, with line numbers, never mid-training.
"""

from dataclasses import dataclass
from pathlib import Path

from jobs.data.formats import check_jsonl
from jobs.spec import JobSpec, file_format_problems


class InvalidFiles(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid training data: " + " | ".join(problems))
        self.problems = problems


@dataclass
class CheckedFiles:
    format: str
    n_examples: int
    n_validation_examples: int | None
    labels: list[str] | None  # classification: the training file's labels, sorted (class i = labels[i])


def _check(path: Path, expected_format: str | None):
    with open(path, "rb") as f:
        return check_jsonl(f, expected_format)


def check_files(spec: JobSpec, training_path: Path, validation_path: Path | None, names: tuple[str, str] | None = None) -> CheckedFiles:
    """Raise InvalidFiles naming every problem (the first few lines per file); `names` label the files in messages."""
    training_name, validation_name = names or (f"training_file {training_path.name}", f"validation_file {validation_path and validation_path.name}")
    if not training_path.is_file():
        raise InvalidFiles([f"{training_name}: no such file"])
    training = _check(training_path, "preference" if spec.method_type == "dpo" else None)
    if not training.ok:
        raise InvalidFiles([f"{training_name}: {training.summary()}"])
    problems = []
    validation = None
    if validation_path is not None:
        if not validation_path.is_file():
            problems.append(f"{validation_name}: no such file")
        else:
            validation = _check(validation_path, training.format)
            if not validation.ok:
                problems.append(f"{validation_name}: {validation.summary()}")
    problems += [message for _, message in file_format_problems(spec, training.format, None)]
    labels = None
    if training.format == "classification":
        labels = sorted(training.labels)
        if len(labels) < 2:
            problems.append(f"{training_name}: a classification file needs at least two labels; every example has label {labels[0]!r}")
        if validation is not None and validation.ok:
            unseen = sorted(set(validation.labels) - set(training.labels))
            if unseen:
                problems.append(f"{validation_name}: labels not in the training file: {', '.join(map(repr, unseen))}")
    if problems:
        raise InvalidFiles(problems)
    return CheckedFiles(
        format=training.format,
        n_examples=training.n_examples,
        n_validation_examples=validation.n_examples if validation else None,
        labels=labels,
    )
