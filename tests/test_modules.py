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


def test_a_limit_reached_inside_a_module_names_the_use(tmp_path: Path) -> None:
    deep = "[" * 40 + "1" + "]" * 40
    app = write(
        tmp_path,
        {
            "architecture.sct": APP + 'component api {\n  module w { source = "./deep" }\n}\n',
            "deep/main.sct": f"let a = {deep}\nlet b = [[a]]\nlet c = {deep.replace('1', 'b')}\n"
            'storage s { engine = "directory", path = "${length(c)}" }\n',
        },
    )
    result = compile_path(app)
    [found] = [d for d in result.diagnostics if d.code == "SCT009"]
    assert found.span is not None and found.span.file.endswith("main.sct") and "deep" in found.span.file
    assert [label for _, label in found.related] == ["in module `w`, used here"]


def test_a_syntax_error_in_a_module_turns_off_not_defined_and_never_used(tmp_path: Path) -> None:
    app = write(
        tmp_path,
        {
            "architecture.sct": APP + 'component api {\n  module w { source = "./site", port = 1 }\n}\n',
            # The broken `param` line is skipped by recovery: `port` then looks undefined.
            "site/main.sct": "param port: number = = \n" + SITE.split("\n", 1)[1],
        },
    )
    result = compile_path(app)
    codes = [d.code for d in result.diagnostics]
    assert "SCT001" in codes and "SCT301" not in codes and "SCT901" not in codes, result.diagnostics
    syntax = next(d for d in result.diagnostics if d.code == "SCT001")
    assert [label for _, label in syntax.related] == ["in module `w`, used here"]


def test_the_instances_of_a_module_use_with_for_keep_their_names(tmp_path: Path) -> None:
    def objects(langs: str) -> dict[str, object]:
        write(
            tmp_path,
            {
                "architecture.sct": APP
                + f'component web {{\n  module site for lang in {langs} {{ source = "./site", port = 1 }}\n}}\n',
                "site/main.sct": SITE,
            },
        )
        result = compile_path(tmp_path)
        assert result.architecture is not None, result.diagnostics
        return dict(result.architecture.components["web"].objects)

    before = objects('["en", "fr"]')
    after = objects('["de", "en", "fr"]')
    assert sorted(before) == ["site-en-server", "site-fr-server"]
    assert sorted(after) == ["site-de-server", "site-en-server", "site-fr-server"]
    assert all(after[name] == before[name] for name in before)
