"""What a component's `source` may say: a folder, or a git URL with an optional `#ref`.

    source = "./api"                                   a folder, relative to the architecture's
    source = "https://github.com/acme/api.git#v1.2"    a git remote, at a branch, tag or commit
    source = "git@github.com:acme/api.git"             the scp-like form of ssh

The runtime objects validate `source` with `parse`, so the language checker
reports a bad one on its line; the runtime reads it back with the same function
(through `scoot_runtime.repositories.locations`, which raises its own error).
Nothing here touches the disk or the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from scoot_model.errors import RuleError

# The transports git knows to be safe; `ext::` (which runs a command) and the others are refused.
GIT_SCHEMES = ("file", "git", "http", "https", "ssh")
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)", re.DOTALL)
# `user@host:path`, what git calls the scp-like syntax of ssh.
_SCP = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._-]*@[A-Za-z0-9.-]+:(?!//)[^\s]+")
# A branch, tag or commit, as `git check-ref-format` would take it, and never an option (`-x`).
_REF = re.compile(r"(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/+-]{1,200}(?<![./])")


@dataclass(frozen=True)
class Location:
    """A parsed `source`: a folder (relative to the architecture's) or a git remote."""

    kind: Literal["folder", "git"]
    where: str  # the folder as written, or the remote URL without `#ref`
    ref: str | None = None


def is_git_url(text: str) -> bool:
    """Whether `text` reads as a git remote rather than a folder."""
    match = _URL.fullmatch(text)
    return match is not None or _SCP.fullmatch(text.partition("#")[0]) is not None


# Every component of an architecture has a `source`, checked each compile: the same few
# strings, read once (a `Location` is frozen; an error is raised anew each time).
@lru_cache(maxsize=16_384)  # more than the components of a large architecture
def parse(source: str) -> Location:
    """`source` read as a folder or a git URL, or a `RuleError` saying what to write."""
    if not source.strip() or source != source.strip() or any(ord(c) < 32 for c in source):
        raise RuleError(
            "a source is a folder relative to the architecture (`./api`) or a git URL "
            "(`https://host/owner/name.git#main`), with no surrounding spaces or control characters"
        )
    url = _URL.fullmatch(source)
    if url is not None or _SCP.fullmatch(source.partition("#")[0]):
        where, hashed, ref = source.partition("#")
        if url is not None and url["scheme"].lower() not in GIT_SCHEMES:
            raise RuleError(
                f"`{url['scheme']}://` is not a git transport Scoot uses: write a "
                f"{', '.join(s + '://' for s in GIT_SCHEMES)} or `git@host:path` URL"
            )
        if url is not None and not url["rest"].partition("#")[0].strip("/"):
            raise RuleError(f"`{source}` names no repository: write the whole URL, such as `https://host/owner/name.git`")
        check_no_credentials(where)
        if hashed:
            check_ref(ref, f"`#{ref}`")
        return Location("git", where, ref if hashed else None)
    if "#" in source:
        raise RuleError(
            f"`{source}` is a folder, which has no branches: remove `#…`, or give a git URL "
            "(`file:///path/to/repo.git#main`) to pick a revision"
        )
    if source.startswith(("/", "\\", "~")) or re.match(r"[A-Za-z]:[\\/]", source):
        raise RuleError(
            f"`{source}` is not relative: write the folder relative to the architecture's folder "
            "(such as `../api`), so the architecture works wherever it is checked out; a repository "
            "elsewhere on this machine is a `file://` URL"
        )
    if "::" in source:
        raise RuleError(f"`{source}` is neither a folder nor a git URL Scoot uses")
    return Location("folder", source)


def check_no_credentials(url: str) -> None:
    """Refuse a URL that holds a credential: they come from the user's git setup, never from
    a file that is committed, printed in plans and named in folder names.

    `ssh://git@host/…` names a user and no secret; on http(s) any user part may be a token.
    """
    parts = urlsplit(url) if _URL.fullmatch(url) else None
    password = parts is not None and parts.password is not None
    token = parts is not None and parts.scheme.lower() in ("http", "https") and parts.username is not None
    if password or token:
        raise RuleError(
            "a source URL holds no credentials (they would be committed with the architecture and shown in "
            "plans): remove the `…@` part, and let git find them in your setup (a credential helper, "
            "`gh auth setup-git`, an ssh agent)"
        )


def check_ref(ref: str, what: str) -> str:
    """`ref` if it can be a branch, tag or commit (and never an option), else a `RuleError`."""
    if not _REF.fullmatch(ref):
        raise RuleError(
            f"{what} is not a branch, tag or commit: letters, digits, `.`, `_`, `-`, `+` and `/`, "
            "not starting with `-` and without `..`"
        )
    return ref
