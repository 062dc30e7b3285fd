"""FTAAS_QUOTAS: read once, every problem named when a process starts, tenants' overrides merged onto the default."""

import json

import pytest

from jobs.quotas import Quotas, seconds_to_next_month
from jobs.settings import Settings


def test_a_tenant_overrides_some_default_limits_and_null_lifts_one():
    quotas = Quotas.from_setting(json.dumps({
        "default": {"max_running_jobs": 2, "max_queued_jobs": 10},
        "tenants": {"acme": {"max_running_jobs": 8, "max_queued_jobs": None}},
    }))
    assert quotas.for_tenant("other").max_running_jobs == 2
    acme = quotas.for_tenant("acme")
    assert (acme.max_running_jobs, acme.max_queued_jobs, acme.max_stored_bytes) == (8, None, None)
    assert Quotas.from_setting("").for_tenant("x").max_running_jobs is None  # no setting: no limits


def test_a_quotas_file_is_read(tmp_path):
    path = tmp_path / "quotas.json"
    path.write_text(json.dumps({"default": {"max_requests_per_minute": 600}}))
    assert Quotas.from_setting(str(path)).default.max_requests_per_minute == 600


@pytest.mark.parametrize("value, problem", [
    ('{"default": {"max_runing_jobs": 2}}', "default.max_runing_jobs: Extra inputs are not permitted"),
    ('{"tenants": {"acme": {"max_running_jobs": 0}}}', "tenants.acme.max_running_jobs: Input should be greater than or equal to 1"),
    ("{not json", "FTAAS_QUOTAS is not JSON"),
    ("/no/such/file.json", "neither a JSON object nor a readable file"),
])
def test_a_wrong_setting_stops_the_process_naming_the_problem(value, problem):
    with pytest.raises(ValueError, match=problem.replace(".", r"\.")):
        Settings(api_keys="k:t", quotas=value)


def test_the_next_month_starts_at_midnight_utc_on_the_first():
    assert seconds_to_next_month(1798761599.0) == 1  # 2026-12-31 23:59:59 UTC
    assert seconds_to_next_month(1796083200.0) == 31 * 24 * 3600  # 2026-12-01 00:00:00 UTC
