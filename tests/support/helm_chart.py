"""Rendering and linting helm/ftaas without a cluster, for the chart's tests.

Helm's own Go engine does the work: the `helm` binary where one is on PATH, else the helm-python-sdk package
(the `test` extra), whose wheel ships libhelm_c, a C library over Helm v4's Go SDK (no binary, no Go
toolchain). So the tests render with real Helm, including values.schema.json validation and the chart's own
`fail` checks. `ENGINE` is None when neither is installed; the tests that need it skip.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "ftaas"

HELM_BINARY = shutil.which("helm")
try:
    import helm_python
except (ImportError, OSError):  # not installed, or its native library does not load on this platform
    helm_python = None

ENGINE: str | None = "helm binary" if HELM_BINARY else ("helm-python-sdk" if helm_python else None)


class RenderError(Exception):
    """Helm refused the values (schema, the chart's `fail` checks) or a template failed; str() is Helm's message."""


def render_texts(values: dict, release: str = "rel", namespace: str = "ftaas") -> dict[str, str]:
    """Each template's rendered text by its path in the chart (NOTES.txt included)."""
    if HELM_BINARY:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
            yaml.safe_dump(values, file)
            file.flush()
            result = subprocess.run([HELM_BINARY, "template", release, str(CHART), "-f", file.name, "--namespace", namespace,
                                     "--render-subchart-notes"], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RenderError(result.stderr)
        texts: dict[str, str] = {}
        for part in result.stdout.split("# Source: ")[1:]:
            name, _, text = part.partition("\n")
            texts[name.strip()] = texts.get(name.strip(), "") + "\n---\n" + text
        return texts
    if helm_python is None:
        raise RuntimeError("neither a helm binary nor helm-python-sdk is installed")
    with helm_python.Chart.load(str(CHART)) as chart:
        try:
            return chart.render(values, name=release, namespace=namespace)
        except helm_python.HelmError as exc:
            raise RenderError(str(exc)) from None


def render(values: dict, release: str = "rel", namespace: str = "ftaas") -> list[dict]:
    """The rendered Kubernetes objects (NOTES.txt left out)."""
    docs: list[dict] = []
    for name, text in sorted(render_texts(values, release, namespace).items()):
        if name.endswith("NOTES.txt"):
            continue
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def lint_errors(values: dict) -> list[str]:
    """`helm lint --strict` findings of warning or error severity (empty: clean)."""
    if HELM_BINARY:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
            yaml.safe_dump(values, file)
            file.flush()
            result = subprocess.run([HELM_BINARY, "lint", "--strict", str(CHART), "-f", file.name],
                                    capture_output=True, text=True, check=False)
        return [] if result.returncode == 0 else [result.stdout + result.stderr]
    report = helm_python.lint(str(CHART), values, strict=True)
    return [f"{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= 2] + list(report["errors"])


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def merged(base: dict, override: dict) -> dict:
    """Values as helm merges a -f file into values.yaml: maps merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in override.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
