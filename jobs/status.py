"""Job statuses and the one table of allowed transitions. Every status write goes through `check_transition`."""

from enum import StrEnum


class JobStatus(StrEnum):
    VALIDATING_FILES = "validating_files"
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})

# A job is created `queued` (the API checked its files as they were uploaded), a worker that takes it checks them
# against the job (`validating_files`) and trains (`running`); a job validated before (it resumes) goes from
# `queued` to `running`.
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    # → paused: paused by request (directly while it waits for a worker; by its worker, after a checkpoint).
    # validating_files → queued: its worker stopped while checking; another checks again.
    JobStatus.VALIDATING_FILES: frozenset({JobStatus.RUNNING, JobStatus.QUEUED, JobStatus.FAILED, JobStatus.CANCELLED,
                                           JobStatus.PAUSED}),
    JobStatus.QUEUED: frozenset({JobStatus.VALIDATING_FILES, JobStatus.RUNNING, JobStatus.FAILED, JobStatus.CANCELLED,
                                 JobStatus.PAUSED}),
    # running → queued: its worker stopped; the job waits for another and resumes from its latest checkpoint.
    JobStatus.RUNNING: frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.PAUSED, JobStatus.QUEUED}),
    JobStatus.PAUSED: frozenset({JobStatus.QUEUED, JobStatus.FAILED, JobStatus.CANCELLED}),  # queued: resumed
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}


class InvalidTransition(Exception):
    def __init__(self, current: JobStatus, target: JobStatus) -> None:
        self.current = current
        self.target = target
        super().__init__(f"a job that is {current.value} cannot become {target.value}")


def check_transition(current: JobStatus, target: JobStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current, target)
