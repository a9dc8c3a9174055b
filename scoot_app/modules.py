"""Git sources of modules (`git::URL//FOLDER?ref=COMMIT`), fetched through the repository
drivers into `.scoots/repos/`, as components' sources are. The compiler takes this
loader (scoot_lang reads no repository itself).

A git module is pinned to a whole commit id: the source itself then says what every
clone compiles. A tag or a branch would need its commit recorded in scoot.lock, which
is not done yet: it is refused, saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scoot_lang.modules import ModuleLoader, ModuleTexts
    from scoot_runtime.workspace import Target, Workspace


def git_modules(workspace: Workspace, target: Target) -> ModuleLoader:
    """The loader of git module sources for an application's target."""

    def load(source: str, user: str) -> ModuleTexts:
        from scoot_lang.compiler import module_folder
        from scoot_lang.modules import ModuleSourceError, git_source
        from scoot_runtime.errors import ScootError
        from scoot_runtime.repositories.base import COMMIT
        from scoot_runtime.sources import fetch_architecture

        found = git_source(source)
        if not COMMIT.fullmatch(found.ref):
            raise ModuleSourceError(
                "SCT701",
                f"`{source}` names `{found.ref}`: pin a git module to a whole commit id (`?ref=` and its 40 "
                "hexadecimal digits), so that every clone compiles the same text; a tag or a branch is not "
                "recorded in scoot.lock yet",
            )
        try:
            fetched = fetch_architecture(
                workspace, target, f"{found.url}#{found.ref}", said=f"module `{source}`"
            )
        except ScootError as error:
            raise ModuleSourceError("SCT701", str(error)) from None
        folder = fetched.path / found.path if found.path else fetched.path
        checkout = Path(fetched.path)
        if not folder.resolve().is_relative_to(checkout.resolve()):
            raise ModuleSourceError(
                "SCT702", f"the folder of `{source}` leaves its repository; name a folder inside it"
            )
        key = f"{found.url}//{found.path}@{fetched.revision}"
        return module_folder(folder, key, f"{found.url}//{found.path}", source, str(checkout))

    return load
