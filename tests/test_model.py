"""The model's rules, asked by every stage: names and owners, templates and secrets, the
rules of compute objects that hold on every cloud."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from scoot_lang import compile_source
from scoot_model import names

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
