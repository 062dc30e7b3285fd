from enum import StrEnum


class MethodType(StrEnum):
    DPO = "dpo"
    SUPERVISED = "supervised"

    def __str__(self) -> str:
        return str(self.value)
