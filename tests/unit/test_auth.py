import pytest

from service.auth import tenant_for_key
from jobs.settings import Settings


def test_keys_map_to_tenants():
    keys = Settings(api_keys=" k1:alpha , k2:beta,").tenants_by_key
    assert keys == {"k1": "alpha", "k2": "beta"}
    assert tenant_for_key("k1", keys) == "alpha" and tenant_for_key("k2", keys) == "beta"
    assert tenant_for_key("k3", keys) is None and tenant_for_key("k", keys) is None and tenant_for_key("", keys) is None


@pytest.mark.parametrize("bad", ["justakey", ":tenant", "key:", "key:bad/tenant", "key:../x"])
def test_malformed_key_settings_are_refused_without_echoing_the_key(bad):
    with pytest.raises(ValueError) as info:
        Settings(api_keys=bad).tenants_by_key
    assert bad.partition(":")[0][4:] not in str(info.value) or len(bad.partition(":")[0]) <= 4


def test_api_refuses_to_start_without_keys(tmp_path):
    from service.app import create_app

    with pytest.raises(ValueError, match="FTAAS_API_KEYS"):
        create_app(Settings(api_keys="", store_url=f"file://{tmp_path}"))
