"""The `scoot` command line: a few runs through the real entry point, the rest with CliRunner.

Exit codes: 0 ok, 1 diagnostics (or `fmt --check` found changes), 2 usage.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scoot_cli import cli
from scoot_lang import compile_path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "baselines"
EXAMPLES = ROOT / "examples"
EXAMPLE_DIRS = sorted(p for p in EXAMPLES.iterdir() if (p / "architecture.sct").is_file()) if EXAMPLES.is_dir() else []

# `path:line:col: error SCTxxx: message`
DIAGNOSTIC_LINE = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning) (?P<code>SCT\d{3}): (?P<message>.+)$", re.MULTILINE)

UNFORMATTED = """application shop{owner="acme"}
component api {
compute web { command = [ "python3","server.py" ]
port=8080 }
}
"""


def run(*args: str, cwd: Path | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False) if cwd is None else _in(cwd, args)


def _in(cwd: Path, args: tuple[str, ...]) -> Result:
    before = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(before)


def scoot(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run the real entry point in a new interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "scoot_cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def expected_json(path: Path | str, params: dict[str, str] | None = None) -> str:
    result = compile_path(path, params)
    assert result.ok and result.architecture is not None
    return result.architecture.to_json()


def sample(name: str) -> Path:
    """A sample's input by a short name: `shop.sct` is `shop/main.sct`, `shop.json` is `json_shop/architecture.json`."""
    if name == "shop.json":
        return SAMPLES / "json_shop" / "architecture.json"
    if name.endswith(".json"):
        return SAMPLES / name.removesuffix(".json") / "architecture.json"
    if name.endswith(".sct") and "/" not in name:
        return SAMPLES / name.removesuffix(".sct") / "main.sct"
    return SAMPLES / name


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A scratch copy of a few samples, for commands that write."""
    for name in ("shop.sct", "shop.json", "syntax_missing_equal.sct", "not_utf8.sct"):
        shutil.copy(sample(name), tmp_path / name)
    shutil.copytree(SAMPLES / "multi_file", tmp_path / "multi_file")
    return tmp_path


# --- through the real entry point --------------------------------------------------------


def test_entry_point_compiles_a_file() -> None:
    done = scoot("compile", "tests/baselines/shop/main.sct")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == expected_json(sample("shop.sct"))
    assert json.loads(done.stdout)["version"] == 1


def test_entry_point_reports_diagnostics_with_exit_1() -> None:
    done = scoot("validate", "tests/baselines/unknown_key/main.sct")
    assert done.returncode == 1
    assert done.stdout == ""
    first = DIAGNOSTIC_LINE.search(done.stderr)
    assert first is not None, done.stderr
    assert first["file"] == "tests/baselines/unknown_key/main.sct"
    assert (first["line"], first["col"], first["code"]) == ("4", "3", "SCT202")
    assert "\x1b[" not in done.stderr  # no colour when stderr is not a terminal
    assert done.stderr.rstrip().endswith("4 errors")


def test_entry_point_usage_error_is_exit_2() -> None:
    done = scoot("compile", "--param", "no-equals-sign", "tests/baselines/shop/main.sct")
    assert done.returncode == 2
    assert "is not NAME=VALUE" in done.stderr
    assert done.stdout == ""


def test_entry_point_writes_the_output_file(tmp_path: Path) -> None:
    out = tmp_path / "architecture.json"
    done = scoot("compile", "tests/baselines/multi_file", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert out.read_text(encoding="utf-8") == expected_json(SAMPLES / "multi_file")


# --- compile ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["shop.sct", "multi_file", "shop.json", "json_input.json", "file_function", "file_function/architecture.sct"],
)
def test_compile_file_folder_or_json(name: str) -> None:
    result = run("compile", str(sample(name)))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected_json(sample(name))
    assert result.stderr == ""


def test_compile_json_input_gives_the_same_json() -> None:
    from_sct = run("compile", str(sample("shop.sct")))
    from_json = run("compile", str(sample("shop.json")))
    assert from_sct.stdout == from_json.stdout == (sample("shop.json")).read_text(encoding="utf-8")


def test_compile_output_is_deterministic() -> None:
    outputs = {run("compile", str(sample("interpolation.sct"))).stdout for _ in range(3)}
    assert len(outputs) == 1
    (text,) = outputs
    assert text.endswith("}\n") and not text.endswith("\n\n")
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert data["$schema"].startswith("https://")


def test_compile_output_file(workdir: Path) -> None:
    out = workdir / "out" / "shop.json"
    out.parent.mkdir()
    result = run("compile", str(workdir / "shop.sct"), "-o", str(out))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert out.read_text(encoding="utf-8") == (sample("shop.json")).read_text(encoding="utf-8")


def test_compile_output_file_dash_is_stdout(workdir: Path) -> None:
    result = run("compile", str(workdir / "shop.sct"), "-o", "-")
    assert result.exit_code == 0
    assert result.stdout == (sample("shop.json")).read_text(encoding="utf-8")


def test_compile_with_errors_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "architecture.json"
    result = run("compile", str(sample("wrong_types.sct")), "-o", str(out))
    assert result.exit_code == 1
    assert not out.exists()
    assert result.stdout == ""
    assert "SCT204" in result.stderr


def test_compile_output_file_in_a_missing_folder(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "architecture.json"
    result = run("compile", str(sample("shop.sct")), "-o", str(out))
    assert result.exit_code == 1
    assert f"cannot write {out}" in result.stderr
    assert "Traceback" not in result.stderr


def test_compile_with_params() -> None:
    default = json.loads(run("compile", str(sample("shop.sct"))).stdout)
    assert default["components"]["api"]["objects"]["web"]["env"]["GREETING"] == "hello from dev"
    result = run("compile", str(sample("shop.sct")), "--param", "env=prod")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["components"]["api"]["objects"]["web"]["env"]["GREETING"] == "hello from prod"


def test_compile_with_typed_params() -> None:
    args = ["--param", "owner=acme-prod", "--param", "retries=5", "--param", "replicas=3",
            "--param", "canary=true", "--param", 'regions=["eu","us"]', "--param", 'labels={"team":"core"}']
    result = run("compile", str(sample("params_from_cli.sct")), *args)
    assert result.exit_code == 0, result.stderr
    api = json.loads(result.stdout)["components"]["invoices"]["objects"]
    assert api["api"]["replicas"] == 3
    assert api["api"]["env"] == {"CANARY": True, "REGIONS": "dev-regions", "RETRIES": 5, "TEAM": "core"}
    assert api["exporter"]["command"] == ["eu", "us"]


def test_compile_param_value_may_hold_equals_signs() -> None:
    result = run("compile", str(sample("shop.sct")), "--param", "env=a=b")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["components"]["api"]["objects"]["web"]["env"]["GREETING"] == "hello from a=b"


@pytest.mark.parametrize("bad", ["novalue", "=prod"])
def test_compile_bad_param_syntax_is_usage(bad: str) -> None:
    result = run("compile", str(sample("shop.sct")), "--param", bad)
    assert result.exit_code == 2
    assert "NAME=VALUE" in result.stderr
    assert result.stdout == ""


def test_compile_undeclared_param() -> None:
    result = run("compile", str(sample("shop.sct")), "--param", "evn=prod")
    assert result.exit_code == 1
    assert "scoot: error SCT504: --param evn: the architecture declares no param `evn` (did you mean `env`?)" in result.stderr


def test_compile_param_of_the_wrong_type() -> None:
    result = run("compile", str(sample("params.sct")), "--param", "port=eighty")
    assert result.exit_code == 1
    assert re.search(r"params/main\.sct:7:7: error SCT502: --param port='eighty' is not a number", result.stderr)


def test_compile_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = run("compile", str(missing))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"scoot: error SCT006: `{missing}` does not exist" in result.stderr


def test_compile_folder_without_sct_files() -> None:
    result = run("compile", str(SAMPLES / "no_sct_files"))
    assert result.exit_code == 1
    assert "error SCT006: no .sct files in" in result.stderr


def test_compile_defaults_to_the_current_folder() -> None:
    result = run("compile", cwd=SAMPLES / "multi_file")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected_json(SAMPLES / "multi_file")


def test_compile_folder_with_only_architecture_json(tmp_path: Path) -> None:
    shutil.copy(sample("shop.json"), tmp_path / "architecture.json")
    result = run("compile", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (sample("shop.json")).read_text(encoding="utf-8")


def test_compile_non_utf8_file(workdir: Path) -> None:
    result = run("compile", str(workdir / "not_utf8.sct"))
    assert result.exit_code == 1
    assert "error SCT005:" in result.stderr
    assert "is not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr


def test_compile_warnings_do_not_fail() -> None:
    result = run("compile", str(sample("warning_unused.sct")))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["application"]["name"] == "pantry"
    assert result.stderr.count("warning SCT901") == 2
    assert "error" not in result.stderr


# --- validate -----------------------------------------------------------------------------


def test_validate_ok() -> None:
    result = run("validate", str(sample("shop.sct")))
    assert result.exit_code == 0
    assert result.stdout == f"{sample('shop.sct')}: ok (2 components, 4 objects)\n"
    assert result.stderr == ""


def test_validate_reports_file_line_column_source_and_caret() -> None:
    result = run("validate", "main.sct", cwd=SAMPLES / "syntax_missing_equal")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "main.sct:9:10: error SCT001: unexpected `8080`; expected `=`\n"
        "    9 |     port 8080\n"
        "      |          ^^^^\n"
        "1 error\n"
    )


def test_validate_counts_every_error() -> None:
    result = run("validate", "main.sct", cwd=SAMPLES / "wrong_types")
    assert result.exit_code == 1
    lines = [m for m in DIAGNOSTIC_LINE.finditer(result.stderr)]
    assert len(lines) == 10
    assert all(m["code"] == "SCT204" and m["file"] == "main.sct" for m in lines)
    assert result.stderr.endswith("10 errors\n")


def test_validate_multi_file_diagnostics_name_each_file() -> None:
    result = run("validate", "duplicates", cwd=SAMPLES)
    assert result.exit_code == 1
    files = {m["file"] for m in DIAGNOSTIC_LINE.finditer(result.stderr)}
    assert files == {"duplicates/app.sct", "duplicates/more.sct"}
    assert "note: the first declaration at duplicates/app.sct:6:11" in result.stderr


def test_validate_json_diagnostic_points_into_the_json() -> None:
    result = run("validate", "architecture.json", cwd=SAMPLES / "json_errors")
    assert result.exit_code == 1
    found = {(m["line"], m["col"], m["code"]) for m in DIAGNOSTIC_LINE.finditer(result.stderr)}
    assert found == {("5", "3", "SCT202"), ("12", "19", "SCT204"), ("13", "28", "SCT301")}


def test_validate_missing_path() -> None:
    result = run("validate", "does/not/exist")
    assert result.exit_code == 1
    assert "SCT006" in result.stderr


# --- --format json ------------------------------------------------------------------------


def test_format_json_diagnostics() -> None:
    result = run("validate", "--format", "json", "main.sct", cwd=SAMPLES / "unknown_output")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data == {
        "diagnostics": [
            {
                "code": "SCT303",
                "severity": "error",
                "message": "storage `crates` has no output `host`; its outputs are `path` and `url`",
                "file": "main.sct",
                "range": {"start": {"line": 10, "column": 24}, "end": {"line": 10, "column": 28}},
            },
            {
                "code": "SCT303",
                "severity": "error",
                "message": "output `url` is a value; it has no `.scheme`",
                "file": "main.sct",
                "range": {"start": {"line": 11, "column": 29}, "end": {"line": 11, "column": 35}},
            },
        ]
    }
    assert result.stderr == ""


def test_format_json_without_position() -> None:
    result = run("validate", "--format", "json", str(sample("shop.sct")), "--param", "nope=1")
    assert result.exit_code == 1
    (diagnostic,) = json.loads(result.stdout)["diagnostics"]
    assert diagnostic["code"] == "SCT504"
    assert diagnostic["file"] is None
    assert "range" not in diagnostic


def test_format_json_when_ok() -> None:
    result = run("validate", "--format", "json", str(sample("warning_unused.sct")))
    assert result.exit_code == 0
    diagnostics = json.loads(result.stdout)["diagnostics"]
    assert [(d["code"], d["severity"]) for d in diagnostics] == [("SCT901", "warning")] * 2


def test_compile_format_json_with_output_file(tmp_path: Path) -> None:
    out = tmp_path / "shop.json"
    result = run("compile", "--format", "json", str(sample("shop.sct")), "-o", str(out))
    assert result.exit_code == 0
    assert json.loads(result.stderr) == {"diagnostics": []}
    assert out.read_text(encoding="utf-8") == (sample("shop.json")).read_text(encoding="utf-8")


def test_bad_format_choice_is_usage() -> None:
    result = run("validate", "--format", "yaml", str(sample("shop.sct")))
    assert result.exit_code == 2


# --- fmt ----------------------------------------------------------------------------------


def _formatted(text: str) -> str:
    from scoot_lang.format import format_text

    formatted, errors = format_text(text, "architecture.sct")
    assert formatted is not None, errors
    return formatted


def test_fmt_rewrites_the_file(tmp_path: Path) -> None:
    file = tmp_path / "architecture.sct"
    file.write_text(UNFORMATTED, encoding="utf-8")
    result = run("fmt", str(file))
    assert result.exit_code == 0
    assert result.stdout == f"{file}\n"
    text = file.read_text(encoding="utf-8")
    assert text == _formatted(UNFORMATTED) != UNFORMATTED
    assert compile_path(file).ok
    # A second run finds nothing to do.
    again = run("fmt", str(file))
    assert again.exit_code == 0
    assert again.stdout == ""
    assert file.read_text(encoding="utf-8") == text


def test_fmt_keeps_the_meaning(tmp_path: Path) -> None:
    file = tmp_path / "architecture.sct"
    file.write_text(UNFORMATTED, encoding="utf-8")
    before = expected_json(file)
    run("fmt", str(file))
    assert expected_json(file) == before


def test_fmt_folder(workdir: Path) -> None:
    folder = workdir / "multi_file"
    (folder / "extra.sct").write_text("let  unused_here =   1\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not  scoot   ", encoding="utf-8")
    result = run("fmt", str(folder))
    assert result.exit_code == 0
    assert f"{folder / 'extra.sct'}\n" in result.stdout
    assert (folder / "extra.sct").read_text(encoding="utf-8") == "let unused_here = 1\n"
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "not  scoot   "
    assert run("fmt", "--check", str(folder)).exit_code == 0


def test_fmt_says_plainly_that_it_formats_sct_not_the_json_form(tmp_path: Path) -> None:
    file = tmp_path / "architecture.json"
    assert run("compile", str(SAMPLES / "json_shop" / "architecture.json"), "-o", str(file)).exit_code == 0
    before = file.read_bytes()
    for target in (file, tmp_path):  # the file, or a folder whose unit is its JSON form
        result = run("fmt", str(target))
        assert result.exit_code == 2
        assert "fmt formats .sct files" in result.stderr and "written by `scoot compile`" in result.stderr
        assert "SCT001" not in result.stderr
    assert file.read_bytes() == before


def test_fmt_check_lists_unformatted_files_and_changes_nothing(tmp_path: Path) -> None:
    file = tmp_path / "architecture.sct"
    file.write_text(UNFORMATTED, encoding="utf-8")
    result = run("fmt", "--check", str(file))
    assert result.exit_code == 1
    assert result.stdout == f"{file}\n"
    assert file.read_text(encoding="utf-8") == UNFORMATTED


def test_fmt_check_passes_on_formatted_files(tmp_path: Path) -> None:
    file = tmp_path / "architecture.sct"
    file.write_text(_formatted(UNFORMATTED), encoding="utf-8")
    result = run("fmt", "--check", str(file))
    assert result.exit_code == 0
    assert result.stdout == ""


def test_fmt_diff_prints_a_unified_diff_and_changes_nothing(tmp_path: Path) -> None:
    file = tmp_path / "architecture.sct"
    file.write_text(UNFORMATTED, encoding="utf-8")
    result = run("fmt", "--diff", str(file))
    assert result.exit_code == 0
    assert file.read_text(encoding="utf-8") == UNFORMATTED
    lines = result.stdout.splitlines()
    assert lines[0] == f"--- {file}"  # an absolute path is shown as it is
    assert lines[1] == f"+++ {file}"
    assert lines[2].startswith("@@ ")
    assert "-application shop{owner=\"acme\"}" in lines
    assert "+" + _formatted(UNFORMATTED).splitlines()[0] in lines
    # Applying the diff's + side gives the formatted text.
    plus = [line[1:] for line in lines[3:] if line.startswith((" ", "+")) and not line.startswith("+++")]
    assert "\n".join(plus) + "\n" == _formatted(UNFORMATTED)


def test_fmt_diff_with_check_fails(tmp_path: Path) -> None:
    file = tmp_path / "architecture.sct"
    file.write_text(UNFORMATTED, encoding="utf-8")
    result = run("fmt", "--diff", "--check", str(file))
    assert result.exit_code == 1
    assert result.stdout.startswith("--- /")
    assert file.read_text(encoding="utf-8") == UNFORMATTED


def test_fmt_refuses_a_file_with_syntax_errors(workdir: Path) -> None:
    file = workdir / "syntax_missing_equal.sct"
    before = file.read_bytes()
    result = run("fmt", str(file))
    assert result.exit_code == 1
    assert file.read_bytes() == before
    assert "error SCT001: unexpected `8080`; expected `=`" in result.stderr
    assert result.stdout == ""


def test_fmt_refuses_with_json_diagnostics(workdir: Path) -> None:
    result = run("fmt", "--format", "json", str(workdir / "syntax_missing_equal.sct"))
    assert result.exit_code == 1
    (diagnostic,) = json.loads(result.stderr)["diagnostics"]
    assert diagnostic["code"] == "SCT001"
    assert diagnostic["range"]["start"] == {"line": 9, "column": 10}


def test_fmt_missing_path_is_usage(tmp_path: Path) -> None:
    assert run("fmt", str(tmp_path / "nowhere.sct")).exit_code == 2


def test_fmt_non_utf8_file(workdir: Path) -> None:
    file = workdir / "not_utf8.sct"
    before = file.read_bytes()
    result = run("fmt", str(file))
    assert result.exit_code == 1
    assert "error SCT005:" in result.stderr
    assert file.read_bytes() == before


def test_fmt_check_goes_on_after_a_non_utf8_file(workdir: Path) -> None:
    (workdir / "unformatted.sct").write_text(UNFORMATTED, encoding="utf-8")
    result = run("fmt", "--check", str(workdir))
    assert result.exit_code == 1
    assert f"{workdir / 'unformatted.sct'}\n" in result.stdout
    assert "SCT005" in result.stderr


# --- decompile ----------------------------------------------------------------------------


def _round_trip(json_file: Path, tmp_path: Path) -> None:
    original = expected_json(json_file)  # the canonical form of the JSON
    out = tmp_path / "decompiled" / "architecture.sct"
    out.parent.mkdir(exist_ok=True)
    result = run("decompile", str(json_file), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    again = run("compile", str(out))
    assert again.exit_code == 0, again.stderr
    assert again.stdout == original
    assert again.stderr == ""


@pytest.mark.parametrize("example", EXAMPLE_DIRS, ids=lambda p: p.name)
def test_decompile_round_trip_of_examples(example: Path, tmp_path: Path) -> None:
    compiled = tmp_path / "architecture.json"
    assert run("compile", str(example), "-o", str(compiled)).exit_code == 0
    _round_trip(compiled, tmp_path)


@pytest.mark.parametrize("name", ["shop.json", "json_input.json"])
def test_decompile_round_trip_of_json_samples(name: str, tmp_path: Path) -> None:
    _round_trip(sample(name), tmp_path)


def test_decompile_prints_sct() -> None:
    result = run("decompile", str(sample("shop.json")))
    assert result.exit_code == 0
    assert result.stdout.startswith("application shop {") or "application shop {" in result.stdout
    assert result.stdout.endswith("\n")
    from scoot_lang import compile_source

    assert compile_source(result.stdout).architecture.to_json() == (sample("shop.json")).read_text(encoding="utf-8")  # type: ignore[union-attr]


def test_decompile_output_is_formatted() -> None:
    text = run("decompile", str(sample("json_input.json"))).stdout
    assert _formatted(text) == text


def test_decompile_invalid_json() -> None:
    result = run("decompile", "architecture.json", cwd=SAMPLES / "json_errors")
    assert result.exit_code == 1
    assert "architecture.json:12:19: error SCT204" in result.stderr
    assert result.stdout == ""


def test_decompile_needs_a_file(tmp_path: Path) -> None:
    assert run("decompile", str(tmp_path)).exit_code == 2
    assert run("decompile", str(tmp_path / "missing.json")).exit_code == 2


# --- schema -------------------------------------------------------------------------------


def _schema() -> dict[str, object]:
    result = run("schema")
    assert result.exit_code == 0
    assert result.stdout.endswith("}\n")
    schema: dict[str, object] = json.loads(result.stdout)
    return schema


def test_schema_is_json_schema() -> None:
    schema = _schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == json.loads((sample("shop.json")).read_text(encoding="utf-8"))["$schema"]
    assert "version" in schema["required"]  # type: ignore[operator]
    assert run("schema").stdout == run("schema").stdout


VALID_SAMPLES = ["shop.sct", "interpolation.sct", "numbers.sct", "compute_options.sct", "multi_file", "json_input.json", "file_function"]

def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(_schema())


def test_schema_validates_compiled_samples() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(_schema())
    for name in VALID_SAMPLES:
        compiled = json.loads(run("compile", str(sample(name))).stdout)
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compiled)]
        assert errors == [], name


def test_schema_validates_an_architecture_without_objects() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(_schema())
    compiled = json.loads(run("compile", str(sample("minimal.sct"))).stdout)
    assert list(validator.iter_errors(compiled)) == []
    assert not validator.is_valid({**compiled, "version": 2})
    assert not validator.is_valid({**compiled, "extra": True})


def test_schema_rejects_what_the_compiler_rejects() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(_schema())
    compiled = json.loads((sample("shop.json")).read_text(encoding="utf-8"))
    web = compiled["components"]["api"]["objects"]["web"]
    assert validator.is_valid(compiled)
    web["port"] = "8080"
    assert not validator.is_valid(compiled)
    web["port"] = 8080
    web["kind"] = "computer"
    assert not validator.is_valid(compiled)
    web["kind"] = "compute"
    assert validator.is_valid(compiled)
    # keys are names, as in the language
    compiled["components"]["audit log"] = compiled["components"].pop("worker")
    assert not validator.is_valid(compiled)
    compiled["components"]["worker"] = compiled["components"].pop("audit log")
    objects = compiled["components"]["api"]["objects"]
    objects["bad name"] = objects.pop("orders")
    assert not validator.is_valid(compiled)


# --- the group ----------------------------------------------------------------------------


def test_help() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("compile", "validate", "fmt", "decompile", "schema"):
        assert command in result.stdout


def test_unknown_command_is_usage() -> None:
    assert run("deploy").exit_code == 2
