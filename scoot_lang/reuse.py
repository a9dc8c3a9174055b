"""What a compile keeps for the next compile of the same unit: each component's check.

The language server compiles a unit after every change, and a change touches one
component or two. The check of a component (its attributes and objects evaluated
and validated) reads its own tree and what the unit declares: the names and kinds
of the components and objects, the values of the lets and params. When both are
what they were, what the check found is replayed instead of found again: its
diagnostics, references, source map entries, the lets and params it used, the
references between objects (for the cycle check) and what it spent of the budget.

A tree is the same when it is the same object (`parser.parse_edit` keeps the nodes
of the items an edit did not touch), or when its text is the same, moved by an edit
before it (a file without syntax errors: an item's tree is made of its text alone):
then what is replayed is moved by as much (its diagnostics at once, the rest when
first read: `scoot_lang.shifts`), and the source map's values are the new tree's.
A kept check stays in its own block's offsets. The binding of a component's
objects is kept likewise (`binding.Bound`).
Units with modules, `for` or `if` are always checked whole (their components read
more than that), and so is a component that reads a file (`file()`: the disk may
have changed). A replayed component is the same `Component` object as the last
compile's: nothing changes an architecture once it is compiled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from scoot_lang import syntax as s
from scoot_lang.binding import Bound
from scoot_lang.diagnostics import Diagnostic
from scoot_lang.evaluation import Edges, Evaluator
from scoot_lang.findings import Findings
from scoot_lang.limits import MAX_BUILT_BYTES
from scoot_lang.semantic import JsonPath, ReferenceUse
from scoot_lang.shifts import moved_diagnostic, moved_span
from scoot_lang.source import Span
from scoot_model.objects import Component

# Diagnostics whose finding depends on what was checked before (the budget's totals).
_ORDERED = frozenset({"SCT009", "SCT010"})


@dataclass
class Checked:
    """What checking one component found and changed."""

    block: s.ComponentBlock
    path: str
    text: str  # the block's text
    component: Component | None
    diagnostics: list[Diagnostic]
    references: list[ReferenceUse]
    spans: list[tuple[JsonPath, Span]]
    values: list[tuple[JsonPath, tuple[str, s.Expr]]]
    used: set[str]
    deps: Edges
    built_bytes: int
    output_bytes: int
    # Where each of `values` is in `block`: (member, attribute of an object or -1): the
    # same places hold the values of a block of the same text (`replay_moved`).
    places: list[tuple[int, int]] | None = None


@dataclass
class Checks:
    """The checks of a unit's components, kept by a caller that compiles it again and
    again (the language server), and what they read besides their own trees."""

    environment: Any = None
    components: dict[str, Checked] = field(default_factory=dict)
    bound: dict[str, Bound] = field(default_factory=dict)  # the objects bound, by component
    # The texts of this compile's files that parsed without errors, by path.
    texts: dict[str, str] = field(default_factory=dict)


def replayable(files: list[s.File]) -> bool:
    """Whether the unit's components can be checked one by one: no modules, `for` or `if`."""
    for file in files:
        if file.from_json:
            return False
        for item in file.items:
            if isinstance(item, s.ObjectBlock):  # a module's use, or an object of a module's file
                return False
            if isinstance(item, s.ComponentBlock):
                if item.repetition is not None:
                    return False
                for member in s.unshifted(item).members:  # (kinds only: a moved block is not copied)
                    if isinstance(member, s.ObjectBlock) and (
                        isinstance(member, s.ModuleBlock) or member.repetition is not None
                    ):
                        return False
    return True


def environment(evaluator: Evaluator) -> Any:
    """What a component's check reads besides its own tree (compared with `==`)."""
    declared = evaluator.declared
    objects = tuple(
        (component, tuple((name, info.kind, info.model) for name, info in found.items()))
        for component, found in declared.objects.items()
    )
    decls = tuple((name, type(decl).__name__) for name, (decl, _) in declared.decls.items())
    return (tuple(declared.components), objects, decls, dict(evaluator.values), dict(evaluator.params), dict(evaluator.origins))


class Recorder:
    """Records what one component's check adds, to be kept (`Checked`)."""

    def __init__(self, findings: Findings, evaluator: Evaluator) -> None:
        self.findings, self.evaluator = findings, evaluator
        self.diagnostics = len(findings.diagnostics)
        self.references = len(findings.semantic.references)
        self.spans = len(findings.source_map.spans)
        self.values = len(findings.source_map.values)
        self.files_read = evaluator.files_read
        budget = evaluator.budget
        self.built_bytes, self.output_bytes = budget.built_bytes, budget.output_bytes
        # Its own sets, merged after: a name another component used too is recorded.
        self.used, self.deps = evaluator.used, evaluator.deps
        evaluator.used, evaluator.deps = set(), {}

    def finish(self, block: s.ComponentBlock, path: str, text: str, component: Component | None) -> Checked | None:
        """Merge what the check added, and return it (None if it may not be replayed)."""
        evaluator, findings = self.evaluator, self.findings
        used, deps = evaluator.used, evaluator.deps
        evaluator.used, evaluator.deps = self.used, self.deps
        _merge(self.used, self.deps, used, deps)
        diagnostics = findings.diagnostics[self.diagnostics :]
        if evaluator.files_read != self.files_read or any(d.code in _ORDERED for d in diagnostics):
            return None
        source_map = findings.source_map
        return Checked(
            block,
            path,
            text,
            component,
            diagnostics,
            findings.semantic.references[self.references :],
            _last(source_map.spans, len(source_map.spans) - self.spans),
            _last(source_map.values, len(source_map.values) - self.values),
            used,
            deps,
            evaluator.budget.built_bytes - self.built_bytes,
            evaluator.budget.output_bytes - self.output_bytes,
        )


