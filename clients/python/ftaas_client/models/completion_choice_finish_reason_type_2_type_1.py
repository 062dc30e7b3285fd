from enum import StrEnum


class CompletionChoiceFinishReasonType2Type1(StrEnum):
    LENGTH = "length"
    STOP = "stop"

    def __str__(self) -> str:
        return str(self.value)
