"""helm/ftaas/values.schema.json, and the chart's output against the Kubernetes schemas, without a cluster.

- The schema (JSON Schema draft-07, as Helm validates it) accepts values.yaml merged with every
  helm/ftaas/ci/*.yaml, refuses deliberately wrong values naming the problem, describes every key in
  values.yaml, and refuses unknown keys on every object it spells out.
- Where Helm's engine is available (tests/support/helm_chart.py: the helm binary or helm-python-sdk), the chart
  is rendered with each CI value set and every object is validated with kubernetes-validate (strict: unknown
  fields are errors) against the oldest Kubernetes the chart supports and the newest schemas the package ships.
  Objects of CRDs (KEDA's ScaledObject, the Prometheus Operator's ServiceMonitor) have no schema there and are
  checked by shape only; docs/deploy.md says so.
- The TrainJob's training container (jobs/kubeflow.py), built from the settings the rendered ConfigMap gives the
  worker, validated as a core Container.
"""

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest

from jobs.quotas import Quota, Quotas
from tests.support.helm_chart import CHART, ENGINE, RenderError, lint_errors, load_yaml, merged, render, render_texts

SCHEMA_PATH = CHART / "values.schema.json"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest schemas kubernetes-validate has.
KUBERNETES_VERSIONS = ("1.25.0", "1.37.0")
CRD_KINDS = {"ScaledObject": "keda.sh/v1alpha1", "ServiceMonitor": "monitoring.coreos.com/v1"}

needs_helm = pytest.mark.skipif(ENGINE is None, reason="no helm binary and no helm-python-sdk")


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


@pytest.fixture(scope="module")
def validator(schema: dict) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(schema)


@pytest.fixture(scope="module")
def values() -> dict:
    return load_yaml(CHART / "values.yaml")


def problems(validator: jsonschema.Draft7Validator, values: dict) -> list[str]:
    """Each error as `<path>: <message>`, including those under anyOf branches."""
    out = []
    for error in validator.iter_errors(values):
        out.append(f"{error.json_path}: {error.message}")
        out += [f"{sub.json_path}: {sub.message}" for sub in error.context or []]
    return out


def test_the_schema_is_a_valid_draft_07_schema(schema: dict) -> None:
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)


@pytest.mark.parametrize("values_file", [None, *CI_VALUES], ids=lambda p: p.name if p else "values.yaml")
def test_values_yaml_and_every_ci_value_set_validate(validator, values: dict, values_file: Path | None) -> None:
    merged_values = values if values_file is None else merged(values, load_yaml(values_file))
    assert problems(validator, merged_values) == []


def with_change(values: dict, dotted: str, value) -> dict:
    """A deep copy of values with `a.b.c` set (list indexes as numbers; a missing key is added)."""
    out = copy.deepcopy(values)
    node = out
    keys = dotted.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    node[int(keys[-1]) if isinstance(node, list) else keys[-1]] = value
    return out


WRONG = [
    # (change, value, text the errors must contain)
    ("imag", {"repository": "x"}, "'imag' was unexpected"),  # misspelt top-level key
    ("worker.replicaCont", 2, "'replicaCont' was unexpected"),  # misspelt nested key
    ("serving.podDisruptionBudget.maxUnavailabe", 1, "'maxUnavailabe' was unexpected"),
    ("serving.readinessProbe.httpGet.paht", "/readyz", "'paht' was unexpected"),
    ("config.quotas.default.max_jobs", 3, "'max_jobs' was unexpected"),  # the application's JSON, checked too
    ("cache.persistence.sise", "10Gi", "'sise' was unexpected"),
    ("api.replicaCount", "two", "$.api.replicaCount: 'two' is not of type 'integer'"),  # wrong type
    ("worker.podDisruptionBudget.enabled", "yes", "$.worker.podDisruptionBudget.enabled: 'yes' is not of type 'boolean'"),
    ("serving.replicaCount", -1, "$.serving.replicaCount: -1 is less than the minimum of 1"),  # negative replicas
    ("worker.replicaCount", -1, "$.worker.replicaCount: -1 is less than the minimum of 0"),
    ("serving.replicaCount", 0, "$.serving.replicaCount: 0 is less than the minimum of 1"),
    ("image.pullPolicy", "Sometimes", "$.image.pullPolicy: 'Sometimes' is not one of"),  # bad enum
    ("serving.strategy.type", "BlueGreen", "$.serving.strategy.type: 'BlueGreen' is not one of"),
    ("vllm.maxLoraRank", 48, "$.vllm.maxLoraRank: 48 is not one of"),
    ("cache.persistence.accessModes", ["ReadWriteAll"], "'ReadWriteAll' is not one of"),
    ("image.digest", "latest", "$.image.digest: 'latest' does not match"),
    ("api.port", 70000, "$.api.port: 70000 is greater than the maximum of 65535"),
    ("worker.resources.limits.memory", "32 gigs", "$.worker.resources.limits.memory: '32 gigs' does not match"),
    ("ingress.paths", ["v1"], "$.ingress.paths[0]: 'v1' does not match"),
    ("config.maxUploadBytes", "lots", "$.config.maxUploadBytes: 'lots' is not of type 'integer'"),
    ("config.quotas.tenants.research.max_running_jobs", 0, "max_running_jobs: 0 is less than the minimum of 1"),
    ("store.url", "file:///data", "$.store.url: 'file:///data' does not match"),
    ("serving.autoscaling.threshold", 0, "$.serving.autoscaling.threshold: 0 is less than or equal to the minimum of 0"),
    ("models.volume.components", ["api", "trainer"], "'trainer' is not one of"),
    ("vllm.models", [{"id": "a/b", "nam": "x"}], "'nam' was unexpected"),
    ("worker.tolerations", [{"key": "k", "efect": "NoSchedule"}], "'efect' was unexpected"),
]


