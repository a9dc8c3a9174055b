"""The naming scheme of repositories, and the names a repository may have.

    {owner}/{application}-{component}    a component's repository
    {owner}/{application}                the architecture's repository
    {application}/architecture           ... when the application is its own organisation
    {application}/{component}            ... and the scheme is told to drop the prefix

A name is checked before any driver sees it: it is never a path.
"""

from __future__ import annotations

import re

from scoot_runtime.repositories.base import RepositoryError

# GitHub's rules, the strictest of the services: an owner is letters, digits and
# single inner hyphens, up to 39; a repository is letters, digits, `.`, `-`, `_`, up to 100.
_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


def split(full_name: str) -> tuple[str, str]:
    """`owner/name` as its two parts, or a `RepositoryError` saying what is wrong with it."""
    owner, slash, name = full_name.partition("/")
    if not slash or not _OWNER.fullmatch(owner) or not _NAME.fullmatch(name) or name in {".", ".."}:
        raise RepositoryError(
            f"`{full_name}` is not a repository name: write `owner/name`, where the owner is letters, "
            "digits and inner hyphens (up to 39) and the name is letters, digits, `.`, `-` and `_` (up to 100)"
        )
    return owner, name


def component_repository(
    owner: str, application: str, component: str, *, organisation: bool = False, drop_prefix: bool = False
) -> str:
    """The full name of a component's repository by the scheme."""
    if organisation:
        full = f"{application}/{component if drop_prefix else f'{application}-{component}'}"
    else:
        full = f"{owner}/{application}-{component}"
    split(full)
    return full


def architecture_repository(owner: str, application: str, *, organisation: bool = False) -> str:
    """The full name of the architecture's repository by the scheme."""
    full = f"{application}/architecture" if organisation else f"{owner}/{application}"
    split(full)
    return full
