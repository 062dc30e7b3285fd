"""`Idempotency-Key` on the POSTs that create something (a file, a job, checkpoint permissions).

A client that retries a create (a timeout, a dropped connection) with the same key gets the first request's
answer instead of a second object: the first request with a key claims it in Redis (SET NX, so one claim wins
across every API replica), runs, and stores its answer; the others wait for that answer and replay it. The same
key with a different request (method, path, query or body) is a 409 naming the key. Keys belong to the caller's
tenant and last KEY_TTL_S. Only successful answers are kept: after an error the key is free again, so the
corrected request can use it.

The request body is read first (into a temporary file past a MiB, so an upload is never held in memory) to
fingerprint the request, then handed to the handler as it came.
"""

import asyncio
import base64
import hashlib
import json
import re
import tempfile

from litestar.connection import ASGIConnection
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from jobs.keys import RedisKeys
from service.auth import authenticate
from service.errors import AuthenticationFailed, Conflict, InvalidRequest, PayloadTooLarge, quoted

IDEMPOTENCY_HEADER = "idempotency-key"
REPLAYED_HEADER = "idempotent-replayed"
KEY_TTL_S = 24 * 3600
CLAIM_TTL_S = 15 * 60  # a claim whose request died frees its key after this; waiting ones then try it again
WAIT_FIRST_POLL_S, WAIT_MAX_POLL_S = 0.02, 1.0  # how often a retry looks for the first request's answer
MAX_KEY_CHARACTERS = 255
SPOOL_BYTES = 2**20
READ_CHUNK_BYTES = 2**20
MULTIPART_BOUNDARY = re.compile(rb"boundary=([^;]+)", re.IGNORECASE)


def _key_of(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == IDEMPOTENCY_HEADER.encode():
            return value.decode("latin-1")
    return None


def idempotent(app: ASGIApp) -> ASGIApp:
    """Route middleware for a create endpoint (Litestar answers the errors it raises in OpenAI's shape)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        key = _key_of(scope) if scope["type"] == "http" else None
        if key is None:
            await app(scope, receive, send)
            return
        services = scope["app"].state.services
        try:
            tenant = authenticate(ASGIConnection(scope), services.settings.tenants_by_key)
        except AuthenticationFailed:
            await app(scope, receive, send)  # the API-key guard answers
            return
        if not key or len(key) > MAX_KEY_CHARACTERS or not key.isprintable() or not key.isascii():
            raise InvalidRequest(f"Idempotency-Key must be 1 to {MAX_KEY_CHARACTERS} printable ASCII characters",
                                 param="Idempotency-Key")
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as body:
            await _read_body(receive, body, scope["app"].request_max_body_size)
            fingerprint = _fingerprint(scope, body)
            redis_key = RedisKeys.idempotency(tenant, hashlib.sha256(key.encode()).hexdigest())
            if await _replayed(services.redis, redis_key, key, fingerprint, send):
                return
            try:
                answer = await _run(app, scope, _replaying(body, receive), send)
            except BaseException:
                await services.redis.delete(redis_key)
                raise
        if 200 <= answer["status"] < 300:
            await services.redis.set(redis_key, json.dumps({"fingerprint": fingerprint, **answer}), ex=KEY_TTL_S)
        else:
            await services.redis.delete(redis_key)

    return middleware


async def _read_body(receive: Receive, into, limit: int) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise InvalidRequest("the client went away while sending the request")
        chunk = message.get("body", b"")
        if into.tell() + len(chunk) > limit:
            raise PayloadTooLarge(f"the request body is larger than this server's limit of {limit:,} bytes")
        into.write(chunk)
        if not message.get("more_body", False):
            return


def _fingerprint(scope: Scope, body) -> str:
    """The request as the client meant it: method, path, query and body, where a multipart body's boundary (a
    random string each time a client encodes the same form) counts as the same."""
    query = scope.get("query_string", b"").decode("latin-1")
    digest = hashlib.sha256(f"{scope['method']} {scope['path']}?{query}\n".encode())
    content_type = next((v for k, v in scope.get("headers", ()) if k.lower() == b"content-type"), b"")
    found = MULTIPART_BOUNDARY.search(content_type)
    boundary = b"--" + found.group(1).strip(b'"') if found else None
    keep = len(boundary) - 1 if boundary else 0
    body.seek(0)
    carry = b""
    while chunk := body.read(READ_CHUNK_BYTES):
        data = carry + chunk
        if boundary:
            data = data.replace(boundary, b"--boundary")
        carry = data[len(data) - keep:] if keep else b""
        digest.update(data[: len(data) - keep] if keep else data)
    digest.update(carry)
    return digest.hexdigest()


async def _replayed(redis, redis_key: str, key: str, fingerprint: str, send: Send) -> bool:
    """Claim the key (False: this request runs), or answer with the first request's answer (True) once there is one."""
    claim = json.dumps({"fingerprint": fingerprint})
    poll_s = WAIT_FIRST_POLL_S
    while True:
        if await redis.set(redis_key, claim, nx=True, ex=CLAIM_TTL_S):
            return False
        saved = await redis.get(redis_key)
        if saved is None:
            continue  # the first request failed and freed the key
        saved = json.loads(saved)
        if saved["fingerprint"] != fingerprint:
            raise Conflict(f"Idempotency-Key {quoted(key)} was already used with a different request; send a new key "
                           "for a new request", param="Idempotency-Key", code="idempotency_key_reused")
        if "status" in saved:
            await send({"type": "http.response.start", "status": saved["status"], "headers": [
                (b"content-type", saved["content_type"].encode()), (REPLAYED_HEADER.encode(), b"true")]})
            await send({"type": "http.response.body", "body": base64.b64decode(saved["body"])})
            return True
        await asyncio.sleep(poll_s)
        poll_s = min(poll_s * 2, WAIT_MAX_POLL_S)


def _replaying(body, receive: Receive) -> Receive:
    """`receive` for the handler: the body read before, then the client's own messages (a disconnect)."""
    size = body.seek(0, 2)
    body.seek(0)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        chunk = body.read(READ_CHUNK_BYTES)
        replayed = body.tell() >= size
        return {"type": "http.request", "body": chunk, "more_body": not replayed}

    return replay


async def _run(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> dict:
    """Run the handler, sending its answer on and keeping a copy (creation answers are small JSON documents)."""
    answer: dict = {"status": 500, "content_type": "application/json", "body": b""}
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["content_type"] = next((v.decode("latin-1") for k, v in message.get("headers", ())
                                           if k.lower() == b"content-type"), "application/json")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
        await send(message)

    await app(scope, receive, keep)
    answer["body"] = base64.b64encode(b"".join(chunks)).decode()
    return answer
