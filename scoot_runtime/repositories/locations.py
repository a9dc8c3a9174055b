"""The model's rules of a component's `source` (`scoot_model.locations`), as the repository
drivers call them: a broken rule is a `RepositoryError`, which the CLI shows as it is."""

from __future__ import annotations

from scoot_model import locations as rules
from scoot_model.locations import GIT_SCHEMES, Location, is_git_url
from scoot_runtime.repositories.base import repository_errors

__all__ = ["GIT_SCHEMES", "Location", "check_no_credentials", "check_ref", "is_git_url", "parse"]


def parse(source: str) -> Location:
    with repository_errors():
        return rules.parse(source)


def check_no_credentials(url: str) -> None:
    with repository_errors():
        rules.check_no_credentials(url)


def check_ref(ref: str, what: str) -> str:
    with repository_errors():
        return rules.check_ref(ref, what)
