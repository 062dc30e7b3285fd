"""End to end with the official `openai` package against `ftaas up`: upload, fine-tune with defaults, chat.

The task (tests/support/tasks.py) maps short sentences to invented code words, which the base model
cannot know: held-out exact-match accuracy must rise from ≤ 10 % to ≥ 80 %.

With vLLM's environment (`make vllm-env`, which `make test` runs) this is `ftaas up --engine vllm`: the
fine-tuned LoRA model is called through the API on vLLM, streaming and concurrently, and must answer as
the embedded engine does.
"""

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest
import redis

from tests.conftest import TEST_CACHE, free_port
from tests.support.tasks import classification_examples, exact_match_accuracy, write_jsonl

pytestmark = pytest.mark.slow
VLLM_PYTHON = Path(__file__).parents[2] / ".venv-vllm" / "bin" / "python"


@dataclass(frozen=True)
class Up:
    url: str  # the API: the one base URL callers use
    embedded_url: str  # the embedded engine's own server, to compare answers with
    vllm: bool  # whether base models and LoRA adapters are served by vLLM
BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"
E2E_REDIS = "redis://127.0.0.1:6379/14"
N_TRAIN, N_HELD_OUT = 240, 40
JOB_TIMEOUT_S = 1200


@pytest.fixture(scope="module")
def ftaas_up(tmp_path_factory, base_model_dir):
    redis.Redis.from_url(E2E_REDIS).flushdb()
    port, serving_port = free_port(), free_port()
    env = dict(
        os.environ,
        FTAAS_API_KEYS="sk-e2e:e2e,sk-e2e-partner:partner",
        FTAAS_REDIS_URL=E2E_REDIS,
        FTAAS_STORE_URL=f"file://{tmp_path_factory.mktemp('store')}",
        FTAAS_CACHE_DIR=str(TEST_CACHE),
        FTAAS_QUEUE_NAME="ftaas:e2e",
        FTAAS_WORKER_METRICS_PORT="0",
        FTAAS_WORKER_PROBE_PORT="0",
    )
    log = open(tmp_path_factory.mktemp("logs") / "ftaas-up.log", "w+")
    engine = ["--engine", "vllm"] if VLLM_PYTHON.is_file() else []
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "up", "--port", str(port), "--serving-port", str(serving_port), *engine],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    probes = [f"{base_url}/readyz", f"http://127.0.0.1:{serving_port}/readyz"]
    if engine:
        probes.append(f"http://127.0.0.1:{serving_port + 1}/health")  # vLLM for the one catalog model
    try:
        deadline = time.monotonic() + 600
        while True:
            assert process.poll() is None, "ftaas up exited early:\n" + open(log.name).read()[-3000:]
            try:
                if all(httpx.get(url).status_code == 200 for url in probes):
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "ftaas up did not become ready:\n" + open(log.name).read()[-3000:]
            time.sleep(0.5)
        yield Up(base_url, f"http://127.0.0.1:{serving_port}", vllm=bool(engine))
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # ftaas up and everything it started (vLLM has children)
        print(open(log.name).read()[-5000:])


def predictor(client: openai.OpenAI, model: str):
    def predict(messages: list[dict]) -> str:
        reply = client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=8)
        return reply.choices[0].message.content or ""

    return predict


