"""The published contract: openapi/openapi.json and the generated client match the app, and the client works."""

import filecmp
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

from service.openapi_export import render

ROOT = Path(__file__).resolve().parents[2]


def test_openapi_document_matches_the_app():
    committed = (ROOT / "openapi" / "openapi.json").read_text()
    assert committed == render(), "openapi/openapi.json is stale: run `make client`"


def _differences(a: Path, b: Path) -> list[str]:
    cmp = filecmp.dircmp(a, b, ignore=[".ruff_cache", "__pycache__"])
    found = [str(a / n) for n in cmp.left_only + cmp.right_only + cmp.diff_files + cmp.funny_files]
    for sub in cmp.common_dirs:
        found += _differences(a / sub, b / sub)
    return found


def test_generated_client_matches_the_document(tmp_path):
    bin_dir = str(Path(sys.executable).parent)
    tool = shutil.which("openapi-python-client", path=bin_dir)
    assert tool, "openapi-python-client is a test dependency (pyproject [test])"
    # The generator formats its output with ruff, found on PATH: the environment's own bin/ must come first.
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    subprocess.run(
        [tool, "generate", "--path", str(ROOT / "openapi" / "openapi.json"), "--output-path", str(tmp_path / "client"),
         "--meta", "pdm"],
        check=True, capture_output=True, env=env,
    )
    assert _differences(ROOT / "clients" / "python", tmp_path / "client") == [], "clients/python is stale: run `make client`"


def test_generated_client_talks_to_the_api(api, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "clients" / "python"))
    from ftaas_client import AuthenticatedClient
    from ftaas_client.api.fine_tuning import create_fine_tuning_job
    from ftaas_client.api.models import list_models
    from ftaas_client.models import ErrorBody, JobSpec, ModelList

    client = AuthenticatedClient(base_url=str(api.base_url), token="sk-alpha")
    api.headers["Authorization"] = "Bearer sk-alpha"
    client.set_httpx_client(api)
    models = list_models.sync(client=client)
    assert isinstance(models, ModelList)
    assert [m.id for m in models.data] == ["HuggingFaceTB/SmolLM2-135M-Instruct"]
    error = create_fine_tuning_job.sync(client=client, body=JobSpec(model="nope", training_file="file-x"))
    assert isinstance(error, ErrorBody) and "unknown model 'nope'" in error.error.message


def test_the_generated_client_reads_every_answer_of_a_job_it_creates_pauses_resumes_and_cancels(api, monkeypatch):
    """Typed results all the way: numbers where `auto` was resolved, the file's bytes, errors as ErrorBody."""
    monkeypatch.syspath_prepend(str(ROOT / "clients" / "python"))
    from ftaas_client import AuthenticatedClient
    from ftaas_client.api.files import create_file, delete_file, list_files, retrieve_file_content
    from ftaas_client.api.fine_tuning import (
        cancel_fine_tuning_job, create_fine_tuning_job, list_fine_tuning_checkpoints, list_fine_tuning_events,
        list_fine_tuning_jobs, pause_fine_tuning_job, resume_fine_tuning_job, retrieve_fine_tuning_job,
    )
    from ftaas_client.models import (
        ErrorBody, FileDeleted, FileObject, FileUpload, FineTuningJob, Hyperparameters, JobSpec,
    )
    from ftaas_client.types import File

    client = AuthenticatedClient(base_url=str(api.base_url), token="sk-alpha")
    api.headers["Authorization"] = "Bearer sk-alpha"
    client.set_httpx_client(api)
    content = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n' * 2
    uploaded = create_file.sync(client=client, body=FileUpload(
        file=File(payload=io.BytesIO(content), file_name="train.jsonl", mime_type="application/jsonl"), purpose="fine-tune"))
    assert isinstance(uploaded, FileObject) and uploaded.n_examples == 2
    assert [f.id for f in list_files.sync(client=client).data] == [uploaded.id]
    assert retrieve_file_content.sync_detailed(client=client, file_id=uploaded.id).parsed == content

    created = create_fine_tuning_job.sync(client=client, body=JobSpec(
        model="HuggingFaceTB/SmolLM2-135M-Instruct", training_file=uploaded.id,
        hyperparameters=Hyperparameters(n_epochs=3, batch_size=2, learning_rate_multiplier=0.5)))
    assert isinstance(created, FineTuningJob), created
    for job in (created, retrieve_fine_tuning_job.sync(client=client, fine_tuning_job_id=created.id),
                list_fine_tuning_jobs.sync(client=client).data[0]):
        assert (job.hyperparameters.n_epochs, job.hyperparameters.batch_size, job.hyperparameters.learning_rate_multiplier) == (3, 2, 0.5)
    events = list_fine_tuning_events.sync(client=client, fine_tuning_job_id=created.id)
    assert events.data[0].message == f"Created fine-tuning job: {created.id}"
    assert list_fine_tuning_checkpoints.sync(client=client, fine_tuning_job_id=created.id).data == []

    paused = pause_fine_tuning_job.sync(client=client, fine_tuning_job_id=created.id)
    assert (paused.status, paused.paused) == ("queued", True)
    resumed = resume_fine_tuning_job.sync(client=client, fine_tuning_job_id=created.id)
    assert (resumed.status, resumed.paused) == ("queued", False)
    not_paused = resume_fine_tuning_job.sync(client=client, fine_tuning_job_id=created.id)
    assert isinstance(not_paused, ErrorBody) and "only paused jobs can be resumed" in not_paused.error.message

    in_use = delete_file.sync(client=client, file_id=uploaded.id)
    assert isinstance(in_use, ErrorBody) and created.id in in_use.error.message
    assert cancel_fine_tuning_job.sync(client=client, fine_tuning_job_id=created.id).status == "cancelled"
    again = cancel_fine_tuning_job.sync(client=client, fine_tuning_job_id=created.id)
    assert isinstance(again, ErrorBody) and "already cancelled" in again.error.message
    assert isinstance(delete_file.sync(client=client, file_id=uploaded.id), FileDeleted)
