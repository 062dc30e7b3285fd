"""On one machine (`ftaas up`) the API forwards inference to the serving process, so one base URL does everything.

The body is validated here first (same schemas as the serving process), so a bad request never
travels further, and the OpenAPI document describes these operations fully. In Kubernetes the
Ingress sends these paths to the serving deployment and this forwarder is unused.
"""

import httpx
from litestar import Request, Response, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from service.dependencies import Deps
from service.errors import BODY_RESPONSES, ServiceUnavailable
from service.inference.schemas import ChatCompletion, ChatCompletionRequest, Completion, CompletionRequest
from service.logs import REQUEST_ID_HEADER, request_id

FORWARDED_HEADERS = ("authorization", "content-type")
RETURNED_HEADERS = ("retry-after",)


async def _forward(services: Deps, request: Request) -> Response[bytes]:
    headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED_HEADERS}
    headers[REQUEST_ID_HEADER] = request_id(request.scope)  # one id in both processes' logs
    try:
        upstream = await services.serving.post(request.url.path, content=await request.body(), headers=headers)
    except httpx.TransportError:
        raise ServiceUnavailable(
            f"the inference server at {services.settings.serving_url} is not reachable; "
            "start it with `ftaas serve` (or run everything with `ftaas up`)",
            code="inference_unavailable",
        ) from None
    return Response(
        upstream.content,
        status_code=upstream.status_code,
        media_type=upstream.headers.get("content-type", "application/json"),
        headers={k: v for k, v in upstream.headers.items() if k.lower() in RETURNED_HEADERS},
    )


def _documented(response_type: type) -> dict:
    return {**BODY_RESPONSES, 200: ResponseSpec(response_type, description="OK", generate_examples=False)}


@post(
    "/chat/completions", responses=_documented(ChatCompletion), operation_id="create_chat_completion",
    status_code=200, tags=["inference"], summary="Chat with a base or fine-tuned model",
)
async def create_chat_completion(
    services: Deps, request: Request, data: JSONBody[ChatCompletionRequest]
) -> Response[bytes]:
    return await _forward(services, request)


@post(
    "/completions", responses=_documented(Completion), operation_id="create_completion",
    status_code=200, tags=["inference"], summary="Complete a prompt with a base or fine-tuned model",
)
async def create_completion(services: Deps, request: Request, data: JSONBody[CompletionRequest]) -> Response[bytes]:
    return await _forward(services, request)
