"""Hover on a block that does not exist because what holds it was not made (issue 16): an
object or a module's use inside a component whose `if` is false, and in a module's file,
the uses of the module whose `if` is false."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_lsp import LanguageClient

from tests.lsp.conftest import change, find
from tests.lsp.test_module_editing import MODULE, hover_text
from tests.lsp.test_module_rename import using

pytestmark = pytest.mark.asyncio

APP = """\
application shop {
  owner = "acme"
}

param debug: bool = false

component api {
  module web { source = "./modules/web" }
  module probe if debug {
    source = "./modules/web"
  }
}

component tools if debug && length("x") > 0 {
  compute run {
    command = ["./run"]
  }

  compute trace if true {
    command = ["./trace"]
  }

  module extra { source = "./modules/web" }
}
"""


async def test_hover_on_what_a_false_if_leaves_out(client: LanguageClient, tmp_path: Path) -> None:
    _, _, doc, module_doc = await using(client, tmp_path, APP)

    because = '`tools if debug && length("x") > 0`: `debug && length("x") > 0` is false because `debug = false`.'
    run = await hover_text(client, doc, find(APP, "run {"))
    assert run.startswith("**tools.run** — compute object in component `tools`: it does not exist, because its component's")
    assert because in run
    # An object with an `if` of its own: never checked, its component's is the reason.
    trace = await hover_text(client, doc, find(APP, "trace if"))
    assert "it does not exist, because its component's condition is false" in trace and because in trace
    extra = await hover_text(client, doc, find(APP, "extra {"))
    assert extra.startswith("**tools.extra** — use of a module in component `tools`: it does not exist") and because in extra

    # In the module's file: the object, made by `web`, not by the uses whose `if` is false.
    server = await hover_text(client, module_doc, find(MODULE, "server {"))
    assert server.startswith("**api.web-server** — compute object")
    assert "Not made by the use `api.probe`: `debug` is false because `debug = false`." in server
    assert "Not made by the use `tools.extra`: `debug && length(\"x\") > 0` is false because `debug = false`." in server

    # Given another value (scoot.toml's params): the objects exist, and say so.
    (tmp_path / "scoot.toml").write_text("[params]\ndebug = true\n", encoding="utf-8")
    change(client, doc, 2, APP + "\n")
    run = await hover_text(client, doc, find(APP, "run {"))
    assert run.startswith("**tools.run** — compute object in component `tools`") and "does not exist" not in run
    server = await hover_text(client, module_doc, find(MODULE, "server {"))
    assert "Not made" not in server
