"""Static checks of the Helm chart (helm/ftaas); the Dockerfile and the lock are tests/unit/test_images.py's.

No helm binary is needed: the templates are checked as text (balanced actions, every `.Values`
path exists in values.yaml, every `include` is defined, the shared env block is defined once and
used by every Deployment, every FTAAS_* variable is a real setting, the Ingress reaches only the API,
vLLM runs through ftaas's launcher, probes, rollouts and disruption budgets of the serving
Deployments). Where a `helm` binary is on PATH, the chart is also linted and rendered with the CI
value sets, and the rendered objects are checked (FTAAS_VLLM_URLS against the vLLM Services, the
vLLM command line against `jobs.serving.vllm_launch`, PDB and NetworkPolicy selectors, ...).
"""

import itertools
import json
import re
import textwrap
import tomllib
from pathlib import Path

import pytest
import yaml

from jobs.catalog import DEFAULT_MODEL_ID
from jobs.serving import vllm_launch
from jobs.settings import Settings
from tests.support import helm_chart

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "ftaas"
TEMPLATES = CHART / "templates"
DEPLOYMENTS = ("deployment-api.yaml", "deployment-worker.yaml", "deployment-serving.yaml", "deployment-vllm.yaml")
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
        components.update(re.findall(r'"values"\s+\$?\.Values\.([A-Za-z_]+)', (TEMPLATES / name).read_text()))
    assert components == {"api", "worker", "serving", "vllm"}
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


def test_ports_agree_with_settings(values: dict) -> None:
    """(The images' EXPOSE lines: tests/unit/test_images.py.)"""
    default_metrics_port = Settings.model_fields["worker_metrics_port"].default
    assert values["worker"]["metrics"]["port"] == default_metrics_port


def test_gpu_components_request_a_gpu_and_the_worker_has_time_to_checkpoint(values: dict) -> None:
    for component in ("worker", "serving"):
        assert values[component]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "nvidia.com/gpu" not in str(values["api"]["resources"])
    # vLLM's GPU limit comes from `gpus` (per model, or this default), set by the "ftaas.vllmServers" helper.
    assert values["vllm"]["gpus"] == 1
    assert "nvidia.com/gpu" not in str(values["vllm"]["resources"])
    helpers = (TEMPLATES / "_helpers.tpl").read_text()
    assert '$_ := set $limits "nvidia.com/gpu" $gpus' in helpers
    for component in ("worker", "serving", "vllm"):
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values[component]["tolerations"]
    assert values["worker"]["terminationGracePeriodSeconds"] >= 60
    assert values["securityContext"]["readOnlyRootFilesystem"] is True
    assert values["podSecurityContext"]["runAsNonRoot"] is True


# -- serving: the Ingress, the embedded engine and vLLM (checked as text; rendered below where helm exists) --


def probe_path(probe: dict) -> str:
    return probe["httpGet"]["path"]


def probe_budget_seconds(probe: dict) -> int:
    return probe.get("initialDelaySeconds", 0) + probe["periodSeconds"] * probe["failureThreshold"]


def test_the_ingress_sends_only_v1_to_the_api_by_default_and_no_engine_is_exposed(values: dict) -> None:
    """The API owns inference (it authenticates, resolves the caller's model, forwards): the Ingress reaches
    the API Service only, and by default only /v1: /metrics, /schema, /healthz and /readyz answer without an
    API key, so they are not routed unless ingress.paths lists them. vLLM authenticates nobody, so it must never
    be reachable from outside."""
    text = (TEMPLATES / "ingress.yaml").read_text()
    backends = re.findall(r"service:\s*\n\s*name:\s*(.+)", text)
    assert backends == ["{{ $fullname }}-api"]
    assert re.findall(r"path:\s*(\S+)", text) == ["{{"] and "{{- range .Values.ingress.paths }}" in text
    assert values["ingress"]["paths"] == ["/v1"]
    assert "pathType: Prefix" in text
    assert "serving" not in text and "vllmServers" not in text


