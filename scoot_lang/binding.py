"""The checker's first pass: every name the unit declares, in one table.

The application, the components and their objects (with the model of each
object's kind), and the `param`s and `let`s; a name declared twice, an invalid
name, names that differ only in case, and an unknown kind are reported here.
Nothing is evaluated yet.

A module instance is a scope of its own (`modules.py`): its params, lets and
outputs, and its objects under their names in the module's text, each bound to
the name it takes in the application (`web-server` for `server` of `module web`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from scoot_lang import syntax as s
from scoot_lang.diagnostics import Diagnostic, diagnostic
from scoot_lang.findings import Findings, span
from scoot_lang.semantic import Symbol
from scoot_lang.shifts import moved_diagnostic
from scoot_lang.source import Span
from scoot_model import names
from scoot_model.objects import SctObject, kinds
from scoot_model.wording import closest, did_you_mean, join_names

Decl: TypeAlias = s.ParamDecl | s.LetDecl


@dataclass
class ObjectInfo:
    block: s.ObjectBlock
    component: str  # the component it is in, by its name in the application
    file: s.File
    model: type[SctObject] | None  # None: its kind is unknown (already reported)
    name: str = ""  # its name in the application (`web-server`); its block's name if ""
    scope: str = ""  # the module instance that made it ("": the application's own text)
    # The loop variables its attributes see (its component's `for`, its own).
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def real(self) -> str:
        return self.name or self.block.name.text

    @property
    def kind(self) -> str:
        """Its block's kind, read without copying a moved block's members (`moved_to`)."""
        later = self.__dict__.get("later")
        return later[1].kind.text if later is not None else self.block.kind.text

    if not TYPE_CHECKING:  # (a `__getattr__` would hide every misspelt attribute from mypy)

        def __getattr__(self, name: str) -> Any:
            later = self.__dict__.get("later") if name == "block" else None
            if later is None:
                raise AttributeError(name)
            component, _, index = later
            self.__dict__.setdefault("block", component.objects[index])
            return self.__dict__["block"]

    def moved_to(self, component: s.ComponentBlock, index: int, file: s.File) -> ObjectInfo:
        """This info for the same object in `component`, its component moved by an edit
        (`index`: its place among the objects): its block is found there when first read."""
        info = object.__new__(ObjectInfo)
        info.__dict__.update(self.__dict__)
        info.__dict__.pop("block", None)
        info.file = file
        info.__dict__["later"] = (component, self.block, index)
        return info


# A block with a `for` or an `if`, waiting for its instances (`scoot_lang.repetition`):
# the block, its file, its component (for an object) and the loop variables around it.
@dataclass
class Pending:
    block: s.ComponentBlock | s.ObjectBlock
    file: s.File
    component: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModuleUse:
    """`module NAME { ... }`: where it is used, and (once instantiated) its outputs."""

    block: s.ModuleBlock
    file: s.File
    component: str | None  # the component it is used in (by its name in the application)
    scope: str  # its instance's key: `web`, `api.web`, `shop.api.web` (unique)
    # The value of one output (name, the use that needs it, its file), or None when
    # the module has no such output; set when the module is instantiated.
    output: Callable[[str, s.Ident, s.File], object] | None = None
    outputs: list[str] = field(default_factory=list)
    name: str = ""  # its name, if not its block's: an instance of a use with `for` (`site-en`)
    variables: dict[str, Any] = field(default_factory=dict)  # the loop variables its params see
    tried: bool = False  # its module was (or could not be) instantiated
    suffix: str = ""  # of its module's params' and outputs' symbol ids (`@modules/web`)

    @property
    def real(self) -> str:
        return self.name or self.block.name.text


# Where the names a text declares go: in the application (None), or in a module
# instance used in a component (`component`, its objects join it) or at the top level.
@dataclass(frozen=True)
class Place:
    instance: str  # the use's name, which prefixes what the module makes
    scope: str  # the instance's key (ModuleUse.scope)
    component: str | None  # a use inside a component: the component, by its real name
    symbols: str  # the suffix of its params' and lets' symbol ids (`@modules/web`)


@dataclass
class Declarations:
    application: tuple[s.ApplicationBlock, s.File] | None = None
    components: dict[str, tuple[s.ComponentBlock, s.File]] = field(default_factory=dict)
    # By component (its real name), then object by its name in this text.
    objects: dict[str, dict[str, ObjectInfo]] = field(default_factory=dict)
    decls: dict[str, tuple[Decl, s.File]] = field(default_factory=dict)  # lets and params
    outputs: dict[str, tuple[s.OutputDecl, s.File]] = field(default_factory=dict)  # a module's
    # Module uses visible here: by the component they are used in (None: the top level).
    uses: dict[str | None, dict[str, ModuleUse]] = field(default_factory=dict)
    # A module's components by their names in its text, to their names in the application.
    aliases: dict[str, str] = field(default_factory=dict)
    # Every object of the application by real names (the application's `objects`;
    # shared by the scopes of module instances).
    index: dict[str, dict[str, ObjectInfo]] | None = None
    # Every module use of the application, in the order they are found.
    all_uses: list[ModuleUse] = field(default_factory=list)
    component_scopes: dict[str, str] = field(
        default_factory=dict
    )  # a module's components: its instance
    place: Place | None = None
    # The loop variables of each component made by a `for`.
    component_variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: list[Pending] = field(default_factory=list)  # blocks with `for` or `if`, components first
    # Why a block's own name names nothing, by (component or "", name): it has a `for`
    # (its instances are named), or its `if` does not hold. A message adds it. None: its
    # `for` was already reported wrong, and a reference to it or its instances is not.
    unmade: dict[tuple[str, str], str | None] = field(default_factory=dict)

    def object_info(self, component: str, name: str) -> ObjectInfo:
        """An object of the application, by real names."""
        return (self.objects if self.index is None else self.index)[component][name]

    def decl_id(self, kind: str, name: str) -> str:
        """A param's or let's symbol id: `param:port`, `param:port@modules/web` in a module."""
        return f"{kind}:{name}{self.place.symbols if self.place else ''}"


@dataclass
class Bound:
    """What binding a component's objects found, kept for the next compile (`reuse`)."""

    block: s.ComponentBlock
    path: str  # its file's
    text: str  # the block's text
    objects: dict[str, ObjectInfo]
    diagnostics: list[Diagnostic]
    symbols: list[Symbol]
    spans: list[tuple[tuple[str, ...], Span]]


