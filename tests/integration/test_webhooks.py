"""Webhook endpoints through the official SDK's `client.webhooks` (every answer parsed strictly by its types), and
deliveries that the SDK's own `client.webhooks.unwrap` verifies, received by a local HTTP server."""

from collections.abc import Iterator

import openai
import pytest
from openai.types.webhooks import FineTuningJobSucceededWebhookEvent

from tests.conftest import BETA
from tests.support.serving import free_port
from tests.support.webhooks import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def client(settings) -> Iterator[openai.OpenAI]:
    from litestar.testing import TestClient

    from service.app import create_app

    with TestClient(create_app(settings.model_copy(update={"webhook_allow_http": True}))) as api:
        yield openai.OpenAI(base_url=f"{api.base_url}/v1", api_key="sk-alpha", http_client=api, max_retries=0,
                            _strict_response_validation=True)


def test_endpoints_are_managed_and_their_deliveries_verify_with_the_sdk(client, receiver):
    assert client.webhooks.event_types.list().data == [
        "fine_tuning.job.succeeded", "fine_tuning.job.failed", "fine_tuning.job.cancelled",
        "fine_tuning.job.running", "fine_tuning.job.checkpoint.created"]  # the last two: ftaas's own
    with pytest.raises(openai.BadRequestError, match="2 problems: url: 'ftp://x' is not an https or http URL; "
                       "event_types: ftaas sends no 'batch.completed' events"):
        client.webhooks.create(name="bad", url="ftp://x", event_types=["batch.completed"])

    created = client.webhooks.create(name="jobs", url=receiver.url, event_types=["fine_tuning.job.succeeded"])
    secret = created.signing_secret
    assert created.id.startswith("we_") and secret.startswith("whsec_") and created.signing_secret_hint.endswith(secret[-4:])
    shown = client.webhooks.retrieve(created.id)
    assert shown.url == receiver.url and "signing_secret" not in (shown.model_extra or {})

    result = client.webhooks.test(created.id, event_type="fine_tuning.job.succeeded")
    assert (result.status_code, result.success, result.webhook_endpoint_id) == (200, True, created.id)
    headers, body = receiver.received[-1]
    event = client.webhooks.unwrap(body, headers, secret=secret)
    assert isinstance(event, FineTuningJobSucceededWebhookEvent) and event.data.id.startswith("ftjob-")
    assert event.id == headers["webhook-id"] and event.id.startswith("evt_")
    with pytest.raises(openai.InvalidWebhookSignatureError):
        client.webhooks.unwrap(body + b" ", headers, secret=secret)  # any change breaks the signature

    # Rotation keeping the old secret for 24 hours: a delivery verifies with either; without it, only the new.
    kept = client.webhooks.rotate_secret(created.id, keep_old_secret_active_for_24_hours=True).signing_secret
    client.webhooks.test(created.id, event_type="fine_tuning.job.succeeded")
    headers, body = receiver.received[-1]
    for valid in (secret, kept):
        client.webhooks.verify_signature(body, headers, secret=valid)
    newest = client.webhooks.rotate_secret(created.id).signing_secret
    client.webhooks.test(created.id, event_type="fine_tuning.job.succeeded")
    headers, body = receiver.received[-1]
    client.webhooks.verify_signature(body, headers, secret=newest)
    for revoked in (secret, kept):
        with pytest.raises(openai.InvalidWebhookSignatureError):
            client.webhooks.verify_signature(body, headers, secret=revoked)

    receiver.status = 500
    assert client.webhooks.test(created.id, event_type="fine_tuning.job.succeeded").status_code == 500

    updated = client.webhooks.update(created.id, name="all jobs", event_types=["fine_tuning.job.succeeded", "fine_tuning.job.failed"])
    assert (updated.name, updated.event_types, updated.url) == ("all jobs", ["fine_tuning.job.succeeded", "fine_tuning.job.failed"], receiver.url)
    assert updated.updated_at is not None
    second = client.webhooks.create(name="other", url=receiver.url, event_types=["fine_tuning.job.cancelled"])
    assert [e.id for e in client.webhooks.list()] == [second.id, created.id]
    assert [e.id for e in client.webhooks.list(limit=1).data] == [second.id]

    gone = client.webhooks.delete(created.id)
    assert (gone.id, gone.deleted) == (created.id, True)
    with pytest.raises(openai.NotFoundError):
        client.webhooks.retrieve(created.id)


