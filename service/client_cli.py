"""`ftaas files …` and `ftaas jobs …`: a command-line client for any ftaas URL (the `openai` package no longer ships
a CLI). It speaks the HTTP API only: the URL from --url or FTAAS_URL, the key from FTAAS_API_KEY (or
OPENAI_API_KEY). `ftaas jobs follow` reads the job's event stream (GET …/events/stream) and shows a progress bar
with the ETA until the job ends, then prints the model's name.
"""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
EXIT_FAILED, EXIT_CANCELLED, EXIT_PAUSED = 1, 2, 3
FOLLOW_HELP = "exit code: 0 succeeded, 1 failed, 2 cancelled, 3 paused"


class ApiFailure(Exception):
    pass


class Client:
    def __init__(self, url: str, api_key: str) -> None:
        self.http = httpx.Client(base_url=url.rstrip("/") + "/v1", headers={"Authorization": f"Bearer {api_key}"},
                                 timeout=httpx.Timeout(60, read=None))

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiFailure(f"cannot reach {self.http.base_url}: {exc}; is the server up (`ftaas up`), and is --url "
                             "(or FTAAS_URL) right?") from None
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:500]
            raise ApiFailure(f"{method} {path}: {response.status_code}: {message}")
        return response.json()


def _client(args: argparse.Namespace) -> Client:
    key = os.environ.get("FTAAS_API_KEY") or os.environ.get("OPENAI_API_KEY")
    if not key:
        raise ApiFailure("set FTAAS_API_KEY (or OPENAI_API_KEY) to one of the server's API keys")
    return Client(args.url, key)


def _show(args: argparse.Namespace, value: Any, line: str) -> None:
    print(json.dumps(value, indent=2) if args.json else line)


def _job_line(job: dict) -> str:
    status = "paused" if job.get("paused") else job["status"]
    extra = f"  model {job['fine_tuned_model']}" if job.get("fine_tuned_model") else ""
    if job.get("queue_position"):
        extra += f"  (queue position {job['queue_position']})"
    if job.get("error"):
        extra += f"  error: {job['error']['message']}"
    return f"{job['id']}  {status:<16} {job['model']}{extra}"


