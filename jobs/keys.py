"""The one place that formats object-store keys and Redis keys.

Store layout (the store is the system of record):
  {tenant}/files/{file_id}/content          the uploaded JSONL
  {tenant}/files/{file_id}/file.json        the file record (written last)
  {tenant}/jobs/{job_id}/job.json           the job record
  {tenant}/jobs/{job_id}/events.jsonl       the job's events, kept up to date by its worker
  {tenant}/jobs/{job_id}/events/{event_id}.json   an event the API added (created, cancelled)
  {tenant}/jobs/{job_id}/results/{name}     metrics.csv and other evidence
  {tenant}/jobs/{job_id}/checkpoints/step-{n}/…   a checkpoint: resume state plus adapter/ or model/
  {tenant}/jobs/{job_id}/checkpoints/step-{n}/checkpoint.json   its record (written last)
  {tenant}/jobs/{job_id}/attempts/{n}/input.json    the resolved job its training nodes start from (across nodes)
  {tenant}/jobs/{job_id}/attempts/{n}/outputs.json  what its training nodes stored (across nodes; written last)
  {tenant}/checkpoints/{ref}.json           finds a checkpoint by its ftckpt- id or its ft:…:ckpt-step-N name
  {tenant}/checkpoint-permissions/{name}/{permission_id}.json   the owner's grant of a checkpoint to another tenant
  {tenant}/shared-checkpoints/{ref}.json    finds a checkpoint another tenant granted this one (by id or name)
  {tenant}/webhook-endpoints/{id}.json      a webhook endpoint: URL, event types, signing secrets
  {tenant}/models/{model_key}/attempt-{n}/… adapter or full-model folder + tokenizer, of the job's n-th attempt
  {tenant}/models/{model_key}/manifest.json written last: a model without it does not exist
  .system/unfinished-jobs/{tenant}/{job_id} exists from a job's creation until it ends (the reconciler's list)
"""

from urllib.parse import quote

from jobs.ids import (
    check, is_checkpoint_id, is_event_id, is_file_id, is_job_id, is_permission_id, is_tenant, is_valid_model_ref,
    is_webhook_endpoint_id,
)

# Every key is built from checked parts, so no request can name a key outside its tenant's prefix.


def _t(tenant: str) -> str:
    check("tenant", is_tenant(tenant), tenant)
    return tenant


def _file(file_id: str) -> str:
    check("file id", is_file_id(file_id), file_id)
    return file_id


def _job(job_id: str) -> str:
    check("fine-tuning job id", is_job_id(job_id), job_id)
    return job_id


def _step(step: int) -> int:
    check("step number", isinstance(step, int) and not isinstance(step, bool) and step >= 0, step)
    return step


def _model(model_id: str) -> str:
    check("fine-tuned model id", is_valid_model_ref(model_id), model_id)
    return model_id


def _checkpoint_ref(ref: str) -> str:
    check("checkpoint id or name", is_checkpoint_id(ref) or is_valid_model_ref(ref), ref)
    return ref


def files_prefix(tenant: str) -> str:
    return f"{_t(tenant)}/files/"


def file_content(tenant: str, file_id: str) -> str:
    return f"{_t(tenant)}/files/{_file(file_id)}/content"


def file_record(tenant: str, file_id: str) -> str:
    return f"{_t(tenant)}/files/{_file(file_id)}/file.json"


def jobs_prefix(tenant: str) -> str:
    return f"{_t(tenant)}/jobs/"


def job_prefix(tenant: str, job_id: str) -> str:
    return f"{_t(tenant)}/jobs/{_job(job_id)}/"


def job_record(tenant: str, job_id: str) -> str:
    return job_prefix(tenant, job_id) + "job.json"


def job_events(tenant: str, job_id: str) -> str:
    return job_prefix(tenant, job_id) + "events.jsonl"


def job_events_prefix(tenant: str, job_id: str) -> str:
    """Events written one object each as they happen (by the API); the worker's are in events.jsonl."""
    return job_prefix(tenant, job_id) + "events/"


def job_event(tenant: str, job_id: str, event_id: str) -> str:
    check("event id", is_event_id(event_id), event_id)
    return job_events_prefix(tenant, job_id) + f"{event_id}.json"


