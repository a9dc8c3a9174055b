"""Modules, beyond the golden samples: sources through links, a module of one file,
modules inside modules, and the one form of a git source."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scoot_lang import compile_path
from scoot_lang.modules import GitSource, ModuleSourceError, git_source

APP = 'application shop { owner = "acme" }\n'
SITE = """\
param port: number
compute server {
  command = ["python3", "-m", "http.server", "${port}"]
}
output url = server.url
"""


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_a_source_may_not_leave_the_folder_through_a_link(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"main.sct": SITE})
    app = write(
        tmp_path / "app",
        {
            "architecture.sct": APP
            + 'component api {\n  module w { source = "./linked", port = 1 }\n}\n'
        },
    )
    os.symlink(outside, app / "linked")
    result = compile_path(app)
    assert [d.code for d in result.diagnostics] == ["SCT702"]
    assert "outside the application's folder" in result.diagnostics[0].message


def test_a_module_may_be_one_file_and_use_modules_of_its_own(tmp_path: Path) -> None:
    app = write(
        tmp_path,
        {
            "architecture.sct": APP
            + 'component api {\n  module outer { source = "./modules/pair.sct" }\n}\n',
            "modules/pair.sct": 'module a { source = "./site", port = 1 }\nmodule b { source = "./site", port = 2 }\n'
            "output urls = [a.url, b.url]\n",
            "modules/site/main.sct": SITE,
        },
    )
    result = compile_path(app)
    assert result.diagnostics == [] and result.architecture is not None
    objects = result.architecture.components["api"].objects
    assert sorted(objects) == ["outer-a-server", "outer-b-server"]
    assert objects["outer-b-server"].command[-1] == "2"  # type: ignore[attr-defined]


def test_a_single_file_unit_takes_sources_relative_to_it(tmp_path: Path) -> None:
    app = write(
        tmp_path,
        {
            "shop.sct": APP + 'component api {\n  module w { source = "./site", port = 8080 }\n}\n',
            "site/main.sct": SITE,
        },
    )
    result = compile_path(app / "shop.sct")
    assert result.diagnostics == [] and result.architecture is not None
    assert list(result.architecture.components["api"].objects) == ["w-server"]


def test_a_git_source_has_one_form_with_a_revision() -> None:
    assert git_source("git::https://github.com/acme/mods.git//web/site?ref=v1.2") == GitSource(
        "https://github.com/acme/mods.git", "web/site", "v1.2"
    )
    assert git_source("git::https://github.com/acme/mods.git?ref=0123abc") == GitSource(
        "https://github.com/acme/mods.git", "", "0123abc"
    )
    for bad in (
        "git::https://github.com/acme/mods.git//web",
        "git::mods?ref=",
        "git::https://h/r.git//../x?ref=1",
    ):
        with pytest.raises(ModuleSourceError):
            git_source(bad)
