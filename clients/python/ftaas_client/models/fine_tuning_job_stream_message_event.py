from enum import StrEnum


class FineTuningJobStreamMessageEvent(StrEnum):
    FINE_TUNING_JOB = "fine_tuning.job"
    FINE_TUNING_JOB_EVENT = "fine_tuning.job.event"

    def __str__(self) -> str:
        return str(self.value)
