"""One exception tree; one mapping to OpenAI's error body `{"error": {"message", "type", "param", "code"}}`.

Every 5xx is logged here, once, as one line carrying the request id the client also receives (`x-request-id`).
"""

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from pydantic import BaseModel, ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from jobs.ids import InvalidId
from jobs.store import InvalidKey, StoreUnavailable
from service.logs import request_id

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5


class ApiError(Exception):
    status_code = 400
    type = "invalid_request_error"
    code: str | None = None
    retry_after_s: int | None = None  # sent as `Retry-After` when set
    retryable: bool | None = None  # whether a retry may get another answer; None: decided by the status

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


class TooManyRequests(ApiError):
    status_code = 429
    type = "rate_limit_error"
    code = "queue_full"

    def __init__(self, message: str, *, retry_after_s: int, param: str | None = None) -> None:
        super().__init__(message, param=param)
        self.retry_after_s = retry_after_s


class ServiceUnavailable(ApiError):
    status_code = 503
    type = "server_error"
    code = "unavailable"
    retry_after_s = RETRY_AFTER_S


def quoted(value: str, limit: int = 80) -> str:
    """A value the caller sent, safe to echo in a message: quoted, control characters escaped, bounded."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _param(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def problems_error(problems: list[tuple[str | None, str]], param: str | None = None) -> InvalidRequest:
    """Every (param, problem) in one message (so a client fixes them all at once); `param`, else the first
    problem's, names the parameter."""
    message = "; ".join(f"{name}: {text}" if name else text for name, text in problems)
    if len(problems) > 1:
        message = f"{len(problems)} problems: {message}"
    return InvalidRequest(message, param=param or problems[0][0] or None)


def from_validation_error(exc: ValidationError, prefix: str = "") -> InvalidRequest:
    return problems_error([(prefix + _param(e["loc"]), e["msg"]) for e in exc.errors()])


RETRYABLE_CLIENT_ERRORS = (408, 429)  # a timeout, a rate or queue limit: worth trying again later


def error_body(message: str, type_: str, param: str | None, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _log_server_error(request: Request, status: int, code: str | None, cause: BaseException) -> None:
    fields = {
        "request_id": request_id(request.scope), "method": request.method, "path": request.scope["path"],
        "status": status, "code": code, "error": f"{type(cause).__name__}: {cause}",
    }
    if status == 500:  # a bug: keep the traceback
        log.error("%s %s failed with %s", request.method, request.scope["path"], type(cause).__name__,
                  exc_info=cause, extra=fields)
    else:
        log.warning("%s %s answered %d: %s", request.method, request.scope["path"], status, cause, extra=fields)


def _respond(
    request: Request, status: int, message: str, type_: str, param: str | None, code: str | None, *,
    cause: BaseException, headers: dict[str, str] | None = None, retryable: bool | None = None,
) -> Response:
    if status >= 500:
        _log_server_error(request, status, code, cause)
    if retryable is None:
        retryable = status >= 500 or status in RETRYABLE_CLIENT_ERRORS
    if not retryable:
        # The same request gets the same answer: tell OpenAI's SDKs (which retry a 409, for one) not to retry it.
        headers = {**(headers or {}), "x-should-retry": "false"}
    return Response(error_body(message, type_, param, code), status_code=status, media_type=MediaType.JSON, headers=headers)


def api_error_handler(request: Request, exc: ApiError) -> Response:
    headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else None
    return _respond(request, exc.status_code, exc.message, exc.type, exc.param, exc.code, cause=exc, headers=headers,
                    retryable=exc.retryable)


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
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
    return _respond(request, exc.status_code, message, type_, param, code, cause=exc, headers=getattr(exc, "headers", None))


def invalid_id_handler(request: Request, exc: InvalidId | InvalidKey) -> Response:
    """Backstop: a malformed id, or a key the store refuses, names no object (the lookups should say so first)."""
    message = f"no such object: {exc}" if isinstance(exc, InvalidId) else "no such object"
    return api_error_handler(request, NotFound(message))


def too_deep_handler(request: Request, exc: RecursionError) -> Response:
    """The JSON decoder gives up on input nested thousands of levels deep with a RecursionError: bad input, not a bug."""
    return api_error_handler(request, InvalidRequest("the request body is nested too deeply"))


# What a backing service's outage looks like, and the code a client can branch on.
OUTAGES: dict[type[Exception], tuple[str, str]] = {
    StoreUnavailable: ("store_unavailable", "the object store is not reachable"),
    RedisConnectionError: ("queue_unavailable", "the job queue (Redis) is not reachable"),
    RedisTimeoutError: ("queue_unavailable", "the job queue (Redis) did not answer in time"),
}


def outage_handler(request: Request, exc: Exception) -> Response:
    code, what = next(v for kind, v in OUTAGES.items() if isinstance(exc, kind))
    error = ServiceUnavailable(f"{what}; the request was not completed: retry in a few seconds", code=code)
    headers = {"Retry-After": str(error.retry_after_s)}
    return _respond(request, error.status_code, error.message, error.type, None, code, cause=exc, headers=headers)


def internal_error_handler(request: Request, exc: Exception) -> Response:
    message = f"internal error; the request was not completed (request id {request_id(request.scope)})"
    return _respond(request, 500, message, "server_error", None, "internal_error", cause=exc)


EXCEPTION_HANDLERS = {
    ApiError: api_error_handler,
    HTTPException: http_exception_handler,
    InvalidId: invalid_id_handler,
    InvalidKey: invalid_id_handler,
    RecursionError: too_deep_handler,
    **{kind: outage_handler for kind in OUTAGES},
    Exception: internal_error_handler,
}


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorBody(BaseModel):
    error: ErrorDetail


def _documented(description: str) -> ResponseSpec:
    return ResponseSpec(ErrorBody, description=description, generate_examples=False)


# Documented on every /v1 operation, so generated clients can parse errors.
ERROR_RESPONSES = {
    400: _documented("Invalid request; the message lists every problem"),
    401: _documented("Missing or invalid API key"),
    404: _documented("No such object for this API key's tenant"),
    429: _documented(
        "Over one of the tenant's quotas (FTAAS_QUOTAS): `code` and the message name it (rate_limit_exceeded for "
        "requests per minute); `Retry-After` gives the seconds after which waiting may help"
    ),
    503: _documented(
        "A backing service (object store, Redis, inference server) is unreachable; nothing was changed. "
        "Retry after the `Retry-After` header's seconds"
    ),
}
# Operations that change an object's state.
CONFLICT_RESPONSES = {**ERROR_RESPONSES, 409: _documented("The object's state does not allow this (e.g. the job has finished)")}
# Operations that read a request body: the server's body-size limit applies.
BODY_RESPONSES = {**ERROR_RESPONSES, 413: _documented("The request body is larger than the server's limit, stated in the message")}
# Inference: a model's queue can be full.
INFERENCE_RESPONSES = {429: _documented(
    "The model's queue is full, or the tenant is over its requests per minute; retry after the `Retry-After` "
    "header's seconds"
)}