@pytest.mark.parametrize(("change", "value", "expected"), WRONG, ids=[w[0] for w in WRONG])
def test_wrong_values_fail_naming_the_problem(validator, values: dict, change: str, value, expected: str) -> None:
    found = problems(validator, with_change(values, change, value))
    assert found, f"{change}={value!r} was accepted"
    assert any(expected in p for p in found), found


# Maps whose keys are the user's (names, labels, resource names, catalog ids, env variables): the schema gives
# their values a type, not their keys.
FREE_KEYS = {
    "models.catalog", "config.extraEnv", "config.quotas.tenants", "serviceMonitor.labels",
    "*.requests", "*.limits", "*.annotations", "*.podAnnotations", "*.nodeSelector",
}
# Kubernetes objects passed through as they are (validated against the Kubernetes schemas once rendered).
KUBERNETES_OBJECTS = {"*.affinity", "*.lifecycle", "podSecurityContext", "securityContext", "vllm.podSecurityContext",
                      "vllm.securityContext", "*.valueFrom", "vllm.networkPolicy.extraFrom[]", "*.claims[]"}


def matches(path: str, patterns: set[str]) -> bool:
    return any(path == p or (p.startswith("*.") and path.endswith(p[1:])) for p in patterns)


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["definitions"][node["$ref"].removeprefix("#/definitions/")]
    return node


def branches(schema: dict, node: dict) -> list[dict]:
    node = resolve(schema, node)
    if "anyOf" in node:
        return [b for sub in node["anyOf"] for b in branches(schema, sub)]
    return [node]


def undescribed(schema: dict, node: dict, value, path: str) -> list[str]:
    """Keys of `value` (values.yaml, or a CI value set) that the schema does not spell out."""
    missing: list[str] = []
    candidates = branches(schema, node)
    if isinstance(value, dict):
        objects = [b for b in candidates if "object" in (b.get("type") if isinstance(b.get("type"), list) else [b.get("type")])]
        if not objects:
            return [f"{path} (not an object in the schema)"]
        spec = objects[0]
        if "properties" not in spec:
            if not matches(path, FREE_KEYS | KUBERNETES_OBJECTS):
                missing.append(f"{path} (a free-form object the test does not list)")
            elif isinstance(spec.get("additionalProperties"), dict):
                for key, item in value.items():
                    missing += undescribed(schema, spec["additionalProperties"], item, f"{path}.{key}")
            return missing
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            if key not in spec["properties"]:
                missing.append(child)
            else:
                missing += undescribed(schema, spec["properties"][key], item, child)
    elif isinstance(value, list):
        arrays = [b for b in candidates if b.get("type") == "array" and isinstance(b.get("items"), dict)]
        for item in value:
            if arrays:
                missing += undescribed(schema, arrays[0]["items"], item, f"{path}[]")
    return missing


@pytest.mark.parametrize("values_file", [None, *CI_VALUES], ids=lambda p: p.name if p else "values.yaml")
def test_every_key_in_the_values_is_described_by_the_schema(schema: dict, values: dict, values_file) -> None:
    """So the schema cannot silently fall behind values.yaml: a new value needs its schema entry."""
    checked = values if values_file is None else load_yaml(values_file)
    assert undescribed(schema, schema, checked, "") == []


