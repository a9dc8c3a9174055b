"""One look at the sources: each watched component's newest revision, beside what scoot.lock
says its compute objects ran; and which components a pushed repository is.

Asking for the newest revision fetches nothing (`git ls-remote`, a folder's digest, one
API call): a look is cheap enough to make every few seconds.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from scoot_model.objects import Architecture, Compute
from scoot_runtime.repositories.path import PathDriver
from scoot_runtime.sources import Located, Sources, computing
from scoot_runtime.state import STATE_FILE, read_state_file
from scoot_runtime.watch.loop import Snapshot
from scoot_runtime.watch.webhook import Push
from scoot_runtime.workspace import Target, Workspace


@dataclass(frozen=True)
class Look:
    snapshot: Snapshot
    located: dict[str, Located]  # every watched component: where its source is
    problems: dict[str, str]  # a watched component whose newest revision is unknown: why


def watched(architecture: Architecture, pinned: Collection[str] = ()) -> list[str]:
    """The components to watch: those whose source runs, but for the ones pinned."""
    return [name for name in computing(architecture) if name not in pinned]


def look(
    workspace: Workspace,
    target: Target,
    architecture: Architecture,
    components: Iterable[str],
    environ: Mapping[str, str] | None = None,
) -> Look:
    """Ask the repository drivers for the newest revision of each of `components`."""
    wanted = list(components)
    with Sources(workspace, target, architecture, environ) as sources:
        answers = sources.latest(wanted)
        located = {name: sources.located[name] for name in wanted}
    latest = {name: answer for name, answer in answers.items() if isinstance(answer, str)}
    problems = {name: str(answer) for name, answer in answers.items() if not isinstance(answer, str)}
    return Look(Snapshot(latest, recorded(workspace, target, architecture, wanted)), located, problems)


def recorded(
    workspace: Workspace, target: Target, architecture: Architecture, components: Iterable[str]
) -> dict[str, list[str | None]]:
    """Per component, the revision scoot.lock records for each of its compute objects
    (None for one never applied). Only what was committed is read: the lock file is not
    taken, so a look never gets in the way of an apply."""
    state = read_state_file(workspace.root / STATE_FILE).targets.get(target.name)
    objects = state.objects if state is not None else {}
    result: dict[str, list[str | None]] = {}
    for component in components:
        declared = architecture.components[component].objects
        result[component] = [
            record.revision if (record := objects.get(f"{component}.{name}")) is not None else None
            for name, obj in sorted(declared.items())
            if obj.kind == Compute.kind_name
        ]
    return result


def pushed(push: Push, located: Mapping[str, Located]) -> list[str]:
    """The components whose repository `push` is about (never a folder's: nobody pushes to it)."""
    return sorted(
        name
        for name, where in located.items()
        if where.repository is not None
        and where.driver != PathDriver.name
        and _same_repository(push, where.repository.name)
    )


def _same_repository(push: Push, name: str) -> bool:
    """`name` (a driver's: `owner/name`, or a remote URL) is the pushed repository: one of its
    URLs, or a URL whose path ends in its full name (a mirror of it: a check too many at worst)."""
    mine = _normal(name)
    full = push.full_name.lower()
    return mine == full or mine.endswith("/" + full) or any(_normal(url) == mine for url in push.urls)


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_SCP = re.compile(r"^[^/@:]+@([^/:]+):(?!//)")


def _normal(url: str) -> str:
    """A repository URL as `host/owner/name`, lower case: the https, ssh, git and scp-like
    forms of one repository compare equal."""
    text = url.strip().lower()
    text = _SCP.sub(r"\1/", text)
    text = _SCHEME.sub("", text)
    host, slash, path = text.partition("/")
    host = re.sub(r":\d+$", "", host.rpartition("@")[2])
    return (host + slash + path).rstrip("/").removesuffix(".git")
