"""The structure, drawn from the imports (every import of every module, those inside
functions too): each layer imports only the layers below it.

    scoot_cli, scoot_lsp    the command line and the language server (never each other)
            ↓
    scoot_app               the application layer
            ↓
    scoot_lang, scoot_runtime   the compiler and the runtime (never each other)
            ↓
    scoot_model             the runtime objects and their rules
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "scoot_lang": ROOT / "scoot_lang",
    "scoot_runtime": ROOT / "scoot_runtime",
    "scoot_app": ROOT / "scoot_app",
    "scoot_cli": ROOT / "scoot_cli",
    "scoot_lsp": ROOT / "lsp" / "scoot_lsp",
    "scoot_model": ROOT / "scoot_model",
}

# What each layer may import of Scoot, besides itself.
ALLOWED = {
    "scoot_model": set(),
    "scoot_lang": {"scoot_model"},
    "scoot_runtime": {"scoot_model"},
    "scoot_app": {"scoot_model", "scoot_lang", "scoot_runtime"},
    "scoot_cli": {"scoot_model", "scoot_lang", "scoot_runtime", "scoot_app"},
    "scoot_lsp": {"scoot_model", "scoot_lang", "scoot_runtime", "scoot_app"},
}


def module_name(package: str, path: Path) -> str:
    parts = path.relative_to(PACKAGES[package]).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((package, *parts))


def imports(path: Path, name: str) -> set[str]:
    """Every module `path` imports, at any depth (relative imports resolved)."""
    found = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            # `from scoot_runtime import objects` imports the module scoot_runtime.objects.
            found.update(f"{base}.{alias.name}" for alias in node.names if is_module(f"{base}.{alias.name}"))
    return found


def is_module(name: str) -> bool:
    """`name` is one of Scoot's modules or packages (not a name defined in one)."""
    top, _, rest = name.partition(".")
    if top not in PACKAGES:
        return False
    path = PACKAGES[top].joinpath(*rest.split(".")) if rest else PACKAGES[top]
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def layer(module: str) -> str | None:
    """The layer `module` is in (None: not Scoot's)."""
    top = module.split(".")[0]
    return top if top in PACKAGES else None


def edges() -> list[tuple[str, str]]:
    found = []
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            name = module_name(package, path)
            found += [(name, imported) for imported in sorted(imports(path, name))]
    return found


def test_every_layer_imports_only_the_layers_below_it() -> None:
    wrong = []
    for importer, imported in edges():
        source, target = layer(importer), layer(imported)
        if source is None or target is None or target == source:
            continue
        if target not in ALLOWED[source]:
            wrong.append(f"{importer} ({source}) imports {imported} ({target})")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize(
    ("importer", "imported", "allowed"),
    [
        ("scoot_runtime.watch.loop", "scoot_cli.output", False),
        ("scoot_runtime.engine", "scoot_lang.compiler", False),
        ("scoot_app.watch", "scoot_cli", False),
        ("scoot_cli.watch", "scoot_lsp.lens", False),
        ("scoot_lsp.lens", "scoot_app.application", True),
        ("scoot_lang.checker", "scoot_model.objects", True),
        ("scoot_model.objects", "scoot_runtime.repositories.naming", False),
    ],
)
def test_the_rules_tell_an_arrow_back_up(importer: str, imported: str, allowed: bool) -> None:
    """The check itself: an import upward, or sideways between the CLI and the language
    server or between the compiler and the runtime, is refused."""
    source, target = layer(importer), layer(imported)
    assert source is not None and target is not None
    assert (target in ALLOWED[source]) is allowed


def test_the_application_layer_has_no_terminal() -> None:
    """scoot_app returns outcomes and tells events: it neither prints, nor exits, nor
    uses click (what the CLI shows lives in `scoot_cli.views`)."""
    found = []
    for path in sorted(PACKAGES["scoot_app"].rglob("*.py")):
        name = module_name("scoot_app", path)
        banned = {m for m in imports(path, name) if m.split(".")[0] in ("click", "sys")}
        found += [f"{name} imports {module}" for module in sorted(banned)]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("print", "exit"):
                found.append(f"{name}:{node.lineno} calls {node.func.id}()")
            if isinstance(node, ast.Name) and node.id == "SystemExit":
                found.append(f"{name}:{node.lineno} names SystemExit")
    assert found == []
