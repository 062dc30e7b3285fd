"""The `ftaas files|jobs` command-line client, run as a person runs it (a subprocess) against a live API, and the
job event stream it follows (GET /v1/fine_tuning/jobs/{id}/events/stream, server-sent events)."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.conftest import ALPHA
from tests.integration.test_api import CHAT, jsonl
from tests.support.serving import live_server
from tests.support.tasks import classification_examples, write_jsonl

REPO = Path(__file__).resolve().parents[2]
BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"


def ftaas(url: str, *arguments: str, key: str = "sk-alpha") -> subprocess.CompletedProcess:
    env = {**os.environ, "FTAAS_URL": url, "FTAAS_API_KEY": key}
    return subprocess.run([sys.executable, "-m", "service.cli", *arguments], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)


def sse(lines) -> list[tuple[str, dict]]:
    """(event name, data) of each server-sent event in `lines`."""
    messages, name = [], None
    for line in lines:
        if line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            messages.append((name, json.loads(line.removeprefix("data:").strip())))
    return messages


@pytest.mark.parametrize("settings", ["local"], indirect=True)
def test_the_event_stream_sends_history_then_live_events_and_ends_with_the_job(settings):
    from service.app import create_app

    with live_server(create_app(settings)) as url:
        client = httpx.Client(base_url=f"{url}/v1", headers=ALPHA, timeout=60)
        file_id = client.post("/files", data={"purpose": "fine-tune"},
                              files={"file": ("t.jsonl", jsonl(CHAT, CHAT), "application/jsonl")}).json()["id"]
        job = client.post("/fine_tuning/jobs", json={"model": BASE, "training_file": file_id}).json()
        received: list[str] = []
        first = threading.Event()

        def read() -> None:
            with client.stream("GET", f"/fine_tuning/jobs/{job['id']}/events/stream") as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                for line in response.iter_lines():
                    received.append(line)
                    if line.startswith("data:"):
                        first.set()

        reader = threading.Thread(target=read)
        reader.start()
        assert first.wait(30), "the stream sent no history"
        client.post(f"/fine_tuning/jobs/{job['id']}/cancel")  # a live event, then the job's end
        reader.join(30)
        assert not reader.is_alive(), "the stream did not end with the job"
        messages = sse(received)
        assert [m["message"] for name, m in messages if name == "fine_tuning.job.event"] == [
            f"Created fine-tuning job: {job['id']}", "Job cancelled by request"]
        assert messages[-1][0] == "fine_tuning.job" and messages[-1][1]["status"] == "cancelled"

        # Last-Event-ID goes on after that event; one that is no event of the job is refused before streaming.
        created_id = messages[0][1]["id"]
        with client.stream("GET", f"/fine_tuning/jobs/{job['id']}/events/stream", headers={"Last-Event-ID": created_id}) as r:
            rest = sse(r.iter_lines())
        assert [m.get("message", m.get("status")) for _, m in rest] == ["Job cancelled by request", "cancelled"]
        bad = client.get(f"/fine_tuning/jobs/{job['id']}/events/stream", headers={"Last-Event-ID": "ftevent-1-1"})
        assert bad.status_code == 400 and "Last-Event-ID" in bad.json()["error"]["message"]
        assert client.get("/fine_tuning/jobs/ftjob-nope/events/stream").status_code == 404


@pytest.mark.parametrize("settings", ["local"], indirect=True)
def test_a_person_at_a_terminal_uploads_trains_follows_and_gets_the_model_name(settings, tmp_path):
    from service.app import create_app
    from tests.integration.test_worker import run_worker_until_idle

    data = write_jsonl(tmp_path / "train.jsonl", classification_examples(16, seed=1))
    with live_server(create_app(settings)) as url:
        assert ftaas(url, "jobs", "list").stdout.strip() == "no jobs"
        worker = threading.Timer(3, run_worker_until_idle, args=(settings,))  # starts once the job is queued
        worker.start()
        run = ftaas(url, "jobs", "create", "--model", BASE, "--training-file", str(data), "--training-type", "lora",
                    "--n-epochs", "1", "--batch-size", "4", "--suffix", "cli", "--follow")
        worker.join()
        assert run.returncode == 0, run.stderr[-2000:]
        assert "uploaded" in run.stderr and "4/4" in run.stderr  # the progress bar reached the last step
        job_id = run.stdout.split()[0]
        assert run.stdout.strip().endswith(f"succeeded: ft:{BASE}:cli:{job_id[6:14]}")
        assert "[info] Fine-tuning job started" in run.stdout

        listed = ftaas(url, "jobs", "list", "--json")
        assert [j["status"] for j in json.loads(listed.stdout)] == ["succeeded"]
        assert "train.jsonl" in ftaas(url, "files", "list").stdout
        again = ftaas(url, "jobs", "follow", job_id)  # an ended job: its history, then its end
        assert again.returncode == 0 and again.stdout.strip().endswith(f"succeeded: ft:{BASE}:cli:{job_id[6:14]}")

        refused = ftaas(url, "jobs", "cancel", job_id)
        assert refused.returncode == 1 and "409" in refused.stderr and "already succeeded" in refused.stderr
        assert "invalid API key" in ftaas(url, "jobs", "list", key="wrong").stderr
    down = ftaas(url, "jobs", "list")
    assert down.returncode == 1 and "cannot reach" in down.stderr and "Traceback" not in down.stderr
