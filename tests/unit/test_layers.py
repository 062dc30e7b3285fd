"""Which package may import which: the import-linter contracts in pyproject.toml, and the API process's
imports at run time."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_import_contracts_hold():
    """jobs never imports service; the API's modules never reach torch, transformers, peft or an engine."""
    result = subprocess.run([Path(sys.executable).parent / "lint-imports"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_the_api_never_imports_torch(tmp_path):
    """Build the app and its OpenAPI schema in a fresh interpreter; torch, transformers and peft stay out."""
    code = (
        "import sys\n"
        "from jobs.settings import Settings\n"
        "from service.app import create_app\n"
        "import service.inference.serving, jobs.resolver, jobs.serving.downloads\n"
        f"app = create_app(Settings(api_keys='k:t', store_url='file://{tmp_path}'))\n"
        "app.openapi_schema.to_schema()\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'peft', 'bitsandbytes') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr
