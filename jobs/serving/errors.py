"""What the engine raises; the serving app maps these onto the API's error tree (torch-free)."""


class ServingError(Exception):
    pass


class ModelNotFound(ServingError):
    """The id is neither a catalog base model nor a fine-tuned model of this tenant."""

    def __init__(self, model: str, reason: str = "") -> None:
        super().__init__(f"model {model!r} not found{': ' + reason if reason else ''}")
        self.model = model
        self.reason = reason


class ModelUnavailable(ServingError):
    """The model exists but its artifacts cannot be used (incomplete upload, unreadable adapter)."""


class InvalidGenerationRequest(ServingError):
    """The request is well-formed but cannot be served by this model (prompt too long, no chat template)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param
