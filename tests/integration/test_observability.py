"""Probes and /metrics of each process, over HTTP against the running servers (issue 11).

Every /metrics is parsed by prometheus_client's parsers: the text format (what a plain scraper gets) and OpenMetrics
(what Prometheus 2 and 3 ask for first; its parser is strict), and its Content-Type is checked against the rules
Prometheus 3 applies (one header, a media type it knows, a known version, no repeated parameter)."""

import asyncio
import contextlib
import threading
import time
import uuid

import httpx
import pytest
import redis

from jobs import queue
from jobs.observability import new_registry
from jobs.runner import training_exit_reason
from jobs.worker import create_worker
from jobs.worker_ops import HEARTBEAT_INTERVAL_S
from prometheus_client import generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text
from service.app import create_app
from tests.conftest import ALPHA, TEST_REDIS_URL, free_port, make_settings
from tests.support.faults import redis_proxy  # noqa: F401 - fixture
from tests.integration.test_api_errors import create_job, upload
from tests.support.serving import live_server

# The Accept headers of the two Prometheus majors (scrape_protocols' defaults), and of a scraper that sends none.
PROMETHEUS_3_ACCEPT = ("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
                       "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;"
                       "q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1")
PROMETHEUS_2_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                       "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
KNOWN_VERSIONS = {"text/plain": {"0.0.4", "1.0.0"}, "application/openmetrics-text": {"0.0.1", "1.0.0"}}


def check_content_type(response: httpx.Response) -> str:
    """The media type, after checking the header as Prometheus 3 parses it (Go's mime.ParseMediaType + its table)."""
    values = response.headers.get_list("content-type")
    assert len(values) == 1, values
    media_type, *params = [part.strip() for part in values[0].split(";")]
    names = [p.split("=", 1)[0].strip().lower() for p in params]
    assert all("=" in p for p in params) and len(names) == len(set(names)), f"repeated or bad parameter: {values[0]}"
    options = dict(p.split("=", 1) for p in params)
    assert media_type in KNOWN_VERSIONS, values[0]
    assert options.get("charset", "utf-8").lower() == "utf-8", values[0]
    assert options.get("version", next(iter(KNOWN_VERSIONS[media_type]))) in KNOWN_VERSIONS[media_type], values[0]
    return media_type


def scrape(url: str) -> dict[str, list]:
    """`{url}/metrics` as each kind of scraper gets it, every answer parsed; the samples by family name."""
    families: dict[str, list] = {}
    for accept in (None, PROMETHEUS_2_ACCEPT, PROMETHEUS_3_ACCEPT):
        response = httpx.get(f"{url}/metrics", headers={"accept": accept} if accept else {})
        assert response.status_code == 200
        media_type = check_content_type(response)
        assert media_type == ("text/plain" if accept is None else "application/openmetrics-text")
        parse = parse_text if media_type == "text/plain" else parse_openmetrics
        parsed = {f.name: f.samples for f in parse(response.text)}
        if accept is None:
            families = parsed
    names = {s.name for samples in families.values() for s in samples}  # the series (ftaas_api_jobs_created_total is one)
    assert not [n for n in names if n.endswith("_created")], "a _created series"
    assert any(n.startswith("process_") for n in names) and any(n.startswith("python_gc_") for n in names)
    return families


