from enum import StrEnum


class HyperparametersLrScheduler(StrEnum):
    CONSTANT = "constant"
    COSINE = "cosine"
    COSINE_WITH_RESTARTS = "cosine_with_restarts"
    LINEAR = "linear"

    def __str__(self) -> str:
        return str(self.value)
