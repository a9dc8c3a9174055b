"""Blocks with a `for` or an `if` in the editor: a rename moves every instance that
scoot.lock records, and hover says what a `for` makes and why an `if` makes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_lsp import LanguageClient

from scoot_lang.compiler import compile_path
from scoot_model.objects import Moved
from tests.lsp.conftest import change, find, open_file, until
from tests.lsp.test_module_editing import APP, hover_text, opened, rename
from tests.lsp.test_module_overlay import cleared
from tests.lsp.test_moved import applied, record

pytestmark = pytest.mark.asyncio

async def test_rename_of_a_repeated_block_moves_every_recorded_instance(client: LanguageClient, tmp_path: Path) -> None:
    record(tmp_path, "api.cache-eu", "api.cache-us")
    _, _, doc = await opened(client, tmp_path)
    changes = await rename(client, doc, APP, "cache for", "store")
    renamed = applied(APP, changes[doc])
    assert renamed.endswith(
        "}\n\nmoved { from = api.cache-eu, to = api.store-eu }\nmoved { from = api.cache-us, to = api.store-us }\n"
    )
    # At a reference to one instance: the same moves.
    at_use = await rename(client, doc, APP, "cache-eu.path", "store-eu")
    assert applied(APP, at_use[doc]) == renamed


REGIONS = """\
application shop { owner = "acme" }

component api for region in ["eu", "us"] {
  storage cache { engine = "directory" }

  compute web {
    command = ["./web"]
    env     = { CACHE = cache.path }
  }
}

component tools {
  compute sync {
    command = ["./sync"]
    env     = { US = api-us.cache.path }
  }
}
"""


async def test_rename_of_a_block_in_a_repeated_component_moves_it_in_every_instance(
    client: LanguageClient, tmp_path: Path
) -> None:
    record(tmp_path, "api-eu.cache", "api-us.cache")
    app = tmp_path / "architecture.sct"
    app.write_text(REGIONS, encoding="utf-8")
    doc = open_file(client, app)
    await until(lambda: cleared(client, doc))
    changes = await rename(client, doc, REGIONS, "cache {", "store")
    renamed = applied(REGIONS, changes[doc])
    # Each reference once (the one inside the component is each instance's), each instance moved.
    assert "CACHE = store.path" in renamed and "US = api-us.store.path" in renamed
    assert renamed.endswith(
        "}\n\nmoved { from = api-eu.cache, to = api-eu.store }\nmoved { from = api-us.cache, to = api-us.store }\n"
    )
    app.write_text(renamed, encoding="utf-8")
    compiled = compile_path(tmp_path)
    assert compiled.diagnostics == [], compiled.diagnostics
    assert compiled.architecture is not None
    assert compiled.architecture.moved == [
        Moved.model_validate({"from": "api-eu.cache", "to": "api-eu.store"}),
        Moved.model_validate({"from": "api-us.cache", "to": "api-us.store"}),
    ]


CONDITIONS = """\
application shop { owner = "acme" }

param env: string = "prod"
let zones = ["a", "b"]

component api {
  compute debug if env != "prod" {
    command = ["./debug"]
  }

  compute always if length(zones) > 1 {
    command = ["./always"]
  }

  storage cache for zone in zones {
    engine = "directory"
  }
}

component tools for tool in ["lint", "test"] {
  compute run {
    command = ["./${tool}"]
  }
}
"""


async def test_hover_says_why_a_block_does_not_exist_and_what_a_for_makes(client: LanguageClient, tmp_path: Path) -> None:
    doc = open_file(client, tmp_path / "architecture.sct", CONDITIONS)
    await until(lambda: doc in client.diagnostics)
    assert cleared(client, doc)
    absent = await hover_text(client, doc, find(CONDITIONS, "debug if"))
    assert "it does not hold: the block does not exist" in absent
    assert '`env != "prod"` is false because `env = "prod"`.' in absent
    present = await hover_text(client, doc, find(CONDITIONS, "always if"))
    assert "it holds: the block exists" in present
    assert '`length(zones) > 1` is true because `zones = ["a", "b"]`.' in present
    made = await hover_text(client, doc, find(CONDITIONS, "cache for"))
    assert "Makes `cache-a`, `cache-b`" in made
    components = await hover_text(client, doc, find(CONDITIONS, "tools for"))
    assert "`tools-lint`, `tools-test`" in components

    # Given another value (scoot.toml's params), the same hover says so.
    (tmp_path / "scoot.toml").write_text('[params]\nenv = "dev"\n', encoding="utf-8")
    change(client, doc, 2, CONDITIONS + "\n")
    exists = await hover_text(client, doc, find(CONDITIONS, "debug if"))
    assert '`env != "prod"` is true because `env = "dev"`.' in exists


async def test_hover_on_an_if_without_a_value_explains_nothing(client: LanguageClient, tmp_path: Path) -> None:
    text = CONDITIONS.replace('if env != "prod"', "if enviro == 1")
    doc = open_file(client, tmp_path / "architecture.sct", text)
    await until(lambda: bool(client.diagnostics.get(doc)))
    assert any("`enviro` is not defined" in d.message for d in client.diagnostics[doc])
    absent = await hover_text(client, doc, find(text, "debug if"))
    assert "it does not hold" in absent and " because " not in absent and "is false" not in absent
