from enum import StrEnum


class HyperparametersGradientCheckpointingType0(StrEnum):
    AUTO = "auto"

    def __str__(self) -> str:
        return str(self.value)
