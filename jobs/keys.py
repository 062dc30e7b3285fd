"""The one place that formats object-store keys and Redis keys.

Store layout (the store is the system of record):
  {tenant}/files/{file_id}/content          the uploaded JSONL
  {tenant}/files/{file_id}/file.json        the file record (written last)
  {tenant}/jobs/{job_id}/job.json           the job record
  {tenant}/jobs/{job_id}/events.jsonl       the job's events, copied from Redis when the job ends
  {tenant}/jobs/{job_id}/results/{name}     metrics.csv and other evidence
  {tenant}/jobs/{job_id}/checkpoints/step-{n}/…   a checkpoint: resume state plus adapter/ or model/
  {tenant}/jobs/{job_id}/checkpoints/step-{n}/checkpoint.json   its record (written last)
  {tenant}/checkpoints/{ref}.json           finds a checkpoint by its ftckpt- id or its ft:…:ckpt-step-N name
  {tenant}/models/{model_key}/adapter/…     PEFT adapter folder + tokenizer
  {tenant}/models/{model_key}/manifest.json written last: a model without it does not exist
"""

from urllib.parse import quote


def files_prefix(tenant: str) -> str:
    return f"{tenant}/files/"


def file_content(tenant: str, file_id: str) -> str:
    return f"{tenant}/files/{file_id}/content"


def file_record(tenant: str, file_id: str) -> str:
    return f"{tenant}/files/{file_id}/file.json"


def jobs_prefix(tenant: str) -> str:
    return f"{tenant}/jobs/"


def job_record(tenant: str, job_id: str) -> str:
    return f"{tenant}/jobs/{job_id}/job.json"


def job_events(tenant: str, job_id: str) -> str:
    return f"{tenant}/jobs/{job_id}/events.jsonl"


def job_result(tenant: str, job_id: str, name: str) -> str:
    return f"{tenant}/jobs/{job_id}/results/{name}"


def job_checkpoints_prefix(tenant: str, job_id: str) -> str:
    return f"{tenant}/jobs/{job_id}/checkpoints/"


def job_checkpoint(tenant: str, job_id: str, step: int) -> str:
    return f"{job_checkpoints_prefix(tenant, job_id)}step-{step}/"


def job_checkpoint_record(tenant: str, job_id: str, step: int) -> str:
    return job_checkpoint(tenant, job_id, step) + "checkpoint.json"


def checkpoint_artifacts(tenant: str, job_id: str, step: int, artifact: str) -> str:
    """The checkpoint's `adapter/` or `model/` folder: what a new job continues from, and what serving loads."""
    return job_checkpoint(tenant, job_id, step) + f"{artifact}/"


def checkpoint_pointer(tenant: str, ref: str) -> str:
    # Checkpoint model names contain ':' and '/', so they are percent-encoded into one path segment.
    return f"{tenant}/checkpoints/{quote(ref, safe='')}.json"


def models_prefix(tenant: str) -> str:
    return f"{tenant}/models/"


def model_prefix(tenant: str, model_id: str) -> str:
    # Model ids contain ':' and '/', so they are percent-encoded into one path segment.
    return f"{tenant}/models/{quote(model_id, safe='')}/"


def model_artifacts(tenant: str, model_id: str) -> str:
    return model_prefix(tenant, model_id) + "adapter/"


def model_manifest(tenant: str, model_id: str) -> str:
    return model_prefix(tenant, model_id) + "manifest.json"


class RedisKeys:
    """Redis holds only the queue, indexes and live event streams; all of it can be rebuilt from the store."""

    QUEUE = "ftaas:queue"

    @staticmethod
    def job_index(tenant: str) -> str:
        return f"ftaas:tenant:{tenant}:jobs"

    @staticmethod
    def job_index_built(tenant: str) -> str:
        return f"ftaas:tenant:{tenant}:jobs:built"

    @staticmethod
    def job_lock(job_id: str) -> str:
        return f"ftaas:job:{job_id}:lock"

    @staticmethod
    def job_events(job_id: str) -> str:
        return f"ftaas:job:{job_id}:events"

    @staticmethod
    def job_cancel(job_id: str) -> str:
        return f"ftaas:job:{job_id}:cancel"

    @staticmethod
    def job_lease(job_id: str) -> str:
        """Exists while a live worker runs the job (renewed; expires when its worker dies)."""
        return f"ftaas:job:{job_id}:lease"

    @staticmethod
    def running_jobs(queue_name: str) -> str:
        """Hash of job id → tenant: the jobs the queue's workers have taken and not yet let go."""
        return f"ftaas:{queue_name}:running"
