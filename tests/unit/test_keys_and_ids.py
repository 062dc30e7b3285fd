from urllib.parse import unquote

import pytest

from jobs import keys
from jobs.ids import (
    InvalidId,
    checkpoint_model_name,
    fine_tuned_model_id,
    is_checkpoint_ref,
    is_fine_tuned_model_id,
    new_checkpoint_id,
    new_event_id,
    new_file_id,
    new_job_id,
)


def test_ids_have_openai_prefixes_and_are_unique():
    assert new_file_id().startswith("file-") and new_job_id().startswith("ftjob-")
    assert new_event_id().startswith("ftevent-")
    assert len({new_job_id() for _ in range(1000)}) == 1000


def test_fine_tuned_model_id_shape():
    mid = fine_tuned_model_id("HuggingFaceTB/SmolLM2-135M-Instruct", "shop", "ftjob-AbCdEfGh1234")
    assert mid == "ft:HuggingFaceTB/SmolLM2-135M-Instruct:shop:AbCdEfGh"
    assert fine_tuned_model_id("m", None, "ftjob-12345678x") == "ft:m::12345678"
    assert is_fine_tuned_model_id(mid) and not is_fine_tuned_model_id("HuggingFaceTB/SmolLM2-135M-Instruct")


def test_store_layout():
    assert keys.file_content("t", "file-1") == "t/files/file-1/content"
    assert keys.file_record("t", "file-1") == "t/files/file-1/file.json"
    assert keys.job_record("t", "ftjob-1") == "t/jobs/ftjob-1/job.json"
    assert keys.job_result("t", "ftjob-1", "metrics.csv") == "t/jobs/ftjob-1/results/metrics.csv"
    assert keys.job_checkpoint_record("t", "ftjob-1", 20) == "t/jobs/ftjob-1/checkpoints/step-20/checkpoint.json"
    assert keys.job_checkpoint("t", "ftjob-1", 20).startswith(keys.job_checkpoints_prefix("t", "ftjob-1"))
    assert keys.file_record("t", "file-1").startswith(keys.files_prefix("t"))
    assert keys.job_record("t", "ftjob-1").startswith(keys.jobs_prefix("t"))


def test_model_keys_keep_the_id_in_one_segment():
    mid = "ft:org/base:sfx:abcd1234"
    prefix = keys.model_prefix("t", mid)
    segment = prefix.removeprefix(keys.models_prefix("t")).rstrip("/")
    assert "/" not in segment and unquote(segment) == mid
    assert keys.model_manifest("t", mid) == prefix + "manifest.json"
    assert keys.model_artifacts("t", mid) == prefix + "adapter/"
    assert keys.model_prefix("a", mid) != keys.model_prefix("b", mid)


def test_checkpoints_are_named_as_openai_names_them_and_found_by_either_name():
    name = checkpoint_model_name("ft:org/base:sfx:abcd1234", 40)
    assert name == "ft:org/base:sfx:abcd1234:ckpt-step-40"
    assert is_checkpoint_ref(name) and is_checkpoint_ref(new_checkpoint_id())
    assert not is_checkpoint_ref("ft:org/base:sfx:abcd1234") and not is_checkpoint_ref("org/base")
    pointer = keys.checkpoint_pointer("t", name)
    assert pointer.startswith("t/checkpoints/") and unquote(pointer.removeprefix("t/checkpoints/").removesuffix(".json")) == name


HOSTILE_IDS = [
    "../../tenant-a/files/file-abc", "x/../../../tenant-a/files/file-abc", "file-abc/../../b", "file-\x00x",
    "file-x\x00", "../../../../etc/passwd", "file-" + "a" * 300, "", "file-", "file-a b", "file-a/b", "file-..",
    "FILE-abc", " file-abc", "file-abc\n", "file-ä", "%2e%2e/file-abc",
]


@pytest.mark.parametrize("bad", HOSTILE_IDS)
def test_ids_outside_their_grammar_never_become_keys(bad):
    with pytest.raises(InvalidId):
        keys.file_record("t", bad)
    with pytest.raises(InvalidId):
        keys.job_record("t", bad.replace("file-", "ftjob-"))
    with pytest.raises(InvalidId):
        keys.checkpoint_pointer("t", bad.replace("file-", "ftckpt-"))


@pytest.mark.parametrize("bad", ["../t", "a/b", "", "t\x00", "x" * 65])
def test_tenants_outside_their_grammar_never_become_keys(bad):
    with pytest.raises(InvalidId):
        keys.files_prefix(bad)


@pytest.mark.parametrize("bad", [
    "ft:../../x:s:abcd1234", "ft:org/base:s/x:abcd1234", "ft:org//base:s:abcd1234", "ft:org/base:s:abcd1234/..",
    "ft:org/base:s:abcd1234:ckpt-step-x", "ft:" + "a/" * 200 + "b:s:abcd1234", "ft:org/base:s:ab\x00",
])
def test_model_ids_outside_their_grammar_never_become_keys(bad):
    with pytest.raises(InvalidId):
        keys.model_manifest("t", bad)
    with pytest.raises(InvalidId):
        keys.checkpoint_pointer("t", bad)


def test_the_store_refuses_keys_that_leave_the_root_or_cannot_be_names(local_store):
    from jobs.store import InvalidKey

    for key in ("../outside", "a/../../outside", "/etc/passwd", "a/\x00b", "a/" + "x" * 300, "a/./b"):
        with pytest.raises(InvalidKey):
            local_store.put_bytes(key, b"x")
        with pytest.raises(InvalidKey):
            local_store.get_bytes(key)


def test_every_id_ftaas_makes_matches_its_grammar():
    from jobs.ids import is_checkpoint_id, is_file_id, is_job_id, is_valid_model_ref, result_file_id

    job_id = new_job_id()
    model = fine_tuned_model_id("HuggingFaceTB/SmolLM2-135M-Instruct", "my.suffix-1", job_id)
    assert is_valid_model_ref(model) and is_valid_model_ref(fine_tuned_model_id("org/base", None, job_id))
    assert is_valid_model_ref(checkpoint_model_name(model, 120))
    assert is_job_id(job_id) and is_file_id(new_file_id()) and is_checkpoint_id(new_checkpoint_id())
    assert is_file_id(result_file_id(job_id, "metrics.csv"))
    assert result_file_id(job_id, "metrics.csv") == result_file_id(job_id, "metrics.csv") != result_file_id(job_id, "loss.png")