def test_an_unreachable_endpoint_and_another_tenants_endpoint(client, settings):
    endpoint = client.webhooks.create(name="down", url=f"http://127.0.0.1:{free_port()}/x",
                                      event_types=["fine_tuning.job.failed"])
    with pytest.raises(openai.BadRequestError, match="could not be reached"):
        client.webhooks.test(endpoint.id, event_type="fine_tuning.job.failed")
    other = client.with_options(api_key=BETA["Authorization"].removeprefix("Bearer "))
    with pytest.raises(openai.NotFoundError):
        other.webhooks.retrieve(endpoint.id)
    with pytest.raises(openai.NotFoundError):
        other.webhooks.delete(endpoint.id)
    assert other.webhooks.list().data == []


def test_a_jobs_end_reaches_its_endpoints_at_least_once_after_the_receiver_was_down(client, receiver, settings):
    """The API cancels a job; the worker's deliverer (jobs.webhooks, the code every worker runs in the background)
    sends `fine_tuning.job.cancelled` to the endpoints that subscribe to it: the first try meets a receiver that is
    down (503), the retry after the backoff is delivered, both signed for the SDK and with the same webhook-id; an
    endpoint that cannot be reached is given up after its tries; each try is in the endpoint's delivery log."""
    import asyncio

    import httpx
    import redis.asyncio

    from jobs.repository import WebhookEndpointRepository
    from jobs.store import open_store
    from jobs.webhooks import WebhookDeliverer
    from tests.integration.test_api import CHAT, jsonl

    ends = client.webhooks.create(name="ends", url=receiver.url, event_types=["fine_tuning.job.cancelled", "fine_tuning.job.failed"])
    client.webhooks.create(name="successes", url=receiver.url + "/successes", event_types=["fine_tuning.job.succeeded"])
    dead = client.webhooks.create(name="dead", url=f"http://127.0.0.1:{free_port()}/x", event_types=["fine_tuning.job.cancelled"])
    training_file = client.files.create(file=("train.jsonl", jsonl(CHAT, CHAT)), purpose="fine-tune").id
    job = client.fine_tuning.jobs.create(model="HuggingFaceTB/SmolLM2-135M-Instruct", training_file=training_file)
    client.fine_tuning.jobs.cancel(job.id)
    receiver.status = 503

    async def deliver() -> None:
        connection = redis.asyncio.Redis.from_url(settings.redis_url)
        store = open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region)
        deliverer = WebhookDeliverer(connection, WebhookEndpointRepository(store), "test", max_attempts=3, retry_base_s=0.2)
        async with httpx.AsyncClient() as http:
            assert await deliverer.run_once(http) == 2  # the first try at each subscriber
            receiver.status = 200  # the receiver is back
            await asyncio.sleep(0.3)
            assert await deliverer.run_once(http) == 2  # the retries: one delivered, one failing again
            await asyncio.sleep(0.5)
            assert await deliverer.run_once(http) == 1  # the unreachable one's last try
            await asyncio.sleep(1)
            assert await deliverer.run_once(http) == 0  # nothing is left to try
        await connection.aclose()

    asyncio.run(deliver())
    assert [h["webhook-id"] for h, _ in receiver.received] == [receiver.received[0][0]["webhook-id"]] * 2
    for headers, body in receiver.received:
        event = client.webhooks.unwrap(body, headers, secret=ends.signing_secret)
        assert (event.type, event.data.id) == ("fine_tuning.job.cancelled", job.id)

    log = client.get(f"/webhook_endpoints/{ends.id}/deliveries", cast_to=object)["data"]
    assert [(t["attempt"], t["status_code"], t["delivered"]) for t in log] == [(2, 200, True), (1, 503, False)]
    assert log[0]["next_attempt_at"] is None and log[1]["next_attempt_at"] is not None
    given_up = client.get(f"/webhook_endpoints/{dead.id}/deliveries", cast_to=object)["data"]
    assert [(t["attempt"], t["delivered"], t["next_attempt_at"]) for t in given_up] == [(3, False, None), (2, False, given_up[1]["next_attempt_at"]), (1, False, given_up[2]["next_attempt_at"])]
    assert all(t["status_code"] is None and "ConnectError" in t["error"] for t in given_up)


