"""Secrets: read at apply time, given to the driver in memory, written nowhere.

A `secret("NAME")` is looked up in the environment, then in the secrets file
named in `scoot.toml` (`[secrets] file = "~/.config/scoot/shop.env"`, lines of
`NAME=value`), which must live outside the application's repository. What the
state records of a value holding a secret is a slow, salted digest (scrypt, salted
with the target's lineage), the same on every clone that has the same secret
values, so that a changed secret is noticed on every clone, while confirming a guess
at one from scoot.lock costs a scrypt computation per guess (see `digest`, and
docs/runtime.md, "Secrets": the threat model). Each clone remembers the digests it
computed in `.scoots/digests.json`, indexed by a keyed hash (a key in `.scoots/`),
so a plan computes each one once.

Every message Scoot prints goes through `Secrets.redact`, which hides the values handed
out in any text, however it was cut or split before (see `redact` for the rule).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets as random
from collections.abc import Iterable, Mapping
from pathlib import Path

from scoot_runtime.errors import ScootError
from scoot_runtime.files import errors_naming, make_workspace, write_atomic

KEY_FILE = "secret.key"
DIGESTS_FILE = "digests.json"
# scrypt's cost: 16 MiB and some 50 ms a digest. A guess at a secret costs as much.
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}
DIGEST_PREFIX = "scrypt1:"
# Far above the secret-holding values of one application; a bound on what the cache grows to.
MAX_DIGESTS_KEPT = 10_000
# The shortest piece of a secret hidden wherever it appears (see `Secrets.redact`).
FRAGMENT = 8
MASK = "***"


class SecretError(ScootError):
    pass


class Secrets:
    def __init__(
        self,
        workspace: Path,
        root: Path,
        file: Path | None = None,
        environ: Mapping[str, str] | None = None,
        lineage: str = "",
    ) -> None:
        self.workspace = workspace
        # The digests' salt: the target's lineage, which every clone reads in scoot.lock.
        self.salt = hashlib.sha256(b"scoot secret digest:" + lineage.encode()).digest()
        self._digests: dict[str, str] | None = None
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
        # What `redact` looks for, kept up to date as values are handed out: values too
        # short to be cut into fragments, every FRAGMENT-long piece of the longer ones,
        # and the lines of multi-line ones.
        self._short: set[str] = set()
        self._fragments: set[str] = set()
        self._lines: set[str] = set()

    def get(self, name: str) -> str:
        if name in self.environ:
            return self._handed_out(self.environ[name])
        values = self._read_file()
        if name in values:
            return self._handed_out(values[name])
        where = f" or add `{name}=...` to {self.file}" if self.file else ""
        raise SecretError(f"secret `{name}` is not set: export {name}{where}")

    def hide(self, names: Iterable[str]) -> None:
        """Look up the secrets `names` where they are set, only for `redact` to hide them:
        for the commands that print what a process wrote without handing it a secret
        (`scoot logs`). Missing ones, or an unreadable secrets file, hide nothing: the
        plan reports those."""
        for name in names:
            with contextlib.suppress(SecretError, OSError, UnicodeDecodeError):
                self.get(name)

    def remember(self, other: Secrets) -> None:
        """Hide what `other` hides too, from now on: a long-running reader (the console)
        keeps hiding a value a secret had before it changed."""
        for value in sorted(other._values):
            self._handed_out(value)

    def _handed_out(self, value: str) -> str:
        if value and value not in self._values:
            self._values.add(value)
            # The value as given, and as JSON writes it in a string (escaped line
            # breaks, quotes and backslashes; with and without non-ASCII escaped).
            for form in {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}:
                if len(form) < FRAGMENT:
                    self._short.add(form)
                lines = form.splitlines() or [form]
                # Pieces within a line, so that a mask never swallows a line break of
                # the text: a value split into lines is hidden line by line.
                self._fragments.update(
                    piece
                    for line in lines
                    for start in range(len(line) - FRAGMENT + 1)
                    if not (piece := line[start : start + FRAGMENT]).isspace()
                )
                if lines != [form]:
                    self._lines.update(line.strip() for line in lines if line.strip())
        return value

    def redact(self, text: str) -> str:
        """Text (an error, log lines, the tail of a log) with every secret value handed
        out, and what is left of one that was cut or split, replaced by `***`.

        The text may be a window of a longer one (the last 8 KB or 20 lines of a log), or
        split into lines and put back together (indented, prefixed), so a value may be in
        it only in part. What is hidden, wherever it is in the text:

        - a value (or its JSON-escaped form) as a whole;
        - any piece of at least FRAGMENT characters of one, unless all blank: what a
          window's edge or a line break leaves of a longer value is hidden too;
        - any line of the text that is, blanks around it aside, a line of a multi-line
          value (lines as `str.splitlines` breaks them, so U+2028 and the like too):
          one split into lines is hidden line by line, however short its lines.

        Not hidden: a piece shorter than FRAGMENT characters cut from a longer value, or
        a short line of one glued to other text; a value encoded otherwise (base64, URL
        or hex encoding, anything a program computes from it). Text that happens to
        share FRAGMENT characters with a secret is hidden too: a price worth paying.
        """
        if not self._values:
            return text
        hidden = bytearray(len(text))  # 1 under each character to hide

        def cover(start: int, end: int) -> None:
            hidden[start:end] = b"\x01" * (end - start)

        for value in self._short:
            start = text.find(value)
            while start >= 0:
                cover(start, start + len(value))
                start = text.find(value, start + 1)
        if self._fragments:
            fragments = self._fragments
            for start in range(len(text) - FRAGMENT + 1):
                if text[start : start + FRAGMENT] in fragments:
                    cover(start, start + FRAGMENT)
        if self._lines:
            offset = 0
            for line in text.splitlines(keepends=True):
                content = line.strip()
                if content in self._lines:
                    start = offset + line.index(content)
                    cover(start, start + len(content))
                offset += len(line)
        out: list[str] = []
        shown = 0
        for run in re.finditer(b"\x01+", hidden):
            out += [text[shown : run.start()], MASK]
            shown = run.end()
        out.append(text[shown:])
        return "".join(out)

    def missing(self, names: set[str]) -> list[str]:
        found = set(self.environ) | set(self._read_file())
        return sorted(names - found)

    def _read_file(self) -> dict[str, str]:
        if self._file_values is None:
            # Kept only once all of it is read: a bad line is an error at every call.
            values: dict[str, str] = {}
            if self.file is not None and self.file.exists():
                for number, line in enumerate(self.file.read_text(encoding="utf-8").splitlines(), 1):
                    line = line.strip()
                    if not line or line.startswith("#"):
                        continue
                    name, sep, value = line.partition("=")
                    if not sep:
                        # Say where, never what: the line may hold a secret.
                        raise SecretError(f"{self.file}:{number}: expected NAME=value")
                    values[name.strip()] = value.strip()
            self._file_values = values
        return self._file_values

    @property
    def key(self) -> bytes:
        """The digest key, made on first use and kept in `.scoots/` (never checked in)."""
        if self._key is None:
            path = self.workspace / KEY_FILE
            if not path.exists():
                make_workspace(self.workspace)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with errors_naming(path), os.fdopen(fd, "wb") as handle:
                    handle.write(random.token_bytes(32))
            self._key = path.read_bytes()
        return self._key

    def digest(self, text: str) -> str:
        """The digest of text holding a secret: `scrypt1:<hex>`, scrypt of the text salted
        with the target's lineage, so that every clone with the same values computes the
        same one. Computed once a clone: remembered in `.scoots/digests.json` under a
        keyed hash of the text (this clone's key), never under anything a reader of the
        file could check a guess against."""
        index = hmac.new(self.key, self.salt + text.encode(), hashlib.sha256).hexdigest()
        known = self._known_digests()
        if index not in known:
            known[index] = DIGEST_PREFIX + hashlib.scrypt(text.encode(), salt=self.salt, **SCRYPT).hex()
            for oldest in list(known)[: max(0, len(known) - MAX_DIGESTS_KEPT)]:
                del known[oldest]  # the file keeps the newest, in the order they were made
            path = self.workspace / DIGESTS_FILE
            with contextlib.suppress(OSError):  # a cache: losing it costs time, never correctness
                write_atomic(path, json.dumps(known))
        return known[index]

    def _known_digests(self) -> dict[str, str]:
        if self._digests is None:
            self._digests = {}
            with contextlib.suppress(OSError, ValueError):
                read = json.loads((self.workspace / DIGESTS_FILE).read_text(encoding="utf-8"))
                if isinstance(read, dict):
                    self._digests = {k: v for k, v in read.items() if isinstance(v, str) and v.startswith(DIGEST_PREFIX)}
        return self._digests


def same_digest(recorded: str | None, wanted: str | None) -> bool:
    """Whether two digests say the value is unchanged.

    A value holding secrets has two digests joined by `+`: a plain one of the value
    with its secrets masked, and a salted one of the value with its secrets (`digest`).
    One recorded by an older Scoot (`hmac-sha256:`, keyed per clone) cannot be compared
    with today's: that part is taken as unchanged, rather than reapplied for nothing,
    while a change to anything else in the value is still seen; the next apply of the
    object records today's.
    """
    if recorded == wanted:
        return True
    if not recorded or not wanted:
        return False
    old_plain, _, old_salted = recorded.partition("+")
    new_plain, _, new_salted = wanted.partition("+")
    if old_plain != new_plain or bool(old_salted) != bool(new_salted):
        return False
    return not (old_salted.startswith(DIGEST_PREFIX) and new_salted.startswith(DIGEST_PREFIX))


def _inside(path: Path, root: Path) -> bool:
    return path.expanduser().resolve().is_relative_to(root.resolve())
