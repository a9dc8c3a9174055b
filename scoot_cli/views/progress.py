"""What an apply prints as it goes: a line per event, then a summary, the failures, and
where the application answers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from scoot_model.objects import placed_outputs
from scoot_runtime.reconciler import ApplyResult, Event
from scoot_runtime.state import ObjectState

_EVENT_COLOURS = {"started": "cyan", "done": "green", "failed": "red", "skipped": "yellow"}


def event_line(event: Event, color: bool) -> str:
    """`app.web: create done (1.2s)`."""
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
    return (
        f"{verb} {state}: {len(result.done)} done, {len(result.failed)} failed, "
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
    width = max((len(a) for a, _ in rows), default=0)
    return [f"  {address.ljust(width)}  {value}" for address, value in rows]