def test_every_object_the_schema_spells_out_refuses_unknown_keys(schema: dict) -> None:
    open_objects = []

    def walk(node, path: str) -> None:
        if isinstance(node, dict):
            if "properties" in node and node.get("additionalProperties") is not False:
                open_objects.append(path)
            for key, child in node.items():
                walk(child, f"{path}/{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, f"{path}/{index}")

    walk(schema, "#")
    assert open_objects == []


def test_every_top_level_value_and_component_value_has_a_description(schema: dict) -> None:
    for key in ("image", "apiKeys", "redis", "store", "models", "cache", "config", "api", "worker", "serving", "vllm",
                "ingress", "serviceMonitor"):
        assert schema["properties"][key].get("description"), key


def test_the_quota_schema_is_the_applications(schema: dict, values: dict) -> None:
    """config.quotas is FTAAS_QUOTAS: the schema's limits are jobs.quotas.Quota's fields, and what the schema
    accepts the application accepts."""
    quota = schema["definitions"]["quota"]
    assert set(quota["properties"]) == set(Quota.model_fields)
    for name, field in Quota.model_fields.items():
        bound = next(m.ge for m in field.metadata if hasattr(m, "ge"))
        assert quota["properties"][name]["minimum"] == bound, name
    assert set(schema["properties"]["config"]["properties"]["quotas"]["properties"]) == set(Quotas.model_fields)
    for values_file in CI_VALUES:
        quotas = merged(values, load_yaml(values_file))["config"]["quotas"]
        Quotas.model_validate(quotas)


# -- rendered by Helm's engine -----------------------------------------------------------------------------------


@needs_helm
def test_helm_itself_refuses_a_misspelt_value_with_the_schema() -> None:
    minimal = load_yaml(CHART / "ci" / "minimal-values.yaml")
    with pytest.raises(RenderError) as refused:
        render({**minimal, "worker": {"replicaCont": 2}, "imag": {"tag": "x"}})
    message = str(refused.value)
    assert "replicaCont" in message and "imag" in message


@needs_helm
@pytest.mark.parametrize("values_file", CI_VALUES, ids=lambda p: p.name)
def test_helm_lint_strict_is_clean(values_file: Path) -> None:
    assert lint_errors(load_yaml(values_file)) == []


@pytest.fixture(scope="module")
def kubernetes_validate():
    return pytest.importorskip("kubernetes_validate")


@needs_helm
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("values_file", CI_VALUES, ids=lambda p: p.name)
def test_every_rendered_object_is_valid_for_kubernetes(kubernetes_validate, values_file: Path, version: str) -> None:
    docs = render(load_yaml(values_file))
    assert docs
    invalid, crds = [], []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            crds.append(doc)
        except kubernetes_validate.ValidationError as exc:
            invalid.append(f"{doc['kind']}/{doc['metadata']['name']}: {'.'.join(map(str, exc.path))}: {exc.message}")
    assert invalid == []
    for doc in crds:  # no schema in kubernetes-validate: the CRD's kind and apiVersion, a name, a spec
        assert CRD_KINDS.get(doc["kind"]) == doc["apiVersion"], doc["kind"]
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", doc["metadata"]["name"]) and doc["spec"]


def test_the_kubernetes_validator_is_strict(kubernetes_validate) -> None:
    """The check above is not vacuous: an unknown field, a wrong type and a missing required field are refused.
    (The Kubernetes schemas do not check the form of quantities or names; the chart's schema checks quantities.)"""
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
                  "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
                      "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)
    for path, value in (("spec.replica", 2), ("spec.replicas", "two"),
                        ("spec.template.spec.containers.0.env", [{"value": "no name"}])):
        broken = with_change(deployment, path, value)
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def by_kind(docs: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for doc in docs:
        out.setdefault(doc["kind"], []).append(doc)
    return out


def component(docs: list[dict], name: str) -> dict:
    (found,) = [d for d in docs if d["kind"] == "Deployment"
                and d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == name]
    return found


@needs_helm
def test_the_trainjob_training_container_is_a_valid_kubernetes_container(kubernetes_validate) -> None:
    """The TrainJob the worker builds from the rendered ConfigMap's settings: its trainer (image, command, args,
    env with ConfigMap and Secret references, resourcesPerNode) validated as a core Container in a Pod."""
    from jobs.kubeflow import trainjob_manifest
    from jobs.records import JobRecord
    from jobs.settings import Settings
    from jobs.spec import JobSpec

    (configmap,) = [d for d in render(load_yaml(CHART / "ci" / "full-values.yaml")) if d["kind"] == "ConfigMap"]
    data = configmap["data"]
    settings = Settings(**{k.removeprefix("FTAAS_").lower(): v for k, v in data.items()
                           if k.startswith("FTAAS_KUBEFLOW_") or k in ("FTAAS_STORE_URL",)})
    spec = JobSpec.model_validate({"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "training_file": "file-abc",
                                   "training_type": {"type": "full"}, "compute": {"num_nodes": 2, "num_proc_per_node": 8}})
    manifest = trainjob_manifest(JobRecord(id="ftjob-AbCdEfGh0123456789xyzUVW", tenant="team-a", spec=spec, attempt=1),
                                 settings)
    trainer = manifest["spec"]["trainer"]
    assert "@sha256:" in trainer["image"]  # the engine image, pinned by digest in full-values.yaml
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": manifest["metadata"]["name"],
                                                            "labels": manifest["metadata"]["labels"]},
           "spec": {"containers": [{"name": "node", "image": trainer["image"], "command": trainer["command"],
                                    "args": trainer["args"], "env": trainer["env"],
                                    "resources": trainer["resourcesPerNode"]}]}}
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(pod, version, strict=True)


