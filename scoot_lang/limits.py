"""The bounds on what a compilation builds, and the checks that hold values to them.

The text of one value cannot nest deeper than `MAX_NESTING` (the parser sees to
it), but a value built from lets can; and a few lets make a value exponentially
large (`let b = [a, a, a]`, `let c = [b, b, b]`...) from a few hundred bytes of
text. What a compilation builds is measured before it is built, and bounded, as
the text it reads is (docs/language.md, "Limits").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scoot_lang import syntax as s
from scoot_lang.findings import Findings
from scoot_lang.parser import MAX_NESTING
from scoot_lang.values import STRING_SIZE, Measured, Value, flat_size, summarize
from scoot_model.reading import MIB

# The most bytes `file()` reads: its text goes into the JSON form, environment
# variables and commands, where a larger file has no place.
MAX_FILE_BYTES = MIB
# The most a compilation builds: the text of the strings it makes by interpolation (and
# reads with file()), and, apart, the attributes' values it checks, as the objects and
# JSON text they become. Far above any architecture (5,000 components take some 7 MiB),
# and a bound on what a hostile one can make of a few lets.
MAX_BUILT_BYTES = 64 * MIB


@dataclass
class Budget:
    findings: Findings
    measured: Measured = field(default_factory=dict)  # `summarize`'s memory
    built_bytes: int = 0  # the text of strings built by interpolation, and read by file()
    output_bytes: int = 0  # the JSON form of the attributes checked so far
    # A module instance's view: the application's budget, spent by all, reported to the
    # instance's findings (with a note of its use).
    shared: Budget | None = None

    def reporting_to(self, findings: Findings) -> Budget:
        """This budget, its diagnostics reported to `findings`."""
        return Budget(findings, self.measured, shared=self.shared or self)

    def too_deep(self, value: Value, file: s.File, node: Any, what: str) -> bool:
        """Report a value whose lists and maps nest deeper than `MAX_NESTING`: every
        later stage walks values recursively, so they are held to the text's limit."""
        return self._too_deep(summarize(value, self.measured).depth, file, node, what)

    def output_fits(self, value: Value, file: s.File, node: Any, what: str) -> bool:
        """Whether an attribute's value is neither too deep nor, added to those checked
        before it, too large for the architecture's values (each reported)."""
        if type(value) is str:  # most values: no depth, and `summarize`'s size of a string
            return not self.too_large(len(value) + STRING_SIZE, file, node, "the architecture's values", output=True)
        size = flat_size(value)
        if size is not None:  # one level deep: never too deep
            return not self.too_large(size, file, node, "the architecture's values", output=True)
        summary = summarize(value, self.measured)
        return not (
            self._too_deep(summary.depth, file, node, what)
            or self.too_large(summary.size, file, node, "the architecture's values", output=True)
        )

    def _too_deep(self, depth: int, file: s.File, node: Any, what: str) -> bool:
        if depth <= MAX_NESTING:
            return False
        self.findings.error(
            "SCT009",
            f"{what} nests {depth} levels of lists and maps deep, with the lets it uses; "
            f"the most is {MAX_NESTING}",
            file,
            node,
        )
        return True

    def too_large(self, size: int, file: s.File, node: Any, what: str, output: bool = False) -> bool:
        """Count `size` bytes more of built text (or, with `output`, of the JSON form), and
        report the value that takes the total past `MAX_BUILT_BYTES`."""
        totals = self.shared or self
        spent = totals.output_bytes if output else totals.built_bytes
        if spent + size <= MAX_BUILT_BYTES:
            if output:
                totals.output_bytes += size
            else:
                totals.built_bytes += size
            return False
        self.findings.error(
            "SCT010",
            f"{what} would come to more than {MAX_BUILT_BYTES // MIB} MiB with this value, which "
            f"alone takes about {_mib(size)} MiB with the lets it uses; build less from each let",
            file,
            node,
        )
        return True


def _mib(size: int) -> str:
    return f"{size / MIB:,.0f}" if size >= 10 * MIB else f"{size / MIB:.1f}"
