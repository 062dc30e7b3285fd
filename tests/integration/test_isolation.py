"""Tenant isolation drills against the API (both store back-ends): another tenant's ids, and ids built to
walk out of the caller's prefix, in bodies and in paths. Each is refused (400 or 404) and creates nothing."""

from urllib.parse import quote

import pytest

from jobs import keys
from jobs.ids import checkpoint_model_name, fine_tuned_model_id, new_checkpoint_id
from jobs.records import CheckpointRecord, FileRecord, ModelManifest
from tests.conftest import ALPHA, BETA
from tests.integration.test_api import CHAT, create_job, jsonl, store_of, upload

BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture
def alphas(api) -> dict:
    """Alpha's file, job, fine-tuned model and checkpoint (the model and checkpoint records written as a
    finished job writes them)."""
    job = create_job(api)
    store = store_of(api)
    model = fine_tuned_model_id(BASE, None, job["id"])
    store.put_json(keys.model_manifest("alpha", model), ModelManifest(
        id=model, tenant="alpha", base_model=BASE, job_id=job["id"], attempt=1, files=["adapter_config.json"],
        extra={"training_type": {"type": "lora", "r": 8}},
    ).model_dump())
    checkpoint = CheckpointRecord(
        id=new_checkpoint_id(), tenant="alpha", job_id=job["id"], step=2, fine_tuned_model_checkpoint=checkpoint_model_name(model, 2),
        artifact="adapter", base_model=BASE, training_type={"type": "lora", "r": 8}, task_format="chat",
    )
    store.put_json(keys.job_checkpoint_record("alpha", job["id"], 2), checkpoint.model_dump())
    for ref in (checkpoint.id, checkpoint.fine_tuned_model_checkpoint):
        store.put_json(keys.checkpoint_pointer("alpha", ref), {"job_id": job["id"], "step": 2})
    return {"file": job["training_file"], "job": job["id"], "model": model, "checkpoint": checkpoint}


def beta_creates(api, **body):
    return api.post("/v1/fine_tuning/jobs", json={"model": BASE, **body}, headers=BETA)


def assert_beta_has_no_job(api):
    assert api.get("/v1/fine_tuning/jobs", headers=BETA).json()["data"] == []
    assert list(store_of(api).list_keys("beta/jobs/")) == []


def test_another_tenants_ids_in_a_body_name_nothing(api, alphas):
    r = beta_creates(api, training_file=alphas["file"])
    assert r.status_code == 400 and f"no file '{alphas['file']}'" in r.json()["error"]["message"]
    r = beta_creates(api, training_file=alphas["file"], validation_file=alphas["file"])
    assert r.status_code == 400 and r.json()["error"]["message"].count("no file") == 2
    beta_file = upload(api, jsonl(CHAT, CHAT), headers=BETA).json()["id"]
    for model in (alphas["model"], alphas["checkpoint"].id, alphas["checkpoint"].fine_tuned_model_checkpoint):
        r = beta_creates(api, model=model, training_file=beta_file)
        assert r.status_code == 400, r.text
        assert f"no fine-tuned model or checkpoint '{model}'" in r.json()["error"]["message"]
        assert r.json()["error"]["param"] == "model"
    assert api.get("/v1/fine_tuning/jobs", headers=BETA).json()["data"] == []


TRAVERSALS = [
    "../../alpha/files/{file}", "x/../../../alpha/files/{file}", "{file}/../../../alpha/files/{file}",
    "../../../../etc/passwd", "/etc/passwd", "file-\u0000x", "{file}\u0000", "file-" + "a" * 300, "%2e%2e%2falpha",
    "..\\..\\alpha\\files\\{file}", "file-abc\n", " {file}", "FILE-{file}",
]


@pytest.mark.parametrize("form", TRAVERSALS)
def test_ids_built_to_leave_the_tenant_are_refused_in_bodies(api, alphas, form):
    bad = form.format(file=alphas["file"])
    beta_file = upload(api, jsonl(CHAT, CHAT), headers=BETA).json()["id"]
    for field in ("training_file", "validation_file"):
        body = {"training_file": bad} if field == "training_file" else {"training_file": beta_file, "validation_file": bad}
        r = beta_creates(api, **body)
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert error["param"] == field and "is not a file id" in error["message"]
        assert "Files validated" not in r.text
    assert_beta_has_no_job(api)


