"""Git modules in the editor: the language server reads the copy `scoot compile` (or
`plan`) fetched, at the commit scoot.lock records for a tag, and says plainly when
there is none yet; it never fetches (real git, a real repository; issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_lsp import LanguageClient

from tests.lsp.conftest import change, open_file, until, uri
from tests.runtime.test_cli_runtime import scoot
from tests.runtime.test_git_sources import Remote, git

pytestmark = pytest.mark.asyncio

MODULE = """\
compute server {
  command  = ["python3", "-m", "http.server"]
  replicas = "two"
}
"""


async def test_a_git_module_is_read_once_fetched(client: LanguageClient, tmp_path: Path) -> None:
    remote = Remote(tmp_path / "modules.git", tmp_path / "work")
    remote.commit({"web/main.sct": MODULE})
    git("tag", "v1", cwd=remote.work)
    git("push", "--quiet", "origin", "v1", cwd=remote.work)
    app = tmp_path / "app"
    app.mkdir()
    text = (
        'application shop { owner = "acme" }\n\ncomponent api {\n'
        f'  module web {{ source = "git::file://{remote.bare}//web?ref=v1" }}\n}}\n'
    )
    path = app / "architecture.sct"
    path.write_text(text, encoding="utf-8")
    doc = open_file(client, path, text)
    await until(lambda: bool(client.diagnostics.get(doc)))
    [unfetched] = client.diagnostics[doc]
    assert unfetched.code == "SCT701" and "is not fetched yet (`v1`)" in unfetched.message, unfetched.message
    assert not (app / ".scoots").exists()  # the editor fetched nothing

    # `scoot compile` fetches it, and records the commit of `v1`: the module's own error
    # then shows, on the fetched copy's file.
    assert scoot("compile", str(path)).exit_code == 1
    change(client, doc, 2, text + "\n")
    checkouts = list((app / ".scoots" / "repos").glob("*/*/web/main.sct"))
    assert len(checkouts) == 1
    module_uri = uri(checkouts[0])
    await until(lambda: bool(client.diagnostics.get(module_uri)))
    [found] = client.diagnostics[module_uri]
    assert found.code == "SCT204", found
    assert not client.diagnostics.get(doc)