@dataclass
class Rebinding:
    """The objects bound in the last compile of a unit without modules, `for` or `if`
    (by component), to be replayed for a block of the same text; and this compile's."""

    kept: dict[str, Bound]
    texts: dict[str, str]  # the texts of the files without syntax errors
    now: dict[str, Bound] = field(default_factory=dict)


def declare(files: list[s.File], findings: Findings, rebinding: Rebinding | None = None) -> Declarations:
    """Bind every name of the unit, reporting what is wrong with the names themselves.

    Blocks with a `for` or an `if` are left in `pending`: their instances are bound
    once lets and params can be evaluated (`scoot_lang.repetition`). `rebinding`:
    the objects of components bound before (`reuse`).
    """
    return Binder(findings, rebinding=rebinding).declare(files)


def binder(declared: Declarations, findings: Findings) -> Binder:
    """A binder that goes on adding to `declared` (the instances of `for` and `if`)."""
    return Binder(findings, declared, {name.lower(): name for name in declared.components})


def declare_module(
    files: list[s.File], findings: Findings, root: Declarations, place: Place
) -> Declarations:
    """Bind the names of one module instance (its own scope) and add what it makes to `root`."""
    binder = Binder(findings, Declarations(index=root.objects, place=place), root=root)
    return binder.declare(files)


