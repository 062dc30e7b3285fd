from enum import StrEnum


class HyperparametersClassWeightsType2Type1(StrEnum):
    BALANCED = "balanced"

    def __str__(self) -> str:
        return str(self.value)
