"""The plan as a person reads it (a line per changed object, its details, the `.sct` line
of each in a right-hand column, a summary), and as JSON for tools."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import click

from scoot_app.sct_lines import Location, Locator
from scoot_cli.output import counted
from scoot_cli.views.params import params_json, params_lines
from scoot_cli.views.written import holds_secret, key_changes, short_revision
from scoot_model.wording import join_names
from scoot_runtime.partial import REQUESTED
from scoot_runtime.plan import Action, Change, Plan
from scoot_runtime.state import ObjectState
from scoot_runtime.workspace import ParamValue

SYMBOLS: dict[Action, str] = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.MOVE: "→",
    Action.NOOP: " ",
}
COLOURS: dict[Action, str] = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.REPLACE: "red",
    Action.DELETE: "red",
    Action.MOVE: "blue",
    Action.NOOP: "white",
}
DRIFT_SYMBOL = "!"
DRIFT_COLOUR = "magenta"
# What the plan found and leaves alone (scoot.lock does not record it, so it is not this
# branch's to change), and the hint that follows the list; in a destroy, nothing is wanted.
LEFT_ALONE = "found, not recorded in scoot.lock and not in the architecture: left alone"
LEFT_ALONE_HINT = (
    "Perhaps another branch's or clone's: once that branch is merged here, it is managed here. "
    "To take one over now, add it to the architecture: it is adopted, not made again."
)
LEFT_ALONE_DESTROYED = "found, not recorded in scoot.lock: left alone"
LEFT_ALONE_DESTROYED_HINT = "Perhaps another branch's or clone's: destroy removes only what scoot.lock records."


@dataclass
class Line:
    """A line of output: `text` on the left, a location in the right column."""

    text: str
    styled: str
    location: Location | None = None


@dataclass
class PlanView:
    """What the plan's rendering needs besides the plan."""

    locator: Locator
    wanted: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # configurations as written
    recorded: Mapping[str, ObjectState] = field(default_factory=dict)
    revisions: Mapping[str, str | None] = field(default_factory=dict)  # wanted source revisions
    delete_data: bool = False
    params: Mapping[str, ParamValue] = field(default_factory=dict)  # the values used, and their sources


def _symbol(change: Change) -> tuple[str, str]:
    """The symbol and its styled form."""
    if change.moved_from is not None and change.action is Action.UPDATE:
        symbol = SYMBOLS[Action.MOVE]
        return symbol, click.style(symbol, fg=COLOURS[Action.MOVE], bold=True)
    if change.drift and not change.keys and change.action in (Action.CREATE, Action.UPDATE):
        return DRIFT_SYMBOL, click.style(DRIFT_SYMBOL, fg=DRIFT_COLOUR, bold=True)
    if change.action is Action.REPLACE:
        # Terraform's order of the two: `+/-` makes the new one first, `-/+` deletes first.
        minus, plus = click.style("-", fg="red", bold=True), click.style("+", fg="green", bold=True)
        return ("+/-", f"{plus}/{minus}") if change.new_first else ("-/+", f"{minus}/{plus}")
    symbol = SYMBOLS[change.action]
    return symbol, click.style(symbol, fg=COLOURS[change.action], bold=True)


def _what(change: Change, view: PlanView) -> str:
    if change.moved_from is not None:
        return _moved(change, view)
    if change.found and change.action is Action.UPDATE and not change.keys:
        # Found by name, made from a configuration the driver cannot tell (the details say so).
        found = "found running, though scoot.lock does not record it" if change.unrecorded else "found after an interrupted run"
        return f"{found}: it will be updated"
    if change.drift and change.action is Action.CREATE:
        return "is gone: it will be created again"
    if change.drift and not change.keys:
        return "has drifted: it will be repaired"
    if change.action is Action.CREATE:
        return "will be created"
    if change.action is Action.UPDATE:
        return "will be updated in place"
    if change.action is Action.REPLACE:
        replaced = "must be replaced, the new one first" if change.new_first else "must be replaced"
        if change.kind == "storage":
            return f"{replaced}, the old one's data deleted" if view.delete_data else f"{replaced}; its data is kept"
        return replaced
    if change.action is Action.DELETE:
        if change.kind == "storage":
            return "will be deleted, with its data" if view.delete_data else "will be deleted; its data is kept"
        return "will be deleted"
    if change.unrecorded:
        return "found running, though scoot.lock does not record it: it will be recorded"
    return "found after an interrupted run: it will be recorded" if change.found else "unchanged"


