"""The table of diagnostic codes and docs/diagnostics.md list the same codes."""

import re
from pathlib import Path

from scoot_lang.diagnostics import CODES

DOC = Path(__file__).resolve().parent.parent / "docs" / "diagnostics.md"


def test_every_code_is_documented_once() -> None:
    documented = re.findall(r"^\| (SCT\d{3}) \|", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    assert sorted(documented) == sorted(CODES)
    assert len(documented) == len(set(documented))


def test_codes_are_stable_in_form() -> None:
    for code, entry in CODES.items():
        assert re.fullmatch(r"SCT\d{3}", code)
        assert entry.code == code
        assert entry.title