# A worker's deliverer in a process of its own, as in a worker pod: it tries the due deliveries once.
DELIVERER_PROCESS = """
import asyncio, sys
import httpx, redis.asyncio
from jobs.repository import WebhookEndpointRepository
from jobs.store import open_store
from jobs.webhooks import WebhookDeliverer

redis_url, store_url, endpoint_url, region, lease_s = sys.argv[1:]

async def main():
    store = open_store(store_url, endpoint_url or None, region or None)
    deliverer = WebhookDeliverer(redis.asyncio.Redis.from_url(redis_url), WebhookEndpointRepository(store), "doomed",
                                 max_attempts=3, retry_base_s=0.2, try_lease_s=float(lease_s))
    async with httpx.AsyncClient() as http:
        await deliverer.run_once(http)

asyncio.run(main())
"""


def test_a_worker_killed_while_delivering_leaves_the_delivery_to_another(client, receiver, settings):
    """SIGKILL a worker's deliverer while its POST waits on the receiver: no other worker tries the delivery while
    the dead one's lease lasts, and once it has run out another delivers it, with the same webhook-id."""
    import asyncio
    import os
    import signal
    import subprocess
    import sys
    import time

    import httpx
    import redis.asyncio

    from jobs.repository import WebhookEndpointRepository
    from jobs.store import open_store
    from jobs.webhooks import WebhookDeliverer
    from tests.integration.test_api import CHAT, jsonl

    lease_s = 5.0  # long enough that the survivor's first look comes well inside it, however busy the machine
    ends = client.webhooks.create(name="ends", url=receiver.url, event_types=["fine_tuning.job.cancelled"])
    training_file = client.files.create(file=("train.jsonl", jsonl(CHAT, CHAT)), purpose="fine-tune").id
    job = client.fine_tuning.jobs.create(model="HuggingFaceTB/SmolLM2-135M-Instruct", training_file=training_file)
    client.fine_tuning.jobs.cancel(job.id)

    receiver.hanging = True
    doomed = subprocess.Popen([sys.executable, "-c", DELIVERER_PROCESS, settings.redis_url, settings.store_url,
                               settings.s3_endpoint_url or "", settings.s3_region or "", str(lease_s)],
                              cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    deadline = time.monotonic() + 60
    while not receiver.received:  # its try reached the receiver, which does not answer
        assert doomed.poll() is None and time.monotonic() < deadline, "the deliverer never tried the delivery"
        time.sleep(0.05)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    killed_at = time.monotonic()
    receiver.hanging = False
    receiver.released.set()

    async def deliver() -> list[int]:
        connection = redis.asyncio.Redis.from_url(settings.redis_url)
        store = open_store(settings.store_url, settings.s3_endpoint_url, settings.s3_region)
        survivor = WebhookDeliverer(connection, WebhookEndpointRepository(store), "survivor", max_attempts=3,
                                    retry_base_s=0.2, try_lease_s=lease_s)
        tries = []
        async with httpx.AsyncClient() as http:
            tries.append(await survivor.run_once(http))  # the dead worker's lease still holds it
            await asyncio.sleep(max(0.0, lease_s + 0.5 - (time.monotonic() - killed_at)))
            tries.append(await survivor.run_once(http))  # the lease ran out: tried again, delivered
            tries.append(await survivor.run_once(http))  # nothing left
        await connection.aclose()
        return tries

    assert asyncio.run(deliver()) == [0, 1, 0]
    assert len(receiver.received) == 2
    assert receiver.received[0][0]["webhook-id"] == receiver.received[1][0]["webhook-id"]  # receivers deduplicate
    event = client.webhooks.unwrap(receiver.received[1][1], receiver.received[1][0], secret=ends.signing_secret)
    assert (event.type, event.data.id) == ("fine_tuning.job.cancelled", job.id)
    log = client.get(f"/webhook_endpoints/{ends.id}/deliveries", cast_to=object)["data"]
    assert [(t["attempt"], t["status_code"], t["delivered"]) for t in log] == [(1, 200, True)]  # the killed try left no trace