def _moved(change: Change, view: PlanView) -> str:
    """`api.orders (storage) will be moved to api.store`, and what else happens to it."""
    moved = f"will be moved to {change.address}"
    if change.action is Action.UPDATE:
        return f"{moved} and updated in place"
    if change.action is Action.REPLACE:
        kept = "" if change.kind != "storage" else ", its data deleted" if view.delete_data else "; its data is kept"
        return f"{moved}, then replaced{kept}"
    return moved


def plan_lines(plan: Plan, view: PlanView) -> list[Line]:
    """Per changed object: a line with its symbol, address, kind and source line; then its details."""
    lines: list[Line] = []
    for change in plan.changes:
        if change.action is Action.NOOP and not change.found:
            continue
        symbol, styled_symbol = _symbol(change)
        # A move is said from where it is recorded now: `api.orders … will be moved to api.store`.
        named = change.moved_from or change.address
        head = f"{named} ({change.kind}) {_what(change, view)}"
        colour = DRIFT_COLOUR if symbol == DRIFT_SYMBOL else COLOURS[change.action]
        styled_head = click.style(named, bold=True) + f" ({change.kind}) " + click.style(
            _what(change, view), fg=colour
        )
        location = view.locator.object(change.address) if change.action is not Action.DELETE else None
        indent = " " * (3 - len(symbol))
        lines.append(Line(f"{indent}{symbol} {head}", f"{indent}{styled_symbol} {styled_head}", location))
        for text, styled, where in _details(change, view):
            lines.append(Line(f"      {text}", f"      {styled}", where))
    return lines


def left_alone_lines(plan: Plan, color: bool) -> list[str]:
    """What the plan found and leaves alone, and what to do about it."""
    if not plan.left_alone:
        return []
    what, hint = (LEFT_ALONE_DESTROYED, LEFT_ALONE_DESTROYED_HINT) if plan.destroy else (LEFT_ALONE, LEFT_ALONE_HINT)
    lines = []
    for address, kind in sorted(plan.left_alone.items()):
        if color:
            lines.append(f"  {click.style('=', dim=True)} {click.style(address, bold=True)} ({kind}) {what}")
        else:
            lines.append(f"  = {address} ({kind}) {what}")
    return [*lines, "", f"  {hint}"]


def _details(change: Change, view: PlanView) -> list[tuple[str, str, Location | None]]:
    """(plain, styled, location) of each detail line of a change."""
    out: list[tuple[str, str, Location | None]] = []

    def add(symbol: str, text: str, where: Location | None) -> None:
        colour = {"+": "green", "-": "red", "~": "yellow", "!": DRIFT_COLOUR}.get(symbol)
        styled = click.style(symbol, fg=colour) if colour else symbol
        out.append((f"{symbol} {text}", f"{styled} {text}", where))

    if REQUESTED in change.replace:
        add("~", "replaced as asked (--replace)", None)
    if change.unrecorded:
        add("!", "found by its name, though scoot.lock does not record it (adopted)", None)
    elif change.found:
        add("!", "found after an interrupted run (adopted by its name)", None)
    for drift in change.drift:
        if not (change.action is Action.CREATE and drift == "not found"):  # the head line says it
            add("!", f"drift: {drift}", None)
    record = view.recorded.get(change.moved_from or change.address)
    wanted = view.wanted.get(change.address)
    for key in change.keys:
        where = view.locator.key(change.address, key)
        suffix = " (forces replacement)" if key in change.replace else ""
        if key in change.unknown:
            add("~", f"{key}: (known after apply){suffix}", where)
            continue
        if key == "revision":
            before = short_revision(record.revision if record else None)
            after = short_revision(view.revisions.get(change.address))
            add("~", f"source: new revision {before} → {after}{suffix}", where)
            continue
        old = record.config if record is not None else None
        for index, item in enumerate(key_changes(key, old, wanted)):
            inner = view.locator.key(change.address, *item.path) if len(item.path) > 1 else None
            add(item.symbol, item.text + (suffix if index == 0 else ""), inner or where)
    return out


def format_lines(lines: Sequence[Line], color: bool) -> list[str]:
    """Lines with their locations aligned in a right-hand column."""
    width = min(max((len(line.text) for line in lines if line.location), default=0), 72)
    out = []
    for line in lines:
        text = line.styled if color else line.text
        if line.location is None:
            out.append(text)
            continue
        gap = " " * max(2, width - len(line.text) + 2)
        where = str(line.location)
        out.append(text + gap + (click.style(where, dim=True) if color else where))
    return out


