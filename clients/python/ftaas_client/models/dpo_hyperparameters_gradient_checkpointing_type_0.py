from enum import StrEnum


class DpoHyperparametersGradientCheckpointingType0(StrEnum):
    AUTO = "auto"

    def __str__(self) -> str:
        return str(self.value)
