"""Rename inside a module's file (issue 16): an object the module declares is renamed in
the module and in what every use makes (`web-server` of `module web`), with a `moved`
block in each using application whose `scoot.lock` records it; a param or an output is
renamed at every use, in every application the server knows that uses the module."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from scoot_lang.compiler import compile_path
from tests.lsp.conftest import find, open_file, until
from tests.lsp.test_module_editing import APP, MODULE, rename
from tests.lsp.test_module_overlay import cleared
from tests.lsp.test_moved import applied, record

pytestmark = pytest.mark.asyncio

# `server` renamed `srv` in the module's file (not `http.server`).
SRV = MODULE.replace("compute server", "compute srv").replace("server.url", "srv.url")
# The application refers to what the use makes, by its made name.
USING = APP.replace("{ CACHE = cache-eu.path }", "{ CACHE = cache-eu.path, SERVER = web-server.url }")


def moved(folder: Path) -> list[tuple[str, str]]:
    compiled = compile_path(folder)
    assert compiled.diagnostics == [], compiled.diagnostics
    assert compiled.architecture is not None
    return [(m.from_, m.to) for m in compiled.architecture.moved]


async def using(client: LanguageClient, tmp_path: Path, text: str) -> tuple[Path, Path, str, str]:
    """`modules/web` and an application using it (`text`), open and checked; the module's file open."""
    module = tmp_path / "modules" / "web" / "main.sct"
    module.parent.mkdir(parents=True)
    module.write_text(MODULE, encoding="utf-8")
    app = tmp_path / "architecture.sct"
    app.write_text(text, encoding="utf-8")
    doc = open_file(client, app)
    await until(lambda: cleared(client, doc))
    return app, module, doc, open_file(client, module)


async def test_rename_of_an_object_in_a_modules_file(client: LanguageClient, tmp_path: Path) -> None:
    record(tmp_path, "api.web-server")  # `admin` makes `api.admin-server` too: not applied
    app, module, doc, module_doc = await using(client, tmp_path, USING)

    changes = await rename(client, module_doc, MODULE, "server {", "srv")
    assert set(changes) == {doc, module_doc}
    # The declaration and `server.url` in the module, once each though two uses check it.
    assert applied(MODULE, changes[module_doc]) == SRV
    renamed = applied(USING, changes[doc])
    assert "SERVER = web-srv.url" in renamed
    assert renamed.endswith("}\n\nmoved { from = api.web-server, to = api.web-srv }\n")

    # At the made name in the application: the new name keeps the use's prefix.
    at_use = await rename(client, doc, USING, "web-server.url", "web-srv")
    assert {k: applied(USING if k == doc else MODULE, v) for k, v in at_use.items()} == {doc: renamed, module_doc: SRV}
    with pytest.raises(Exception, match="rename it to `web-NAME`, or rename `server` in the module's file"):
        await client.text_document_rename_async(
            lsp.RenameParams(
                text_document=lsp.TextDocumentIdentifier(uri=doc), position=find(USING, "web-server.url"), new_name="srv"
            )
        )

    module.write_text(SRV, encoding="utf-8")
    app.write_text(renamed, encoding="utf-8")
    assert moved(tmp_path) == [("api.web-server", "api.web-srv")]


async def test_a_name_a_use_would_make_twice_is_refused(client: LanguageClient, tmp_path: Path) -> None:
    _, _, _, module_doc = await using(client, tmp_path, APP.replace("compute client", "compute web-client"))
    with pytest.raises(Exception, match=re.escape("would make `api.web-client`, which already exists")):
        await client.text_document_rename_async(
            lsp.RenameParams(
                text_document=lsp.TextDocumentIdentifier(uri=module_doc), position=find(MODULE, "server {"), new_name="client"
            )
        )


TEAM = """\
application team {
  owner = "acme"
}

component front {
  module site { source = "./modules/web", port = 9090 }

  compute probe {
    command = ["./probe", site.url]
  }
}
"""

SHOP = """\
application shop {
  owner = "acme"
}

component api {
  module web { source = "./team/modules/web", port = 8080 }

  compute client {
    command = ["./client", web.url]
  }
}
"""


async def test_a_module_used_by_two_applications(client: LanguageClient, tmp_path: Path) -> None:
    # `shop` (the workspace's folder) and `team` (inside it) use the same module's file.
    module = tmp_path / "team" / "modules" / "web" / "main.sct"
    module.parent.mkdir(parents=True)
    module.write_text(MODULE, encoding="utf-8")
    shop, team = tmp_path / "architecture.sct", tmp_path / "team" / "architecture.sct"
    shop.write_text(SHOP, encoding="utf-8")
    team.write_text(TEAM, encoding="utf-8")
    record(tmp_path, "api.web-server")
    record(tmp_path / "team", "front.site-server")
    shop_doc, team_doc = open_file(client, shop), open_file(client, team)
    await until(lambda: cleared(client, shop_doc) and cleared(client, team_doc))
    module_doc = open_file(client, module)

    # An object: the module once, a `moved` block in each application, as each records it.
    changes = await rename(client, module_doc, MODULE, "server {", "srv")
    assert set(changes) == {module_doc, shop_doc, team_doc}
    assert applied(MODULE, changes[module_doc]) == SRV
    assert applied(SHOP, changes[shop_doc]).endswith("}\n\nmoved { from = api.web-server, to = api.web-srv }\n")
    assert applied(TEAM, changes[team_doc]).endswith("}\n\nmoved { from = front.site-server, to = front.site-srv }\n")

    # A param, at a use in one application: the key at every use, in both.
    params = await rename(client, shop_doc, SHOP, "port = 8080", "listen")
    assert "listen = 8080" in applied(SHOP, params[shop_doc]) and "listen = 9090" in applied(TEAM, params[team_doc])
    listening = MODULE.replace("param port", "param listen").replace("${port}", "${listen}").replace("= port\n", "= listen\n")
    assert applied(MODULE, params[module_doc]) == listening
    # An output, at its declaration: `web.url` and `site.url`.
    outputs = await rename(client, module_doc, MODULE, "url = server", "address")
    assert "web.address" in applied(SHOP, outputs[shop_doc]) and "site.address" in applied(TEAM, outputs[team_doc])

    module.write_text(applied(applied(applied(MODULE, changes[module_doc]), params[module_doc]), outputs[module_doc]), encoding="utf-8")
    for path, text, doc in ((shop, SHOP, shop_doc), (team, TEAM, team_doc)):
        path.write_text(applied(applied(applied(text, changes[doc]), params[doc]), outputs[doc]), encoding="utf-8")
    assert moved(tmp_path) == [("api.web-server", "api.web-srv")]
    assert moved(tmp_path / "team") == [("front.site-server", "front.site-srv")]
