from urllib.parse import unquote

from jobs import keys
from jobs.ids import fine_tuned_model_id, is_fine_tuned_model_id, new_event_id, new_file_id, new_job_id


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
    assert keys.file_record("t", "f").startswith(keys.files_prefix("t"))
    assert keys.job_record("t", "j").startswith(keys.jobs_prefix("t"))


def test_model_keys_keep_the_id_in_one_segment():
    mid = "ft:org/base:sfx:abcd1234"
    prefix = keys.model_prefix("t", mid)
    segment = prefix.removeprefix(keys.models_prefix("t")).rstrip("/")
    assert "/" not in segment and unquote(segment) == mid
    assert keys.model_manifest("t", mid) == prefix + "manifest.json"
    assert keys.model_artifacts("t", mid) == prefix + "adapter/"
    assert keys.model_prefix("a", mid) != keys.model_prefix("b", mid)