def test_vllm_services_are_cluster_ip_and_only_the_api_may_reach_vllm(values: dict) -> None:
    service = (TEMPLATES / "service-vllm.yaml").read_text()
    assert re.search(r"^  type: ClusterIP$", service, re.MULTILINE), "the vLLM Service type must be ClusterIP, fixed"
    assert "type" not in values["vllm"]["service"], "a vLLM Service type must not be configurable"
    policy = (TEMPLATES / "networkpolicy-vllm.yaml").read_text()
    assert values["vllm"]["networkPolicy"]["enabled"] is True
    assert re.search(r'podSelector:\s*\n\s*matchLabels:\s*\n\s*\{\{-\s*include "ftaas.selectorLabels" \(dict "root" \. "component" "vllm"\)', policy)
    allowed = re.findall(r'include "ftaas.selectorLabels" \(dict "root" \. "component" "(\w+)"\)', policy)
    assert allowed == ["vllm", "api"]  # the policy's pods, and its one peer: the API pods
    assert "- Ingress" in policy


def test_serving_deployments_have_startup_readiness_and_liveness_probes_on_the_right_paths(values: dict) -> None:
    serving, vllm = values["serving"], values["vllm"]
    # The embedded engine: /readyz says 503 until its base models are loaded, /healthz that the process answers.
    assert probe_path(serving["readinessProbe"]) == "/readyz"
    assert probe_path(serving["startupProbe"]) == "/readyz"
    assert probe_path(serving["livenessProbe"]) == "/healthz"
    assert probe_budget_seconds(serving["startupProbe"]) >= 300, "no room to load and convert base models"
    # vLLM: /health answers once the engine is up; loading and CUDA graphs take minutes.
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert probe_path(vllm[probe]) == "/health", probe
    assert probe_budget_seconds(vllm["startupProbe"]) >= 600
    assert probe_path(values["api"]["readinessProbe"]) == "/readyz"
    # The worker: /healthz from its event loop's heartbeat, /readyz when it can take jobs; on its HTTP port, which
    # serves the probes whether or not /metrics is on.
    worker = values["worker"]
    assert [probe_path(worker[p]) for p in ("startupProbe", "livenessProbe", "readinessProbe")] == ["/healthz", "/healthz", "/readyz"]
    assert {worker[p]["httpGet"]["port"] for p in ("startupProbe", "livenessProbe", "readinessProbe")} == {"http"}
    worker_template = (TEMPLATES / "deployment-worker.yaml").read_text()
    assert "- name: http" in worker_template and "if .Values.worker.metrics.enabled" not in worker_template
    assert "FTAAS_WORKER_PROBE_PORT: {{ .Values.worker.metrics.port | int | quote }}" in (TEMPLATES / "configmap.yaml").read_text()
    for component, probes in {"serving": ("startupProbe", "readinessProbe", "livenessProbe"),
                              "vllm": ("startupProbe", "readinessProbe", "livenessProbe"),
                              "api": ("readinessProbe", "livenessProbe"),
                              "worker": ("startupProbe", "readinessProbe", "livenessProbe")}.items():
        text = (TEMPLATES / f"deployment-{component}.yaml").read_text()
        for probe in probes:
            assert re.search(rf"with \$?\.Values\.{component}\.{probe} \}}\}}\s*\n\s*{probe}:", text), (component, probe)
        for probe in values[component]:
            assert not probe.endswith("Probe") or probe in probes, f"{component}.{probe} is never rendered"


@pytest.mark.parametrize("component", ["serving", "vllm"])
def test_serving_rollouts_and_drains_keep_inference_up(values: dict, component: str) -> None:
    """Rollouts without downtime (a new pod is ready before an old one goes) and a PodDisruptionBudget."""
    v = values[component]
    replicas = v["replicaCount"]
    strategy = v["strategy"]
    assert strategy["type"] == "RollingUpdate"
    rolling = strategy["rollingUpdate"]
    assert replicas >= 2 or (rolling["maxUnavailable"] == 0 and rolling["maxSurge"] not in (0, "0", "0%"))
    assert rolling["maxUnavailable"] == 0, "capacity must not drop during a rollout"
    assert replicas >= 2, "a node drain would evict the only pod"
    pdb = v["podDisruptionBudget"]
    assert pdb["enabled"] is True
    assert (str(pdb["minAvailable"]) == "") != (str(pdb["maxUnavailable"]) == "")
    assert v["terminationGracePeriodSeconds"] >= 30
    assert v["lifecycle"]["preStop"], "no time for the endpoints to drop the pod before it stops"