# -- what the new values render to --------------------------------------------------------------------------------


@needs_helm
def test_images_digests_and_the_api_image() -> None:
    minimal = load_yaml(CHART / "ci" / "minimal-values.yaml")
    docs = render(minimal)
    chart = load_yaml(CHART / "Chart.yaml")
    image = lambda name: component(docs, name)["spec"]["template"]["spec"]["containers"][0]["image"]  # noqa: E731
    assert image("worker") == image("serving") == f"ftaas:{chart['appVersion']}"
    assert image("api") == f"ftaas:{chart['appVersion']}-api"  # the torch-free API image by default
    digest = "sha256:" + "ab" * 32
    docs = render(merged(minimal, {"image": {"repository": "r.example/ftaas", "tag": "1.2", "digest": digest},
                                   "api": {"image": {"tagSuffix": ""}}}))
    assert image("worker") == f"r.example/ftaas:1.2@{digest}"
    assert image("api") == "r.example/ftaas:1.2"  # one image for all, and a digest is never borrowed
    full = render(load_yaml(CHART / "ci" / "full-values.yaml"))
    assert re.fullmatch(r"registry\.example\.com/ftaas-api:0\.1\.0-api@sha256:[0-9a-f]{64}",
                        component(full, "api")["spec"]["template"]["spec"]["containers"][0]["image"])
    (configmap,) = [d for d in full if d["kind"] == "ConfigMap"]
    assert configmap["data"]["FTAAS_KUBEFLOW_IMAGE"] == component(full, "worker")["spec"]["template"]["spec"]["containers"][0]["image"]


