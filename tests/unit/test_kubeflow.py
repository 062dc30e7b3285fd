"""The Kubeflow Trainer TrainJob built for a multi-node job, validated against kubeflow-trainer-api's models (the
TrainJob CRD's types); the job status read from TrainJob documents; the client's calls. No cluster is involved."""

import json
import re

import pytest
from kubeflow_trainer_api.models import TrainerV1alpha1TrainJob

from jobs import kubeflow
from jobs.ids import new_job_id
from jobs.kubeflow import KubeflowTrainJobs, trainjob_manifest, trainjob_name, trainjob_status
from jobs.records import JobRecord
from jobs.settings import Settings
from jobs.spec import JobSpec
from jobs.status import JobStatus

# The TrainJob CRD's rules for metadata.name (kubeflow/trainer pkg/apis/trainer/v1alpha1/trainjob_types.go).
RFC_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def kubeflow_settings(**overrides) -> Settings:
    values = dict(
        kubeflow_enabled=True, kubeflow_namespace="training", kubeflow_image="registry.example.com/ftaas:0.1.0",
        kubeflow_config_map="ftaas", kubeflow_queue_name="gpu-queue",
        kubeflow_secret_refs=json.dumps({"FTAAS_REDIS_URL": "ftaas-redis/redis-url",
                                         "AWS_ACCESS_KEY_ID": "ftaas/aws-access-key-id"}),
        kubeflow_resources_per_node=json.dumps({"limits": {"nvidia.com/gpu": 8, "memory": "200Gi"},
                                                "requests": {"cpu": "32"}}),
    )
    return Settings(**{**values, **overrides})


def job(compute: dict, job_id: str = "ftjob-AbCdEfGh0123456789xyzUVW", tenant: str = "team-a") -> JobRecord:
    spec = JobSpec.model_validate({"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "training_file": "file-abc",
                                   "training_type": {"type": "full"}, "compute": compute})
    return JobRecord(id=job_id, tenant=tenant, spec=spec, attempt=2)


def validated(document: dict) -> TrainerV1alpha1TrainJob:
    """Parse with the TrainJob model; the models ignore unknown fields, so compare the round trip to catch them."""
    model = TrainerV1alpha1TrainJob.from_dict(document)
    as_json = json.dumps(model.to_dict(), default=lambda t: t.isoformat().replace("+00:00", "Z"))  # timestamps
    assert json.loads(as_json) == document, "a field the TrainJob types do not have (or of another type)"
    return model


def test_the_trainjob_for_a_multi_node_job_validates_against_the_trainjob_types():
    record = job({"num_nodes": 4, "num_proc_per_node": 8, "strategy": "ddp"})
    manifest = trainjob_manifest(record, kubeflow_settings())
    model = validated(manifest)

    assert (model.api_version, model.kind) == ("trainer.kubeflow.org/v1alpha1", "TrainJob")
    assert model.metadata.name == trainjob_name(record.id, 2) and model.metadata.namespace == "training"
    assert model.metadata.labels == {"ftaas/job-id": record.id, "ftaas/tenant": "team-a",
                                     "kueue.x-k8s.io/queue-name": "gpu-queue"}
    runtime = model.spec.runtime_ref
    assert (runtime.name, runtime.kind, runtime.api_group) == ("torch-distributed", "ClusterTrainingRuntime",
                                                               "trainer.kubeflow.org")
    trainer = model.spec.trainer
    assert trainer.image == "registry.example.com/ftaas:0.1.0"
    assert trainer.command == ["python", "-m", "jobs.training_node"]  # it runs jobs.train under torchrun
    assert trainer.args == ["--tenant", "team-a", "--job", record.id, "--attempt", "2"]
    assert (trainer.num_nodes, trainer.num_proc_per_node) == (4, 8)
    assert manifest["spec"]["trainer"]["resourcesPerNode"] == {"limits": {"nvidia.com/gpu": "8", "memory": "200Gi"},
                                                               "requests": {"cpu": "32"}}
    assert model.spec.suspend is False
    assert model.spec.active_deadline_seconds == Settings().job_timeout_seconds


def test_the_training_pods_get_the_job_settings_and_secret_references_never_secret_values():
    env = {e["name"]: e for e in trainjob_manifest(job({"num_nodes": 2}), kubeflow_settings())["spec"]["trainer"]["env"]}
    assert env["FTAAS_REDIS_URL"] == {"name": "FTAAS_REDIS_URL",
                                      "valueFrom": {"secretKeyRef": {"name": "ftaas-redis", "key": "redis-url"}}}
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"] == {"name": "ftaas", "key": "aws-access-key-id"}
    for name in ("FTAAS_STORE_URL", "FTAAS_MODELS", "FTAAS_CACHE_DIR", "HF_HUB_OFFLINE"):
        assert env[name]["valueFrom"]["configMapKeyRef"] == {"name": "ftaas", "key": name, "optional": True}
    assert [n for n, e in env.items() if "value" in e] == []