def test_the_pdb_template_covers_the_api_the_workers_the_embedded_engine_and_every_vllm_server() -> None:
    text = (TEMPLATES / "pdb.yaml").read_text()
    for source in (".Values.api.podDisruptionBudget", ".Values.worker.podDisruptionBudget", ".Values.serving.podDisruptionBudget",
                   "$.Values.vllm.podDisruptionBudget", 'range (include "ftaas.vllmServers" . | fromJson).servers'):
        assert source in text, source
    # A vLLM server's PDB selects exactly its own pods, with the labels its Deployment selects by.
    assert text.count('include "ftaas.vllmSelectorLabels" (dict "root" $ "name" .name)') == 1
    deployment = (TEMPLATES / "deployment-vllm.yaml").read_text()
    assert 'include "ftaas.vllmSelectorLabels" (dict "root" $ "name" .name)' in deployment


def test_every_vllm_object_comes_from_the_one_list_of_servers() -> None:
    """Deployments, Services, PDBs and FTAAS_VLLM_URLS all read "ftaas.vllmServers", which builds each
    server's name and URL once, so the API's URL and the Service cannot disagree."""
    for name in ("deployment-vllm.yaml", "service-vllm.yaml", "pdb.yaml", "configmap.yaml", "NOTES.txt"):
        assert 'include "ftaas.vllmServers" . | fromJson).servers' in (TEMPLATES / name).read_text(), name
    helpers = (TEMPLATES / "_helpers.tpl").read_text()
    assert '"url" (printf "http://%s.%s.svc:%d" $name $.Release.Namespace (int $.Values.vllm.service.port))' in helpers
    assert "if .Values.vllm.enabled" in helpers.split('define "ftaas.vllmServers"')[1].split("{{- end }}\n\n")[0]
    service = (TEMPLATES / "service-vllm.yaml").read_text()
    assert re.search(r"metadata:\s*\n\s*name: \{\{ \.name \}\}", service)
    assert "port: {{ $.Values.vllm.service.port }}" in service
    configmap = (TEMPLATES / "configmap.yaml").read_text()
    assert re.search(r"\$_ := set \$urls \.id \.url", configmap)
    assert "FTAAS_VLLM_URLS: {{ toJson $urls | quote }}" in configmap


def test_the_chart_knows_the_built_in_model_and_checks_vllm_models_against_the_catalog() -> None:
    helpers = (TEMPLATES / "_helpers.tpl").read_text()
    assert f'$ids = list "{DEFAULT_MODEL_ID}"' in helpers
    assert "is not in the model catalog" in helpers


def test_vllm_defaults_are_the_applications(values: dict) -> None:
    """The chart's vLLM defaults and the settings they become agree, so an unset value means the same thing."""
    fields = Settings.model_fields
    vllm = values["vllm"]
    assert vllm["maxLoras"] == fields["vllm_max_loras"].default
    assert vllm["maxCpuLoras"] == fields["vllm_max_cpu_loras"].default
    assert vllm["maxLoraRank"] == fields["vllm_max_lora_rank"].default
    assert vllm["dtype"] == fields["vllm_dtype"].default
    assert vllm["enabled"] is False and vllm["models"] == []
    for key in ("servingMaxAdapters", "servingMaxBatch", "servingMaxQueue", "servingMemoryBudgetBytes"):
        assert values["config"][key] == "", f"config.{key}: empty keeps the application's default"


def test_vllm_pods_get_the_store_but_neither_api_keys_nor_redis() -> None:
    text = (TEMPLATES / "deployment-vllm.yaml").read_text()
    assert re.search(r'include "ftaas.env" \(dict "root" \$ "extraEnv" \$\.Values\.vllm\.extraEnv "storeOnly" true\)', text)
    helpers = (TEMPLATES / "_helpers.tpl").read_text()
    env = helpers.split('define "ftaas.env"')[1]
    guarded = env.split("{{- if not .storeOnly }}")[1].split("{{- end }}")[0]
    assert "FTAAS_API_KEYS" in guarded and "FTAAS_REDIS_URL" in guarded


