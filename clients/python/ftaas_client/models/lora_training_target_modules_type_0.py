from enum import StrEnum


class LoraTrainingTargetModulesType0(StrEnum):
    ALL_LINEAR = "all-linear"

    def __str__(self) -> str:
        return str(self.value)
