"""A stand-in for a Kubernetes API server running Kubeflow Trainer, for tests only: no cluster can run on these
machines (tests/integration/test_across_nodes.py; docs/deploy.md says what this does not prove).

It answers the CustomObjectsApi calls that jobs.kubeflow.KubeflowTrainJobs makes. A TrainJob it is given must
parse with the kubeflow-trainer-api models, and it runs it roughly as the torch runtime would: `numNodes`
processes of the trainer's `command` and `args` ("python" being this interpreter, as in the image), each with
the image's environment (this process's, less every FTAAS_* variable, so the settings must come from the
TrainJob), the TrainJob's `env` with its ConfigMap and Secret references looked up in the dicts given, and
the PET_* variables (its own PET_NODE_RANK; node 0 is the master). Each node writes its log beside the others.

Deleting one stops its nodes as the kubelet would (SIGTERM, SIGKILL after a grace period); with foreground
propagation the TrainJob stays readable until they have exited. What it does not imitate: scheduling, pods and
their restarts, volumes, separate disks (the nodes share the cache folder, each working in a folder of its own),
suspend, Kueue, the CRD's server-side validation.
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from kubeflow_trainer_api.models import TrainerV1alpha1TrainJob

from tests.conftest import free_port


class ApiException(Exception):
    """kubernetes.client.ApiException's shape, as far as ftaas reads it (`status`)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"({status}) {reason}")
        self.status = status


class LocalTrainJobs:
    def __init__(self, logs: Path, config_map: dict[str, str], secrets: dict[tuple[str, str], str],
                 refuse: ApiException | None = None) -> None:
        self.logs, self.config_map, self.secrets = logs, config_map, secrets
        self.refuse = refuse  # raised by every create, as an API server that will not take the TrainJob
        self.nodes: dict[str, list[subprocess.Popen]] = {}
        self.created: list[dict] = []  # every TrainJob as it was created
        self.deleted: list[str] = []
        self.deleting: set[str] = set()
        self._processes: dict[str, list[subprocess.Popen]] = {}  # every TrainJob's, deleted ones too

    def _value(self, entry: dict) -> str | None:
        if "value" in entry:
            return entry["value"]
        source = entry["valueFrom"]
        if "configMapKeyRef" in source:
            return self.config_map.get(source["configMapKeyRef"]["key"])
        ref = source["secretKeyRef"]
        return self.secrets[(ref["name"], ref["key"])]

    def create_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str, body: dict) -> dict:
        TrainerV1alpha1TrainJob.from_dict(body)
        if self.refuse is not None:
            raise self.refuse
        name = body["metadata"]["name"]
        if name in self.nodes:
            raise ApiException(409, f"trainjobs {name!r} already exists")
        self.created.append(body)
        trainer = body["spec"]["trainer"]
        image_env = {k: v for k, v in os.environ.items() if not k.startswith("FTAAS_")}
        env = {**image_env, **{e["name"]: v for e in trainer["env"] if (v := self._value(e)) is not None}}
        port = free_port()
        command = [sys.executable if part == "python" else part for part in trainer["command"]]
        self.nodes[name] = self._processes[name] = []
        for rank in range(trainer["numNodes"]):
            pet = {"PET_NNODES": str(trainer["numNodes"]), "PET_NPROC_PER_NODE": str(trainer["numProcPerNode"]),
                   "PET_NODE_RANK": str(rank), "PET_MASTER_ADDR": "127.0.0.1", "PET_MASTER_PORT": str(port)}
            with open(self.logs / f"{name}-node-{rank}.log", "wb") as log:
                self.nodes[name].append(subprocess.Popen(
                    [*command, *trainer["args"]], env={**env, **pet}, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                ))
        return body

    def get_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str, name: str) -> dict:
        if name in self.deleting and all(node.poll() is not None for node in self.nodes[name]):
            del self.nodes[name]  # foreground deletion ends once the pods are gone
        if name not in self.nodes:
            raise ApiException(404, f"trainjobs {name!r} not found")
        document = next(b for b in reversed(self.created) if b["metadata"]["name"] == name)
        if name in self.deleting:
            document = {**document, "metadata": {**document["metadata"], "deletionTimestamp": "2026-12-02T00:00:00Z"}}
        codes = [node.poll() for node in self.nodes[name]]
        failed = [(rank, code) for rank, code in enumerate(codes) if code not in (None, 0)]
        if failed:
            self._stop(name)  # the JobSet's failure policy ends the other nodes
            rank, code = failed[0]
            conditions = [{"type": "Failed", "status": "True", "reason": "FailedJobs",
                           "message": f"node {rank} exited with code {code}"}]
        elif all(code == 0 for code in codes):
            conditions = [{"type": "Complete", "status": "True", "reason": "AllJobsCompleted",
                           "message": "jobset completed successfully"}]
        else:
            conditions = []
        alive = sum(code is None for code in codes)
        status = {"conditions": conditions, "jobsStatus": [{
            "name": "node", "active": alive, "ready": alive, "succeeded": sum(code == 0 for code in codes),
            "failed": len(failed), "suspended": 0,
        }]}
        return {**document, "status": status}

    def patch_namespaced_custom_object(self, *args, **kwargs) -> dict:
        raise NotImplementedError("suspending a TrainJob is not imitated here")

    def delete_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str, name: str,
                                        propagation_policy: str = "Background") -> None:
        if name not in self.nodes or name in self.deleting:
            raise ApiException(404, f"trainjobs {name!r} not found")
        self._stop(name)
        self.deleted.append(name)
        if propagation_policy == "Foreground":
            self.deleting.add(name)  # readable until its node processes have exited
        else:
            del self.nodes[name]

    def _stop(self, name: str, grace_s: float = 30) -> None:
        """As the kubelet does: SIGTERM, then SIGKILL after the grace period (in the background)."""
        def stop(node: subprocess.Popen) -> None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(node.pid, sig)
                    node.wait(grace_s)
                    return
                except ProcessLookupError:
                    return
                except subprocess.TimeoutExpired:
                    continue

        for node in self.nodes[name]:
            threading.Thread(target=stop, args=(node,), daemon=True).start()

    def running(self, name: str) -> bool:
        """Whether any node process of the TrainJob is still alive (also after it was deleted)."""
        return any(node.poll() is None for node in self._processes.get(name, []))

    def close(self) -> None:
        for name in list(self.nodes):
            self._stop(name, grace_s=5)
        for nodes in self._processes.values():
            for node in nodes:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.wait(10)
