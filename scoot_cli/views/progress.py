"""What an apply prints as it goes: a line per event, then a summary, the failures, and
where the application answers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from scoot_model.objects import placed_outputs
from scoot_runtime.reconciler import ApplyResult, Event
from scoot_runtime.state import ObjectState

_EVENT_COLOURS = {"started": "cyan", "running": "cyan", "done": "green", "failed": "red", "skipped": "yellow"}
# What an operation still in flight is doing, by its action (a compute's own words first).
_DOING = {"create": "creating", "update": "updating", "replace": "replacing", "delete": "deleting", "move": "moving"}
_COMPUTE_DOING = {"create": "starting", "delete": "stopping"}


def event_line(event: Event, color: bool) -> str:
    """`app.web: create done (1.2s)`; `app.web: still starting, 10 s, waiting for GET /healthz`."""
    if event.status == "running":
        action = event.action.value
        doing = (_COMPUTE_DOING if event.kind == "compute" else {}).get(action) or _DOING.get(action, action)
        text = f"{event.address}: still {doing}, {event.seconds:.0f} s"
        return text + (f", waiting for {event.message}" if event.message else "")
    status = click.style(event.status, fg=_EVENT_COLOURS[event.status], bold=True) if color else event.status
    text = f"{event.address}: {event.action.value} {status}"
    if event.status in ("done", "failed"):
        text += f" ({event.seconds:.1f}s)"
    if event.message:
        text += f": {_continued(event.message, '    ')}"
    return text


def _continued(message: str, indent: str) -> str:
    """A message whose lines after the first are indented under it."""
    first, *rest = message.splitlines() or [""]
    return "\n".join([first, *(indent + line if line.strip() else "" for line in rest)])


def apply_summary(result: ApplyResult, seconds: float, destroy: bool) -> str:
    verb = "Destroy" if destroy else "Apply"
    state = "complete" if result.ok else "failed"
    unneeded = f"{len(result.unneeded)} unneeded (known after apply, came out unchanged), " if result.unneeded else ""
    return (
        f"{verb} {state}: {len(result.done)} done, {unneeded}{len(result.failed)} failed, "
        f"{len(result.skipped)} skipped in {seconds:.1f}s."
    )


def failure_lines(result: ApplyResult) -> list[str]:
    lines = []
    for address, message in sorted(result.failed.items()):
        lines.append(f"  {address}: {_continued(message, '      ')}")
    for address, message in sorted(result.skipped.items()):
        lines.append(f"  {address}: {_continued(message, '      ')}")
    return lines


def output_lines(objects: Mapping[str, ObjectState], root: Path) -> list[str]:
    """Where the application answers: each compute's URL, each storage's path or URL
    (made absolute: scoot.lock records a local one relative to the application folder, `root`)."""
    rows = []
    for address, state in sorted(objects.items()):
        outputs = placed_outputs(state.kind, state.outputs, root)
        if state.kind == "compute" and outputs.get("url"):
            rows.append((address, str(outputs["url"])))
        elif state.kind == "storage":
            value = outputs.get("path") or outputs.get("url")
            if value:
                rows.append((address, str(value)))
    return aligned(rows)


def aligned(rows: list[tuple[str, str]]) -> list[str]:
    """`  address  value` lines, the values in one column."""
    width = max((len(a) for a, _ in rows), default=0)
    return [f"  {address.ljust(width)}  {value}".rstrip() for address, value in rows]


def next_steps(destroy: bool, where: str, logs_of: str | None) -> list[str]:
    """The commands to run next, after an apply or a destroy that changed something:
    `where` is what each needs after it to find the same application and target
    (` --target staging`, ` ../shop`), or ""; `logs_of` a compute whose logs to show."""
    steps = []
    if destroy:
        steps += [(f"scoot status{where}", "what is still recorded"), (f"scoot apply{where}", "run it again")]
    else:
        if logs_of is not None:
            steps.append((f"scoot logs {logs_of}{where}", "what it wrote (-f to follow)"))
        steps += [
            (f"scoot status{where}", "what runs, and whether it still does"),
            (f"scoot output{where}", "the outputs; `scoot output NAME` prints one, for scripts"),
            (f"scoot destroy{where}", "stop it all (storage data is kept)"),
        ]
    width = max(len(command) for command, _ in steps)
    return ["Next:", *(f"  {command.ljust(width)}  # {why}" for command, why in steps)]