def test_auto_processes_per_node_is_one_per_gpu_of_a_training_node_or_one_without_gpus():
    record = job({"num_nodes": 2, "num_proc_per_node": "auto"})
    assert trainjob_manifest(record, kubeflow_settings())["spec"]["trainer"]["numProcPerNode"] == 8
    cpu_only = kubeflow_settings(kubeflow_resources_per_node=json.dumps({"requests": {"cpu": "16"}}))
    manifest = trainjob_manifest(record, cpu_only)
    assert manifest["spec"]["trainer"]["numProcPerNode"] == 1
    validated(manifest)


def test_without_kueue_there_is_no_queue_label():
    manifest = trainjob_manifest(job({"num_nodes": 2}), kubeflow_settings(kubeflow_queue_name=""))
    validated(manifest)
    assert "kueue.x-k8s.io/queue-name" not in manifest["metadata"]["labels"]
    assert manifest["spec"]["suspend"] is False


@pytest.mark.parametrize("job_id", [
    new_job_id(), "ftjob-A", "ftjob-" + "Z" * 64, "ftjob-" + "9" * 64, "ftjob-abc", "ftjob-ABC", "ftjob-0abc",
])
def test_the_trainjob_name_is_an_rfc_1035_label_for_every_job_id_shape(job_id):
    name = trainjob_name(job_id, 99)
    assert RFC_1035_LABEL.fullmatch(name) and len(name) <= 63, name
    assert name == trainjob_name(job_id, 99) != trainjob_name(job_id, 98)


def test_job_ids_differing_only_in_case_get_different_trainjobs():
    assert trainjob_name("ftjob-abc", 1) != trainjob_name("ftjob-ABC", 1)


@pytest.mark.parametrize("tenant", ["team-a", "_underscore_first", "x" * 64, "a-"])
def test_labels_are_valid_label_values_and_the_annotations_keep_the_exact_ids(tenant):
    record = job({"num_nodes": 2}, job_id="ftjob-" + "Q" * 64, tenant=tenant)
    metadata = trainjob_manifest(record, kubeflow_settings())["metadata"]
    for value in metadata["labels"].values():
        assert LABEL_VALUE.fullmatch(value) and len(value) <= 63, value
    assert metadata["annotations"] == {"ftaas/job-id": record.id, "ftaas/tenant": tenant, "ftaas/attempt": "2"}


def condition(kind: str, status: str, reason: str, message: str) -> dict:
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": "2026-05-04T10:00:00Z"}


def trainjob(status: dict | None = None, annotations: dict | None = None) -> dict:
    document = trainjob_manifest(job({"num_nodes": 2}), kubeflow_settings())
    document["metadata"] = {**document["metadata"], "uid": "7d9c1c7e-1f4b-4a57-9a53-1f1e3b9d2a10",
                            "annotations": {**document["metadata"]["annotations"], **(annotations or {})}}
    if status is not None:
        document["status"] = status
    validated(document)  # the documents below have the shape the API server returns
    return document


def node_jobs(active: int, ready: int, succeeded: int = 0, failed: int = 0, suspended: int = 0) -> list[dict]:
    return [{"name": "node", "active": active, "ready": ready, "succeeded": succeeded, "failed": failed,
             "suspended": suspended}]


def test_a_completed_trainjob_is_a_succeeded_job():
    status, message = trainjob_status(trainjob({
        "conditions": [condition("Complete", "True", "AllJobsCompleted", "jobset completed successfully")],
        "jobsStatus": node_jobs(active=0, ready=0, succeeded=1),
    }))
    assert status == JobStatus.SUCCEEDED
    assert "completed" in message and "jobset completed successfully" in message


@pytest.mark.parametrize(("reason", "detail"), [
    ("FailedJobs", "jobset failed due to one or more job failures"),
    ("DeadlineExceeded", "TrainJob exceeded its active deadline"),
    ("TrainingRuntimeNotSupported", "unsupported runtime: ClusterTrainingRuntime.trainer.kubeflow.org"),
])
def test_a_failed_trainjob_is_a_failed_job_whose_message_carries_the_reason(reason, detail):
    status, message = trainjob_status(trainjob({
        "conditions": [condition("Failed", "True", reason, detail)],
        "jobsStatus": node_jobs(active=0, ready=0, failed=1),
    }))
    assert status == JobStatus.FAILED
    assert reason in message and detail in message


