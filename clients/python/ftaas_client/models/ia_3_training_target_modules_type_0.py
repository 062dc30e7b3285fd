from enum import StrEnum


class Ia3TrainingTargetModulesType0(StrEnum):
    AUTO = "auto"

    def __str__(self) -> str:
        return str(self.value)
