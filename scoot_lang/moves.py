"""The checker's `moved` pass: each block's two addresses, read by their form, then the
model's rules of moves, each reported on the text at fault.

An address is a name, not a value: `api.orders` is read as written, never resolved as
a reference (the old address names nothing declared). The rules are the model's
(`scoot_model.objects`: `Moved` for one move, `move_problems` for the list), so the
compiler, the JSON form and the runtime agree on what a move may be.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from scoot_lang import syntax as s
from scoot_lang.binding import Declarations
from scoot_lang.diagnostics import Diagnostic, diagnostic
from scoot_lang.findings import Findings, span
from scoot_lang.semantic import ReferenceUse
from scoot_lang.source import Span
from scoot_model import names
from scoot_model.objects import Moved, MoveProblem, MoveRule, move_problems
from scoot_model.wording import closest, did_you_mean

ADDRESS_KEYS = ("from", "to")
EXAMPLE = "`from = api.orders, to = api.store` (objects) or `from = billing, to = payments` (components)"
JSON_EXAMPLE = '`{"from": "api.orders", "to": "api.store"}` (objects) or `{"from": "billing", "to": "payments"}` (components)'

# The model's rules of a list of moves, by code.
MOVE_CODES: dict[MoveRule, str] = {
    "not_declared": "SCT603",
    "still_declared": "SCT604",
    "moved_twice": "SCT605",
    "circle": "SCT606",
}


def not_an_address(key: str, why: str, at: Span, json_form: bool = False) -> Diagnostic:
    """SCT601: a `moved` block's `from` or `to` that does not have an address's form."""
    return diagnostic("SCT601", f"`{key}` is not an address: {why}; write {JSON_EXAMPLE if json_form else EXAMPLE}", at)


def shape_mismatch(message: str, at: Span) -> Diagnostic:
    """SCT602: `from` and `to` the same, or one an object and the other a component (`Moved`'s rule)."""
    return diagnostic("SCT602", message, at)


def move_diagnostic(problem: MoveProblem, at: Span, related: tuple[tuple[Span, str], ...] = ()) -> Diagnostic:
    """SCT603–SCT606: a rule of the list of moves (`move_problems`), on the address at fault."""
    what_to_do = {
        "not_declared": "; name an object or component of the architecture",
        "still_declared": "",
        "moved_twice": "",
        "circle": ": end the chain at something declared",
    }[problem.rule]
    return diagnostic(MOVE_CODES[problem.rule], problem.message + what_to_do, at, related)


@dataclass
class _Move:
    block: s.MovedBlock
    file: s.File
    values: dict[str, s.Expr] = field(default_factory=dict)  # `from` and `to`, as written


def check_moves(files: list[s.File], declared: Declarations, findings: Findings) -> list[Moved]:
    """The moves of the unit, in the order written; what is wrong with them, reported."""
    addresses = set(declared.components) | {
        f"{component}.{name}" for component, objects in declared.objects.items() for name in objects
    }
    moves: list[Moved] = []
    read: list[_Move] = []
    for file in files:
        for item in file.items:
            if isinstance(item, s.MovedBlock):
                move = _read(item, file, declared, findings, len(moves))
                if move is not None:
                    moves.append(move[0])
                    read.append(move[1])
    for problem in move_problems(moves, addresses):
        at = read[problem.index]
        related: tuple[tuple[Span, str], ...] = ()
        if problem.rule == "moved_twice":
            first = next(i for i, move in enumerate(moves) if move.from_ == moves[problem.index].from_)
            related = ((span(read[first].file, read[first].values["from"]), "first moved here"),)
        findings.add(move_diagnostic(problem, span(at.file, at.values[problem.address]), related))
    return moves


def _read(
    block: s.MovedBlock, file: s.File, declared: Declarations, findings: Findings, index: int
) -> tuple[Moved, _Move] | None:
    move = _Move(block, file)
    parsed: dict[str, str] = {}
    findings.source_map.add(("moved", str(index)), span(file, block))
    for attr in block.attributes:
        key = attr.key.text
        if attr.key.missing:
            continue
        if key in move.values:
            findings.error("SCT103", f"`{key}` is set twice; remove one", file, attr.key)
            continue
        if key not in ADDRESS_KEYS:
            match = closest(key, list(ADDRESS_KEYS))
            findings.error(
                "SCT202", f"unknown key `{key}`{did_you_mean(match)}; a `moved` block holds `from` and `to`", file, attr.key, match
            )
            continue
        move.values[key] = attr.value
        findings.source_map.add(("moved", str(index), key), span(file, attr), attr.value)
        address = _address(key, attr.value, file, findings)
        if address is not None:
            parsed[key] = address
            _record(key, address, attr.value, file, declared, findings)
    missing = [key for key in ADDRESS_KEYS if key not in move.values]
    if missing:
        # On the keyword; in the JSON form, on the move's `{`.
        keyword = Span(file.path, block.start, block.start + (1 if file.from_json else len("moved")))
        needs = " and ".join(f"`{key}`" for key in missing)
        example = JSON_EXAMPLE if file.from_json else EXAMPLE
        findings.add(diagnostic("SCT203", f"a `moved` block needs {needs}: {example}", keyword, suggestion=missing[0]))
        return None
    if len(parsed) < len(ADDRESS_KEYS):
        return None
    try:
        return Moved.model_validate(parsed), move
    except ValidationError as error:
        message = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
        findings.add(shape_mismatch(message, span(file, move.values["to"])))
        return None


def _address(key: str, value: s.Expr, file: s.File, findings: Findings) -> str | None:
    """The address a value writes (`api.orders`), or None, reported, when it is not one."""
    parts: list[str] | None = None
    if isinstance(value, s.Reference):
        parts = [part.text for part in value.parts]
    elif isinstance(value, s.StringLit) and value.is_plain and file.from_json:
        parts = value.text.split(".")  # the JSON form writes an address as a string
    if parts is None:
        why = "quotes make it text" if isinstance(value, s.StringLit) else "it is a value"
        findings.add(not_an_address(key, why, span(file, value), file.from_json))
        return None
    if isinstance(value, s.Reference) and any(part.missing for part in value.parts):
        return None  # a name the parser made up while recovering: already reported
    bad = next((part for part in parts if not names.is_name(part)), None)
    keyword = next((part for part in parts if part in names.KEYWORDS), None)
    if bad is not None:
        why = f"`{bad}` is not a name" if bad else f"`{'.'.join(parts)}` holds an empty name"
    elif len(parts) > 2:
        why = f"`{'.'.join(parts)}` names more than a component and an object (an output is never moved)"
    elif keyword is not None:
        why = f"`{keyword}` is a keyword of the language, never a name"
    else:
        return ".".join(parts)
    findings.add(not_an_address(key, why, span(file, value), file.from_json))
    return None


def _record(key: str, address: str, value: s.Expr, file: s.File, declared: Declarations, findings: Findings) -> None:
    """An address for the editor tools: a `to` names what it moves to, when that is declared."""
    parts = address.split(".")
    if isinstance(value, s.Reference):
        starts = tuple(part.start for part in value.parts)
    else:  # a JSON string: exact when it holds no escape
        first = value.start + 1
        starts = (first,) if len(parts) == 1 else (first, first + len(parts[0]) + 1)
    component = parts[0]
    targets: tuple[str | None, ...] = ()
    if key == "to" and component in declared.components:
        if len(parts) == 1:
            targets = (f"component:{component}",)
        elif parts[1] in declared.objects.get(component, {}):
            targets = (f"component:{component}", f"object:{address}")
    target = targets[-1] if targets else None
    findings.semantic.references.append(
        ReferenceUse(span(file, value), tuple(parts), starts, target, None, targets, key)
    )
