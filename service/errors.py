"""One exception tree; one mapping to OpenAI's error body `{"error": {"message", "type", "param", "code"}}`."""

from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from pydantic import BaseModel, ValidationError


class ApiError(Exception):
    status_code = 400
    type = "invalid_request_error"
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code


class InvalidRequest(ApiError):
    code = "invalid_value"


class AuthenticationFailed(ApiError):
    status_code = 401
    type = "authentication_error"
    code = "invalid_api_key"


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Conflict(ApiError):
    status_code = 409
    code = "invalid_state"


class PayloadTooLarge(ApiError):
    status_code = 413
    code = "file_too_large"


class ServiceUnavailable(ApiError):
    status_code = 503
    type = "server_error"
    code = "unavailable"


def _param(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def from_validation_error(exc: ValidationError, prefix: str = "") -> InvalidRequest:
    """Every problem in one message (so a client fixes them all at once); `param` names the first."""
    problems = [(prefix + _param(e["loc"]), e["msg"]) for e in exc.errors()]
    message = "; ".join(f"{param}: {msg}" if param else msg for param, msg in problems)
    if len(problems) > 1:
        message = f"{len(problems)} problems: {message}"
    return InvalidRequest(message, param=problems[0][0] or None)


def error_body(message: str, type_: str, param: str | None, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def api_error_handler(_: Request, exc: ApiError) -> Response:
    return Response(
        error_body(exc.message, exc.type, exc.param, exc.code), status_code=exc.status_code, media_type=MediaType.JSON
    )


def http_exception_handler(_: Request, exc: HTTPException) -> Response:
    """Litestar's own errors (bad query parameters, unknown routes, oversized bodies) in OpenAI's shape."""
    message = exc.detail
    param = None
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        parts = [f"{e.get('key')}: {e.get('message')}" if e.get("key") else str(e.get("message")) for e in exc.extra]
        message = "; ".join(parts)
        param = exc.extra[0].get("key")
    type_ = "invalid_request_error" if exc.status_code < 500 else "server_error"
    code = {401: "invalid_api_key", 404: "not_found", 405: "method_not_allowed", 413: "file_too_large"}.get(
        exc.status_code, "invalid_request" if exc.status_code < 500 else "internal_error"
    )
    return Response(
        error_body(message, type_, param, code), status_code=exc.status_code, media_type=MediaType.JSON,
        headers=getattr(exc, "headers", None),
    )


def internal_error_handler(request: Request, exc: Exception) -> Response:
    request.logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return Response(
        error_body("internal error; the request was not completed", "server_error", None, "internal_error"),
        status_code=500,
        media_type=MediaType.JSON,
    )


EXCEPTION_HANDLERS = {
    ApiError: api_error_handler,
    HTTPException: http_exception_handler,
    Exception: internal_error_handler,
}


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorBody(BaseModel):
    error: ErrorDetail


# Documented on every /v1 operation, so generated clients can parse errors.
ERROR_RESPONSES = {
    400: ResponseSpec(ErrorBody, description="Invalid request; the message lists every problem", generate_examples=False),
    401: ResponseSpec(ErrorBody, description="Missing or invalid API key", generate_examples=False),
    404: ResponseSpec(ErrorBody, description="No such object for this API key's tenant", generate_examples=False),
}
