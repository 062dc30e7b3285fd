"""`ftaas`: run the API, the worker, the inference server, all three, or one training job locally."""

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

from jobs.catalog import DEFAULT_MODEL_ID
from service.client_cli import add_client_commands
from service.logs import configure_logging

DESCRIPTION = """\
ftaas — self-hosted fine-tuning as a service, speaking the OpenAI API.

Configuration comes from FTAAS_* environment variables (see README.md): FTAAS_API_KEYS,
FTAAS_REDIS_URL, FTAAS_STORE_URL, FTAAS_S3_ENDPOINT_URL, FTAAS_MODELS, FTAAS_CACHE_DIR, …
"""

EXAMPLES = """\
examples:
  ftaas up                          API + worker + inference on http://127.0.0.1:8000
  ftaas up --engine vllm            the same, with base models and LoRA adapters served by vLLM
  ftaas api --port 8000             the stateless API only
  ftaas worker                      a training worker (one job at a time)
  ftaas serve --port 8001           the embedded inference server only
  ftaas serve --engine vllm --port 8002   vLLM for the default catalog model
  ftaas train spec.json --out run/  train once locally, no API, queue or store
  ftaas jobs create --model HuggingFaceTB/SmolLM2-135M-Instruct --training-file train.jsonl --follow
                                    a job on a server (FTAAS_URL, FTAAS_API_KEY), followed to its end
"""


def _api(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app

    uvicorn.run(create_app(), host=args.host, port=args.port, log_config=None, access_log=False)
    return 0


def _serve(args: argparse.Namespace) -> int:
    if args.engine == "vllm":
        from jobs.serving.vllm_launch import main as vllm_main

        vllm_main(["--model", args.model, "--host", args.host, "--port", str(args.port)])  # replaces this process
        return 1
    import uvicorn

    from service.inference.app import create_serving_app

    uvicorn.run(create_serving_app(), host=args.host, port=args.port, log_config=None, access_log=False)
    return 0


def _worker(args: argparse.Namespace) -> int:
    from jobs.worker import create_worker
    from jobs.settings import Settings

    create_worker(Settings(), burst=args.burst).run()
    return 0


def _up(args: argparse.Namespace) -> int:
    """Start the processes as one group; stop all of them when one stops or on Ctrl-C.

    With `--engine vllm`, one vLLM server per catalog model (ports after --serving-port) serves base models
    and LoRA-family adapters; the embedded engine still serves the other kinds.
    """
    env = dict(os.environ, FTAAS_SERVING_URL=f"http://127.0.0.1:{args.serving_port}")
    me = [sys.executable, "-m", "service.cli"]
    commands = {
        "serve": me + ["serve", "--host", "127.0.0.1", "--port", str(args.serving_port)],
        "worker": me + ["worker"],
    }
    if args.engine == "vllm":
        from jobs.catalog import Catalog
        from jobs.settings import Settings

        settings = Settings()
        urls = {}
        for offset, model in enumerate(Catalog.from_setting(settings.models, settings.cache_dir).ids(), start=1):
            port = args.serving_port + offset
            urls[model] = f"http://127.0.0.1:{port}"
            commands[f"vllm {model}"] = me + ["serve", "--engine", "vllm", "--model", model, "--port", str(port)]
        env["FTAAS_VLLM_URLS"] = json.dumps(urls)
    commands["api"] = me + ["api", "--host", args.host, "--port", str(args.port)]
    children = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}
    engines = "vLLM and the embedded engine" if args.engine == "vllm" else "the embedded engine"
    print(f"ftaas up: API and inference ({engines}) on http://{args.host}:{args.port}/v1 (Ctrl-C stops)", file=sys.stderr)

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"ftaas up: {name} exited with code {child.returncode}; stopping the others", file=sys.stderr)
                exit_code = child.returncode or 1
                stopping = True
        time.sleep(0.5)
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 20
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return exit_code


def _train(args: argparse.Namespace) -> int:
    from jobs.train import main as train_main

    return train_main(args.rest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ftaas", description=DESCRIPTION, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--log-level", default=os.environ.get("FTAAS_LOG_LEVEL", "INFO"), help="default: INFO")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    api = commands.add_parser("api", help="run the stateless API (never imports torch)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.set_defaults(run=_api)

    worker = commands.add_parser("worker", help="run a training worker: takes jobs from the Redis queue")
    worker.add_argument("--burst", action="store_true", help="exit once the queue is empty")
    worker.set_defaults(run=_worker)

    serve = commands.add_parser(
        "serve", help="run an inference server: the embedded engine (every kind) or vLLM (base + LoRA adapters)",
        description="The embedded engine serves every catalog model and every kind of fine-tuned model. "
        "`--engine vllm` starts vLLM (from `make vllm-env`, or FTAAS_VLLM_PYTHON) for one catalog model, with "
        "ftaas's resolver plugin loading tenants' LoRA adapters from the store; the API reaches it through "
        "FTAAS_VLLM_URLS. Callers always go through the API, which checks who owns a model.",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001)
    serve.add_argument("--engine", choices=["embedded", "vllm"], default="embedded", help="default: embedded")
    serve.add_argument("--model", default=DEFAULT_MODEL_ID, help="vLLM: the catalog model to serve (default: %(default)s)")
    serve.set_defaults(run=_serve)

    up = commands.add_parser("up", help="run API, worker and inference server together on one machine")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000, help="the one public port (API + inference), default 8000")
    up.add_argument("--serving-port", type=int, default=8001,
                    help="internal port of the embedded inference server; vLLM servers take the next ones")
    up.add_argument("--engine", choices=["embedded", "vllm"], default="embedded",
                    help="vllm: base models and LoRA adapters on vLLM (needs `make vllm-env`); default: embedded")
    up.set_defaults(run=_up)

    train = commands.add_parser(
        "train", help="run one job locally from a spec file (see `ftaas train --help`)", add_help=False
    )
    train.set_defaults(run=_train)
    add_client_commands(commands)
    return parser


# The commands that train or serve models: they need the `engine` extra, which the torch-free API image lacks.
ENGINE_COMMANDS = ("worker", "serve", "up", "train")
ENGINE_PACKAGES = ("torch", "transformers", "peft")


def _missing_engine_packages() -> list[str]:
    missing = []
    for name in ENGINE_PACKAGES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ImportError:
            found = False
        if not found:
            missing.append(name)
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "train":  # only `train` passes its own options through
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    if args.command in ENGINE_COMMANDS and not (args.command == "serve" and args.engine == "vllm"):
        if missing := _missing_engine_packages():
            parser.exit(2, f"ftaas {args.command} trains or serves models and needs the engine extra ({', '.join(missing)} "
                        "not installed): pip install 'ftaas[engine]', or run the engine image; this installation "
                        "runs `ftaas api` and the client commands (files, jobs) only\n")
    # The client commands print for a person; the servers log JSON lines.
    configure_logging("WARNING" if args.command in ("files", "jobs") else args.log_level)
    return args.run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
