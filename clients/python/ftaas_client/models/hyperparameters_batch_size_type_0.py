from enum import StrEnum


class HyperparametersBatchSizeType0(StrEnum):
    AUTO = "auto"

    def __str__(self) -> str:
        return str(self.value)
