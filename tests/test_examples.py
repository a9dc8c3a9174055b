"""The examples compile clean, with no warning, and are formatted."""

from pathlib import Path

import pytest

from scoot_lang import compile_path
from scoot_lang.format import format_text

EXAMPLES = sorted(p for p in (Path(__file__).resolve().parent.parent / "examples").iterdir() if p.is_dir())


def test_there_are_at_least_two_examples() -> None:
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_compiles_clean(example: Path) -> None:
    result = compile_path(example)
    assert result.diagnostics == []
    assert result.architecture is not None and result.architecture.components


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_is_formatted(example: Path) -> None:
    for file in example.glob("*.sct"):
        text = file.read_text(encoding="utf-8")
        assert format_text(text, str(file))[0] == text, f"run `scoot fmt {example}`"


def test_the_sites_example_is_a_golden_sample() -> None:
    """examples/sites (a module used three times) is compiled by the golden test too: its
    `.sct` files are copied to tests/baselines/sites, and the copies kept the same."""
    example = Path(__file__).resolve().parent.parent / "examples" / "sites"
    sample = Path(__file__).resolve().parent / "baselines" / "sites"
    sources = sorted(p.relative_to(example) for p in example.rglob("*.sct"))
    assert sources == sorted(p.relative_to(sample) for p in sample.rglob("*.sct"))
    for path in sources:
        assert (sample / path).read_text() == (example / path).read_text(), f"copy examples/sites/{path} to {sample}"
