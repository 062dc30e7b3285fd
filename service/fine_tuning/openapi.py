"""Documents JobSpec as the body of `create_fine_tuning_job` while the handler parses the body itself.

The handler validates the raw JSON with JobSpec and a validation context (catalog ids, the caller's
file ids) so that an unknown model, a missing file and bad hyper-parameters are reported together.
Litestar documents a handler's body from a `data` parameter of the handler *or of one of its
dependencies*; this dependency exists only to carry that annotation and is never resolved.
"""

from litestar.di import Provide

from jobs.spec import JobSpec


def _documented_body(data: JobSpec) -> None:  # pragma: no cover - never called
    return None


JOB_SPEC_BODY = {"job_spec_body": Provide(_documented_body, sync_to_thread=False)}