def replay(kept: Checked, findings: Findings, evaluator: Evaluator) -> bool:
    """Add what a kept check found, as checking the component again would; False (and
    nothing added) when its values would not fit in what is left of the budget."""
    budget = evaluator.budget
    if (
        budget.built_bytes + kept.built_bytes > MAX_BUILT_BYTES
        or budget.output_bytes + kept.output_bytes > MAX_BUILT_BYTES
    ):
        return False
    budget.built_bytes += kept.built_bytes
    budget.output_bytes += kept.output_bytes
    findings.diagnostics.extend(kept.diagnostics)
    findings.semantic.references.extend(kept.references)
    spans, values = findings.source_map.spans, findings.source_map.values
    added = {path for path, span in kept.spans if spans.setdefault(path, span) is span}
    for path, value in kept.values:
        if path in added:
            values[path] = value
    _merge(evaluator.used, evaluator.deps, kept.used, kept.deps)
    return True


def replay_moved(kept: Checked, block: s.ComponentBlock, findings: Findings, evaluator: Evaluator) -> bool:
    """Replay a kept check of a block whose text moved (to `block`, the same text
    elsewhere), as `replay`: its diagnostics and the references between objects moved
    now, the rest when first read (`Findings.shift`: a line added above a thousand
    components moves them all, on every such keystroke). False (and nothing added)
    when something it found is outside the block (not moved), or its values would not
    fit in the budget. `kept` stays as it is, in its own block's offsets."""
    delta = block.start - kept.block.start
    low, high = kept.block.start, kept.block.end

    def inside(span: Span) -> bool:
        return span.file == kept.path and low <= span.start and span.end <= high

    if not all(
        (found.span is None or inside(found.span)) and all(inside(r) for r, _ in found.related)
        for found in kept.diagnostics
    ):
        return False
    if kept.places is None:
        kept.places = _places(kept)  # the same for every block of its text
    places = kept.places
    budget = evaluator.budget
    if (
        places is None
        or budget.built_bytes + kept.built_bytes > MAX_BUILT_BYTES
        or budget.output_bytes + kept.output_bytes > MAX_BUILT_BYTES
    ):
        return False
    budget.built_bytes += kept.built_bytes
    budget.output_bytes += kept.output_bytes
    findings.diagnostics.extend(moved_diagnostic(found, delta) for found in kept.diagnostics)

    def values() -> list[tuple[JsonPath, tuple[str, s.Expr]]]:
        members = block.members
        found: list[tuple[JsonPath, tuple[str, s.Expr]]] = []
        for (path, (file, _)), (member, attribute) in zip(kept.values, places, strict=True):
            holder = members[member]
            value = holder.value if isinstance(holder, s.Attribute) else holder.attributes[attribute].value
            found.append((path, (file, value)))
        return found

    findings.shift(delta, references=kept.references, spans=kept.spans, values=values)
    deps = {source: {target: moved_span(at, delta) for target, at in targets.items()} for source, targets in kept.deps.items()}
    _merge(evaluator.used, evaluator.deps, kept.used, deps)
    return True


def _places(kept: Checked) -> list[tuple[int, int]] | None:
    """Where the values a check recorded are in its block (None if one is not there)."""
    found: dict[int, tuple[int, int]] = {}
    for index, member in enumerate(kept.block.members):
        if isinstance(member, s.Attribute):
            found.setdefault(id(member.value), (index, -1))
        elif not isinstance(member, s.ModuleBlock):
            for number, attr in enumerate(member.attributes):
                found.setdefault(id(attr.value), (index, number))
    places: list[tuple[int, int]] = []
    for _, (_, value) in kept.values:
        place = found.get(id(value))
        if place is None:
            return None
        places.append(place)
    return places


def _merge(used: set[str], deps: Edges, more_used: set[str], more_deps: Edges) -> None:
    used |= more_used
    for source, targets in more_deps.items():
        edges = deps.setdefault(source, {})
        for target, span in targets.items():
            edges.setdefault(target, span)


def _last(entries: dict[JsonPath, Any], count: int) -> list[tuple[JsonPath, Any]]:
    """The last `count` entries added to a dict, in the order they were added."""
    return list(islice(reversed(entries.items()), count))[::-1]