def value(families: dict[str, list], name: str, **labels: str) -> float:
    return sum(s.value for samples in families.values() for s in samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


# -- API -------------------------------------------------------------------------------------------


@pytest.fixture
def api_settings(redis_proxy, tmp_path, cache_dir, redis_url):  # noqa: F811 - the fixture
    redis.Redis.from_url(redis_url).flushdb()
    db = TEST_REDIS_URL.rsplit("/", 1)[1]
    return make_settings(f"file://{tmp_path}/store", cache_dir, redis_url=f"redis://127.0.0.1:{redis_proxy.port}/{db}")


def test_api_metrics_parse_count_unknown_routes_under_one_label(api_settings):
    with live_server(create_app(api_settings)) as url:
        assert httpx.get(f"{url}/v1/models", headers=ALPHA).status_code == 200
        for path in ("/v1/nowhere", f"/scan/{uuid.uuid4().hex}", "/.env"):
            assert httpx.get(url + path).status_code == 404
        assert httpx.delete(f"{url}/v1/models", headers=ALPHA).status_code == 405
        assert httpx.request("BREW", f"{url}/v1/models").status_code in (400, 404, 405)
        families = scrape(url)
    requests = families["ftaas_api_requests"]
    assert value(families, "ftaas_api_requests_total", route="/v1/models", status="200", method="GET") == 1
    assert value(families, "ftaas_api_requests_total", route="unmatched", status="404") >= 3
    assert value(families, "ftaas_api_requests_total", route="unmatched", status="405") >= 1
    assert {s.labels["method"] for s in requests} <= {"GET", "POST", "DELETE", "other"}
    assert not [s for s in requests if "scan" in s.labels["route"] or ".env" in s.labels["route"]]
    buckets = {float(s.labels["le"]) for s in families["ftaas_api_request_duration_seconds"] if s.name.endswith("_bucket")}
    assert 600 in buckets  # proxied inference runs for minutes


def test_api_liveness_ignores_redis_and_readiness_degrades(api_settings, redis_proxy):  # noqa: F811
    with live_server(create_app(api_settings)) as url, httpx.Client(base_url=url) as client:
        job = create_job(client, upload(client)["id"]).json()
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready", "checks": {"redis": "ok", "store": "ok"}}

        redis_proxy.cut()
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        degraded = httpx.get(f"{url}/readyz")  # still in the Service: every pod sees the same Redis
        assert degraded.status_code == 200, degraded.text
        assert degraded.json()["status"] == "degraded" and degraded.json()["checks"]["redis"].startswith("unreachable")
        assert degraded.json()["checks"]["store"] == "ok"
        needs_redis = httpx.get(f"{url}/v1/fine_tuning/jobs/{job['id']}/events", headers=ALPHA)
        assert needs_redis.status_code == 503 and needs_redis.json()["error"]["code"] == "queue_unavailable"
        assert httpx.get(f"{url}/v1/models", headers=ALPHA).status_code == 200  # what needs no Redis still works
        assert value(scrape(url), "ftaas_api_dependency_up", dependency="redis") == 0

        redis_proxy.restore()
        assert httpx.get(f"{url}/readyz").json()["status"] == "ready"
        assert value(scrape(url), "ftaas_api_dependency_up", dependency="redis") == 1


# -- serving ---------------------------------------------------------------------------------------


def test_serving_ready_only_once_base_models_are_loaded_and_its_metrics_parse(tmp_path, base_model_dir):
    from jobs.catalog import Catalog
    from jobs.serving.engine import EmbeddedEngine
    from jobs.store import LocalStore
    from service.inference.app import create_serving_app
    from tests.integration.test_serving import serving_settings

    store = LocalStore(tmp_path / "store")
    settings = serving_settings(store, tmp_path / "cache", base_model_dir)
    engine = EmbeddedEngine(Catalog.from_setting(settings.models, settings.cache_dir), store, settings.cache_dir)
    gate, load = threading.Event(), engine.load_bases
    engine.load_bases = lambda: (gate.wait(120), load())  # loading "takes" until the test opens the gate
    with live_server(create_serving_app(settings, engine), ready_path="/healthz") as url:
        loading = httpx.get(f"{url}/readyz")
        assert loading.status_code == 503 and loading.json()["error"]["code"] == "engine_loading"
        scrape(url)  # metrics answer while loading
        gate.set()
        deadline = time.monotonic() + 120
        while httpx.get(f"{url}/readyz").status_code != 200:
            assert time.monotonic() < deadline, httpx.get(f"{url}/readyz").text
            time.sleep(0.2)
        assert engine.ready
        families = scrape(url)
        assert "ftaas_serving_time_to_first_token_seconds" in families
        assert httpx.get(f"{url}/nowhere").status_code == 404  # the serving process counts inference only


# -- worker ----------------------------------------------------------------------------------------


def worker_settings(tmp_path, cache_dir, redis_url: str, **overrides):
    port = free_port()
    return make_settings(f"file://{tmp_path}/store", cache_dir, redis_url=redis_url, worker_probe_port=port,
                         worker_metrics_port=port, worker_liveness_timeout_seconds=3, reconcile_interval_seconds=1,
                         **overrides)


async def get(url: str) -> httpx.Response:
    return await asyncio.to_thread(httpx.get, url, timeout=5)


async def until(what: str, check, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def running_worker(settings):
    """A long-running worker (probes and metrics on) on this loop; arq's signal handlers want the main thread."""
    worker = create_worker(settings)
    task = asyncio.create_task(worker.async_run())
    url = f"http://127.0.0.1:{settings.worker_probe_port}"

    async def answering() -> bool:
        assert not task.done(), task
        try:
            return (await get(f"{url}/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await until("the worker is ready", answering)
        yield url
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, redis.exceptions.ConnectionError):
            await task  # arq's poll gives up on a Redis outage: in production the process exits and is restarted
        await worker.close()


def test_worker_liveness_follows_its_event_loop_and_metrics_parse(tmp_path, cache_dir, redis_url):
    settings = worker_settings(tmp_path, cache_dir, redis_url)

    async def scenario() -> None:
        async with running_worker(settings) as url:
            assert (await get(f"{url}/healthz")).json()["status"] == "ok"
            assert (await get(f"{url}/readyz")).json()["checks"] == {"event_loop": "ok", "redis": "ok", "shutdown": "ok"}
            families = await asyncio.to_thread(scrape, url)
            for name in ("ftaas_worker_queue_depth", "ftaas_worker_queue_oldest_age_seconds", "ftaas_worker_running_jobs",
                         "ftaas_worker_heartbeat_age_seconds"):
                assert name in families, name
            assert (await get(f"{url}/nope")).status_code == 404

            # A job waiting (deferred: this worker does not take it) shows in the queue's depth.
            pool = await queue.connect(settings.redis_url, settings.queue_name)
            await pool.enqueue_job(queue.TRAINING_TASK, "alpha", "ftjob-waiting", _job_id="ftjob-waiting", _defer_by=3600)
            await until("the depth counts it", lambda: asyncio.to_thread(
                lambda: value(scrape(url), "ftaas_worker_queue_depth") == 1))
            await pool.aclose()

            # The loop hangs (a blocking call on it): the probe thread answers, and says it is not live.
            seen: list[int] = []

            def probe() -> None:
                deadline = time.monotonic() + settings.worker_liveness_timeout_seconds + 3
                while time.monotonic() < deadline:
                    seen.append(httpx.get(f"{url}/healthz", timeout=5).status_code)
                    time.sleep(0.2)

            prober = threading.Thread(target=probe)
            prober.start()
            time.sleep(settings.worker_liveness_timeout_seconds + 2)  # blocks the worker's loop
            await asyncio.to_thread(prober.join)
            assert seen[0] == 200 and 503 in seen, seen
            await until("live again", lambda: asyncio.to_thread(lambda: httpx.get(f"{url}/healthz").status_code == 200))

    asyncio.run(scenario())


def test_worker_is_not_ready_without_redis_but_stays_live(tmp_path, cache_dir, redis_url, redis_proxy):  # noqa: F811
    db = TEST_REDIS_URL.rsplit("/", 1)[1]
    settings = worker_settings(tmp_path, cache_dir, f"redis://127.0.0.1:{redis_proxy.port}/{db}")

    async def scenario() -> None:
        async with running_worker(settings) as url:
            await asyncio.to_thread(redis_proxy.cut)
            await until("not ready", lambda: asyncio.to_thread(
                lambda: httpx.get(f"{url}/readyz").status_code == 503), timeout_s=4 * HEARTBEAT_INTERVAL_S + 5)
            answer = (await get(f"{url}/readyz")).json()
            assert answer["status"] == "not ready" and answer["checks"]["redis"].startswith("unreachable"), answer
            assert (await get(f"{url}/healthz")).status_code == 200
            await asyncio.to_thread(redis_proxy.restore)
            await until("ready again", lambda: asyncio.to_thread(
                lambda: httpx.get(f"{url}/readyz").status_code == 200), timeout_s=4 * HEARTBEAT_INTERVAL_S + 5)

    asyncio.run(scenario())


def test_worker_probes_answer_with_metrics_off(tmp_path, cache_dir, redis_url):
    settings = worker_settings(tmp_path, cache_dir, redis_url)
    settings = settings.model_copy(update={"worker_metrics_port": 0})

    async def scenario() -> None:
        async with running_worker(settings) as url:
            assert (await get(f"{url}/healthz")).status_code == 200
            assert (await get(f"{url}/metrics")).status_code == 404

    asyncio.run(scenario())


def test_queue_waiting_stats_count_untaken_jobs_and_the_oldest_due(redis_url):
    name = f"ftaas:test:{uuid.uuid4().hex[:8]}"

    async def scenario() -> None:
        pool = await queue.connect(redis_url, name)
        try:
            assert await queue.waiting_stats(pool, name, time.time()) == (0, 0.0)
            await pool.enqueue_job(queue.TRAINING_TASK, "t", "ftjob-due", _job_id="ftjob-due")
            await pool.enqueue_job(queue.TRAINING_TASK, "t", "ftjob-later", _job_id="ftjob-later", _defer_by=600)
            await pool.enqueue_job(queue.TRAINING_TASK, "t", "ftjob-taken", _job_id="ftjob-taken")
            await pool.set("arq:in-progress:ftjob-taken", 1)
            depth, age = await queue.waiting_stats(pool, name, time.time() + 30)
            assert depth == 2 and 29 <= age <= 40
        finally:
            await pool.aclose()

    asyncio.run(scenario())


def test_training_exit_reasons_are_bounded():
    from jobs.worker_ops import TRAINING_EXIT_REASONS

    cases = [(0, None), (-9, "it was killed (SIGKILL), most likely by the kernel's out-of-memory killer"),
             (3, "it ran out of accelerator memory"), (-15, None), (1, None)]
    assert [training_exit_reason(*case) for case in cases] == ["ok", "killed", "out_of_memory", "signal", "error"]
    assert {training_exit_reason(*c) for c in cases} <= set(TRAINING_EXIT_REASONS)


def test_registries_have_no_created_series_and_the_process_collectors():
    text = generate_latest(new_registry()).decode()
    assert "process_cpu_seconds_total" in text and "python_gc_objects_collected_total" in text and "_created" not in text


def test_accelerator_series_come_from_nvml_and_are_absent_without_it(monkeypatch):
    """No GPU here: NVML is faked at its Python API (nvidia-ml-py's names); without NVML there is no series."""
    import sys
    import types

    from prometheus_client import CollectorRegistry

    from jobs.observability import AcceleratorCollector

    registry = CollectorRegistry()
    registry.register(AcceleratorCollector("ftaas_worker"))
    # Collecting never fails: on a machine without an NVIDIA driver (CI) no series, with one a series per device.
    assert all(f.name.startswith("ftaas_worker_accelerator_") for f in parse_text(generate_latest(registry).decode()))

    fake = types.SimpleNamespace(
        NVMLError=RuntimeError, nvmlInit=lambda: None, nvmlDeviceGetCount=lambda: 2,
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetMemoryInfo=lambda h: types.SimpleNamespace(used=(h + 1) * 2**30, total=80 * 2**30),
        nvmlDeviceGetUtilizationRates=lambda h: types.SimpleNamespace(gpu=50 * h),
    )
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    registry = CollectorRegistry()
    registry.register(AcceleratorCollector("ftaas_worker"))
    families = {f.name: f.samples for f in parse_text(generate_latest(registry).decode())}
    assert value(families, "ftaas_worker_accelerator_memory_used_bytes", device="1") == 2 * 2**30
    assert value(families, "ftaas_worker_accelerator_memory_total_bytes", device="0") == 80 * 2**30
    assert value(families, "ftaas_worker_accelerator_utilization_ratio", device="1") == 0.5