@pytest.mark.timeout(JOB_TIMEOUT_S + 600)
def test_fine_tune_with_defaults_teaches_the_task(ftaas_up, tmp_path):
    client = openai.OpenAI(base_url=f"{ftaas_up.url}/v1", api_key="sk-e2e", max_retries=0, timeout=300)
    held_out = classification_examples(N_HELD_OUT, seed=2, split="test")
    base_accuracy = exact_match_accuracy(predictor(client, BASE), held_out)
    assert base_accuracy <= 0.10, f"the base model already knows the task ({base_accuracy:.0%}); pick another"

    train_path = tmp_path / "train.jsonl"
    write_jsonl(train_path, classification_examples(N_TRAIN, seed=1, split="train"))
    with open(train_path, "rb") as f:
        uploaded = client.files.create(file=f, purpose="fine-tune")
    assert uploaded.status == "processed"

    # The defaults, plus one checkpoint (an ftaas extension, sent as extra_body) to list through the SDK.
    job = client.fine_tuning.jobs.create(
        model=BASE, training_file=uploaded.id, suffix="e2e", extra_body={"hyperparameters": {"n_checkpoints": 1}}
    )
    assert job.status == "queued"
    started = time.monotonic()
    saw_eta = False
    while job.status not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() - started < JOB_TIMEOUT_S, f"job still {job.status} after {JOB_TIMEOUT_S}s"
        time.sleep(2)
        job = client.fine_tuning.jobs.retrieve(job.id)
        saw_eta = saw_eta or (job.status == "running" and job.estimated_finish is not None)
    assert job.status == "succeeded", job.error
    print(f"default job: {time.monotonic() - started:.0f}s, hyperparameters {job.hyperparameters}")
    assert saw_eta, "a running job reports estimated_finish"

    events = client.fine_tuning.jobs.list_events(job.id, limit=100).data
    assert any(e.type == "metrics" for e in events)
    assert job.fine_tuned_model in [m.id for m in client.models.list().data]
    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert len(checkpoints) == 1 and checkpoints[0].id.startswith("ftckpt-")
    assert checkpoints[0].fine_tuned_model_checkpoint == f"{job.fine_tuned_model}:ckpt-step-{checkpoints[0].step_number}"
    assert checkpoints[0].metrics.step == checkpoints[0].step_number and checkpoints[0].metrics.train_loss > 0

    answers = []
    tuned = predictor(client, job.fine_tuned_model)

    def recorded(messages: list[dict]) -> str:
        answers.append((messages[-1]["content"], tuned(messages)))
        return answers[-1][1]

    tuned_accuracy = exact_match_accuracy(recorded, held_out)
    print(f"exact-match accuracy on {N_HELD_OUT} held-out prompts: base {base_accuracy:.0%}, fine-tuned {tuned_accuracy:.0%}")
    losses = [(e.data.get("step"), e.data.get("train_loss")) for e in reversed(events) if e.type == "metrics"]
    assert tuned_accuracy >= 0.80, (
        f"answers (prompt, got) {answers[:8]}; expected {[m['messages'][-1]['content'] for m in held_out[:8]]}; "
        f"train loss by step {losses[::10] + losses[-1:]}; events {[e.message for e in reversed(events) if e.type != 'metrics']}"
    )

    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model=job.fine_tuned_model + "x", messages=held_out[0]["messages"][:-1])
    check_serving(ftaas_up, client, job.fine_tuned_model, [m["messages"][:-1] for m in held_out[:12]], dict(answers))


def check_serving(up: Up, client: openai.OpenAI, model: str, prompts: list[list[dict]], answers: dict[str, str]) -> None:
    """The fine-tuned model through the API: on vLLM when `up.vllm`, streamed and concurrent answers equal to
    the answers one at a time, and equal to the embedded engine's own."""
    reply = client.chat.completions.create(model=model, messages=prompts[0], temperature=0, max_tokens=8)
    assert reply.model == model
    assert (reply.system_fingerprint or "").startswith("vllm") == up.vllm
    streamed = client.chat.completions.create(model=model, messages=prompts[0], temperature=0, max_tokens=8, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == reply.choices[0].message.content

    def ask(args: tuple[str, list[dict]]) -> str:
        name, messages = args
        return client.chat.completions.create(model=name, messages=messages, temperature=0, max_tokens=8).choices[0].message.content

    alone = {BASE: ask((BASE, prompts[0]))}
    mixed = [(model, p) for p in prompts] + [(BASE, prompts[0])] * 4
    with ThreadPoolExecutor(len(mixed)) as pool:
        together = list(pool.map(ask, mixed))
    assert together == [answers[p[-1]["content"]] for p in prompts] + [alone[BASE]] * 4

    embedded = openai.OpenAI(base_url=f"{up.embedded_url}/v1", api_key="sk-e2e", max_retries=0, timeout=300)
    assert [ask_on(embedded, model, p) for p in prompts] == [answers[p[-1]["content"]] for p in prompts]


def ask_on(client: openai.OpenAI, model: str, messages: list[dict]) -> str:
    return client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=8).choices[0].message.content


def test_bad_requests_get_clear_errors(ftaas_up, tmp_path):
    client = openai.OpenAI(base_url=f"{ftaas_up.url}/v1", api_key="sk-e2e", max_retries=0)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": []}\n')
    with pytest.raises(openai.BadRequestError, match="line 1"):
        client.files.create(file=bad.open("rb"), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError, match="unknown model"):
        client.fine_tuning.jobs.create(model="gpt-4o", training_file="file-nope")
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{ftaas_up.url}/v1", api_key="wrong", max_retries=0).models.list()
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.retrieve("ftjob-doesnotexist")


