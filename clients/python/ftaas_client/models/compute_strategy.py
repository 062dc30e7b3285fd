from enum import StrEnum


class ComputeStrategy(StrEnum):
    AUTO = "auto"
    DDP = "ddp"
    FSDP = "fsdp"

    def __str__(self) -> str:
        return str(self.value)
