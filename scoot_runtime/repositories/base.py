"""The repository-driver interface: where components' sources come from.

Each component has its own repository, and the architecture has one too. A
repository driver finds them (by the naming scheme, or by the name a component
gives), creates the missing ones, reports the newest revision of each, and
fetches a revision into `.scoots/repos/`, where compute objects run it.

    {owner}/{application}-{component}    a component's repository
    {owner}/{application}                the architecture's repository
    {application}/architecture           ... when the application is its own organisation
    {application}/{component}            ... and `drop_prefix = true`

Drivers are plugins: a class registered under the entry-point group
`scoot.repository_drivers` (the built-in `path`, `git` and `github` are
registered the same way). Every method is synchronous: the runtime calls them
from worker threads, so a driver may block on its network or its `git`.
"""

from __future__ import annotations

import re
import shutil
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from scoot_model.errors import RuleError
from scoot_runtime.errors import ScootError

# Where under `.scoots/` drivers put what they fetch.
REPOS = "repos"
# A whole commit id (SHA-1 or SHA-256): the name of a checkout folder under `.scoots/repos/`.
COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# A half-made checkout older than this was left by a crash (a younger one may be a fetch in progress).
STALE_SECONDS = 3600


class RepositoryError(ScootError):
    """A repository that cannot be found, created or fetched: the message says what to do."""


@contextmanager
def repository_errors() -> Iterator[None]:
    """Raise a broken rule of the model (a name, a source) as a `RepositoryError`."""
    try:
        yield
    except RuleError as error:
        raise RepositoryError(str(error)) from None


@dataclass(frozen=True)
class Repository:
    """One repository, as its driver names it.

    `name` is what the driver understands: `owner/name` for a hosting service, a
    folder for `path`, a remote URL for `git`. `ref` is a branch, tag or commit
    to follow instead of the default branch (the `#ref` of a source URL).
    """

    driver: str
    name: str
    ref: str | None = None

    def __str__(self) -> str:
        return self.name + (f"#{self.ref}" if self.ref else "")


@dataclass(frozen=True)
class Fetched:
    """A revision of a repository, on disk: run it from `path`."""

    repository: Repository
    revision: str  # a commit, or `sha256:…` for a folder's contents
    path: Path


@dataclass(frozen=True)
class RepositoryContext:
    """Where a repository driver works, for one application."""

    application: str
    owner: str | None  # the application's `owner`
    root: Path  # the architecture's folder: a component's relative `source` is relative to it
    workspace: Path  # the `.scoots/` folder; fetched revisions go under `repos/`
    options: Mapping[str, Any] = field(default_factory=dict)  # the [repositories] table
    environ: Mapping[str, str] = field(default_factory=dict)
    # The folder of scoot.toml, where the options were written (None: `root`). With `--from`
    # the architecture's folder is a fetched checkout: an option is never relative to that.
    settings_root: Path | None = None

    def option_path(self, written: str) -> Path:
        """A path-like option of [repositories] (`~` expanded), relative to scoot.toml's folder."""
        return ((self.settings_root or self.root) / Path(written).expanduser()).resolve()


class RepositoryDriver(ABC):
    """Base of every repository driver."""

    name: ClassVar[str] = ""
    # The options the [repositories] table of scoot.toml may set for this driver.
    option_names: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, context: RepositoryContext) -> None:
        self.context = context

    @abstractmethod
    def repository(self, name: str, ref: str | None = None) -> Repository:
        """The repository `owner/name` (as a component's `repository` gives it, or the scheme makes it).

        Raise `RepositoryError` for a name that could not be a repository name,
        before any call leaves the machine.
        """

    @abstractmethod
    def exists(self, repository: Repository) -> bool: ...

    def create(self, repository: Repository, *, private: bool = True) -> None:
        """Make a missing repository; drivers that cannot say so."""
        raise RepositoryError(f"the {self.name} repository driver cannot create repositories: create {repository} yourself")

    @abstractmethod
    def latest(self, repository: Repository) -> str:
        """The newest revision of the repository (of its `ref`, or its default branch)."""

    @abstractmethod
    def fetch(self, repository: Repository, revision: str | None = None) -> Fetched:
        """Put a revision (default: the newest) under `.scoots/repos/` and say where it is.

        Fetching a revision that is already there does nothing and is fast.
        """

    def prune(self, repository: Repository, keep: Collection[str]) -> None:  # noqa: B027 (optional)
        """Remove what `fetch` put under `.scoots/repos/` for revisions not in `keep`.

        Called after an apply, with the revisions `scoot.lock` records and the run
        used: a process may still run in any of those. Drivers that fetch in place
        (`path`) keep nothing and do nothing.
        """

    def close(self) -> None:  # noqa: B027 (optional: most drivers hold nothing)
        """Release what the driver holds (sessions, clients)."""


def prune_checkouts(folder: Path, keep: Collection[str], half_made: Callable[[str], bool]) -> None:
    """In a repository's folder of checkouts (one folder per commit), remove those not in
    `keep`, and what a crash left `half_made` (by its name) more than an hour ago."""
    for child in folder.iterdir():
        unused = COMMIT.fullmatch(child.name) is not None and child.name not in keep
        stale = half_made(child.name) and time.time() - child.stat().st_mtime > STALE_SECONDS
        if (unused or stale) and child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        elif stale:
            child.unlink(missing_ok=True)
