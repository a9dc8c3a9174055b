"""The `path` repository driver: repositories are folders on this machine.

A component's `source = "./api"` is such a folder, relative to the
architecture's folder; so is a repository named by the scheme or by
`repository = "owner/name"`, which is the folder `<base>/<name>`: `base` is
relative to scoot.toml's folder (never to a checkout `--from` fetched), and by
default `..`, the folder that holds the application folder, where sibling
checkouts of the component repositories sit (`../shop-api` beside `shop/`).

Nothing is copied: a fetched folder is the folder itself, and its revision is a
digest of its files, so any edit is a new revision to apply.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import ClassVar

from scoot_runtime.files import source_files
from scoot_runtime.repositories import naming
from scoot_runtime.repositories.base import Fetched, Repository, RepositoryDriver, RepositoryError


def folder_revision(folder: Path) -> str:
    """A digest of a folder's files (names, modes and contents): a new one is a new revision."""
    digest = hashlib.sha256()
    for name, path in source_files(folder):
        with open(path, "rb") as handle:
            digest.update(os.fsencode(name) + b"\0")  # as the file system spells it, UTF-8 or not
            digest.update(oct(os.fstat(handle.fileno()).st_mode & 0o111).encode() + b"\0")
            digest.update(handle.read())
            digest.update(b"\0")
    return "sha256:" + digest.hexdigest()


class PathDriver(RepositoryDriver):
    """Folders: run in place, revision = a digest of the contents."""

    name: ClassVar[str] = "path"
    option_names: ClassVar[frozenset[str]] = frozenset({"base"})

    def base(self) -> Path:
        """The folder holding repositories named `owner/name` (as `<base>/<name>`)."""
        base = self.context.options.get("base", "..")
        if not isinstance(base, str) or not base:
            raise RepositoryError("[repositories] `base` of the path driver must be a folder, such as \"..\"")
        return self.context.option_path(base)

    def repository(self, name: str, ref: str | None = None) -> Repository:
        _, folder = naming.split(name)
        if ref is not None:
            raise RepositoryError(f"the path driver's repository {name} is a folder: it has no `#{ref}`")
        return Repository(self.name, str(self.base() / folder))

    def folder(self, relative: str) -> Repository:
        """A component's `source` folder, relative to the architecture's folder."""
        return Repository(self.name, relative)

    def where(self, repository: Repository) -> Path:
        return (self.context.root / repository.name).resolve()

    def exists(self, repository: Repository) -> bool:
        return self.where(repository).is_dir()

    def create(self, repository: Repository, *, private: bool = True) -> None:
        """An empty folder: put the component's code there."""
        self.where(repository).mkdir(parents=True, exist_ok=True)

    def latest(self, repository: Repository) -> str:
        return folder_revision(self._folder(repository))

    def fetch(self, repository: Repository, revision: str | None = None) -> Fetched:
        folder = self._folder(repository)
        current = folder_revision(folder)
        if revision is not None and not _same(revision, current):
            raise RepositoryError(
                f"{folder} holds only its current contents (revision {current.removeprefix('sha256:')[:12]}), "
                f"not {revision}: a folder cannot be pinned to another revision; use a git URL as the source "
                "to pick one"
            )
        return Fetched(repository, current, folder)

    def _folder(self, repository: Repository) -> Path:
        folder = self.where(repository)
        if not folder.is_dir():
            raise RepositoryError(
                f"the folder {folder} does not exist: create it (`scoot repos create` makes it empty)"
            )
        return folder


def _same(pinned: str, revision: str) -> bool:
    """A pin matches a digest in full, or by a prefix of at least 7 digits, with or without `sha256:`."""
    digits = revision.removeprefix("sha256:")
    pin = pinned.removeprefix("sha256:")
    return pin == digits or (len(pin) >= 7 and digits.startswith(pin))
