"""The naming scheme of repositories.

    {owner}/{application}-{component}    a component's repository
    {owner}/{application}                the architecture's repository
    {application}/architecture           ... when the application is its own organisation
    {application}/{component}            ... and the scheme is told to drop the prefix

What a valid owner or repository name is, is the model's rule (`scoot_model.names`);
a name is checked before any driver sees it: it is never a path.
"""

from __future__ import annotations

from scoot_model import names
from scoot_runtime.repositories.base import repository_errors


def split(full_name: str) -> tuple[str, str]:
    """`owner/name` as its two parts, or a `RepositoryError` saying what is wrong with it."""
    with repository_errors():
        return names.split_repository(full_name)


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
