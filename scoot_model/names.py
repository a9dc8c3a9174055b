"""The rules of names: what may name an application, a component, an object, a param or
a let, who may own repositories, and what a repository may be called.

One home, asked by the models, the compiler, the language server (rename),
`scoot init`, the settings and the repository drivers, so that a name the compiler
accepts is one every later stage accepts too. Repository names follow GitHub's
rules, the strictest of the services Scoot names repositories on.
"""

from __future__ import annotations

import re

from scoot_model.errors import RuleError

# The language's keywords: never names (a test keeps this in step with the grammar).
KEYWORDS = frozenset(
    {"application", "component", "param", "let", "moved", "module", "output", "for", "in", "if", "true", "false", "null"}
)

# A name of the language: it is also a key of the JSON form and part of repository and file names.
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"
NAME = re.compile(NAME_PATTERN)
# Names a file may not have on Windows, whatever its extension: a component's name names folders.
DEVICE_NAMES = frozenset({"con", "prn", "aux", "nul"} | {f"{d}{i}" for d in ("com", "lpt") for i in range(1, 10)})
# A name becomes (part of) a repository's name, which GitHub keeps to 100 characters.
MAX_NAME = 100

# GitHub's rule for a user or organisation: letters and digits, in runs joined by single
# hyphens (so none first, last or doubled), at most 39 characters. Written without
# lookarounds, so the JSON Schema's pattern is the same rule.
OWNER_PATTERN = r"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$"
MAX_OWNER = 39
# GitHub's rule for a repository's name: letters, digits, `.`, `-` and `_`, at most 100, not `.` or `..`.
REPOSITORY_PATTERN = r"^[A-Za-z0-9._-]{1,100}$"

_OWNER = re.compile(OWNER_PATTERN)
_REPOSITORY = re.compile(REPOSITORY_PATTERN)

OWNER_RULE = "letters and digits, with single hyphens between them (not first, last or doubled), at most 39"


def is_name(text: str) -> bool:
    """Whether `text` has the form of a name (keywords and the other rules aside)."""
    return NAME.match(text) is not None


def name_problem(name: str) -> str | None:
    """Why `name` cannot name an application, component, object, param or let; None if it can."""
    if not is_name(name):
        return "names start with a letter or `_` and hold only letters, digits, `_` and `-`"
    if name in KEYWORDS:
        return f"`{name}` is a keyword of the language"
    if name.lower() in DEVICE_NAMES:
        return f"`{name}` cannot be a file name on Windows"
    if len(name) > MAX_NAME:
        return f"names are at most {MAX_NAME} characters (it names a repository)"
    return None


def owner_problem(owner: str) -> str | None:
    """Why `owner` cannot own repositories (GitHub's rule for users and organisations); None if it can."""
    if len(owner) > MAX_OWNER or not _OWNER.match(owner):
        return f"`{owner}` is not an owner: an owner is {OWNER_RULE} characters"
    return None


def split_repository(full_name: str) -> tuple[str, str]:
    """`owner/name` as its two parts, or a `RuleError` saying what is wrong with it.

    A name is checked before any driver sees it: it is never a path.
    """
    owner, slash, name = full_name.partition("/")
    if not slash or owner_problem(owner) or not _REPOSITORY.match(name) or name in {".", ".."}:
        raise RuleError(
            f"`{full_name}` is not a repository name: write `owner/name`, where the owner is {OWNER_RULE} "
            "characters, and the name is letters, digits, `.`, `-` and `_` (up to 100)"
        )
    return owner, name