def test_a_suspended_trainjob_is_queued_while_kueue_holds_it():
    suspended = {"conditions": [condition("Suspended", "True", "Suspended", "TrainJob is suspended")]}
    status, message = trainjob_status(trainjob(suspended))
    assert status == JobStatus.QUEUED and "Kueue" in message


def test_a_trainjob_just_created_or_starting_its_pods_is_queued():
    assert trainjob_status(trainjob())[0] == JobStatus.QUEUED
    # Older Kubeflow Trainer releases also set a Created condition; it says nothing about the pods.
    created = {"conditions": [condition("Created", "True", "JobSetCreated", "Succeeded to create JobSet")]}
    assert trainjob_status(trainjob(created))[0] == JobStatus.QUEUED
    status, message = trainjob_status(trainjob({"jobsStatus": node_jobs(active=1, ready=0)}))
    assert status == JobStatus.QUEUED and "starting" in message


def test_a_resumed_trainjob_whose_pods_are_ready_is_running():
    status, message = trainjob_status(trainjob({
        "conditions": [condition("Suspended", "False", "Resumed", "TrainJob is resumed")],
        "jobsStatus": node_jobs(active=1, ready=1),
    }))
    assert status == JobStatus.RUNNING and "running" in message


def test_every_trainjob_state_maps_to_a_known_job_status():
    documents = [trainjob(), trainjob({"conditions": [condition("Failed", "True", "FailedJobs", "")]}),
                 trainjob({"conditions": [condition("Complete", "True", "AllJobsCompleted", "")]})]
    assert all(trainjob_status(d)[0] in set(JobStatus) for d in documents)


class RecordingApi:
    """Stands in for kubernetes.client.CustomObjectsApi: records each call's keyword arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def __getattr__(self, method: str):
        def call(**kwargs):
            self.calls.append((method, kwargs))
            return {}
        return call


def test_the_client_creates_reads_and_deletes_trainjobs_in_its_namespace():
    api = RecordingApi()
    trainjobs = KubeflowTrainJobs("training", api=api)
    manifest = trainjob_manifest(job({"num_nodes": 2}), kubeflow_settings())
    name = manifest["metadata"]["name"]
    trainjobs.create(manifest)
    trainjobs.get(name)
    trainjobs.delete(name)

    where = {"group": "trainer.kubeflow.org", "version": "v1alpha1", "namespace": "training", "plural": "trainjobs"}
    assert [method for method, _ in api.calls] == [
        "create_namespaced_custom_object", "get_namespaced_custom_object", "delete_namespaced_custom_object",
    ]
    assert all(kwargs.items() >= where.items() for _, kwargs in api.calls)
    assert api.calls[0][1]["body"] == manifest


def test_the_client_calls_exist_in_the_kubernetes_package_with_these_arguments():
    import inspect

    from kubernetes.client import CustomObjectsApi

    api = RecordingApi()
    trainjobs = KubeflowTrainJobs("training", api=api)
    trainjobs.create({})
    trainjobs.get("n")
    trainjobs.delete("n")
    trainjobs.delete("n", wait_for_pods=True)
    for method, kwargs in api.calls:
        inspect.signature(getattr(CustomObjectsApi, method)).bind(None, **kwargs)


def test_kubeflow_settings_are_checked_when_the_process_starts():
    with pytest.raises(ValueError, match="FTAAS_KUBEFLOW_IMAGE"):
        kubeflow_settings(kubeflow_image="")
    with pytest.raises(ValueError, match="FTAAS_REDIS_URL"):
        kubeflow_settings(kubeflow_secret_refs=json.dumps({"AWS_ACCESS_KEY_ID": "s/k"}))
    with pytest.raises(ValueError, match="secret-name/key"):
        kubeflow_settings(kubeflow_secret_refs=json.dumps({"FTAAS_REDIS_URL": "no-key"}))
    with pytest.raises(ValueError, match="whole numbers"):
        kubeflow_settings(kubeflow_resources_per_node=json.dumps({"limits": {"nvidia.com/gpu": "0.5"}}))
    assert Settings().compute_limits().kubeflow_procs_per_node is None
    assert kubeflow_settings().compute_limits().kubeflow_procs_per_node == 8


def test_every_setting_the_training_pods_read_is_a_setting():
    fields = set(Settings.model_fields)
    unknown = [n for n in kubeflow.POD_SETTINGS if n.startswith("FTAAS_") and n.removeprefix("FTAAS_").lower() not in fields]
    assert unknown == []
