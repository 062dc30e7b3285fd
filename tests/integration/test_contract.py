"""The published contract: openapi/openapi.json and the generated client match the app, and the client works."""

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

from service.openapi_export import render

ROOT = Path(__file__).resolve().parents[2]


def test_openapi_document_matches_the_app():
    committed = (ROOT / "openapi" / "openapi.json").read_text()
    assert committed == render(), "openapi/openapi.json is stale: run `make client`"


def _differences(a: Path, b: Path) -> list[str]:
    cmp = filecmp.dircmp(a, b, ignore=[".ruff_cache", "__pycache__"])
    found = [str(a / n) for n in cmp.left_only + cmp.right_only + cmp.diff_files + cmp.funny_files]
    for sub in cmp.common_dirs:
        found += _differences(a / sub, b / sub)
    return found


def test_generated_client_matches_the_document(tmp_path):
    bin_dir = str(Path(sys.executable).parent)
    tool = shutil.which("openapi-python-client", path=bin_dir)
    assert tool, "openapi-python-client is a test dependency (pyproject [test])"
    # The generator formats its output with ruff, found on PATH: the environment's own bin/ must come first.
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    subprocess.run(
        [tool, "generate", "--path", str(ROOT / "openapi" / "openapi.json"), "--output-path", str(tmp_path / "client"),
         "--meta", "pdm"],
        check=True, capture_output=True, env=env,
    )
    assert _differences(ROOT / "clients" / "python", tmp_path / "client") == [], "clients/python is stale: run `make client`"


def test_generated_client_talks_to_the_api(api, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "clients" / "python"))
    from ftaas_client import AuthenticatedClient
    from ftaas_client.api.fine_tuning import create_fine_tuning_job
    from ftaas_client.api.models import list_models
    from ftaas_client.models import ErrorBody, JobSpec, ModelList

    client = AuthenticatedClient(base_url=str(api.base_url), token="sk-alpha")
    api.headers["Authorization"] = "Bearer sk-alpha"
    client.set_httpx_client(api)
    models = list_models.sync(client=client)
    assert isinstance(models, ModelList)
    assert [m.id for m in models.data] == ["HuggingFaceTB/SmolLM2-135M-Instruct"]
    error = create_fine_tuning_job.sync(client=client, body=JobSpec(model="nope", training_file="file-x"))
    assert isinstance(error, ErrorBody) and "unknown model 'nope'" in error.error.message
