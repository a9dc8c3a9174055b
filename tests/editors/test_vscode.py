"""The VS Code extension in editors/vscode, checked by the tools that build and test extensions."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from scoot_lang.parser import parse

from .conftest import VSCODE, run, tool

CASES = sorted((VSCODE / "tests").glob("*.test.sct"))


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    return data


def test_manifest_contributes_the_language_server_settings_and_schema() -> None:
    pkg = manifest()
    contributes = pkg["contributes"]
    (language,) = contributes["languages"]
    assert language["id"] == "scoot" and language["extensions"] == [".sct"]
    (grammar,) = contributes["grammars"]
    assert grammar == {
        "language": "scoot",
        "scopeName": "source.scoot",
        "path": "./syntaxes/scoot.tmLanguage.json",
    }
    settings = contributes["configuration"]["properties"]
    assert settings["scoot.server.command"]["default"] == "scoot"
    assert settings["scoot.server.args"]["default"] == ["lsp"]
    (validation,) = contributes["jsonValidation"]
    assert "**/architecture.json" in validation["fileMatch"]
    assert validation["url"] == "./schemas/architecture.schema.json"
    for path in [
        language["configuration"],
        grammar["path"],
        contributes["snippets"][0]["path"],
        validation["url"],
        pkg["icon"],
    ]:
        assert (VSCODE / path).is_file(), path
    for path in [language["configuration"], grammar["path"], contributes["snippets"][0]["path"]]:
        json.loads((VSCODE / path).read_text(encoding="utf-8"))


def test_dev_dependencies_are_pinned_and_locked() -> None:
    pkg = manifest()
    versions = {**pkg["dependencies"], **pkg["devDependencies"]}
    for name, version in versions.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} {version} is not pinned"
    assert versions["@vscode/vsce"].startswith("3.9."), (
        "vsce 3.9 is the last line that runs on Node.js 20"
    )
    lock = json.loads((VSCODE / "package-lock.json").read_text(encoding="utf-8"))
    locked = lock["packages"][""]
    assert locked["dependencies"] == pkg["dependencies"]
    assert locked["devDependencies"] == pkg["devDependencies"]


def test_icon_is_a_png() -> None:
    data = (VSCODE / manifest()["icon"]).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (128, 128)


def test_schema_is_scoot_schema() -> None:
    """Both copies the extension ships are `scoot schema`'s output: the file `jsonValidation`
    applies, and the content `json.schemas` gives the schema's address (for files whose
    `$schema` names it). Regenerate both with `python editors/vscode/tools/sync_schema.py`."""
    done = subprocess.run(
        [sys.executable, "-m", "scoot_cli", "schema"],
        capture_output=True,
        text=True,
        check=True,
    )
    hint = "regenerate the extension's schema with `python editors/vscode/tools/sync_schema.py`"
    committed = (VSCODE / "schemas" / "architecture.schema.json").read_text(encoding="utf-8")
    assert committed == done.stdout, hint
    generated = json.loads(done.stdout)
    (mapping,) = manifest()["contributes"]["configurationDefaults"]["json.schemas"]
    assert mapping == {"url": generated["$id"], "schema": generated}, hint


def test_grammar_cases(vscode: Path) -> None:
    assert {case.name for case in CASES} >= {
        "declarations.test.sct",
        "strings.test.sct",
        "values.test.sct",
        "broken.test.sct",
    }
    done = run([tool(vscode, "vscode-tmgrammar-test"), "tests/*.test.sct"], vscode, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for case in CASES:
        assert f"{case.relative_to(vscode)} run successfuly" in done.stdout, done.stdout


def test_grammar_cases_assert_every_scope() -> None:
    """Each scope the grammar can give appears in an assertion of the test cases."""
    grammar = json.loads(
        (VSCODE / "syntaxes" / "scoot.tmLanguage.json").read_text(encoding="utf-8")
    )
    scopes: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in {"name", "contentName"} and isinstance(value, str):
                    scopes.update(value.split())
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(grammar["repository"])
    asserted = set()
    for case in CASES:
        for line in case.read_text(encoding="utf-8").splitlines():
            if re.match(r"//\s*(\^|<)", line):
                asserted.update(token for token in line.split() if token.endswith(".scoot"))
    assert scopes - asserted == set()


def test_grammar_test_fails_on_a_wrong_scope(vscode: Path, tmp_path: Path) -> None:
    """The grammar test does fail: a case asserting the wrong scope is reported."""
    case = tmp_path / "wrong.test.sct"
    case.write_text(
        '// SYNTAX TEST "source.scoot" "a wrong expectation"\n'
        "let x = 1\n"
        "//      ^ string.quoted.double.scoot\n",
        encoding="utf-8",
    )
    done = run([tool(vscode, "vscode-tmgrammar-test"), str(case)], vscode, timeout=120)
    assert done.returncode != 0
    assert "missing required scopes: string.quoted.double.scoot" in done.stdout + done.stderr


def test_grammar_cases_are_scoot() -> None:
    """The cases that are not about broken code parse (but for the bad escapes they show on purpose)."""
    allowed = {
        "declarations.test.sct": set(),
        "strings.test.sct": {"SCT002", "SCT003"},
        "values.test.sct": set(),
    }
    for name, codes in allowed.items():
        text = (VSCODE / "tests" / name).read_text(encoding="utf-8")
        source = "\n".join(
            line for line in text.splitlines() if not re.match(r"//\s*(\^|<|SYNTAX)", line)
        )
        _, problems = parse(source, name)
        assert {problem.code for problem in problems} == codes, (name, problems)


def test_client_type_checks(vscode: Path) -> None:
    done = run([tool(vscode, "tsc"), "--noEmit", "-p", "."], vscode, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_client_restart_policy(vscode: Path, tmp_path: Path) -> None:
    """The client's restart budget (src/restarts.ts), compiled by tsc and run by Node's test runner."""
    done = run([tool(vscode, "tsc"), "-p", ".", "--outDir", str(tmp_path)], vscode, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    done = run(["node", "--test", str(tmp_path / "test" / "restarts.test.js")], vscode, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# pass 3" in done.stdout and "# fail 0" in done.stdout, done.stdout


def test_vsix_packages(vscode: Path, tmp_path: Path) -> None:
    vsix = tmp_path / "scoot.vsix"
    done = run(
        [tool(vscode, "vsce"), "package", "--allow-missing-repository", "--out", str(vsix)],
        vscode,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert vsix.is_file()
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        packaged = json.loads(archive.read("extension/package.json"))
    for name in [
        "extension/package.json",
        "extension/syntaxes/scoot.tmLanguage.json",
        "extension/language-configuration.json",
        "extension/snippets/scoot.json",
        "extension/schemas/architecture.schema.json",
        "extension/images/icon.png",
        "extension/out/extension.js",
        # The client's runtime dependency ships inside the package.
        "extension/node_modules/vscode-languageclient/package.json",
    ]:
        assert name in names, name
    assert not any(name.startswith(("extension/src/", "extension/tests/", "extension/out/test/")) for name in names)
    assert not any(name.startswith("extension/node_modules/typescript/") for name in names)
    assert packaged["main"] == "./out/extension.js"
