"""Bring the extension's copies of `scoot schema` up to date: `python tools/sync_schema.py`.

The schema ships twice, both generated from the runtime objects:

- `schemas/architecture.schema.json`, which `jsonValidation` applies to
  `architecture.json` and `*.architecture.json`;
- inline in `configurationDefaults["json.schemas"]`, under the schema's own
  address. A compiled file names that address in its `"$schema"`, and VS Code
  lets a file's `$schema` win over every association; a `json.schemas` entry
  with both `url` and `schema` tells VS Code the content of that address, so
  compiled files are validated offline, from this copy, wherever they are.

`tests/editors/test_vscode.py` fails when either copy differs from `scoot schema`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

EXTENSION = Path(__file__).resolve().parents[1]


def schema() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "scoot_cli", "schema"], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def url_mapping(generated: dict[str, Any]) -> list[dict[str, Any]]:
    """The `json.schemas` default: the schema's address, and its content."""
    return [{"url": generated["$id"], "schema": generated}]


def main() -> None:
    generated = schema()
    text = json.dumps(generated, indent=2, ensure_ascii=False) + "\n"
    (EXTENSION / "schemas" / "architecture.schema.json").write_text(text, encoding="utf-8")
    manifest_path = EXTENSION / "package.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["contributes"]["configurationDefaults"] = {"json.schemas": url_mapping(generated)}
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
