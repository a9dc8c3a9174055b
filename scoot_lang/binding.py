"""The checker's first pass: every name the unit declares, in one table.

The application, the components and their objects (with the model of each
object's kind), and the `param`s and `let`s; a name declared twice, an invalid
name, names that differ only in case, and an unknown kind are reported here.
Nothing is evaluated yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from scoot_lang import syntax as s
from scoot_lang.diagnostics import diagnostic
from scoot_lang.findings import Findings, span
from scoot_lang.semantic import Symbol
from scoot_lang.source import Span
from scoot_model import names
from scoot_model.objects import SctObject, kinds
from scoot_model.wording import closest, did_you_mean, join_names

Decl: TypeAlias = s.ParamDecl | s.LetDecl


@dataclass
class ObjectInfo:
    block: s.ObjectBlock
    component: str
    file: s.File
    model: type[SctObject] | None  # None: its kind is unknown (already reported)


@dataclass
class Declarations:
    application: tuple[s.ApplicationBlock, s.File] | None = None
    components: dict[str, tuple[s.ComponentBlock, s.File]] = field(default_factory=dict)
    objects: dict[str, dict[str, ObjectInfo]] = field(default_factory=dict)  # by component, then name
    decls: dict[str, tuple[Decl, s.File]] = field(default_factory=dict)  # lets and params


def declare(files: list[s.File], findings: Findings) -> Declarations:
    """Bind every name of the unit, reporting what is wrong with the names themselves."""
    return _Binder(findings).declare(files)


@dataclass
class _Binder:
    findings: Findings
    found: Declarations = field(default_factory=Declarations)
    lower_components: dict[str, str] = field(default_factory=dict)

    def declare(self, files: list[s.File]) -> Declarations:
        for file in files:
            for item in file.items:
                if isinstance(item, s.ApplicationBlock):
                    self.application(item, file)
                elif isinstance(item, s.ComponentBlock):
                    self.component(item, file)
                elif isinstance(item, s.MovedBlock):
                    continue  # addresses, not declarations: the `moves` pass reads them
                elif not item.name.missing:
                    self.value(item, file)
        if self.found.application is None:
            first = files[0] if files else s.File("architecture.sct", [])
            if first.from_json:
                message = 'there is no `application`; add one, such as `"application": {"name": "shop"}`'
            else:
                message = 'there is no `application` block; add one, such as `application shop { owner = "acme" }`'
            self.findings.add(diagnostic("SCT101", message, Span(first.path, 0, 0)))
        return self.found

    def application(self, block: s.ApplicationBlock, file: s.File) -> None:
        if self.found.application is not None:
            first, first_file = self.found.application
            self.findings.again(
                "SCT102",
                f"a second `application` block; the unit already has `{first.name.text}` — keep one",
                file,
                block.name,
                (first_file, first.name),
                "the first application",
            )
            return
        self.found.application = (block, file)
        if not block.name.missing:
            self.check_name(block.name, file, "application")
        self.findings.semantic.add(
            Symbol(f"application:{block.name.text}", "application", block.name.text, span(file, block), span(file, block.name))
        )
        self.findings.source_map.add(("application",), span(file, block))
        self.findings.source_map.add(("application", "name"), span(file, block.name))

    def component(self, block: s.ComponentBlock, file: s.File) -> None:
        name = block.name.text
        if block.name.missing:
            return
        if name in self.found.components:
            first, first_file = self.found.components[name]
            self.findings.again(
                "SCT103",
                f"component `{name}` is declared twice; rename or merge one",
                file,
                block.name,
                (first_file, first.name),
                "the first declaration",
            )
            return
        self.check_name(block.name, file, "component")
        if name.lower() in self.lower_components:
            self.findings.error(
                "SCT105",
                f"component `{name}` differs from `{self.lower_components[name.lower()]}` only in case; their "
                "repositories and folders would collide on case-insensitive systems: rename one",
                file,
                block.name,
            )
        self.lower_components[name.lower()] = name
        self.found.components[name] = (block, file)
        self.findings.semantic.add(Symbol(f"component:{name}", "component", name, span(file, block), span(file, block.name)))
        self.findings.source_map.add(("components", name), span(file, block))
        objects: dict[str, ObjectInfo] = {}
        lower_objects: dict[str, str] = {}
        for obj in block.objects:
            self.object(obj, name, file, objects, lower_objects)
        self.found.objects[name] = objects

    def object(
        self,
        obj: s.ObjectBlock,
        component: str,
        file: s.File,
        objects: dict[str, ObjectInfo],
        lower_objects: dict[str, str],
    ) -> None:
        name = obj.name.text
        if obj.name.missing:
            return
        if name in objects:
            self.findings.again(
                "SCT103",
                f"component `{component}` already has an object `{name}`; rename one",
                file,
                obj.name,
                (file, objects[name].block.name),
                "the first object",
            )
            return
        self.check_name(obj.name, file, "object")
        if name.lower() in lower_objects:
            self.findings.error(
                "SCT105",
                f"object `{name}` differs from `{lower_objects[name.lower()]}` only in case; their "
                "files would collide on case-insensitive systems: rename one",
                file,
                obj.name,
            )
        lower_objects[name.lower()] = name
        model = kinds.get(obj.kind.text)
        if model is None and not obj.kind.missing:
            match = closest(obj.kind.text, kinds.names())
            # A close match is a typo; otherwise a package may be missing, or failed to load.
            hint = "" if match else f"; {kinds.unknown(obj.kind.text)}"
            self.findings.error(
                "SCT201",
                f"unknown object kind `{obj.kind.text}`{did_you_mean(match)}; the kinds are {join_names(kinds.names())}{hint}",
                file,
                obj.kind,
                match,
            )
        objects[name] = ObjectInfo(obj, component, file, model)
        path = ("components", component, "objects", name)
        self.findings.semantic.add(
            Symbol(f"object:{component}.{name}", "object", name, span(file, obj), span(file, obj.name), component, obj.kind.text)
        )
        self.findings.source_map.add(path, span(file, obj))
        self.findings.source_map.add((*path, "kind"), span(file, obj.kind))

    def value(self, decl: Decl, file: s.File) -> None:
        name = decl.name.text
        what: Literal["param", "let"] = "param" if isinstance(decl, s.ParamDecl) else "let"
        if name in self.found.decls:
            first, first_file = self.found.decls[name]
            self.findings.again(
                "SCT103",
                f"`{name}` is already declared; rename one",
                file,
                decl.name,
                (first_file, first.name),
                "the first declaration",
            )
            return
        self.found.decls[name] = (decl, file)
        self.findings.semantic.add(Symbol(f"{what}:{name}", what, name, span(file, decl), span(file, decl.name)))

    def check_name(self, ident: s.Ident, file: s.File, what: str) -> None:
        problem = names.name_problem(ident.text)
        if problem:
            self.findings.error("SCT104", f"invalid {what} name `{ident.text}`: {problem}; rename it", file, ident)
