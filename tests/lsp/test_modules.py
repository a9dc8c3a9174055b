"""Modules in the editor: an error inside a module is published on the module's file,
with the use that caused it as related information (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_lsp import LanguageClient

from tests.lsp.conftest import find, open_file, until, uri

pytestmark = pytest.mark.asyncio

APP = """\
application shop {
  owner = "acme"
}

component api {
  module web { source = "./modules/web", port = 8080 }
}
"""

MODULE = """\
param port: number

compute server {
  command  = ["python3", "-m", "http.server", "${port}"]
  replicas = "two"
}
"""


async def test_an_error_in_a_module_names_its_use(client: LanguageClient, tmp_path: Path) -> None:
    (tmp_path / "modules" / "web").mkdir(parents=True)
    module = tmp_path / "modules" / "web" / "main.sct"
    module.write_text(MODULE, encoding="utf-8")
    path = tmp_path / "architecture.sct"
    path.write_text(APP, encoding="utf-8")
    open_file(client, path)
    module_uri = uri(module)
    await until(lambda: bool(client.diagnostics.get(module_uri)))
    [found] = client.diagnostics[module_uri]
    assert found.code == "SCT204" and found.range.start == find(MODULE, '"two"')
    [related] = found.related_information or []
    assert related.location.uri == uri(path)
    assert related.location.range.start == find(APP, "web {")
    assert "in module `web`" in related.message
