import subprocess
import sys


def test_the_api_never_imports_torch(tmp_path):
    """Build the app and its OpenAPI schema in a fresh interpreter; torch, transformers and peft stay out."""
    code = (
        "import sys\n"
        "from service.settings import Settings\n"
        "from service.app import create_app\n"
        f"app = create_app(Settings(api_keys='k:t', store_url='file://{tmp_path}'))\n"
        "app.openapi_schema.to_schema()\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'peft', 'bitsandbytes') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr
