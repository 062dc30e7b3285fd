"""Kubeflow Trainer TrainJobs (trainer.kubeflow.org/v1alpha1) for jobs across nodes: the TrainJob built for a
job, a TrainJob's state read back as a job status, and a thin client to create, read and delete them.

Torch-free. The official `kubernetes` package is imported only when the client first talks to a cluster.
The worker submits and follows the TrainJobs (jobs/across_nodes.py); their nodes run jobs/training_node.py.
Nothing here has run against a real cluster yet (docs/deploy.md, "Training across nodes with Kubeflow Trainer").
"""

import hashlib
import json
import re
from typing import Any

from jobs.records import JobRecord
from jobs.settings import Settings
from jobs.status import JobStatus

GROUP = "trainer.kubeflow.org"
VERSION = "v1alpha1"
PLURAL = "trainjobs"
RUNTIME_KIND = "ClusterTrainingRuntime"
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
JOB_ID_KEY = "ftaas/job-id"
TENANT_KEY = "ftaas/tenant"
ATTEMPT_KEY = "ftaas/attempt"

# Every node runs jobs/training_node.py: it fetches the job's input and runs the worker's training process
# (jobs.train) under torchrun, which reads the node count, node rank and master address from the PET_* variables
# Kubeflow's torch runtime sets.
NODE_COMMAND = ["python", "-m", "jobs.training_node"]
# The non-secret settings a training pod reads, from the deployment's ConfigMap (absent keys keep the defaults).
POD_SETTINGS = (
    "FTAAS_STORE_URL", "FTAAS_S3_ENDPOINT_URL", "FTAAS_S3_REGION", "FTAAS_MODELS", "FTAAS_CACHE_DIR",
    "FTAAS_TRAIN_THREADS", "FTAAS_TRAINING_EVIDENCE", "FTAAS_REPORT_VALIDATION_EXAMPLES",
    "FTAAS_CHECKPOINT_INTERVAL_SECONDS", "FTAAS_TRAINING_ACTIVATION_BUDGET_BYTES", "FTAAS_WORKER_STOP_GRACE_SECONDS",
    "FTAAS_KUBEFLOW_SHARD_WAIT_SECONDS", "HOME", "HF_HOME", "HF_HUB_OFFLINE",
)

_LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def trainjob_name(job_id: str, attempt: int) -> str:
    """The TrainJob of the job's `attempt`-th run: an RFC 1035 label, as Kubeflow Trainer requires (lower-case,
    a letter first, at most 63 characters), short enough for the pod names derived from it, and distinct for
    ids that differ only in case."""
    readable = re.sub(r"[^a-z0-9]", "", job_id.lower().removeprefix("ftjob-"))[:12]
    return f"ftjob-{readable}-{_digest(job_id, 10)}-{attempt}"


def _label_value(text: str) -> str:
    """`text` as a label value where it is one (ftaas's ids are); else a digest of it. Annotations keep the text."""
    return text if _LABEL_VALUE.fullmatch(text) else f"sha256-{_digest(text, 16)}"


def _quantities(resources: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {kind: {name: str(amount) for name, amount in amounts.items()} for kind, amounts in resources.items()}


def _pod_env(settings: Settings) -> list[dict[str, Any]]:
    """The settings from the ConfigMap and the secrets from Secrets: never a secret's value."""
    env: list[dict[str, Any]] = [
        {"name": name, "valueFrom": {"configMapKeyRef": {"name": settings.kubeflow_config_map, "key": name, "optional": True}}}
        for name in POD_SETTINGS
    ]
    env += [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
        for name, (secret, key) in sorted(settings.kubeflow_secret_ref_map.items())
    ]
    return env


def trainjob_manifest(job: JobRecord, settings: Settings) -> dict:
    """The TrainJob that trains `job` (the attempt its record holds) on `job.spec.compute.num_nodes` nodes."""
    compute = job.spec.compute
    procs_per_node = compute.num_proc_per_node
    if procs_per_node == "auto":
        procs_per_node = settings.compute_limits().kubeflow_procs_per_node or 1
    labels = {JOB_ID_KEY: _label_value(job.id), TENANT_KEY: _label_value(job.tenant)}
    if settings.kubeflow_queue_name:
        labels[KUEUE_QUEUE_LABEL] = settings.kubeflow_queue_name
    annotations = {JOB_ID_KEY: job.id, TENANT_KEY: job.tenant, ATTEMPT_KEY: str(job.attempt)}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "TrainJob",
        "metadata": {
            "name": trainjob_name(job.id, job.attempt),
            "namespace": settings.kubeflow_namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {
            "runtimeRef": {"name": settings.kubeflow_runtime, "kind": RUNTIME_KIND, "apiGroup": GROUP},
            "trainer": {
                "image": settings.kubeflow_image,
                "command": NODE_COMMAND,
                "args": ["--tenant", job.tenant, "--job", job.id, "--attempt", str(job.attempt)],
                "numNodes": compute.num_nodes,
                "numProcPerNode": procs_per_node,
                "resourcesPerNode": _quantities(json.loads(settings.kubeflow_resources_per_node)),
                "env": _pod_env(settings),
            },
            "suspend": False,  # Kueue's webhook suspends it until its queue admits it
            # The cluster ends it too when the job outlives FTAAS_JOB_TIMEOUT_SECONDS (Failed, DeadlineExceeded).
            "activeDeadlineSeconds": settings.job_timeout_seconds,
        },
    }


def _true_condition(conditions: list[dict], kind: str) -> dict | None:
    return next((c for c in conditions if c.get("type") == kind and c.get("status") == "True"), None)


def _explained(condition: dict) -> str:
    return ": ".join(part for part in (condition.get("reason"), condition.get("message")) if part)


def trainjob_status(document: dict) -> tuple[JobStatus, str]:
    """The job status a TrainJob shows (as the API server returns it), with a message for people.

    Kubeflow Trainer's conditions are Complete, Failed and Suspended (Created, which older releases set, was
    removed in kubeflow/trainer#2621 and tells nothing here). Without a final condition, the child jobs' ready
    counts tell running from still starting."""
    name = document.get("metadata", {}).get("name", "?")
    status = document.get("status") or {}
    conditions = status.get("conditions") or []
    if failed := _true_condition(conditions, "Failed"):
        return JobStatus.FAILED, f"TrainJob {name} failed: {_explained(failed) or 'no reason given'}"
    if complete := _true_condition(conditions, "Complete"):
        detail = _explained(complete)
        return JobStatus.SUCCEEDED, f"TrainJob {name} completed" + (f": {detail}" if detail else "")
    if _true_condition(conditions, "Suspended"):  # ftaas pauses a job by deleting its TrainJob, never suspends it
        return JobStatus.QUEUED, f"TrainJob {name} is suspended until its queue admits it (Kueue)"
    jobs = status.get("jobsStatus") or []
    if any(j.get("ready", 0) > 0 or j.get("succeeded", 0) > 0 for j in jobs):
        return JobStatus.RUNNING, f"TrainJob {name} is running"
    if any(j.get("active", 0) > 0 for j in jobs):
        return JobStatus.QUEUED, f"TrainJob {name} is starting its pods"
    return JobStatus.QUEUED, f"TrainJob {name} is created; waiting for its pods"


class KubeflowTrainJobs:
    """TrainJobs in one namespace, through the official `kubernetes` client's CustomObjectsApi. Every call blocks:
    run it in a thread. `api` is for tests; without it the client loads the pod's service-account credentials
    (or ~/.kube/config outside a cluster) on first use."""

    def __init__(self, namespace: str, api: Any | None = None) -> None:
        self.namespace = namespace
        self._api = api

    @classmethod
    def from_settings(cls, settings: Settings) -> "KubeflowTrainJobs":
        return cls(settings.kubeflow_namespace)

    @property
    def api(self) -> Any:
        if self._api is None:
            from kubernetes import client, config  # only deployments that train across nodes need the package

            try:
                config.load_incluster_config()
            except config.ConfigException:
                config.load_kube_config()
            self._api = client.CustomObjectsApi()
        return self._api

    def _where(self) -> dict[str, str]:
        return {"group": GROUP, "version": VERSION, "namespace": self.namespace, "plural": PLURAL}

    def create(self, manifest: dict) -> dict:
        return self.api.create_namespaced_custom_object(**self._where(), body=manifest)

    def get(self, name: str) -> dict:
        return self.api.get_namespaced_custom_object(**self._where(), name=name)

    def delete(self, name: str, wait_for_pods: bool = False) -> None:
        """Delete a TrainJob and, through their owner references, its pods (a cancelled job). `wait_for_pods`:
        foreground deletion, so the TrainJob stays readable until its pods are gone."""
        self.api.delete_namespaced_custom_object(**self._where(), name=name,
                                                 propagation_policy="Foreground" if wait_for_pods else "Background")
