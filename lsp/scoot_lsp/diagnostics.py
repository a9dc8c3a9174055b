"""The compiler's diagnostics as LSP diagnostics: the codes and messages of `scoot validate`."""

from __future__ import annotations

from lsprotocol import types as lsp

from scoot_lang.diagnostics import Diagnostic, Severity
from scoot_lsp.documents import Snapshot, uri_of

SOURCE = "scoot"
DOCS = "https://scoot.dev/docs/diagnostics#{code}"


def to_lsp(diag: Diagnostic, snapshot: Snapshot) -> lsp.Diagnostic:
    if diag.span is not None and snapshot.knows(diag.span.file):
        rng = snapshot.index(diag.span.file).range(diag.span.start, diag.span.end)
    else:
        rng = lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0))
    related = [
        lsp.DiagnosticRelatedInformation(
            location=lsp.Location(uri=uri_of(span.file), range=snapshot.index(span.file).range(span.start, span.end)),
            message=note,
        )
        for span, note in diag.related
        if snapshot.knows(span.file)
    ]
    return lsp.Diagnostic(
        range=rng,
        message=diag.message,
        severity=lsp.DiagnosticSeverity.Error if diag.severity is Severity.ERROR else lsp.DiagnosticSeverity.Warning,
        code=diag.code,
        source=SOURCE,
        related_information=related or None,
        tags=[lsp.DiagnosticTag.Unnecessary] if diag.code == "SCT901" else None,
    )


def by_file(snapshot: Snapshot, fallback: str | None = None) -> dict[str, list[lsp.Diagnostic]]:
    """The unit's diagnostics for each of its files (every file has an entry, maybe empty).

    A diagnostic of the whole unit (no span, such as a missing application block) is
    shown at the top of `fallback`, the document the user is looking at.
    """
    result: dict[str, list[lsp.Diagnostic]] = {path: [] for path in snapshot.texts}
    homeless = fallback if fallback in result else next(iter(result), None)
    for diag in snapshot.compilation.diagnostics:
        path = diag.span.file if diag.span is not None and snapshot.knows(diag.span.file) else homeless
        if path is not None:
            result.setdefault(path, []).append(to_lsp(diag, snapshot))
    return result