def test_the_generated_client_drives_a_whole_lifecycle(ftaas_up, tmp_path, monkeypatch):
    """clients/python, as another service uses it: upload, create, poll, events, checkpoints, a result file's
    content, chat with the model, cancel, delete; every answer typed (an ErrorBody where the API refused)."""
    monkeypatch.syspath_prepend(str(Path(__file__).parents[2] / "clients" / "python"))
    from ftaas_client import AuthenticatedClient
    from ftaas_client.api.files import create_file, delete_file, retrieve_file_content
    from ftaas_client.api.fine_tuning import (
        cancel_fine_tuning_job, create_fine_tuning_job, list_fine_tuning_checkpoints, list_fine_tuning_events,
        retrieve_fine_tuning_job,
    )
    from ftaas_client.api.inference import create_chat_completion
    from ftaas_client.api.models import delete_model, retrieve_model
    from ftaas_client.models import (
        ChatCompletion, ChatCompletionRequest, ChatMessage, ChatMessageRole, ErrorBody, FileUpload, FineTuningJob,
        Hyperparameters, JobSpec, ModelDeleted,
    )
    from ftaas_client.types import File

    client = AuthenticatedClient(base_url=ftaas_up.url, token="sk-e2e", timeout=httpx.Timeout(300))
    content = write_jsonl(tmp_path / "train.jsonl", classification_examples(8, seed=3)).read_bytes()
    uploaded = create_file.sync(client=client, body=FileUpload(
        file=File(payload=content, file_name="train.jsonl", mime_type="application/jsonl"), purpose="fine-tune"))
    body = JobSpec(model=BASE, training_file=uploaded.id, suffix="client",
                   hyperparameters=Hyperparameters(n_epochs=1, batch_size=4, n_checkpoints=1))
    job = create_fine_tuning_job.sync(client=client, body=body)
    assert isinstance(job, FineTuningJob), job
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while job.status not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, f"job still {job.status}"
        time.sleep(1)
        job = retrieve_fine_tuning_job.sync(client=client, fine_tuning_job_id=job.id)
    assert job.status == "succeeded", job.error
    assert job.hyperparameters.batch_size == 4 and job.trained_tokens > 0

    events = list_fine_tuning_events.sync(client=client, fine_tuning_job_id=job.id, limit=100).data
    assert [e.data["step"] for e in reversed(events) if e.type_.value == "metrics"] == [1, 2]
    checkpoint, = list_fine_tuning_checkpoints.sync(client=client, fine_tuning_job_id=job.id).data
    assert checkpoint.fine_tuned_model_checkpoint == f"{job.fine_tuned_model}:ckpt-step-{checkpoint.step_number}"
    metrics_csv = retrieve_file_content.sync_detailed(client=client, file_id=job.result_files[0]).parsed
    assert metrics_csv.decode().splitlines()[0].startswith("step,") and len(metrics_csv.decode().splitlines()) == 3

    question = classification_examples(1, seed=9, split="test")[0]["messages"][:-1]
    request = ChatCompletionRequest(model=job.fine_tuned_model, max_tokens=8, temperature=0, messages=[
        ChatMessage(role=ChatMessageRole(m["role"]), content=m["content"]) for m in question])
    answer = create_chat_completion.sync(client=client, body=request)
    assert isinstance(answer, ChatCompletion) and answer.model == job.fine_tuned_model, answer
    sdk = openai.OpenAI(base_url=f"{ftaas_up.url}/v1", api_key="sk-e2e", max_retries=0, timeout=300)
    assert answer.choices[0].message.content == ask_on(sdk, job.fine_tuned_model, question)

    second = create_fine_tuning_job.sync(client=client, body=body)
    assert cancel_fine_tuning_job.sync(client=client, fine_tuning_job_id=second.id).status == "cancelled"
    assert isinstance(delete_model.sync(client=client, model_id=job.fine_tuned_model), ModelDeleted)
    gone = retrieve_model.sync(client=client, model_id=job.fine_tuned_model)
    assert isinstance(gone, ErrorBody) and gone.error.code == "not_found"
    assert delete_file.sync(client=client, file_id=uploaded.id).deleted is True


def test_every_method_of_the_sdks_files_fine_tuning_and_models_resources(ftaas_up):
    from tests.e2e.every_sdk_call import run

    made = run(ftaas_up.url, "sk-e2e", "sk-e2e-partner", "partner")
    client = openai.OpenAI(api_key="unused", base_url="http://unused")
    resources = {"files": client.files, "fine_tuning.jobs": client.fine_tuning.jobs,
                 "fine_tuning.jobs.checkpoints": client.fine_tuning.jobs.checkpoints,
                 "fine_tuning.checkpoints.permissions": client.fine_tuning.checkpoints.permissions, "models": client.models}
    every = {f"{name}.{method}" for name, resource in resources.items() for method in dir(resource)
             if not method.startswith("_") and method not in ("with_raw_response", "with_streaming_response")
             and callable(getattr(resource, method))}
    assert every <= set(made), f"not called: {sorted(every - set(made))}"  # a method a new SDK adds shows up here