def files_upload(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.is_file():
        raise ApiFailure(f"no file {path}")
    with path.open("rb") as f:
        uploaded = _client(args).call("POST", "/files", data={"purpose": args.purpose},
                                      files={"file": (path.name, f, "application/jsonl")})
    _show(args, uploaded, f"{uploaded['id']}  {uploaded['filename']}  {uploaded['bytes']:,} bytes")
    return 0


def files_list(args: argparse.Namespace) -> int:
    files = _client(args).call("GET", "/files", params={"limit": args.limit})["data"]
    _show(args, files, "\n".join(f"{f['id']}  {f['purpose']:<18} {f['filename']}" for f in files) or "no files")
    return 0


def jobs_create(args: argparse.Namespace) -> int:
    client = _client(args)
    body: dict[str, Any] = json.loads(Path(args.spec).read_text()) if args.spec else {}
    training_file = args.training_file
    if training_file and Path(training_file).is_file():  # a local file: upload it first
        with open(training_file, "rb") as f:
            training_file = client.call("POST", "/files", data={"purpose": "fine-tune"},
                                        files={"file": (Path(training_file).name, f, "application/jsonl")})["id"]
        print(f"uploaded {args.training_file} as {training_file}", file=sys.stderr)
    flags = {"model": args.model, "training_file": training_file, "validation_file": args.validation_file,
             "suffix": args.suffix, "seed": args.seed}
    body.update({k: v for k, v in flags.items() if v is not None})
    hyperparameters = {k: v for k, v in (("n_epochs", args.n_epochs), ("batch_size", args.batch_size),
                                         ("learning_rate_multiplier", args.learning_rate_multiplier)) if v is not None}
    if hyperparameters:
        body["hyperparameters"] = {**body.get("hyperparameters", {}), **hyperparameters}
    if args.training_type:
        body["training_type"] = {**body.get("training_type", {}), "type": args.training_type}
    missing = [name for name in ("model", "training_file") if name not in body]
    if missing:
        raise ApiFailure(f"give {' and '.join('--' + m.replace('_', '-') for m in missing)} (or a --spec file with them)")
    job = client.call("POST", "/fine_tuning/jobs", json=body)
    _show(args, job, _job_line(job))
    return _follow(client, job["id"]) if args.follow else 0


def jobs_list(args: argparse.Namespace) -> int:
    jobs = _client(args).call("GET", "/fine_tuning/jobs", params={"limit": args.limit})["data"]
    _show(args, jobs, "\n".join(_job_line(j) for j in jobs) or "no jobs")
    return 0


def jobs_get(args: argparse.Namespace) -> int:
    job = _client(args).call("GET", f"/fine_tuning/jobs/{args.job_id}")
    _show(args, job, _job_line(job))
    return 0


def _action(verb: str):
    def run(args: argparse.Namespace) -> int:
        job = _client(args).call("POST", f"/fine_tuning/jobs/{args.job_id}/{verb}")
        _show(args, job, _job_line(job))
        return 0

    return run


def jobs_follow(args: argparse.Namespace) -> int:
    return _follow(_client(args), args.job_id)


def _follow(client: Client, job_id: str) -> int:
    """Print the job's events as they happen, with a progress bar over its steps, until it ends or is paused."""
    from tqdm import tqdm

    bar = None
    event_name = None
    try:
        with client.http.stream("GET", f"/fine_tuning/jobs/{job_id}/events/stream") as response:
            if response.status_code >= 400:
                response.read()
                raise ApiFailure(f"GET /fine_tuning/jobs/{job_id}/events/stream: {response.status_code}: "
                                 f"{response.json()['error']['message']}")
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event_name = line.removeprefix("event:").strip()
                    continue
                if not line.startswith("data:"):
                    continue
                data = json.loads(line.removeprefix("data:").strip())
                if event_name == "fine_tuning.job":
                    return _ended(data, bar)
                metrics = data["data"] if data["type"] == "metrics" else None
                if metrics and metrics.get("total_steps"):
                    if bar is None:
                        bar = tqdm(total=metrics["total_steps"], unit="step", dynamic_ncols=True, file=sys.stderr)
                    bar.set_postfix(loss=f"{metrics['train_loss']:.4f}" if "train_loss" in metrics else None, refresh=False)
                    bar.update(metrics["step"] - bar.n)
                else:
                    (bar.write if bar else print)(f"[{data['level']}] {data['message']}")
    except httpx.TransportError as exc:
        raise ApiFailure(f"the event stream broke off: {exc}; `ftaas jobs follow {job_id}` goes on") from None
    finally:
        if bar is not None:
            bar.close()
    raise ApiFailure("the event stream ended before the job did; `ftaas jobs follow` again to go on")


def _ended(job: dict, bar) -> int:
    if bar is not None:
        bar.close()
    if job.get("paused"):
        print(f"{job['id']} is paused; `ftaas jobs resume {job['id']}` goes on from its checkpoint")
        return EXIT_PAUSED
    if job["status"] == "succeeded":
        print(f"{job['id']} succeeded: {job['fine_tuned_model']}")
        return 0
    if job["status"] == "failed":
        print(f"{job['id']} failed: {job['error']['message'] if job.get('error') else 'no reason recorded'}")
        return EXIT_FAILED
    print(f"{job['id']} was cancelled")
    return EXIT_CANCELLED


def add_client_commands(commands: argparse._SubParsersAction) -> None:
    """`files` and `jobs` under the `ftaas` command (service.cli)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=os.environ.get("FTAAS_URL", DEFAULT_URL),
                        help="the ftaas server (default: FTAAS_URL, else %(default)s); the key: FTAAS_API_KEY")
    common.add_argument("--json", action="store_true", help="print the API's JSON instead of one line per object")

    files = commands.add_parser("files", help="upload and list training files on an ftaas server")
    file_commands = files.add_subparsers(dest="files_command", required=True, metavar="COMMAND")
    upload = file_commands.add_parser("upload", parents=[common], help="upload a JSONL file (checked as it streams)")
    upload.add_argument("path")
    upload.add_argument("--purpose", default="fine-tune")
    upload.set_defaults(run=_guarded(files_upload))
    listing = file_commands.add_parser("list", parents=[common], help="your files, newest first")
    listing.add_argument("--limit", type=int, default=20)
    listing.set_defaults(run=_guarded(files_list))

    jobs = commands.add_parser("jobs", help="create, list, follow, pause, resume and cancel fine-tuning jobs")
    job_commands = jobs.add_subparsers(dest="jobs_command", required=True, metavar="COMMAND")
    create = job_commands.add_parser(
        "create", parents=[common], help="create a job from flags, a spec file, or both (flags win)",
        epilog="example: ftaas jobs create --model HuggingFaceTB/SmolLM2-135M-Instruct --training-file train.jsonl "
        f"--follow\n({FOLLOW_HELP} with --follow)",
    )
    create.add_argument("--spec", help="a JSON file holding the create body (any field of POST /v1/fine_tuning/jobs)")
    create.add_argument("--model")
    create.add_argument("--training-file", help="a file id, or a local JSONL file to upload first")
    create.add_argument("--validation-file", help="a file id")
    create.add_argument("--suffix")
    create.add_argument("--seed", type=int)
    create.add_argument("--training-type", choices=["lora", "qlora", "full", "ia3", "prefix_tuning", "prompt_tuning"])
    create.add_argument("--n-epochs", type=int)
    create.add_argument("--batch-size", type=int)
    create.add_argument("--learning-rate-multiplier", type=float)
    create.add_argument("--follow", action="store_true", help="then follow it until it ends (see `jobs follow`)")
    create.set_defaults(run=_guarded(jobs_create))
    listing = job_commands.add_parser("list", parents=[common], help="your jobs, newest first")
    listing.add_argument("--limit", type=int, default=20)
    listing.set_defaults(run=_guarded(jobs_list))
    for name, run, what in (("get", jobs_get, "one job"), ("cancel", _action("cancel"), "cancel a job"),
                            ("pause", _action("pause"), "pause a job (it checkpoints first)"),
                            ("resume", _action("resume"), "resume a paused job")):
        command = job_commands.add_parser(name, parents=[common], help=what)
        command.add_argument("job_id")
        command.set_defaults(run=_guarded(run))
    follow = job_commands.add_parser("follow", parents=[common], epilog=FOLLOW_HELP,
                                     help="show a job's events and a progress bar with ETA until it ends")
    follow.add_argument("job_id")
    follow.set_defaults(run=_guarded(jobs_follow))


def _guarded(command):
    """A command whose API errors print as one line (exit code 1) instead of a traceback."""
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except ApiFailure as exc:
            print(f"ftaas: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130

    return run
