from enum import StrEnum


class Ia3TrainingFeedforwardModulesType0(StrEnum):
    AUTO = "auto"

    def __str__(self) -> str:
        return str(self.value)
