"""The editor grammars name what the language's own tables name: the keywords
(`scoot_model.names`), the param types (the checker's) and the built-in functions
(`scoot_lang.functions`). A word added to the language and not to a grammar fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path

from scoot_lang.functions import FUNCTIONS
from scoot_lang.values import PARAM_TYPES
from scoot_model.names import KEYWORDS

EDITORS = Path(__file__).resolve().parents[2] / "editors"
TEXTMATE = EDITORS / "vscode" / "syntaxes" / "scoot.tmLanguage.json"
VIM = EDITORS / "nvim" / "syntax" / "scoot.vim"


def textmate_patterns() -> list[str]:
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            found.extend(str(node[key]) for key in ("match", "begin") if key in node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(TEXTMATE.read_text(encoding="utf-8")))
    return found


def alternatives(pattern: str, anchor: str) -> list[set[str]]:
    """Every group of plain-word alternatives in `pattern` that holds `anchor`."""
    groups = re.findall(r"\((?:\?:)?((?:[a-z]+\|)+[a-z]+)\)", pattern)
    return [set(group.split("|")) for group in groups if anchor in group.split("|")]


def test_the_textmate_grammar_names_the_languages_words() -> None:
    patterns = textmate_patterns()
    keyword_groups = [g for p in patterns for g in alternatives(p, "component") if "null" in g]
    assert keyword_groups and all(g == KEYWORDS for g in keyword_groups)
    assert [g for p in patterns for g in alternatives(p, "string")] == [set(PARAM_TYPES)]
    assert [g for p in patterns for g in alternatives(p, "secret")] == [set(FUNCTIONS)]


def test_the_neovim_syntax_names_the_languages_words() -> None:
    text = VIM.read_text(encoding="utf-8")

    def words(group: str) -> set[str]:
        found: set[str] = set()
        for line in re.findall(rf"^syn keyword {group} (.*)$", text, re.M):
            found |= {w for w in line.split() if "=" not in w and w not in ("contained", "skipwhite", "skipempty")}
        return found

    assert words("scootKeyword") | words("scootBoolean") | words("scootNull") == KEYWORDS
    assert words("scootType") == set(PARAM_TYPES)
    [builtins] = re.findall(r"^syn match\s+scootBuiltin .*?\\%\(([a-z\\|]+)\\\)", text, re.M)
    assert set(builtins.split("\\|")) == set(FUNCTIONS)


def test_the_vscode_snippets_of_functions_are_the_tables() -> None:
    """Each built-in function has a snippet that inserts what completion inserts."""
    snippets = json.loads((EDITORS / "vscode" / "snippets" / "scoot.json").read_text(encoding="utf-8"))
    for function in FUNCTIONS.values():
        snippet = snippets[function.name]
        assert snippet["prefix"] == function.name
        assert snippet["body"] == [function.snippet + "$0"]
