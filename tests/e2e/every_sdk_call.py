"""Every method of the official `openai` package's `files`, `fine_tuning` (jobs, their checkpoints, checkpoint
permissions) and `models` resources, once, against an ftaas server; every answer parsed strictly under the SDK's
own types (`_strict_response_validation=True`), so a field the SDK would reject fails the run.

    python -m tests.e2e.every_sdk_call --url http://127.0.0.1:8000 --key sk-... --partner-key sk-... --partner-project NAME

`--partner-*`: a second tenant of the same deployment (an API key and its tenant name), which a checkpoint is shared
with. It trains one small job on the server's SmolLM2-135M-Instruct (about a minute on a CPU). Not covered:
`fine_tuning.alpha.graders` (reinforcement fine-tuning's graders, which ftaas does not offer).
"""

import argparse
import json
import sys
import time

import openai
from openai.types.fine_tuning import FineTuningJob

BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"
EXAMPLES = [{"messages": [{"role": "user", "content": f"Say the word number {i}."},
                          {"role": "assistant", "content": f"Word {i}."}]} for i in range(8)]
TIMEOUT_S = 900


def _wait(client: openai.OpenAI, job_id: str, done) -> FineTuningJob:
    deadline = time.monotonic() + TIMEOUT_S
    while not done(job := client.fine_tuning.jobs.retrieve(job_id)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} is still {job.status}")
        time.sleep(1)
    return job


def run(url: str, key: str, partner_key: str, partner_project: str) -> list[str]:
    """Makes every call; returns the names of the calls made (an assertion fails on a wrong answer)."""
    made = []

    def call(name: str, method, *args, **kwargs):
        made.append(name)
        return method(*args, **kwargs)

    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=300, _strict_response_validation=True)
    partner = openai.OpenAI(base_url=f"{url}/v1", api_key=partner_key, max_retries=0, timeout=300,
                            _strict_response_validation=True)
    content = "".join(json.dumps(e) + "\n" for e in EXAMPLES).encode()

    uploaded = call("files.create", client.files.create, file=("every-call.jsonl", content), purpose="fine-tune")
    assert call("files.wait_for_processing", client.files.wait_for_processing, uploaded.id).status == "processed"
    assert call("files.retrieve", client.files.retrieve, uploaded.id).bytes == len(content)
    listed = call("files.list", client.files.list, purpose="fine-tune", limit=100, order="desc")
    assert uploaded.id in [f.id for f in listed.data]
    assert call("files.content", client.files.content, uploaded.id).read() == content
    assert call("files.retrieve_content", client.files.retrieve_content, uploaded.id) == content.decode()

    job = call("fine_tuning.jobs.create", client.fine_tuning.jobs.create, model=BASE, training_file=uploaded.id,
               suffix="every-call", seed=7, metadata={"script": "every-call"},
               extra_body={"hyperparameters": {"n_epochs": 1, "batch_size": 4, "n_checkpoints": 1}})
    assert job.status == "queued"
    paused = call("fine_tuning.jobs.pause", client.fine_tuning.jobs.pause, job.id)
    assert paused.id == job.id
    _wait(client, job.id, lambda j: getattr(j, "paused", False) or j.status in ("succeeded", "failed", "cancelled"))
    call("fine_tuning.jobs.resume", client.fine_tuning.jobs.resume, job.id)
    job = _wait(client, job.id, lambda j: j.status in ("succeeded", "failed", "cancelled"))
    made.append("fine_tuning.jobs.retrieve")
    assert job.status == "succeeded", job.error
    mine = call("fine_tuning.jobs.list", client.fine_tuning.jobs.list, limit=10, metadata={"script": "every-call"})
    assert job.id in [j.id for j in mine.data] and all(j.metadata == {"script": "every-call"} for j in mine.data)
    events = call("fine_tuning.jobs.list_events", client.fine_tuning.jobs.list_events, job.id, limit=100)
    assert any(e.type == "metrics" for e in events.data) and {e.level for e in events.data} <= {"info", "warn", "error"}
    checkpoints = call("fine_tuning.jobs.checkpoints.list", client.fine_tuning.jobs.checkpoints.list, job.id, limit=10)
    checkpoint = checkpoints.data[0].fine_tuned_model_checkpoint

    permissions = client.fine_tuning.checkpoints.permissions
    granted = call("fine_tuning.checkpoints.permissions.create", permissions.create, checkpoint,
                   project_ids=[partner_project]).data[0]
    assert granted.project_id == partner_project
    assert [p.id for p in call("fine_tuning.checkpoints.permissions.retrieve", permissions.retrieve, checkpoint).data] == [granted.id]
    assert [p.id for p in call("fine_tuning.checkpoints.permissions.list", permissions.list, checkpoint).data] == [granted.id]
    assert partner.models.retrieve(checkpoint).id == checkpoint  # the partner sees it now
    deleted = call("fine_tuning.checkpoints.permissions.delete", permissions.delete, granted.id,
                   fine_tuned_model_checkpoint=checkpoint)
    assert deleted.deleted
    try:
        partner.models.retrieve(checkpoint)
        raise AssertionError("the partner still sees a checkpoint no longer shared with it")
    except openai.NotFoundError:
        pass

    assert job.fine_tuned_model in [m.id for m in call("models.list", client.models.list).data]
    assert call("models.retrieve", client.models.retrieve, job.fine_tuned_model).owned_by
    second = client.fine_tuning.jobs.create(model=BASE, training_file=uploaded.id)
    assert call("fine_tuning.jobs.cancel", client.fine_tuning.jobs.cancel, second.id).status == "cancelled"
    assert call("models.delete", client.models.delete, job.fine_tuned_model).deleted
    assert call("files.delete", client.files.delete, uploaded.id).deleted
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the ftaas base URL, without /v1")
    parser.add_argument("--key", required=True, help="an API key")
    parser.add_argument("--partner-key", required=True, help="another tenant's API key")
    parser.add_argument("--partner-project", required=True, help="that other tenant's name (its project id)")
    args = parser.parse_args()
    made = run(args.url, args.key, args.partner_key, args.partner_project)
    print(f"{len(made)} calls, every answer valid under the SDK's types: {', '.join(made)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
