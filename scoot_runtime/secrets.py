"""Secrets: read at apply time, given to the driver in memory, written nowhere.

A `secret("NAME")` is looked up in the environment, then in the secrets file
named in `scoot.toml` (`[secrets] file = "~/.config/scoot/shop.env"`, lines of
`NAME=value`), which must live outside the application's repository. What the
state records of a secret is a keyed digest (HMAC-SHA256 with a key kept in
`.scoots/`, never checked in), so that a changed secret is noticed without its
value, or anything that could confirm a guess at it, being written down.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets as random
from collections.abc import Mapping
from pathlib import Path

from scoot_runtime.errors import ScootError

KEY_FILE = "secret.key"


class SecretError(ScootError):
    pass


class Secrets:
    def __init__(
        self,
        workspace: Path,
        root: Path,
        file: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.workspace = workspace
        self.environ = os.environ if environ is None else environ
        self._file_values: dict[str, str] | None = None
        self.file = file
        if file is not None and _inside(file, root):
            raise SecretError(
                f"the secrets file {file} is inside the application folder {root}; secrets must not be "
                "checked in: move it outside (for example ~/.config/scoot/) and point scoot.toml at it"
            )
        self._key: bytes | None = None
        self._values: set[str] = set()

    def get(self, name: str) -> str:
        if name in self.environ:
            return self._handed_out(self.environ[name])
        values = self._read_file()
        if name in values:
            return self._handed_out(values[name])
        where = f" or add `{name}=...` to {self.file}" if self.file else ""
        raise SecretError(f"secret `{name}` is not set: export {name}{where}")

    def _handed_out(self, value: str) -> str:
        if value:
            self._values.add(value)
        return value

    def redact(self, text: str) -> str:
        """Text (an error, a log line) with every secret value handed out replaced by `***`."""
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, "***")
        return text

    def missing(self, names: set[str]) -> list[str]:
        found = set(self.environ) | set(self._read_file())
        return sorted(names - found)

    def _read_file(self) -> dict[str, str]:
        if self._file_values is None:
            self._file_values = {}
            if self.file is not None and self.file.exists():
                for number, line in enumerate(self.file.read_text(encoding="utf-8").splitlines(), 1):
                    line = line.strip()
                    if not line or line.startswith("#"):
                        continue
                    name, sep, value = line.partition("=")
                    if not sep:
                        # Say where, never what: the line may hold a secret.
                        raise SecretError(f"{self.file}:{number}: expected NAME=value")
                    self._file_values[name.strip()] = value.strip()
        return self._file_values

    @property
    def key(self) -> bytes:
        """The digest key, made on first use and kept in `.scoots/` (never checked in)."""
        if self._key is None:
            path = self.workspace / KEY_FILE
            if not path.exists():
                self.workspace.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(random.token_bytes(32))
            self._key = path.read_bytes()
        return self._key

    def digest(self, text: str) -> str:
        """A keyed digest of text holding a secret: `hmac-sha256:<key id>:<hex>`."""
        key_id = hashlib.sha256(self.key).hexdigest()[:8]
        return f"{HMAC_PREFIX}{key_id}:" + hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()


HMAC_PREFIX = "hmac-sha256:"


def same_digest(recorded: str | None, wanted: str | None) -> bool:
    """Whether two digests say the value is unchanged.

    A value holding secrets has two digests joined by `+`: a plain one of the value
    with its secrets masked, and a keyed one of the secrets' values. Keyed digests
    made with another key (another machine, a fresh clone) cannot be compared: that
    part is taken as unchanged, rather than reapplied for nothing, while a change to
    anything else in the value is still seen.
    """
    if recorded == wanted:
        return True
    if not recorded or not wanted:
        return False
    old_plain, _, old_keyed = recorded.partition("+")
    new_plain, _, new_keyed = wanted.partition("+")
    if old_plain != new_plain or bool(old_keyed) != bool(new_keyed):
        return False
    return old_keyed.split(":")[1] != new_keyed.split(":")[1]  # another key: cannot tell


def _inside(path: Path, root: Path) -> bool:
    return path.expanduser().resolve().is_relative_to(root.resolve())