@dataclass
class Binder:
    findings: Findings
    found: Declarations = field(default_factory=Declarations)
    lower_components: dict[str, str] = field(default_factory=dict)
    root: Declarations | None = None  # in a module: the application's declarations
    rebinding: Rebinding | None = None

    def declare(self, files: list[s.File]) -> Declarations:
        place = self.found.place
        for file in files:
            for item in file.items:
                if isinstance(item, s.ApplicationBlock):
                    if place is None:
                        self.application(item, file)
                    else:
                        self.findings.error(
                            "SCT706",
                            "a module cannot declare an `application`: the file that uses it does; remove the block",
                            file,
                            item.name,
                        )
                elif isinstance(item, s.ComponentBlock):
                    if place is not None and place.component is not None:
                        self.findings.error(
                            "SCT706",
                            f"this module is used inside component `{place.component}`, so it makes objects, "
                            "not components; use it at the top level, or declare objects here",
                            file,
                            item.name,
                        )
                    else:
                        self.component(item, file)
                elif isinstance(item, s.ModuleBlock):
                    self.use(item, file, place.component if place else None)
                elif isinstance(item, s.ObjectBlock):
                    self.top_object(item, file)
                elif isinstance(item, s.MovedBlock):
                    if place is not None:
                        self.findings.error(
                            "SCT706",
                            "a module cannot hold `moved` blocks: moves are the application's; write it "
                            "in the file that uses the module",
                            file,
                            item,
                        )
                    continue  # addresses, not declarations: the `moves` pass reads them
                elif isinstance(item, s.OutputDecl):
                    self.output(item, file)
                elif not item.name.missing:
                    self.value(item, file)
        if place is not None:
            return self.found
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

    def top_object(self, obj: s.ObjectBlock, file: s.File) -> None:
        place = self.found.place
        if place is None or place.component is None:
            where = (
                "a module used at the top level makes components: put the object in a component, or use "
                "the module inside a component"
                if place
                else "an object belongs in a component: move it into a `component` block (objects at the "
                "top level are for a module's files)"
            )
            self.findings.error("SCT706", where, file, obj.name)
            return
        if obj.repetition is not None:
            self.found.pending.append(Pending(obj, file, place.component))
            return
        objects = self.found.objects.setdefault(place.component, {})
        self.object(obj, place.component, file, objects, {})

    def output(self, decl: s.OutputDecl, file: s.File) -> None:
        if self.found.place is None:
            self.findings.error(
                "SCT706",
                "`output` belongs in a module's files: what a module gives the file that uses it; use `let` here",
                file,
                decl.name,
            )
            return
        if decl.name.missing:
            return
        if decl.name.text in self.found.outputs:
            first, first_file = self.found.outputs[decl.name.text]
            self.findings.again(
                "SCT103",
                f"output `{decl.name.text}` is declared twice; rename one",
                file,
                decl.name,
                (first_file, first.name),
                "the first declaration",
            )
            return
        self.found.outputs[decl.name.text] = (decl, file)
        symbol = self.found.decl_id("output", decl.name.text)
        self.findings.semantic.add(Symbol(symbol, "output", decl.name.text, span(file, decl), span(file, decl.name)))

    def use(
        self,
        block: s.ModuleBlock,
        file: s.File,
        component: str | None,
        instance: str | None = None,
        variables: dict[str, Any] | None = None,
    ) -> None:
        """A use of a module, instantiated after binding (`modules.py`), or (`instance`) one
        instance of a use with a `for` or `if`."""
        if block.name.missing:
            return
        if block.repetition is not None and instance is None:
            self.found.pending.append(Pending(block, file, component, dict(variables or {})))
            return
        name = instance or block.name.text
        uses = self.found.uses.setdefault(component, {})
        if name in uses:
            self.findings.again(
                "SCT103",
                f"module `{name}` is used twice under one name; rename one",
                file,
                block.name,
                (uses[name].file, uses[name].block.name),
                "the first use",
            )
            return
        if instance is None:
            self.check_name(block.name, file, "module")
        place = self.found.place
        parent = place.scope + "." if place else ""
        scope = parent + (f"{component}.{name}" if component else name)
        use = ModuleUse(block, file, component, scope, name=name, variables=dict(variables or {}))
        uses[name] = use
        self.findings.semantic.add(Symbol(f"module:{scope}", "module", name, span(file, block), span(file, block.name), component))
        (self.root or self.found).all_uses.append(use)

    def real_component(self, name: str) -> str:
        place = self.found.place
        return f"{place.instance}-{name}" if place is not None else name

    def component(
        self,
        block: s.ComponentBlock,
        file: s.File,
        instance: str | None = None,
        variables: dict[str, Any] | None = None,
    ) -> None:
        """Bind a component, or (`instance`) one instance of a component with a `for` or `if`."""
        local = instance or block.name.text
        if block.name.missing:
            return
        if block.repetition is not None and instance is None:
            self.found.pending.insert(
                sum(isinstance(p.block, s.ComponentBlock) for p in self.found.pending), Pending(block, file)
            )
            return
        name = self.real_component(local)
        everything = self.root.components if self.root is not None else self.found.components
        if local in self.found.aliases or name in everything:
            first, first_file = everything[name]
            self.findings.again(
                "SCT103",
                f"component `{name}` is declared twice; rename or merge one",
                file,
                block.name,
                (first_file, first.name),
                "the first declaration",
            )
            return
        if instance is None:
            self.check_name(block.name, file, "component", name)
        if name.lower() in self.lower_components:
            self.findings.error(
                "SCT105",
                f"component `{name}` differs from `{self.lower_components[name.lower()]}` only in case; their "
                "repositories and folders would collide on case-insensitive systems: rename one",
                file,
                block.name,
            )
        self.lower_components[name.lower()] = name
        everything[name] = (block, file)
        if variables:
            self.found.component_variables[name] = variables
        if self.root is not None and self.found.place is not None:
            self.found.components[name] = (block, file)
            self.found.aliases[local] = name
            self.root.component_scopes[name] = self.found.place.scope
            self.root.objects.setdefault(name, {})
        self.findings.semantic.add(
            Symbol(
                f"component:{name}", "component", name, span(file, block), span(file, block.name)
            )
        )
        self.findings.source_map.add(("components", name), span(file, block))
        text = self.rebinding.texts.get(file.path) if self.rebinding is not None else None
        if text is not None:  # a unit without modules (`reuse.replayable`): a moved block's members are not read
            self.found.objects[name] = self.objects_again(name, block, file, text[block.start : block.end])
            return
        self.found.objects[name] = self.objects(name, block, file, variables)
        for module in block.modules:
            self.use(module, file, name, variables=variables)

    def objects(
        self, name: str, block: s.ComponentBlock, file: s.File, variables: dict[str, Any] | None
    ) -> dict[str, ObjectInfo]:
        objects: dict[str, ObjectInfo] = {}
        lower_objects: dict[str, str] = {}
        for obj in block.objects:
            if obj.repetition is not None:
                self.found.pending.append(Pending(obj, file, name, dict(variables or {})))
            else:
                self.object(obj, name, file, objects, lower_objects, variables=dict(variables or {}))
        return objects

    def objects_again(self, name: str, block: s.ComponentBlock, file: s.File, text: str) -> dict[str, ObjectInfo]:
        """Bind the objects of a component of a unit without modules, `for` or `if`: as
        the last compile did if the block's text is the same (moved by an edit before
        it, what it found is moved too), and keep what binding them finds."""
        assert self.rebinding is not None
        last = self.rebinding.kept.get(name)
        findings = self.findings
        if last is None or last.path != file.path or last.text != text:
            counts = (len(findings.diagnostics), len(findings.semantic.symbols), len(findings.source_map.spans))
            objects = self.objects(name, block, file, None)
            symbols = _last(findings.semantic.symbols.values(), len(findings.semantic.symbols) - counts[1])
            spans = _last(findings.source_map.spans.items(), len(findings.source_map.spans) - counts[2])
            self.rebinding.now[name] = Bound(block, file.path, text, objects, findings.diagnostics[counts[0] :], symbols, spans)
            return objects
        delta = block.start - last.block.start
        if last.block is block:  # the same nodes: the same infos (a file is read for its path)
            objects = dict(last.objects)
        else:  # moved by an edit: read from the moved block when first read
            index = {id(obj): n for n, obj in enumerate(last.block.objects)}
            objects = {local: i.moved_to(block, index[id(i.block)], file) for local, i in last.objects.items()}
        for found in last.diagnostics:
            findings.add(moved_diagnostic(found, delta) if delta else found)
        if delta:  # their symbols and spans are moved when first read
            findings.shift(delta, symbols=last.symbols, spans=last.spans)
        else:
            table, mapped = findings.semantic.symbols, findings.source_map.spans
            for symbol in last.symbols:  # as `SemanticModel.add` and `SourceMap.add`, without a call each
                table.setdefault(symbol[0], symbol)
            for path, at in last.spans:
                mapped.setdefault(path, at)
        # The record stays in its block's offsets: the next compile moves from there.
        self.rebinding.now[name] = last
        return objects

    def object(
        self,
        obj: s.ObjectBlock,
        component: str,
        file: s.File,
        objects: dict[str, ObjectInfo],
        lower_objects: dict[str, str],
        instance: str | None = None,
        variables: dict[str, Any] | None = None,
    ) -> None:
        """Bind an object of `component`, or (`instance`) one instance of an object with a `for` or `if`."""
        local = instance or obj.name.text
        if obj.name.missing:
            return
        place = self.found.place
        # An object a module makes in a component is named after the use: `web-server`.
        name = (
            f"{place.instance}-{local}"
            if place is not None and place.component is not None
            else local
        )
        everything = (
            (self.found.index or {}).setdefault(component, {}) if self.root is not None else objects
        )
        if local in objects or name in everything:
            first = objects[local] if local in objects else everything[name]
            self.findings.again(
                "SCT103",
                f"component `{component}` already has an object `{name}`; rename one",
                file,
                obj.name,
                (first.file, first.block.name),
                "the first object",
            )
            return
        if instance is None:
            self.check_name(obj.name, file, "object", name)
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
        info = ObjectInfo(obj, component, file, model, name, place.scope if place else "", variables or {})
        objects[local] = info
        if everything is not objects:
            everything[name] = info
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
        symbol = self.found.decl_id(what, name)
        self.findings.semantic.add(
            Symbol(symbol, what, name, span(file, decl), span(file, decl.name))
        )

    def check_name(self, ident: s.Ident, file: s.File, what: str, real: str | None = None) -> None:
        """Check a name, and the name it takes in the application (`real`) if a module made it."""
        problem = names.name_problem(ident.text)
        if problem is None and real is not None and real != ident.text:
            problem = names.name_problem(real)
            if problem:
                problem = f"it becomes `{real}`, and {problem}"
        if problem:
            self.findings.error(
                "SCT104", f"invalid {what} name `{ident.text}`: {problem}; rename it", file, ident
            )


def _last(entries: Any, count: int) -> list[Any]:
    """The last `count` of a dict's values or items, in the order they were added."""
    return list(islice(reversed(entries), count))[::-1]
