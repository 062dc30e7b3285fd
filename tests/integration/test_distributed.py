"""Training in several processes: `python -m torch.distributed.run … -m jobs.train` (DDP or FSDP2 over gloo
on CPU), as the worker runs it for `compute.num_proc_per_node > 1`. Full fine-tuning shards with FSDP2 by
default; the adapter methods use DDP unless the spec asks for strategy "fsdp"."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.catalog import DEFAULT_MODEL_ID
from tests.support.tasks import classification_examples, write_jsonl

REPO = Path(__file__).resolve().parents[2]
# float32 on CPU: the sums over ranks add the same numbers in another order.
LOSS_TOLERANCE = 2e-3


def command(spec: dict, work: Path, processes: int, *extra: str) -> list[str]:
    work.mkdir(parents=True, exist_ok=True)
    spec_path = work / "spec.json"
    spec_path.write_text(json.dumps(spec))
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}"]
    return [*(launcher if processes > 1 else [sys.executable]), "-m", "jobs.train", str(spec_path),
            "--out", str(work / "out"), "--events", "jsonl", *extra]


def environment(cache_dir: Path) -> dict[str, str]:
    return {**os.environ, "FTAAS_CACHE_DIR": str(cache_dir), "FTAAS_MODELS": "", "FTAAS_TRAIN_THREADS": "2"}


def train(spec: dict, work: Path, cache_dir: Path, processes: int, *extra: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    process = subprocess.run(command(spec, work, processes, *extra), check=False, cwd=REPO, env=environment(cache_dir),
                             capture_output=True, text=True, timeout=900)
    return process, [json.loads(line) for line in process.stdout.splitlines()]


def start(spec: dict, work: Path, cache_dir: Path, processes: int, resume: bool = False) -> subprocess.Popen:
    extra = ["--resume"] if resume else []
    return subprocess.Popen(command(spec, work, processes, *extra), cwd=REPO, env=environment(cache_dir), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)


def wait_for(process: subprocess.Popen, message: str) -> None:
    for line in process.stdout:
        if json.loads(line)["message"].startswith(message):
            return
    raise AssertionError(f"the run ended (exit {process.wait()}) before {message!r}")


def rank_pids(launcher: subprocess.Popen) -> dict[int, int]:
    """torchrun's workers (its children; each in a session of its own), by rank, read from their environment."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = dict(line.split(":\t", 1) for line in (entry / "status").read_text().splitlines() if ":\t" in line)
            environ = dict(item.split("=", 1) for item in (entry / "environ").read_text().split("\0") if "=" in item)
        except OSError:
            continue
        if int(status["PPid"]) == launcher.pid and "RANK" in environ:
            found[int(environ["RANK"])] = int(entry.name)
    return found


def losses(events: list[dict]) -> list[float]:
    return [e["data"]["train_loss"] for e in events if e["type"] == "metrics"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    write_jsonl(folder / "train.jsonl", classification_examples(46, seed=4))
    write_jsonl(folder / "valid.jsonl", classification_examples(6, seed=4, split="test"))
    return folder


def spec_for(data: Path, training_type: dict, **hyperparameters) -> dict:
    return {
        "model": DEFAULT_MODEL_ID, "training_file": str(data / "train.jsonl"), "validation_file": str(data / "valid.jsonl"),
        # 46 examples in batches of 4, two per step: 6 steps, the last one of 6 examples, its last batch of 2.
        "hyperparameters": {"n_epochs": 1, "batch_size": 4, "gradient_accumulation_steps": 2, "max_seq_length": 64,
                            **hyperparameters},
        "training_type": training_type, "seed": 7,
    }


@pytest.fixture(scope="module")
def one_process_lora_run(data, cache_dir, tmp_path_factory) -> tuple[list[dict], Path]:
    """The events and output folder of a LoRA run in one process, with checkpoints every 2 steps (the reference
    below)."""
    work = tmp_path_factory.mktemp("one")
    process, events = train(spec_for(data, {"type": "lora"}, checkpoint_every=2), work, cache_dir, 1)
    assert process.returncode == 0, process.stderr[-3000:]
    return events, work / "out"


@pytest.fixture(scope="module")
def one_process_lora(one_process_lora_run) -> list[dict]:
    return one_process_lora_run[0]


def adapter_weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "adapter_model.safetensors")


def summary(events: list[dict]) -> dict:
    return next(e["data"] for e in events if e["message"].startswith("Training finished"))


