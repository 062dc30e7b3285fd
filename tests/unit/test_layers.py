"""Which package may import which: the import-linter contracts in pyproject.toml, and the API process's
imports at run time."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import TEST_REDIS_URL

ROOT = Path(__file__).parents[2]


def test_import_contracts_hold():
    """jobs never imports service; the API's modules never reach torch, transformers, peft or an engine."""
    result = subprocess.run([Path(sys.executable).parent / "lint-imports"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def engine_packages() -> list[str]:
    """The import names of what only the `engine` extra installs (the API image lacks them)."""
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["engine"]
    return sorted(re.match(r"[A-Za-z0-9_.-]+", requirement).group().lower().replace("-", "_") for requirement in extra)


# A fresh interpreter in which the engine's packages cannot be imported, as in the API image.
WITHOUT_ENGINE = """
import importlib.abc, sys
class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, NotInstalled())
"""


def test_the_api_runs_without_the_engine_packages(tmp_path):
    """The app, its OpenAPI schema and a request that stores a file, with torch, transformers, peft and the rest of
    the engine extra not importable: the torch-free API image."""
    blocked = engine_packages()
    assert {"torch", "transformers", "peft", "bitsandbytes"} <= set(blocked)
    code = WITHOUT_ENGINE.format(blocked=blocked) + (
        "from litestar.testing import TestClient\n"
        "from jobs.settings import Settings\n"
        "from service.app import create_app\n"
        "import service.inference.serving, jobs.resolver, jobs.serving.downloads, service.cli\n"
        f"app = create_app(Settings(api_keys='k:t', store_url='file://{tmp_path}', redis_url='{TEST_REDIS_URL}'))\n"
        "app.openapi_schema.to_schema()\n"
        "with TestClient(app) as client:\n"
        "    r = client.post('/v1/files', headers={'Authorization': 'Bearer k'}, data={'purpose': 'fine-tune'},\n"
        "                    files={'file': ('t.jsonl', b'{\"text\": \"hello\"}\\n', 'application/jsonl')})\n"
        "    assert r.status_code == 200, r.text\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in " + repr(blocked) + "))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr[-3000:]


def test_the_engine_commands_say_what_to_install_where_the_engine_is_missing():
    code = WITHOUT_ENGINE.format(blocked=engine_packages()) + (
        "import sys\nfrom service.cli import main\nsys.argv = ['ftaas', 'worker']\nsys.exit(main())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "ftaas worker trains or serves models and needs the engine extra" in out.stderr
    assert "pip install 'ftaas[engine]'" in out.stderr
