"""docs/language.md's tables of keys, outputs and functions are what the models and
`FUNCTIONS` say now: a description changed on a model and not regenerated into the docs
fails here, with the diff and the command that regenerates them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scoot_lang import language_doc
from scoot_lang.functions import FUNCTIONS
from scoot_model import reference
from scoot_model.objects import BUILTIN_KINDS, Compute

LANGUAGE = Path(__file__).resolve().parent.parent / "docs" / "language.md"


def test_the_generated_tables_are_up_to_date() -> None:
    changes = language_doc.diff(LANGUAGE.read_text(encoding="utf-8"))
    assert not changes, f"docs/language.md's generated tables differ from the models:\n{changes}\nRegenerate them: {language_doc.REGENERATE}"


def test_every_builtin_kind_and_function_has_its_section() -> None:
    names = set(language_doc.sections())
    assert names == {"application", "component", "moved", "functions", *(k.kind_name for k in BUILTIN_KINDS)}
    text = LANGUAGE.read_text(encoding="utf-8")
    for function in FUNCTIONS.values():
        assert f"`{function.signature}`" in text


def test_a_changed_description_is_a_difference(monkeypatch: pytest.MonkeyPatch) -> None:
    text = LANGUAGE.read_text(encoding="utf-8")
    field = Compute.model_fields["replicas"]
    monkeypatch.setattr(field, "description", "How many replicas.")
    Compute.model_rebuild(force=True)
    reference.schema.cache_clear()
    reference.keys.cache_clear()
    try:
        changes = language_doc.diff(text)
    finally:
        monkeypatch.undo()
        Compute.model_rebuild(force=True)
        reference.schema.cache_clear()
        reference.keys.cache_clear()
    assert "-| `replicas` | a whole number from 1 to 1000 or a reference | `1` | How many copies of the process run. |" in changes
    assert "+| `replicas` | a whole number from 1 to 1000 or a reference | `1` | How many replicas. |" in changes
    assert language_doc.diff(text) == ""


def test_a_missing_or_unknown_section_is_refused() -> None:
    text = LANGUAGE.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="no section `storage`"):
        language_doc.generate(text.replace(language_doc.begin("storage"), "<!-- storage -->"))
    with pytest.raises(ValueError, match="unknown section `queue`"):
        language_doc.generate(text + f"\n{language_doc.begin('queue')}\n{language_doc.END}\n")


def test_the_command_checks_and_rewrites(tmp_path: Path) -> None:
    stale = tmp_path / "language.md"
    stale.write_text(
        LANGUAGE.read_text(encoding="utf-8").replace("How many copies of the process run.", "How many."),
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "scoot_lang.language_doc"]
    checked = subprocess.run([*command, "--check", str(stale)], capture_output=True, text=True, check=False)
    assert checked.returncode == 1
    assert "+| `replicas`" in checked.stderr and language_doc.REGENERATE in checked.stderr
    subprocess.run([*command, str(stale)], check=True)
    assert stale.read_text(encoding="utf-8") == LANGUAGE.read_text(encoding="utf-8")
