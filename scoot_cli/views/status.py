"""`scoot status`: what scoot.lock records of each object beside what the driver observes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoot_cli.views.tables import table
from scoot_cli.views.written import short_revision
from scoot_model.objects import placed_outputs
from scoot_runtime.state import ObjectState


@dataclass(frozen=True)
class StatusRow:
    address: str
    kind: str
    output: str
    revision: str
    observed: str  # what the live read says


def status_rows(objects: Mapping[str, ObjectState], observed: Mapping[str, Any], root: Path) -> list[StatusRow]:
    """`observed[address]`: an Observed, None (the driver finds nothing), or an error message (str).
    `root`: the application folder, that local outputs are recorded relative to."""
    rows = []
    for address, state in sorted(objects.items()):
        outputs = placed_outputs(state.kind, state.outputs, root)
        output = outputs.get("url") or outputs.get("path") or ""
        seen = observed.get(address)
        if isinstance(seen, str):
            live = f"unknown ({seen})"
        elif seen is None:
            live = "missing"
        elif getattr(seen, "drift", ()):
            live = "drifted: " + "; ".join(seen.drift)
        else:
            live = "ok"
        rows.append(StatusRow(address, state.kind, str(output), short_revision(state.revision), live))
    return rows


def status_table(rows: Sequence[StatusRow], color: bool) -> str:
    header = ("OBJECT", "KIND", "OBSERVED", "REVISION", "OUTPUT")
    cells = [(r.address, r.kind, r.observed, r.revision, r.output) for r in rows]
    return table(header, cells, color, 2, lambda seen: {"ok": "green", "missing": "red"}.get(seen, "yellow"))
