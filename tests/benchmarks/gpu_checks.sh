#!/usr/bin/env bash
# Issue 9's GPU checks (MFU of LoRA and full fine-tuning, QLoRA on CUDA, two processes when there are two GPUs),
# prepared here and run in one go on a lent GPU machine, whose image has torch, CUDA and NVML but not everything
# ftaas imports, and reaches no package index:
#
#   bash tests/benchmarks/gpu_checks.sh prepare   # here: the wheels it lacks (pinned by .ci/constraints.txt) and
#                                                 # SmolLM2's tokenizer, into .gpu-checks/ (git-ignored, ~60 MiB)
#   bash tests/benchmarks/gpu_checks.sh run       # there: the device tool's run, carry [".gpu-checks"]; results
#                                                 # as JSON under $OUT (mfu.json, mfu-2gpus.json)
#
# The results go into docs/benchmarks.md ("GPU MFU") with the machine they came from.
set -euo pipefail
cd "$(dirname "$0")/../.."
PREPARED=.gpu-checks
WHEELS="pydantic pydantic_core pydantic-settings python-dotenv annotated-types typing-inspection typing_extensions redis
  transformers peft huggingface_hub bitsandbytes"  # what jobs.train imports that the GPU image lacks, or has older
EXAMPLES=${GPU_CHECK_EXAMPLES:-2048}  # 256 steps of 8: warm-up is a few percent of the loop

case "${1:-}" in
prepare)
  rm -rf "$PREPARED" && mkdir -p "$PREPARED/wheels" "$PREPARED/tokenizer"
  pins=$(for name in $WHEELS; do grep -i "^$name==" .ci/constraints.txt; done)
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$PREPARED/wheels" $pins
  .venv/bin/python - "$PREPARED/tokenizer" <<'PY'
import sys
from pathlib import Path
from transformers import AutoTokenizer
from jobs.catalog import Catalog
from tests.benchmarks.bench_sft_vs_trl import MODEL_ID
folder = Catalog.from_setting("", Path("~/.cache/ftaas-test").expanduser()).local_folder(MODEL_ID)
AutoTokenizer.from_pretrained(folder).save_pretrained(sys.argv[1])
PY
  gzip -9 "$PREPARED/tokenizer/tokenizer.json"  # the working tree and what it carries travel within 64 MiB
  du -sh "$PREPARED"
  ;;
run)
  out=${OUT:-/tmp/gpu-checks} && mkdir -p "$out"
  python3 -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    "$PREPARED"/wheels/*.whl
  gunzip -kf "$PREPARED/tokenizer/tokenizer.json.gz"
  export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 FTAAS_CACHE_DIR=/tmp/ftaas-cache
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpus.csv"
  python3 -m tests.benchmarks.bench_mfu --tokenizer "$PREPARED/tokenizer" --examples "$EXAMPLES" --output "$out/mfu.json"
  if [ "$(nvidia-smi -L | wc -l)" -ge 2 ]; then
    python3 -m tests.benchmarks.bench_mfu --tokenizer "$PREPARED/tokenizer" --examples "$EXAMPLES" --methods lora,full \
      --gpus 2 --output "$out/mfu-2gpus.json"
  fi
  ;;
*)
  echo "usage: bash tests/benchmarks/gpu_checks.sh prepare|run (see the comment at its top)" >&2
  exit 2
  ;;
esac
