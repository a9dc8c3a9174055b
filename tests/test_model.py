"""The model's rules, asked by every stage: names and owners, templates and secrets, the
rules of compute objects that hold on every cloud."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from scoot_lang import compile_source
from scoot_model import names, template
from scoot_model.objects import Architecture

MODEL = Path(__file__).resolve().parent.parent / "scoot_model"


def test_the_model_imports_nothing_of_scoot_outside_itself() -> None:
    for path in MODEL.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            modules = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )
            for module in modules:
                assert not module.startswith(("scoot_runtime", "scoot_lang", "scoot_lsp")), (path.name, module)


@pytest.mark.parametrize("owner", ["ac--me", "-acme", "acme-", "a" * 40, "ac_me"])
def test_an_owner_github_refuses_is_a_compile_error_at_the_owner(owner: str) -> None:
    text = f'application shop {{\n  owner = "{owner}"\n}}\n'
    result = compile_source(text, "architecture.sct")
    errors = result.errors
    assert [d.code for d in errors] == ["SCT204"]
    start = text.index(f'"{owner}"')
    assert (errors[0].span.start, errors[0].span.end) == (start, start + len(owner) + 2)


@pytest.mark.parametrize("owner", ["acme", "a-c-me", "A1", "a" * 39])
def test_an_owner_github_takes_compiles(owner: str) -> None:
    result = compile_source(f'application shop {{\n  owner = "{owner}"\n}}\n', "architecture.sct")
    assert result.errors == []
    assert names.owner_problem(owner) is None


def test_the_runtime_and_the_compiler_agree_on_owners() -> None:
    from scoot_runtime.repositories import naming
    from scoot_runtime.repositories.base import RepositoryError

    for owner in ("ac--me", "acme-", "a" * 40):
        with pytest.raises(RepositoryError):
            naming.architecture_repository(owner, "shop")
        assert names.owner_problem(owner) is not None


@pytest.mark.parametrize(("name", "why"), [("con", "Windows"), ("let", "keyword"), ("9x", "start with"), ("x" * 101, "at most")])
def test_name_rules(name: str, why: str) -> None:
    problem = names.name_problem(name)
    assert problem is not None and why in problem


# --- the template and secret syntax: one parser -------------------------------------------

ENV_APP = """\
application shop { owner = "acme" }
component api {
  compute web {
    command = ["python3", "server.py"]
    env = { GREETING = %s }
  }
}
"""


def _greeting(value: str) -> str:
    result = compile_source(ENV_APP % value, "architecture.sct")
    assert result.diagnostics == []
    assert result.architecture is not None
    greeting = result.architecture.to_dict()["components"]["api"]["objects"]["web"]["env"]["GREETING"]
    assert isinstance(greeting, str)
    return greeting


def test_an_escaped_secret_call_lexes_and_is_text() -> None:
    # `$${` is the escape for a literal `${`: what follows is text, with its quotes escaped.
    greeting = _greeting('"$${secret(\\"X\\")}"')
    assert greeting == '$${secret("X")}'
    assert template.split(greeting) == [template.Part('${secret("X")}', False, 0)]


def test_after_the_escape_a_quote_ends_the_string() -> None:
    # Text after `$${` is text: an unescaped quote closes the string, as it would anywhere.
    result = compile_source(ENV_APP % '"$${secret("X")}"', "architecture.sct")
    assert result.errors


def test_a_literal_secret_call_is_never_a_secret_at_plan() -> None:
    from scoot_cli.views.written import holds_secret, show_value
    from scoot_runtime.plan import secret_names

    config = {"env": {"GREETING": '$${secret("X")}', "TOKEN": '${secret("TOKEN")}'}}
    assert secret_names(config) == {"TOKEN"}
    assert not holds_secret('$${secret("X")}')
    assert holds_secret(config)
    assert show_value('${secret("TOKEN")}') == 'secret("TOKEN")'


def test_the_resolver_fills_a_literal_secret_call_as_text(tmp_path: Path) -> None:
    from scoot_runtime.resolve import Resolver
    from scoot_runtime.secrets import Secrets

    secrets = Secrets(tmp_path / ".scoots", tmp_path, None, {})
    resolved = Resolver({}, secrets).resolve({"env": {"GREETING": '$${secret("X")}'}})
    assert resolved.config == {"env": {"GREETING": '${secret("X")}'}}
    assert resolved.secrets == set()


@pytest.mark.parametrize(
    ("text", "sct", "kind", "read", "end"),
    [
        ("$${x}", False, "text", "${", 3),
        ("$${x}", True, "text", "${", 3),
        ("$$x", False, "text", "$", 2),
        ("$$x", True, "text", "$", 1),
        ('${secret("A")}', True, "interpolation", 'secret("A")', 14),
        ("${a", False, "unclosed", "${a", 3),
    ],
)
def test_read_dollar(text: str, sct: bool, kind: str, read: str, end: int) -> None:
    assert template.read_dollar(text, 0, sct=sct) == (kind, read, end)


def test_the_walk_over_dumped_values() -> None:
    value = {"a": ["${api.web.url}", '${secret("T")} and $${secret("U")}'], "b": 1, "c": "${x"}
    assert list(template.references_in(value)) == ["api.web.url"]
    assert list(template.secrets_in(value)) == ["T"]
    assert template.is_one_interpolation("${api.db.port}")
    assert not template.is_one_interpolation("$${api.db.port}")
    assert not template.is_one_interpolation("${a} ${b}")


# --- rules of compute that hold on every cloud: model validation ----------------------------

COMPUTE_APP = """\
application shop { owner = "acme" }
component api {
  compute v { command = ["b"], port = 8080 }
  compute w { %s }
}
"""


def _errors_at(body: str) -> list[tuple[str, str, str]]:
    text = COMPUTE_APP % body
    result = compile_source(text, "architecture.sct")
    return [(d.code, text[d.span.start : d.span.end], d.message) for d in result.errors]


def test_compute_rules_of_every_cloud_are_compile_errors_at_their_keys() -> None:
    errors = _errors_at('command = ["a", "b"], shell = true, health = "healthz"')
    assert [(code, at) for code, at, _ in errors] == [("SCT204", "true"), ("SCT204", '"healthz"')]
    assert "one string" in errors[0][2] and "starts with `/`" in errors[1][2]


@pytest.mark.parametrize(
    ("body", "at", "says"),
    [
        ("command = []", "[]", "at least one"),
        ('command = ["a"], health = "/healthz"', '"/healthz"', "`port`"),
        ('command = ["a"], health = []', "[]", "at least one"),
        ('command = ["a"], env = { "A=B" = "x" }', '{ "A=B" = "x" }', "not an environment variable name"),
        ('command = ["a"], env = { "" = "x" }', '{ "" = "x" }', "not an environment variable name"),
    ],
)
def test_compute_rules(body: str, at: str, says: str) -> None:
    [(code, where, message)] = _errors_at(body)
    assert (code, where) == ("SCT204", at)
    assert says in message


def test_a_reference_is_only_checked_for_type_at_compile_time() -> None:
    # The port is known at apply time: the path's rule asks only that a port is set.
    assert _errors_at('command = ["a"], port = v.port, health = "/h"') == []
    assert _errors_at('command = ["a"], shell = true, health = "/h", port = 8080') == []


def test_max_unavailable_is_at_most_replicas_where_both_are_known() -> None:
    errors = _errors_at('command = ["a"], replicas = 2, max_unavailable = 3')
    assert [(code, at) for code, at, _ in errors] == [("SCT204", "3")]
    assert "`max_unavailable` is at most `replicas` (2)" in errors[0][2]
    assert _errors_at('command = ["a"], replicas = 3, max_unavailable = 3') == []
    assert _errors_at('command = ["a"], replicas = v.port, max_unavailable = 3') == []


def test_the_drivers_ask_the_model_and_keep_their_own_rules(tmp_path: Path) -> None:
    from scoot_runtime.drivers.base import Address, DriverContext, ObjectSpec
    from scoot_runtime.drivers.local import LocalDriver

    driver = LocalDriver(DriverContext("shop", "local", "x", tmp_path / ".scoots", tmp_path))

    def keys(config: dict[str, object]) -> set[str | None]:
        return {f.key for f in driver.check(ObjectSpec(Address("api", "w"), "compute", config))}

    assert keys({"command": ["a", "b"], "shell": True, "health": "healthz"}) == {"shell", "health"}
    assert keys({"command": ["a"], "port": "${api.db.port}", "health": "/h"}) == set()
    # The local driver's own: replica i on port + i, its marker variables.
    assert keys({"command": ["a"], "port": 65535, "replicas": 2}) == {"port"}
    assert keys({"command": ["a"], "env": {"SCOOT_OBJECT": "x"}}) == {"env"}
    # A reference resolved at apply time is judged by the model there.
    assert keys({"command": ["a"], "replicas": 2, "max_unavailable": 3}) == {"max_unavailable"}


def test_no_driver_imports_another() -> None:
    drivers = MODEL.parent / "scoot_runtime" / "drivers"
    for folder in (p for p in drivers.iterdir() if p.is_dir() and p.name != "__pycache__"):
        for path in folder.glob("*.py"):
            text = path.read_text(encoding="utf-8")
            for other in (p.name for p in drivers.iterdir() if p.is_dir() and p.name not in (folder.name, "__pycache__")):
                assert f"scoot_runtime.drivers.{other}" not in text, (path, other)


# -- moved ----------------------------------------------------------------------------------------

MOVED_BASE: dict[str, Any] = {
    "application": {"name": "shop"},
    "components": {"api": {"objects": {"store": {"kind": "storage", "engine": "sqlite"}}}},
}


def test_moved_blocks_round_trip_through_json() -> None:
    moves = [
        {"from": "api.orders", "to": "api.cache"},
        {"from": "api.cache", "to": "api.store"},
        {"from": "web", "to": "api"},
    ]
    architecture = Architecture.model_validate({**MOVED_BASE, "moved": moves})
    assert Architecture.from_json(architecture.to_json()) == architecture
    assert architecture.to_dict()["moved"] == moves
    assert "moved" not in Architecture.model_validate(MOVED_BASE).to_dict()


@pytest.mark.parametrize(
    ("moves", "says"),
    [
        ([{"from": "api.store", "to": "api.store"}], "both `api.store`"),
        ([{"from": "api", "to": "api.store"}], "from an object to an object"),
        ([{"from": "api.orders", "to": "api.gone"}], "moved to `api.gone`: nothing of that name is declared"),
        ([{"from": "api.store", "to": "api.orders"}], "moved from `api.store`: it is still declared"),
        ([{"from": "api.a", "to": "api.b"}, {"from": "api.b", "to": "api.a"}], "go round in a circle"),
        ([{"from": "api.a", "to": "api.store"}, {"from": "api.a", "to": "api.store"}], "`api.a` is moved twice"),
        ([{"from": "../api", "to": "api"}], "should match pattern"),
    ],
)
def test_moved_blocks_that_cannot_be(moves: list[dict[str, str]], says: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(says)):
        Architecture.model_validate({**MOVED_BASE, "moved": moves})


def test_a_configuration_checked_again_gets_the_same_problems() -> None:
    # `problems` keeps its answer for a configuration (a plan asks it of 10,000 alike).
    from scoot_model.objects import problems

    bad = {"engine": "directory", "size": 1}
    first = problems("storage", bad)
    assert first == [("size", "`size`: Input should be a valid string")]
    first.clear()  # the caller's list: not the one kept
    assert problems("storage", bad) == [("size", "`size`: Input should be a valid string")]
    assert problems("storage", {"engine": "directory", "size": "1GiB"}) == []
    assert problems("storage", {"engine": "directory", "size": 1.0}) != []  # a float: its own key
