"""Write the API's OpenAPI document: `python -m service.openapi_export openapi/openapi.json`.

openapi/openapi.json is generated from the app, never edited; a test fails when it drifts.
"""

import json
import sys
import tempfile
from pathlib import Path

from service.app import create_app
from jobs.settings import Settings


def openapi_document() -> dict:
    with tempfile.TemporaryDirectory() as store:
        app = create_app(Settings(api_keys="export:export", store_url=f"file://{store}", models=""))
        return app.openapi_schema.to_schema()


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: python -m service.openapi_export PATH   (writes the OpenAPI document as JSON)")
        return 2
    Path(argv[0]).write_text(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
