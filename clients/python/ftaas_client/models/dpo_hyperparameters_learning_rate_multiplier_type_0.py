from enum import StrEnum


class DpoHyperparametersLearningRateMultiplierType0(StrEnum):
    AUTO = "auto"

    def __str__(self) -> str:
        return str(self.value)
