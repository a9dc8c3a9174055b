"""The link that opens an editor at a `.sct` line: a known editor by name, or a URL template.

    template = editor_template("cursor")          # or "idea://open?file={path}&line={line}"
    link(template, "/home/me/shop/architecture.sct", 21)

The editor is the user's choice, not the application's: it comes from `scoot console
--editor` or the SCOOT_EDITOR environment variable, never from scoot.toml, which the
whole team shares.
"""

from __future__ import annotations

from urllib.parse import quote

from scoot_runtime.errors import ScootError

VARIABLE = "SCOOT_EDITOR"
EDITORS = {
    "vscode": "vscode://file{path}:{line}",
    "cursor": "cursor://file{path}:{line}",
    "idea": "idea://open?file={path}&line={line}",
    "file": "file://{path}",
}
DEFAULT = "vscode"
# A link the page would run, or show as a page, rather than hand to an editor.
_REFUSED_SCHEMES = ("javascript:", "data:", "vbscript:", "blob:")


class EditorError(ScootError):
    """An editor that is neither a known name nor a usable URL template."""


def editor_template(given: str | None, said: str = "--editor") -> str:
    """The URL template of `given` (a name of EDITORS, or a template with {path} and
    optionally {line}); None: the default's."""
    text = (given or DEFAULT).strip()
    if text in EDITORS:
        return EDITORS[text]
    names = ", ".join(EDITORS)
    if "{path}" not in text:
        raise EditorError(
            f"{said} {text!r}: give an editor's name ({names}) or a URL template with {{path}} and "
            "{line}, such as \"subl://open?url=file://{path}&line={line}\""
        )
    scheme, colon, _ = text.partition(":")
    if not colon or not scheme or text.lower().startswith(_REFUSED_SCHEMES):
        raise EditorError(
            f"{said} {text!r}: the template must start with the scheme of an editor's links "
            "(vscode:, idea:, subl:, file:, ...); javascript:, data:, vbscript: and blob: are refused"
        )
    try:
        link(text, "/x", 1)
    except (KeyError, IndexError, ValueError) as error:
        raise EditorError(
            f"{said} {text!r}: only {{path}} and {{line}} may be in braces ({error}); write a literal brace twice"
        ) from None
    return text


def link(template: str, path: str, line: int) -> str:
    """The template filled: `path` absolute, URL-quoted (slashes kept), `line` 1-based."""
    return template.format(path=quote(path, safe="/:"), line=line)
