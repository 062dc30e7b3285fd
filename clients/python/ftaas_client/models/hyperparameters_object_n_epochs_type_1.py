from enum import StrEnum


class HyperparametersObjectNEpochsType1(StrEnum):
    AUTO = "auto"

    def __str__(self) -> str:
        return str(self.value)
