from enum import StrEnum


class HyperparametersNEpochsType0(StrEnum):
    AUTO = "auto"

    def __str__(self) -> str:
        return str(self.value)
