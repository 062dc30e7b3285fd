"""Webhook events as OpenAI sends them: the payload (`{"id": "evt_…", "object": "event", "created_at", "type",
"data": {"id": <job id>}}`), signed with the Standard Webhooks scheme OpenAI uses, so the official SDK's
`client.webhooks.unwrap(body, headers, secret=…)` verifies and parses them.

Signing: `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256>` of
`{id}.{timestamp}.{body}`, keyed with the base64-decoded part of the `whsec_…` secret; after a rotation that keeps
the old secret for a while, one `v1,…` per valid secret, space-separated. Each try is signed anew (receivers
refuse timestamps older than a few minutes). Torch-free: the API (test deliveries) and the worker use it.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
import time

import httpx
from redis.exceptions import ResponseError

from jobs.ids import new_webhook_event_id
from jobs.keys import RedisKeys
from jobs.records import WebhookEndpointRecord, now
from jobs.repository import RecordNotFound, WebhookEndpointRepository

# The events ftaas sends: a job's end, with OpenAI's names (so the SDK parses them), and two of ftaas's own: a job
# starts (or resumes) running, and a job stored a checkpoint (`data` adds checkpoint_id, fine_tuned_model_checkpoint,
# step_number).
OPENAI_EVENT_TYPES = ("fine_tuning.job.succeeded", "fine_tuning.job.failed", "fine_tuning.job.cancelled")
EXTENSION_EVENT_TYPES = ("fine_tuning.job.running", "fine_tuning.job.checkpoint.created")
EVENT_TYPES = OPENAI_EVENT_TYPES + EXTENSION_EVENT_TYPES
SECRET_PREFIX = "whsec_"
DELIVERY_TIMEOUT_S = 10.0
USER_AGENT = "ftaas-webhooks/1"

log = logging.getLogger("ftaas.webhooks")


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_hint(secret: str) -> str:
    """What the API shows of a secret after it was created: enough to tell two apart."""
    return f"{SECRET_PREFIX}…{secret[-4:]}"


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def event_body(event_type: str, job_id: str, event_id: str | None = None, created_at: int | None = None,
               data: dict | None = None) -> tuple[str, bytes]:
    """(the event's id, its JSON body); `data` adds to the job's id."""
    event_id = event_id or new_webhook_event_id()
    body = {"id": event_id, "object": "event", "created_at": created_at or now(), "type": event_type,
            "data": {"id": job_id, **(data or {})}}
    return event_id, json.dumps(body, separators=(",", ":")).encode()


async def send(client: httpx.AsyncClient, endpoint: WebhookEndpointRecord, event_id: str, body: bytes) -> int:
    """POST one try of an event to the endpoint, signed with each of its valid secrets; returns the HTTP status
    (raises httpx.HTTPError when the endpoint cannot be reached)."""
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, event_id, timestamp, body) for s in endpoint.signing_secrets(timestamp)),
    }
    response = await client.post(endpoint.url, content=body, headers=headers, timeout=DELIVERY_TIMEOUT_S)
    return response.status_code


# -- delivering job events (every worker runs WebhookDeliverer.run_forever) ------------------------------------
#
# A job's end is an entry in the RedisKeys.WEBHOOK_EVENTS stream (JobRepository.transition writes it). The workers
# read it as one consumer group: each event is fanned out into one delivery per endpoint of the job's tenant that
# subscribes to its type (a hash entry, and its due time in a sorted set), then acknowledged; an event a worker
# read but did not fan out (it died) is claimed again by another after CLAIM_IDLE_MS. A due delivery is taken by
# moving its due time past a lease (atomically, so one worker tries it at a time; one that dies mid-try leaves it
# to be tried again), tried, and then removed (2xx) or given its next due time with exponential backoff, until
# max_attempts. So an event reaches each endpoint at least once; receivers deduplicate by `webhook-id`.

GROUP = "ftaas-webhooks"
CLAIM_IDLE_MS = 60_000
TRY_LEASE_S = 60
LOG_KEPT = 100  # tries kept per endpoint
BATCH = 50

# Take a due delivery: its due time moves to now + lease only if it is still due (another worker may have taken it).
_TAKE_IF_DUE = """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if due and tonumber(due) <= tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
"""


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


class WebhookDeliverer:
    def __init__(self, redis, endpoints: WebhookEndpointRepository, consumer: str, max_attempts: int,
                 retry_base_s: float, try_lease_s: float = TRY_LEASE_S) -> None:
        self.redis = redis
        self.endpoints = endpoints
        self.consumer = consumer
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self.try_lease_s = try_lease_s  # how long a try is this worker's; a worker that dies meanwhile leaves it to others
        self._take = redis.register_script(_TAKE_IF_DUE)

    async def run_forever(self, interval_s: float) -> None:
        async with httpx.AsyncClient() as client:
            while True:
                try:
                    await self.run_once(client)
                except Exception:
                    log.exception("webhook deliveries: trying again in %.0f s", interval_s)
                await asyncio.sleep(interval_s)

    async def run_once(self, client: httpx.AsyncClient) -> int:
        """Fan out new events, then try every due delivery once; returns how many tries were made."""
        await self._fan_out()
        return await self._try_due(client)

    async def _fan_out(self) -> None:
        try:
            await self.redis.xgroup_create(RedisKeys.WEBHOOK_EVENTS, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        _, stale, _ = await self.redis.xautoclaim(RedisKeys.WEBHOOK_EVENTS, GROUP, self.consumer, CLAIM_IDLE_MS, count=BATCH)
        fresh = await self.redis.xreadgroup(GROUP, self.consumer, {RedisKeys.WEBHOOK_EVENTS: ">"}, count=BATCH)
        entries = list(stale) + [entry for _, stream_entries in fresh for entry in stream_entries]
        for entry_id, fields in entries:
            event = {_text(k): _text(v) for k, v in fields.items()}
            for endpoint in await self.endpoints.list(event["tenant"]):
                if event["type"] in endpoint.event_types:
                    delivery_id = f"{event['event_id']}:{endpoint.id}"
                    delivery = {**event, "endpoint_id": endpoint.id, "attempt": 0}
                    if await self.redis.hsetnx(RedisKeys.WEBHOOK_DELIVERIES, delivery_id, json.dumps(delivery)):
                        await self.redis.zadd(RedisKeys.WEBHOOK_DUE, {delivery_id: time.time()}, nx=True)
            await self.redis.xack(RedisKeys.WEBHOOK_EVENTS, GROUP, entry_id)

    async def _try_due(self, client: httpx.AsyncClient) -> int:
        tried = 0
        at = time.time()
        for raw_id in await self.redis.zrangebyscore(RedisKeys.WEBHOOK_DUE, "-inf", at, start=0, num=BATCH):
            delivery_id = _text(raw_id)
            if not await self._take(keys=[RedisKeys.WEBHOOK_DUE], args=[delivery_id, at, at + self.try_lease_s]):
                continue  # another worker took it
            raw = await self.redis.hget(RedisKeys.WEBHOOK_DELIVERIES, delivery_id)
            if raw is None:
                await self.redis.zrem(RedisKeys.WEBHOOK_DUE, delivery_id)
                continue
            await self._try(client, delivery_id, json.loads(raw))
            tried += 1
        return tried

    async def _try(self, client: httpx.AsyncClient, delivery_id: str, delivery: dict) -> None:
        attempt = delivery["attempt"] + 1
        try:
            endpoint = await self.endpoints.get(delivery["tenant"], delivery["endpoint_id"])
        except RecordNotFound:  # deleted since: nothing to deliver to
            await self._forget(delivery_id)
            return
        _, body = event_body(delivery["type"], delivery["job_id"], delivery["event_id"], int(float(delivery["created_at"])),
                             json.loads(delivery.get("data") or "{}"))
        status, error = None, None
        try:
            status = await send(client, endpoint, delivery["event_id"], body)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        delivered = status is not None and 200 <= status < 300
        next_at = None if delivered or attempt >= self.max_attempts else time.time() + self.retry_base_s * 2 ** (attempt - 1)
        entry = {"event_id": delivery["event_id"], "type": delivery["type"], "job_id": delivery["job_id"], "attempt": attempt,
                 "status_code": status, "error": error, "delivered": delivered, "at": now(),
                 "next_attempt_at": int(next_at) if next_at else None}
        await self.redis.lpush(RedisKeys.webhook_log(endpoint.id), json.dumps(entry))
        await self.redis.ltrim(RedisKeys.webhook_log(endpoint.id), 0, LOG_KEPT - 1)
        if next_at is None:
            await self._forget(delivery_id)
        else:
            await self.redis.hset(RedisKeys.WEBHOOK_DELIVERIES, delivery_id, json.dumps({**delivery, "attempt": attempt}))
            await self.redis.zadd(RedisKeys.WEBHOOK_DUE, {delivery_id: next_at})

    async def _forget(self, delivery_id: str) -> None:
        await self.redis.zrem(RedisKeys.WEBHOOK_DUE, delivery_id)
        await self.redis.hdel(RedisKeys.WEBHOOK_DELIVERIES, delivery_id)


async def delivery_log(redis, endpoint_id: str, limit: int) -> list[dict]:
    """The endpoint's latest delivery tries, newest first."""
    return [json.loads(raw) for raw in await redis.lrange(RedisKeys.webhook_log(endpoint_id), 0, limit - 1)]