@pytest.mark.parametrize("form", TRAVERSALS + ["{file}%00", "..%2F..%2Falpha%2Ffiles%2F{file}"])
def test_ids_built_to_leave_the_tenant_are_refused_in_paths(api, alphas, form):
    bad = quote(form.format(file=alphas["file"]), safe="%")
    for path in (f"/v1/files/{bad}", f"/v1/files/{bad}/content", f"/v1/fine_tuning/jobs/{bad}",
                 f"/v1/fine_tuning/jobs/{bad}/events", f"/v1/fine_tuning/jobs/{bad}/checkpoints", f"/v1/models/{bad}"):
        r = api.get(path, headers=BETA)
        assert r.status_code in (400, 404), (path, r.status_code, r.text)
        assert r.json()["error"]["type"] == "invalid_request_error"
        assert alphas["file"] not in r.text or "no " in r.json()["error"]["message"]
    assert_beta_has_no_job(api)


def test_another_tenants_objects_by_path_are_404(api, alphas):
    ref = quote(alphas["checkpoint"].fine_tuned_model_checkpoint, safe="")
    for path in (f"/v1/files/{alphas['file']}", f"/v1/files/{alphas['file']}/content", f"/v1/fine_tuning/jobs/{alphas['job']}",
                 f"/v1/fine_tuning/jobs/{alphas['job']}/events", f"/v1/fine_tuning/jobs/{alphas['job']}/checkpoints",
                 f"/v1/models/{alphas['model']}", f"/v1/models/{ref}"):
        assert api.get(path, headers=BETA).status_code == 404, path
        assert api.get(path, headers=ALPHA).status_code != 404 or path.endswith(ref), path
    assert api.post(f"/v1/fine_tuning/jobs/{alphas['job']}/cancel", headers=BETA).status_code == 404


def test_a_record_under_one_tenant_that_names_another_is_not_served(api, alphas):
    """Defence in depth: a record is served only when the tenant it names is the caller's."""
    store = store_of(api)
    planted = FileRecord(id="file-planted", tenant="alpha", filename="x.jsonl", purpose="fine-tune", bytes=1, sha256="0")
    store.put_json(keys.file_record("beta", "file-planted"), planted.model_dump())
    assert api.get("/v1/files/file-planted", headers=BETA).status_code == 404


def test_deleting_a_model_or_a_file_takes_it_away_for_good_and_only_for_its_owner(api, alphas):
    import openai

    def sdk(key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{api.base_url}/v1", api_key=key, http_client=api, max_retries=0)

    alpha, beta, model, store = sdk("sk-alpha"), sdk("sk-beta"), alphas["model"], store_of(api)
    with pytest.raises(openai.NotFoundError):
        beta.models.delete(model)
    with pytest.raises(openai.BadRequestError, match="base model"):
        alpha.models.delete(BASE)
    with pytest.raises(openai.BadRequestError, match="is a checkpoint of a job"):
        alpha.models.delete(alphas["checkpoint"].fine_tuned_model_checkpoint)
    continuing = api.post("/v1/fine_tuning/jobs", headers=ALPHA, json={"model": model, "training_file": alphas["file"]})
    assert continuing.status_code == 200, continuing.text
    with pytest.raises(openai.ConflictError, match=continuing.json()["id"]):
        alpha.models.delete(model)
    assert api.post(f"/v1/fine_tuning/jobs/{continuing.json()['id']}/cancel", headers=ALPHA).status_code == 200

    deleted = alpha.models.delete(model)
    assert (deleted.id, deleted.object, deleted.deleted) == (model, "model", True)
    assert model not in [m.id for m in alpha.models.list()]
    with pytest.raises(openai.NotFoundError):
        alpha.models.retrieve(model)
    assert list(store.list_keys(keys.model_prefix("alpha", model))) == []
    chat = api.post("/v1/chat/completions", headers=ALPHA, json={"model": model, "messages": [{"role": "user", "content": "hi"}]})
    assert chat.status_code == 404, chat.text

    # The job that trains on the file has not ended: the file stays until it has.
    with pytest.raises(openai.ConflictError, match=alphas["job"]):
        alpha.files.delete(alphas["file"])
    with pytest.raises(openai.NotFoundError):
        beta.files.delete(alphas["file"])
    assert api.post(f"/v1/fine_tuning/jobs/{alphas['job']}/cancel", headers=ALPHA).status_code == 200
    deleted = alpha.files.delete(alphas["file"])
    assert (deleted.id, deleted.object, deleted.deleted) == (alphas["file"], "file", True)
    with pytest.raises(openai.NotFoundError):
        alpha.files.retrieve(alphas["file"])
    assert api.get(f"/v1/files/{alphas['file']}/content", headers=ALPHA).status_code == 404
    assert not store.exists(keys.file_content("alpha", alphas["file"]))
    with pytest.raises(openai.NotFoundError):
        alpha.files.delete(alphas["file"])