def unfinished_jobs_prefix(tenant: str | None = None) -> str:
    """Every unfinished job's marker, or one tenant's."""
    return ".system/unfinished-jobs/" + (f"{_t(tenant)}/" if tenant is not None else "")


def unfinished_job(tenant: str, job_id: str) -> str:
    """A marker that exists while the job has not ended, so the reconciler finds unfinished jobs without
    listing every tenant's jobs. Tenants cannot start with '.', so this never collides with one."""
    return f"{unfinished_jobs_prefix()}{_t(tenant)}/{_job(job_id)}"


def job_result(tenant: str, job_id: str, name: str) -> str:
    check("result file name", name.replace(".", "").replace("_", "").replace("-", "").isalnum(), name)
    return job_prefix(tenant, job_id) + f"results/{name}"


def job_checkpoints_prefix(tenant: str, job_id: str) -> str:
    return job_prefix(tenant, job_id) + "checkpoints/"


def job_checkpoint(tenant: str, job_id: str, step: int) -> str:
    return f"{job_checkpoints_prefix(tenant, job_id)}step-{_step(step)}/"


def job_checkpoint_record(tenant: str, job_id: str, step: int) -> str:
    return job_checkpoint(tenant, job_id, step) + "checkpoint.json"


def job_attempt_input(tenant: str, job_id: str, attempt: int) -> str:
    """The job resolved by the worker (jobs.training_input) for the training nodes of its `attempt`-th run."""
    return job_prefix(tenant, job_id) + f"attempts/{_step(attempt)}/input.json"


def job_attempt_outputs(tenant: str, job_id: str, attempt: int) -> str:
    """The training summary and the stored results and model of a run across nodes, for the worker to publish."""
    return job_prefix(tenant, job_id) + f"attempts/{_step(attempt)}/outputs.json"


def checkpoint_artifacts(tenant: str, job_id: str, step: int, artifact: str) -> str:
    """The checkpoint's `adapter/` or `model/` folder: what a new job continues from, and what serving loads."""
    check("artifact folder", artifact in ("adapter", "model"), artifact)
    return job_checkpoint(tenant, job_id, step) + f"{artifact}/"


def checkpoint_pointer(tenant: str, ref: str) -> str:
    # Checkpoint model names contain ':' and '/', so they are percent-encoded into one path segment.
    return f"{_t(tenant)}/checkpoints/{quote(_checkpoint_ref(ref), safe='')}.json"


def checkpoint_permissions_prefix(tenant: str, checkpoint_name: str) -> str:
    """The grants of one of `tenant`'s checkpoints (by its ft:…:ckpt-step-N name) to other tenants."""
    return f"{_t(tenant)}/checkpoint-permissions/{quote(_checkpoint_ref(checkpoint_name), safe='')}/"


def checkpoint_permission(tenant: str, checkpoint_name: str, permission_id: str) -> str:
    check("checkpoint permission id", is_permission_id(permission_id), permission_id)
    return checkpoint_permissions_prefix(tenant, checkpoint_name) + f"{permission_id}.json"


def shared_checkpoint(grantee: str, ref: str) -> str:
    """Where `grantee` finds the owner of a checkpoint shared with it, by the checkpoint's id or name."""
    return f"{_t(grantee)}/shared-checkpoints/{quote(_checkpoint_ref(ref), safe='')}.json"


def webhook_endpoints_prefix(tenant: str) -> str:
    return f"{_t(tenant)}/webhook-endpoints/"


def webhook_endpoint(tenant: str, endpoint_id: str) -> str:
    check("webhook endpoint id", is_webhook_endpoint_id(endpoint_id), endpoint_id)
    return f"{webhook_endpoints_prefix(tenant)}{endpoint_id}.json"


def models_prefix(tenant: str) -> str:
    return f"{_t(tenant)}/models/"


def model_prefix(tenant: str, model_id: str) -> str:
    # Model ids contain ':' and '/', so they are percent-encoded into one path segment.
    return f"{_t(tenant)}/models/{quote(_model(model_id), safe='')}/"


def model_artifacts(tenant: str, model_id: str, attempt: int = 0) -> str:
    """Each attempt of a job uploads into its own folder, so a worker that lost the job can never overwrite
    the files of the attempt that published; the manifest names the attempt (0: models stored before)."""
    if attempt == 0:
        return model_prefix(tenant, model_id) + "adapter/"
    return model_prefix(tenant, model_id) + f"attempt-{_step(attempt)}/"


