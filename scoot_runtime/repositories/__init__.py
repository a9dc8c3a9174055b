"""Repository drivers, discovered through the entry-point group `scoot.repository_drivers`.

The built-in `path`, `git` and `github` are registered in Scoot's own
`pyproject.toml`, the same way a third party registers one in theirs:

    [project.entry-points."scoot.repository_drivers"]
    gitlab = "mypackage.gitlab:GitLabDriver"
"""

from __future__ import annotations

from scoot_runtime import plugins
from scoot_runtime.repositories.base import RepositoryDriver

GROUP = "scoot.repository_drivers"


def available() -> dict[str, str]:
    """The installed repository drivers: name → `module:Class`."""
    return plugins.available(GROUP)


def load(name: str) -> type[RepositoryDriver]:
    """The driver class registered under `name`."""
    return plugins.load(
        GROUP, name, RepositoryDriver, "repository driver", "the `driver` of [repositories] in scoot.toml"
    )