@needs_helm
def test_the_ingress_routes_only_v1_by_default() -> None:
    minimal = load_yaml(CHART / "ci" / "minimal-values.yaml")
    (ingress,) = [d for d in render(merged(minimal, {"ingress": {"enabled": True}})) if d["kind"] == "Ingress"]
    paths = [p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert paths == ["/v1"]
    for private in ("/", "/metrics", "/schema", "/readyz", "/healthz"):
        assert not any(private == p or (p != "/" and private.startswith(p + "/")) for p in paths), private


@needs_helm
def test_the_shared_cache_claim_and_its_precedence() -> None:
    minimal = load_yaml(CHART / "ci" / "minimal-values.yaml")

    def cache_volume(docs, name):
        volumes = component(docs, name)["spec"]["template"]["spec"]["volumes"]
        (cache,) = [v for v in volumes if v["name"] == "cache"]
        return cache

    docs = render(minimal)
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    assert "emptyDir" in cache_volume(docs, "serving")
    docs = render(merged(minimal, {"cache": {"persistence": {"enabled": True, "size": "300Gi"}},
                                   "serving": {"cache": {"existingClaim": "mine"}}}))
    (claim,) = [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "300Gi"
    assert cache_volume(docs, "worker")["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert cache_volume(docs, "serving")["persistentVolumeClaim"]["claimName"] == "mine"  # a component's own wins
    assert "emptyDir" in cache_volume(docs, "api")  # not in cache.persistence.components
    docs = render(merged(minimal, {"cache": {"persistence": {"enabled": True, "existingClaim": "shared-rwx"}}}))
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    assert cache_volume(docs, "worker")["persistentVolumeClaim"]["claimName"] == "shared-rwx"


@needs_helm
def test_secret_changes_roll_the_pods() -> None:
    minimal = load_yaml(CHART / "ci" / "minimal-values.yaml")

    def pod_annotations(values):
        docs = render(values)
        return {name: component(docs, name)["spec"]["template"]["metadata"]["annotations"]
                for name in ("api", "worker", "serving")}

    before = pod_annotations(minimal)
    after = pod_annotations(merged(minimal, {"apiKeys": {"value": "sk-rotated:tenant-a"}}))
    for name in before:
        assert before[name]["checksum/secret"] != after[name]["checksum/secret"], name
        assert before[name]["checksum/config"] == after[name]["checksum/config"], name
    # Existing Secrets: stakater Reloader's annotation, on each Deployment, naming the Secrets its pods read.
    full = load_yaml(CHART / "ci" / "full-values.yaml")
    docs = render(merged(full, {"store": {"credentials": {"existingSecret": "ftaas-s3", "accessKeyId": "",
                                                          "secretAccessKey": ""}}}))
    reload = {d["metadata"]["name"]: d["metadata"].get("annotations", {}).get("secret.reloader.stakater.com/reload")
              for d in docs if d["kind"] == "Deployment"}
    assert reload.pop("ftaas-ci-api") == "ftaas-api-keys,ftaas-redis,ftaas-s3"
    assert reload.pop("ftaas-ci-worker") == reload.pop("ftaas-ci-serving") == "ftaas-api-keys,ftaas-redis,ftaas-s3"
    assert reload and set(reload.values()) == {"ftaas-s3"}  # vLLM reads only the store's credentials
    docs = render(minimal)
    assert not any("secret.reloader.stakater.com/reload" in (d["metadata"].get("annotations") or {})
                   for d in docs if d["kind"] == "Deployment")


@needs_helm
def test_keda_scaled_objects_scale_workers_and_serving_on_load() -> None:
    full = load_yaml(CHART / "ci" / "full-values.yaml")
    docs = render(full, namespace="ml")
    kinds = by_kind(docs)
    objects = {d["spec"]["scaleTargetRef"]["name"]: d for d in kinds["ScaledObject"]}
    worker, serving = component(docs, "worker"), component(docs, "serving")
    assert set(objects) == {worker["metadata"]["name"], serving["metadata"]["name"]}
    assert "replicas" not in worker["spec"] and "replicas" not in serving["spec"]  # KEDA's HPA owns them
    (trigger,) = objects[worker["metadata"]["name"]]["spec"]["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metadata"]["threshold"] == "1"
    query = trigger["metadata"]["query"]
    assert "ftaas_worker_queue_depth" in query and "ftaas_worker_running_jobs" in query
    assert 'namespace="ml"' in query and 'service="ftaas-ci-worker-metrics"' in query
    (trigger,) = objects[serving["metadata"]["name"]]["spec"]["triggers"]
    assert 'engine="embedded"' in trigger["metadata"]["query"] and trigger["metadata"]["threshold"] == "24"
    assert objects[serving["metadata"]["name"]]["spec"]["minReplicaCount"] >= 2
    # The metric names the queries read exist where the chart says (the serving gauge and the API histogram).
    for service in kinds["Service"]:
        if service["metadata"]["name"] == "ftaas-ci-worker-metrics":
            assert service["spec"]["ports"][0]["name"] == "metrics"
    with pytest.raises(RenderError, match="worker.autoscaling.prometheusAddress"):
        render(merged(full, {"worker": {"autoscaling": {"prometheusAddress": ""}}}))


@needs_helm
def test_every_component_has_one_pdb_including_the_workers() -> None:
    docs = render(load_yaml(CHART / "ci" / "full-values.yaml"))
    kinds = by_kind(docs)
    for deployment in kinds["Deployment"]:
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [p for p in kinds["PodDisruptionBudget"]
                    if all(labels.get(k) == v for k, v in p["spec"]["selector"]["matchLabels"].items())]
        assert len(covering) == 1, deployment["metadata"]["name"]
    (worker_pdb,) = [p for p in kinds["PodDisruptionBudget"] if p["metadata"]["name"] == "ftaas-ci-worker"]
    assert worker_pdb["spec"] == {"maxUnavailable": 1, "selector": worker_pdb["spec"]["selector"]}


@needs_helm
def test_notes_render() -> None:
    texts = render_texts(load_yaml(CHART / "ci" / "full-values.yaml"))
    notes = next(t for name, t in texts.items() if name.endswith("NOTES.txt"))
    assert "(KEDA)" in notes and "/v1, /schema" in notes