def model_manifest(tenant: str, model_id: str) -> str:
    return model_prefix(tenant, model_id) + "manifest.json"


class RedisKeys:
    """Redis holds only the queue, indexes and live event streams; all of it can be rebuilt from the store."""

    QUEUE = "ftaas:queue"
    # When the reconciler first saw this Redis (set if missing: a new or flushed Redis starts it again).
    RECONCILER_SINCE = "ftaas:reconciler:since"
    # Webhooks (jobs.webhooks): job events to deliver (a stream, read by every worker's deliverer as one group),
    # each delivery to an endpoint (a hash by delivery id) and when its next try is due (a sorted set).
    WEBHOOK_EVENTS = "ftaas:webhooks:events"
    WEBHOOK_DELIVERIES = "ftaas:webhooks:deliveries"
    WEBHOOK_DUE = "ftaas:webhooks:due"
    # Estimates (jobs.estimates): the requests the API pushes for the workers (a list), and the throughput that
    # succeeded jobs measured (a hash by base model, method and processes; jobs.estimates.record_throughput).
    ESTIMATE_REQUESTS = "ftaas:estimates:requests"
    THROUGHPUT = "ftaas:throughput"

    @staticmethod
    def estimate_reply(request_id: str) -> str:
        """Where a worker puts its answer to one estimate request (a list the API waits on; expires)."""
        check("estimate request id", request_id.isalnum() and len(request_id) <= 64, request_id)
        return f"ftaas:estimate:{request_id}:reply"

    @staticmethod
    def webhook_log(endpoint_id: str) -> str:
        """An endpoint's latest delivery tries, newest first."""
        return f"ftaas:webhook:{endpoint_id}:log"

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
    def job_events_complete(job_id: str) -> str:
        """Exists while the job's event stream holds every event since the job was created."""
        return f"ftaas:job:{job_id}:events:complete"

    @staticmethod
    def job_cancel(job_id: str) -> str:
        return f"ftaas:job:{job_id}:cancel"

    @staticmethod
    def idempotency(tenant: str, key_digest: str) -> str:
        """A create request's Idempotency-Key (its sha256): the claim, then the first answer (service.idempotency)."""
        return f"ftaas:tenant:{tenant}:idempotency:{key_digest}"

    @staticmethod
    def requests_in_minute(tenant: str, minute: int) -> str:
        """The tenant's /v1 requests in one clock minute (jobs.quotas: max_requests_per_minute)."""
        return f"ftaas:tenant:{tenant}:requests:{minute}"

    @staticmethod
    def tenant_quota_lock(tenant: str, what: str) -> str:
        """Held while a create counts what the tenant has and adds to it (service.quotas)."""
        return f"ftaas:tenant:{tenant}:quota-lock:{what}"

    @staticmethod
    def running_jobs(tenant: str) -> str:
        """The tenant's running jobs, each scored with when its worker's hold runs out (jobs.quotas)."""
        return f"ftaas:tenant:{tenant}:running"

    @staticmethod
    def trained_tokens_by_month(tenant: str) -> str:
        """Tokens trained by the tenant's succeeded jobs, by month (YYYY-MM, UTC) (jobs.quotas)."""
        return f"ftaas:tenant:{tenant}:trained-tokens"

    @staticmethod
    def job_waiting_said(job_id: str) -> str:
        """Set once the job's events say it waits for the tenant's running jobs (said once, not on every retry)."""
        return f"ftaas:job:{job_id}:waiting-said"

    @staticmethod
    def job_pause(job_id: str) -> str:
        """Exists from a pause request until the job is resumed: its worker checkpoints and lets the job go."""
        return f"ftaas:job:{job_id}:pause"

    @staticmethod
    def checkpoint_shards(job_id: str, attempt: int, step: int) -> str:
        """The training nodes (other than node 0) that have stored their shards of a checkpoint (across nodes)."""
        return f"ftaas:job:{job_id}:attempt:{attempt}:checkpoint:{step}:nodes"

    @staticmethod
    def job_lease(job_id: str) -> str:
        """Holds the attempt number while a live worker runs the job (renewed; expires when its worker dies)."""
        return f"ftaas:job:{job_id}:lease"