def plan_summary(plan: Plan) -> str:
    if not plan.has_changes:
        return "No changes. The infrastructure matches the architecture." + _left_alone_summary(plan)
    counts = plan.counts()
    moves = f", {counts['move']} to move" if counts["move"] else ""
    text = (
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['replace']} to replace, {counts['delete']} to delete{moves}."
    )
    interrupted = len(plan.adopted) - len(plan.unrecorded)
    if interrupted:
        text += f" {interrupted} found after an interrupted run to record."
    if plan.unrecorded:
        text += (
            f" {len(plan.unrecorded)} found running that scoot.lock does not record, to record "
            f"({', '.join(sorted(plan.unrecorded))})."
        )
    if plan.forget:
        text += f" {len(plan.forget)} gone and no longer wanted to forget ({', '.join(plan.forget)})."
    if plan.settle:
        text += f" {len(plan.settle)} interrupted operation(s) to close ({', '.join(plan.settle)})."
    return text + _left_alone_summary(plan)


def _left_alone_summary(plan: Plan) -> str:
    if not plan.left_alone:
        return ""
    return f" {len(plan.left_alone)} left alone, not recorded in scoot.lock ({', '.join(sorted(plan.left_alone))})."


def render_plan(plan: Plan, view: PlanView, color: bool) -> str:
    lines: list[str] = params_lines(view.params, color)
    if lines:
        lines.append("")
    shown = plan_lines(plan, view)
    if shown:
        if plan.destroy:
            lines.append(f"Scoot will destroy these objects of target `{plan.target}`:")
        else:
            lines.append(f"Scoot will make these changes on target `{plan.target}`:")
        lines.append("")
        lines.extend(format_lines(shown, color))
        lines.append("")
    alone = left_alone_lines(plan, color)
    if alone:
        lines.extend([f"Left alone on target `{plan.target}`:", "", *alone, ""])
    for warning in plan.warnings:
        lines.extend([(click.style("Warning", fg="yellow", bold=True) if color else "Warning") + f": {warning}", ""])
    lines.append(plan_summary(plan))
    if plan.only:
        lines.append(partial_line(plan))
    return "\n".join(lines)


def plan_json(plan: Plan, view: PlanView) -> dict[str, Any]:
    """`plan.to_dict()`, with the `.sct` location of each change and of each changed key."""
    data = plan.to_dict()
    data["destroy"] = plan.destroy
    data["has_changes"] = plan.has_changes
    data["params"] = params_json(view.params)
    for entry, change in zip(data["changes"], plan.changes, strict=True):
        where = view.locator.change(change) if change.action is not Action.DELETE else None
        entry["location"] = where.to_dict() if where else None
        keys: dict[str, Any] = {}
        for key in change.keys:
            found = view.locator.key(change.address, key)
            keys[key] = found.to_dict() if found else None
        entry["key_locations"] = keys
        if "revision" in change.keys:  # whole revisions, for tools (the text shows them short)
            record = view.recorded.get(change.moved_from or change.address)
            entry["revision"] = {
                "before": record.revision if record else None,
                "after": view.revisions.get(change.address),
            }
        entry["values"] = change_values(change, view)
    if plan.only:
        data["partial"] = partial_line(plan)
    return data


def partial_line(plan: Plan) -> str:
    """What a partial plan (`--only`) left out, said plainly."""
    what = "what depends on" if plan.destroy else "what"
    needs = "" if plan.destroy else " needs"
    subject = join_names(plan.only).replace("`", "")
    them = "it" if len(plan.only) == 1 else "them"
    left = len(plan.left_out)
    text = f"Only {subject} and {what} {them}{needs} were planned"
    if not left:
        return text + "; nothing else had changes."
    were = "was" if left == 1 else "were"
    return f"{text}; {counted(left, 'other change')} {were} left out ({', '.join(plan.left_out)})."


def change_values(change: Change, view: PlanView) -> dict[str, dict[str, Any]]:
    """Per changed key, its value before and after as the JSON form writes it (references
    `${api.db.path}`, secrets `${secret("X")}`: their names, never their values).

    A created object has every key it is given, a deleted one every key it had;
    `after_unknown` marks a value known only after apply; `secret` one holding a secret."""
    record = view.recorded.get(change.moved_from or change.address)
    before_config: Mapping[str, Any] = record.config if record is not None else {}
    after_config: Mapping[str, Any] = {} if change.action is Action.DELETE else view.wanted.get(change.address, {})
    if change.action is Action.CREATE:
        keys: list[str] = sorted(after_config)
    elif change.action is Action.DELETE:
        keys = sorted(before_config)
    else:
        keys = list(change.keys)
    values: dict[str, dict[str, Any]] = {}
    for key in keys:
        if key == "revision":
            before: Any = record.revision if record else None
            after: Any = view.revisions.get(change.address)
        else:
            before, after = before_config.get(key), after_config.get(key)
        values[key] = {
            "before": before,
            "after": after,
            "after_unknown": key in change.unknown,
            "secret": holds_secret(before) or holds_secret(after),
        }
    return values