@pytest.mark.slow
@pytest.mark.parametrize("training_type", [{"type": "lora"}, {"type": "full"}], ids=["lora", "full"])
def test_two_processes_train_as_one_at_the_same_global_batch(tmp_path, data, cache_dir, training_type, one_process_lora):
    lora = training_type["type"] == "lora"
    spec = spec_for(data, training_type, **({"checkpoint_every": 2} if lora else {}))
    if not lora:  # full fine-tuning is slow on CPU: the first 2 of the 6 steps show the same
        spec["hyperparameters"] = {**spec["hyperparameters"], "n_epochs": "auto", "max_steps": 2}
    if training_type["type"] == "lora":
        one_events = one_process_lora
    else:
        one, one_events = train(spec, tmp_path / "one", cache_dir, 1)
        assert one.returncode == 0, one.stderr[-3000:]
    two, two_events = train(spec, tmp_path / "two", cache_dir, 2)
    assert two.returncode == 0, two.stderr[-3000:]

    assert len(losses(two_events)) == len(losses(one_events)) == (6 if lora else 2)
    assert losses(two_events) == pytest.approx(losses(one_events), rel=LOSS_TOLERANCE)
    assert losses(two_events)[-1] < losses(two_events)[0]
    training = next(e for e in two_events if e["message"].startswith(f"Training {training_type['type']}"))
    assert training["data"]["strategy"] == ("ddp" if lora else "fsdp")  # auto: full fine-tuning shards with FSDP2
    # Rank 0 alone reported: each message once, each step once.
    two_messages = [e["message"] for e in two_events if e["type"] == "message"]
    assert two_messages.count("Saving the " + ("model" if training_type["type"] == "full" else "adapter")) == 1
    assert summary(two_events)["final_valid_loss"] == pytest.approx(summary(one_events)["final_valid_loss"], rel=LOSS_TOLERANCE)


def run_until_checkpoint(spec: dict, work: Path, cache_dir: Path, processes: int, step: int) -> None:
    """Train (resuming from work's latest checkpoint, if any) and lose the run right after the checkpoint at
    `step`, as when the worker's node goes away."""
    lost = start(spec, work, cache_dir, processes, resume=(work / "out" / "checkpoints").is_dir())
    wait_for(lost, f"Checkpoint saved at step {step}")
    os.killpg(lost.pid, signal.SIGKILL)
    lost.wait()


@pytest.mark.slow
def test_a_sharded_checkpoint_resumes_on_another_number_of_processes_and_strategy(tmp_path, data, cache_dir,
                                                                                   one_process_lora_run):
    one_process_lora, one_out = one_process_lora_run
    # FSDP2 over two processes: each writes its shard of the checkpoint, which one process then loads whole.
    spec = {**spec_for(data, {"type": "lora"}, checkpoint_every=2), "compute": {"strategy": "fsdp"}}
    run_until_checkpoint(spec, tmp_path, cache_dir, 2, step=2)
    shards = sorted(p.name for p in (tmp_path / "out" / "checkpoints" / "step-2" / "state").glob("*.distcp"))
    assert shards == ["__0_0.distcp", "__1_0.distcp"]
    # The adapter exported with the checkpoint (gathered from the shards of the trained parameters alone) is the
    # one process's: the same tensors, the same values within the float32 sums' reordering.
    sharded = adapter_weights(tmp_path / "out" / "checkpoints" / "step-2" / "adapter")
    reference = adapter_weights(one_out / "checkpoints" / "step-2" / "adapter")
    assert sorted(sharded) == sorted(reference) and any("lora_B" in name for name in sharded)
    for name, tensor in reference.items():
        difference = (sharded[name] - tensor).norm() / tensor.norm().clamp_min(1e-12)
        assert difference < 1e-2, (name, float(difference))
    run_until_checkpoint(spec, tmp_path, cache_dir, 1, step=4)  # 2 processes → 1
    ddp = {**spec, "compute": {"strategy": "ddp"}}
    resumed, resumed_events = train(ddp, tmp_path, cache_dir, 2, "--resume")  # 1 → 2, under DDP
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert any(e["message"] == "Resumed from the checkpoint at step 4" for e in resumed_events if e["type"] == "message")
    assert losses(resumed_events) == pytest.approx(losses(one_process_lora)[4:], rel=LOSS_TOLERANCE)
    # Steps 3 and 4 were trained by the run in one process: metrics.csv holds every step once, as uninterrupted.
    rows = (tmp_path / "out" / "results" / "metrics.csv").read_text().splitlines()[1:]
    assert [int(row.split(",")[0]) for row in rows] == list(range(1, 7))
    assert [float(row.split(",")[2]) for row in rows] == pytest.approx(losses(one_process_lora), rel=LOSS_TOLERANCE)


@pytest.mark.slow
def test_a_rank_that_dies_ends_the_run_with_nothing_written(tmp_path, data, cache_dir):
    run = start(spec_for(data, {"type": "lora"}), tmp_path / "run", cache_dir, 2)
    wait_for(run, "Training lora")
    os.kill(rank_pids(run)[1], signal.SIGKILL)
    assert run.wait(timeout=300) != 0  # torchrun stops the other rank and fails
    assert not (tmp_path / "run" / "out" / "adapter").exists()
    assert not (tmp_path / "run" / "out" / "summary.json").exists()
