from enum import StrEnum


class QloraTrainingComputeDtype(StrEnum):
    AUTO = "auto"
    BFLOAT16 = "bfloat16"
    FLOAT32 = "float32"

    def __str__(self) -> str:
        return str(self.value)