def vllm_container_from_template(model_id: str, port: int, python: str, extra: list[str]) -> dict:
    """The vLLM container's command and args as deployment-vllm.yaml writes them, with its few actions
    replaced by the given values (a stand-in for rendering where there is no helm binary)."""
    text = (TEMPLATES / "deployment-vllm.yaml").read_text()
    block = text[text.index("          command:"): text.index("          ports:")]
    expand = "".join(f"            - {json.dumps(a)}\n" for a in extra)
    block = re.sub(r"[ ]*\{\{- range \.extraArgs \}\}\n[ ]*- \{\{ \. \| toString \| quote \}\}\n[ ]*\{\{- end \}\}\n", expand, block)
    replacements = {
        "{{ .id | quote }}": json.dumps(model_id),
        "{{ $.Values.vllm.port | quote }}": json.dumps(str(port)),
        "{{ $.Values.vllm.python | quote }}": json.dumps(python),
    }
    for action, value in replacements.items():
        block = block.replace(action, value)
    assert "{{" not in block, f"an action the test does not know in the vLLM container: {block}"
    return yaml.safe_load(textwrap.dedent(block))


def launched(monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """What `python -m jobs.serving.vllm_launch <argv>` would exec, with `env` as its environment."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(vllm_launch, "vllm_python", lambda setting: Path("/usr/bin") / setting)
    monkeypatch.setattr(vllm_launch, "is_vllm_cpu", lambda python: False)  # CUDA vLLM, as on GPU nodes
    seen = {}

    def execve(path, args, environment):
        seen.update(path=path, args=args, env=environment)

    monkeypatch.setattr("os.execve", execve)
    vllm_launch.main(argv)
    assert seen["path"] == seen["args"][0]
    return seen["args"], seen["env"]


def test_the_vllm_container_runs_ftaas_launcher_which_builds_vllm_command_line(
    values: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chart does not spell out vLLM's flags: it runs `python -m jobs.serving.vllm_launch`, the one owner
    of that command line, with the catalog id, host, port, and extra arguments after `--`."""
    model = "Org/Model-1.5B"
    container = vllm_container_from_template(model, values["vllm"]["port"], values["vllm"]["python"],
                                             ["--max-model-len", "4096"])
    assert container["command"] == [values["vllm"]["python"], "-m", "jobs.serving.vllm_launch"]
    args, env = launched(monkeypatch, container["args"], {
        "FTAAS_MODELS": json.dumps({model: "/models/model"}),
        "FTAAS_STORE_URL": "s3://bucket/prefix",
        "FTAAS_VLLM_PYTHON": values["vllm"]["python"],
    })
    assert args[1:4] == ["-m", "vllm.entrypoints.openai.api_server", "--model"]
    flags = dict(itertools.pairwise(args))
    assert flags["--model"] == "/models/model" and flags["--served-model-name"] == model
    assert flags["--host"] == "0.0.0.0" and flags["--port"] == str(values["vllm"]["port"])
    assert "--enable-lora" in args and args[-2:] == ["--max-model-len", "4096"]
    assert env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "true" and env["VLLM_PLUGINS"] == "ftaas"
    assert env["FTAAS_VLLM_SERVED_MODEL"] == model


def template_skeleton(text: str) -> list[dict]:
    """A template's YAML documents with every whole-line action dropped and every inline action kept as a marked
    word, so that two fields written with the same action compare equal (a stand-in for rendering)."""
    lines = [line for line in text.splitlines() if not re.fullmatch(r"\s*\{\{-?.*?-?\}\}\s*", line)]
    marked = re.sub(r"\{\{-?\s*(.*?)\s*-?\}\}", lambda m: "<" + re.sub(r"\W+", "_", m.group(1)) + ">", "\n".join(lines))
    return [d for d in yaml.safe_load_all(marked) if d]


def guarded_block(text: str, condition: str) -> str:
    """The text from `{{- if <condition> }}` to its own `{{ end }}`."""
    start = text.index("{{- if " + condition + " }}")
    depth = 0
    for match in ACTION.finditer(text, start):
        word = (match.group(1).split() or [""])[0]
        depth += word in {"if", "with", "range", "define", "block"}
        depth -= word == "end"
        if depth == 0:
            return text[start: match.end()]
    raise AssertionError(f"no end for `if {condition}`")


def test_kubeflow_rbac_is_rendered_only_when_enabled_and_lets_the_workers_account_manage_trainjobs() -> None:
    text = (TEMPLATES / "rbac-kubeflow.yaml").read_text()
    found = actions(text)
    assert found[0] == "if .Values.kubeflow.enabled" and found[-1] == "end", "the whole file must be inside the guard"
    assert text.startswith("{{- if .Values.kubeflow.enabled }}") and text.rstrip().endswith("{{- end }}")
    role, binding = template_skeleton(text)
    assert (role["kind"], binding["kind"]) == ("Role", "RoleBinding")
    assert role["rules"] == [{"apiGroups": ["trainer.kubeflow.org"], "resources": ["trainjobs"],
                              "verbs": ["get", "list", "watch", "create", "delete", "patch"]}]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"]
    (subject,) = binding["subjects"]
    assert subject == {"kind": "ServiceAccount", "name": "<include_ftaas_serviceAccountName_>",
                       "namespace": "<_Release_Namespace>"}
    # Only the worker's pods mount the account's token, and only then.
    assert "automountServiceAccountToken: {{ or .Values.serviceAccount.automountToken .Values.kubeflow.enabled }}" in (
        TEMPLATES / "deployment-worker.yaml").read_text()
    for name in ("deployment-api.yaml", "deployment-serving.yaml", "deployment-vllm.yaml"):
        assert "kubeflow" not in (TEMPLATES / name).read_text(), name


def test_kubeflow_settings_are_set_only_when_enabled_with_every_one_the_application_requires() -> None:
    configmap = (TEMPLATES / "configmap.yaml").read_text()
    block = guarded_block(configmap, ".Values.kubeflow.enabled")
    outside = configmap.replace(block, "")
    assert "FTAAS_KUBEFLOW_" not in outside
    set_there = set(re.findall(r"\bFTAAS_KUBEFLOW_[A-Z_]+", block))
    # Settings refuses FTAAS_KUBEFLOW_ENABLED without these (jobs/settings.py).
    assert {"FTAAS_KUBEFLOW_ENABLED", "FTAAS_KUBEFLOW_IMAGE", "FTAAS_KUBEFLOW_CONFIG_MAP", "FTAAS_KUBEFLOW_SECRET_REFS",
            "FTAAS_KUBEFLOW_NAMESPACE", "FTAAS_KUBEFLOW_RUNTIME", "FTAAS_KUBEFLOW_RESOURCES_PER_NODE"} <= set_there
    # The secret references name the same Secrets and keys the pods' own env reads, never a value.
    helpers = (TEMPLATES / "_helpers.tpl").read_text()
    refs = helpers.split('define "ftaas.kubeflowSecretRefs"')[1].split("{{- end }}\n{{- toJson")[0]
    assert '"FTAAS_REDIS_URL" (printf "%s/%s" (include "ftaas.redisSecretName" .) (include "ftaas.redisSecretKey" .))' in refs
    assert ".Values.redis.url" not in refs and "accessKeyId" not in refs.replace("AccessKeyIdKey", "")
    assert "FTAAS_WORKER_MAX_PROCS_PER_NODE" in configmap


# -- rendered by Helm's engine: the helm binary, or helm-python-sdk (tests/support/helm_chart.py) ----------------

needs_helm = pytest.mark.skipif(helm_chart.ENGINE is None, reason="no helm binary and no helm-python-sdk")


def render(values_file: Path) -> list[dict]:
    return helm_chart.render(load_yaml(values_file))


merged = helm_chart.merged


def pod_labels(deployment: dict) -> dict:
    return deployment["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def container(deployment: dict) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


@needs_helm
@pytest.mark.parametrize("values_file", CI_VALUES, ids=lambda p: p.name)
def test_helm_lint_and_render(values_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert helm_chart.lint_errors(load_yaml(values_file)) == []
    docs = render(values_file)
    vllm_values = merged(load_yaml(CHART / "values.yaml"), load_yaml(values_file))["vllm"]
    vllm_ids = [m["id"] for m in vllm_values["models"]] if vllm_values["enabled"] else []

    by_kind: dict[str, list[dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    components = {d["metadata"]["labels"]["app.kubernetes.io/component"]: d for d in by_kind["Deployment"]}
    deployments = {d["metadata"]["name"]: d for d in by_kind["Deployment"]}
    vllm_deployments = [d for d in by_kind["Deployment"] if pod_labels(d)["app.kubernetes.io/component"] == "vllm"]
    assert {"api", "worker", "serving"} <= set(components)
    assert len(vllm_deployments) == len(vllm_ids)
    assert len(by_kind["Deployment"]) == 3 + len(vllm_ids)

    for deployment in by_kind["Deployment"]:
        env = {e["name"] for e in container(deployment).get("env") or []}
        if deployment in vllm_deployments:
            assert not {"FTAAS_API_KEYS", "FTAAS_REDIS_URL"} & env
        else:
            assert {"FTAAS_API_KEYS", "FTAAS_REDIS_URL"} <= env

    # The Ingress: to the API only.
    for ingress in by_kind.get("Ingress", []):
        backends = {p["backend"]["service"]["name"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
        assert backends == {components["api"]["metadata"]["name"]}

    # Probes of the serving Deployments.
    serving = container(components["serving"])
    assert serving["readinessProbe"]["httpGet"]["path"] == "/readyz" and "startupProbe" in serving
    for deployment in vllm_deployments:
        c = container(deployment)
        assert {c[p]["httpGet"]["path"] for p in ("startupProbe", "readinessProbe", "livenessProbe")} == {"/health"}
        assert c["resources"]["limits"].get("nvidia.com/gpu", 0) >= 1

    # Every serving Deployment (and the API) has a PDB that selects its pods and only them.
    pdbs = by_kind["PodDisruptionBudget"]
    for deployment in [components["api"], components["serving"], *vllm_deployments]:
        covering = [p for p in pdbs if selects(p["spec"]["selector"]["matchLabels"], pod_labels(deployment))]
        assert len(covering) == 1, deployment["metadata"]["name"]
        others = [d for d in by_kind["Deployment"] if d is not deployment]
        assert not any(selects(covering[0]["spec"]["selector"]["matchLabels"], pod_labels(d)) for d in others)

    # FTAAS_VLLM_URLS: one URL per vllm.models entry, each the Service of that model's Deployment.
    (configmap,) = by_kind["ConfigMap"]
    data = configmap["data"]
    urls = json.loads(data.get("FTAAS_VLLM_URLS", "{}"))
    assert sorted(urls) == sorted(vllm_ids)
    Settings(vllm_urls=json.dumps(urls))  # the application accepts it
    services = {s["metadata"]["name"]: s for s in by_kind["Service"]}
    for model_id, url in urls.items():
        match = re.fullmatch(r"http://([a-z0-9-]+)\.([a-z0-9-]*)\.svc:(\d+)", url)
        assert match, url
        service = services[match.group(1)]
        assert service["spec"]["type"] == "ClusterIP"
        assert int(match.group(3)) == service["spec"]["ports"][0]["port"]
        (deployment,) = [d for d in vllm_deployments if selects(service["spec"]["selector"], pod_labels(d))]
        assert deployment["metadata"]["annotations"]["ftaas/base-model"] == model_id

    # The vLLM command line is the launcher's, for that model, with the ConfigMap's settings.
    model_values = {m["id"]: m for m in vllm_values["models"]} if vllm_ids else {}
    for deployment in vllm_deployments:
        c = container(deployment)
        assert c["command"][1:] == ["-m", "jobs.serving.vllm_launch"]
        model_id = deployment["metadata"]["annotations"]["ftaas/base-model"]
        args, env = launched(monkeypatch, c["args"], {**data, "FTAAS_MODELS": data.get("FTAAS_MODELS", "")})
        flags = dict(itertools.pairwise(args))
        assert flags["--served-model-name"] == model_id
        assert flags["--max-loras"] == data["FTAAS_VLLM_MAX_LORAS"]
        assert flags["--max-lora-rank"] == data["FTAAS_VLLM_MAX_LORA_RANK"]
        assert flags["--port"] == str(c["ports"][0]["containerPort"])
        extra = [*vllm_values.get("extraArgs", []), *model_values[model_id].get("extraArgs", [])]
        assert args[len(args) - len(extra):] == [str(a) for a in extra]
        assert env["FTAAS_VLLM_SERVED_MODEL"] == model_id and env["VLLM_PLUGINS"] == "ftaas"

    # Only the API pods may reach vLLM.
    for policy in by_kind.get("NetworkPolicy", []):
        assert all(selects(policy["spec"]["podSelector"]["matchLabels"], pod_labels(d)) for d in vllm_deployments)
        peers = policy["spec"]["ingress"][0]["from"]
        assert selects(peers[0]["podSelector"]["matchLabels"], pod_labels(components["api"]))
        assert not any(selects(peers[0]["podSelector"]["matchLabels"], pod_labels(d))
                       for d in deployments.values() if d is not components["api"])
    assert bool(by_kind.get("NetworkPolicy")) == bool(vllm_ids and vllm_values["networkPolicy"]["enabled"])


@needs_helm
def test_helm_refuses_to_render_without_the_required_values() -> None:
    with pytest.raises(helm_chart.RenderError) as refused:
        helm_chart.render({})
    assert "store.url" in str(refused.value) and "redis.url" in str(refused.value) and "apiKeys" in str(refused.value)


@needs_helm
def test_helm_refuses_vllm_models_it_cannot_serve() -> None:
    values = {
        "apiKeys": {"value": "sk-x:tenant-a"}, "redis": {"url": "redis://r:6379/0"}, "store": {"url": "s3://b/p"},
        "vllm": {"enabled": True, "models": [{"id": "Not/In-The-Catalog"}, {"id": DEFAULT_MODEL_ID},
                                             {"id": DEFAULT_MODEL_ID, "name": "other"}]},
    }
    with pytest.raises(helm_chart.RenderError) as refused:
        helm_chart.render(values)
    for message in ("vllm.image.repository", '"Not/In-The-Catalog" is not in the model catalog', "is listed twice"):
        assert message in str(refused.value), message
    # A name that is not DNS-safe is refused by the values schema before the templates run.
    values["vllm"]["models"][2]["name"] = "Bad_Name"
    with pytest.raises(helm_chart.RenderError, match="name"):
        helm_chart.render(values)


@needs_helm
@pytest.mark.parametrize("values_file", CI_VALUES, ids=lambda p: p.name)
def test_helm_renders_kubeflow_rbac_and_settings_only_when_enabled(values_file: Path) -> None:
    docs = render(values_file)
    enabled = merged(load_yaml(CHART / "values.yaml"), load_yaml(values_file))["kubeflow"]["enabled"]
    rbac = [d for d in docs if d["kind"] in ("Role", "RoleBinding")]
    (configmap,) = [d for d in docs if d["kind"] == "ConfigMap"]
    (worker,) = [d for d in docs if d["kind"] == "Deployment" and pod_labels(d)["app.kubernetes.io/component"] == "worker"]
    assert worker["spec"]["template"]["spec"]["automountServiceAccountToken"] is enabled
    if not enabled:
        assert rbac == [] and not any(k.startswith("FTAAS_KUBEFLOW_") for k in configmap["data"])
        return
    role, binding = sorted(rbac, key=lambda d: d["kind"])
    assert role["rules"][0]["resources"] == ["trainjobs"]
    assert binding["subjects"][0]["name"] == worker["spec"]["template"]["spec"]["serviceAccountName"]
    settings = Settings(**{k.removeprefix("FTAAS_").lower(): v for k, v in configmap["data"].items() if k.startswith("FTAAS_")})
    assert settings.kubeflow_enabled and "FTAAS_REDIS_URL" in settings.kubeflow_secret_ref_map
