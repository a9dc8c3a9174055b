"""Modules: a folder (or one file) of `.sct` used as `module NAME { source = "...", PARAM = ... }`.

Each use is an instance: a scope of its own (its params, lets, outputs and what it
declares), bound after the application's own text (`binding.declare_module`), with
an evaluator of its own whose params are the use's attributes, evaluated where the
use is written. What a module makes joins the application under names made from the
use's: objects of a module used in a component are `NAME-OBJECT`, components of one
used at the top level `NAME-COMPONENT` (docs/language.md, "Modules").

Where a module's text comes from is a `ModuleLoader`'s business: the compiler reads
local folders; the application layer adds git sources. A module is read and parsed
once, however many times it is used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from scoot_lang import syntax as s
from scoot_lang.binding import Declarations, ModuleUse, Place, declare_module
from scoot_lang.diagnostics import Diagnostic
from scoot_lang.evaluation import Context, Edges, Evaluator
from scoot_lang.findings import Findings, span
from scoot_lang.limits import Budget
from scoot_lang.parser import MAX_NESTING, parse
from scoot_lang.values import (
    INVALID,
    ObjectRef,
    Secret,
    Template,
    Value,
    describe_value,
    param_type_ok,
)
from scoot_model.wording import closest, did_you_mean, join_names

SOURCE_KEY = "source"
GIT_PREFIX = "git::"
# `git::URL//PATH?ref=REVISION`: a repository, a folder inside it (optional), and the
# revision it is pinned to (a tag, a branch or a commit; required).
GIT_SOURCE = re.compile(
    r"git::(?P<url>[a-z][a-z0-9+.-]*://[^?]+?|[^/?]+@[^?]+?)(?://(?P<path>[^?]*))?\?ref=(?P<ref>[^&?]+)"
)
GIT_FORM = "git::https://HOST/REPOSITORY.git//FOLDER?ref=REVISION"
LOCAL_FORM = "./FOLDER"


class ModuleSourceError(Exception):
    """A module's source cannot be read: `code` and a message that says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ModuleTexts(NamedTuple):
    """A module's files: `key` names it once (recursion is found by it), `shown` in messages.

    `boundary`: the folder the module's own local sources stay in (a git checkout), if
    not the application's."""

    key: str
    shown: str
    texts: dict[str, str]
    boundary: str = ""


class ModuleLoader(Protocol):
    """Reads the module `source` used in the file at `user` (a path, as the compiler has it)."""

    def __call__(self, source: str, user: str) -> ModuleTexts: ...


class GitSource(NamedTuple):
    url: str
    path: str  # a folder inside the repository ("": its root)
    ref: str


def git_source(source: str) -> GitSource:
    """A git source read by its one form, or the ModuleSourceError that says what it should be."""
    found = GIT_SOURCE.fullmatch(source)
    if found is None:
        raise ModuleSourceError(
            "SCT701",
            f"`{source}` is not a git module source; write `{GIT_FORM}` (the revision is required: "
            "every clone compiles the same text)",
        )
    path = (found["path"] or "").strip("/")
    if any(part in ("..", ".") for part in path.split("/")) or "\\" in path:
        raise ModuleSourceError(
            "SCT702", f"the folder of `{source}` leaves its repository; name a folder inside it"
        )
    return GitSource(found["url"], path, found["ref"])


def no_git(source: str, user: str) -> ModuleTexts:
    """A loader's answer to a git source when nothing fetches them (the compiler alone)."""
    git_source(source)
    raise ModuleSourceError(
        "SCT701",
        f"git module sources are not supported yet (`{source}`); copy the module into the application's "
        f"folder and use it as `{LOCAL_FORM}`",
    )


@dataclass
class _Module:
    texts: ModuleTexts
    files: list[s.File]
    used: set[str] = field(default_factory=set)  # its lets and params used by some instance
    decls: dict[str, tuple[s.ParamDecl | s.LetDecl, s.File]] = field(default_factory=dict)


@dataclass
class Instance:
    """One use of a module: its scope, its evaluator, and the chain of modules that led to it."""

    use: ModuleUse
    module: _Module
    declared: Declarations
    findings: Findings
    chain: tuple[str, ...]  # the modules' `shown` names, outermost first, this one last
    keys: tuple[str, ...]
    caller: Instance | None
    arguments: _Arguments
    evaluator: Evaluator | None = None
    outputs: dict[str, Value] = field(default_factory=dict)
    evaluating: set[str] = field(default_factory=set)

    def output(self, name: str, use: s.Ident, file: s.File) -> Value:
        """The value of an output, evaluated on its first use."""
        if name not in self.declared.outputs or self.evaluator is None:
            return INVALID
        if name in self.outputs:
            return self.outputs[name]
        decl, decl_file = self.declared.outputs[name]
        if name in self.evaluating:
            self.findings.error(
                "SCT304",
                f"output `{name}` of module `{self.use.block.name.text}` depends on itself; break the cycle",
                decl_file,
                decl.name,
            )
            return INVALID
        self.evaluating.add(name)
        try:
            value = self.evaluator.eval(decl.value, Context(decl_file, self.use.component))
        finally:
            self.evaluating.discard(name)
        self.outputs[name] = value
        return value


@dataclass
class _Arguments(Mapping[str, Value]):
    """A module instance's params as its use gives them: each evaluated where the use is
    written, on first need, and checked against the param's type."""

    instance: Instance | None  # the instance this belongs to (set once made)
    given: dict[str, s.Attribute]
    params: dict[str, s.ParamDecl]
    missing: set[str]
    caller: Evaluator | None = None
    findings: Findings | None = None
    found: dict[str, Value] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Value:
        if name in self.found:
            return self.found[name]
        if name in self.missing:
            return INVALID  # reported at the use
        attr = self.given[name]
        value: Value = INVALID
        if self.caller is not None and self.findings is not None and self.instance is not None:
            use = self.instance.use
            # In a component made by a `for`, its loop variables too (`name = lang`).
            variables = self.caller.declared.component_variables.get(use.component or "", {})
            value = self.caller.eval(attr.value, Context(use.file, use.component, variables=variables))
            kind = self.params[name].type.text
            if value is not INVALID and not _fits(kind, value):
                module = self.instance.use.block.name.text
                self.findings.error(
                    "SCT502",
                    f"param `{name}` of module `{module}` is a {kind}; this is {describe_value(value)}"
                    + (
                        " known only at apply time: a string param takes it"
                        if _symbolic(value)
                        else ""
                    ),
                    self.instance.use.file,
                    attr.value,
                )
                value = INVALID
        self.found[name] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter([*self.given, *self.missing])

    def __len__(self) -> int:
        return len(self.given) + len(self.missing)

    def __contains__(self, name: object) -> bool:
        return name in self.given or name in self.missing


def _symbolic(value: Value) -> bool:
    return isinstance(value, Template | Secret) or (
        isinstance(value, ObjectRef) and value.output is not None
    )


def _fits(kind: str, value: Value) -> bool:
    """A param of a module takes an output or a secret where it takes a string (or anything)."""
    if _symbolic(value):
        return kind in ("string", "any")
    return param_type_ok(kind, value)


@dataclass
class Modules:
    """Every module instance of an application, found and bound before evaluation."""

    loader: ModuleLoader
    findings: Findings
    root: Declarations
    instances: dict[str, Instance] = field(default_factory=dict)  # by scope
    modules: dict[str, _Module] = field(default_factory=dict)  # by key
    loaded: dict[tuple[str, str], ModuleTexts | ModuleSourceError] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # every module file read, for messages

    def bind(self) -> None:
        """Instantiate every use, the uses inside modules included (they join `root.all_uses`)."""
        parents: dict[int, Instance] = {}
        index = 0
        while index < len(self.root.all_uses):
            use = self.root.all_uses[index]
            index += 1
            before = len(self.root.all_uses)
            instance = self.instantiate(use, parents.get(id(use)))
            for child in self.root.all_uses[before:]:
                if instance is not None:
                    parents[id(child)] = instance

    def instantiate(self, use: ModuleUse, caller: Instance | None) -> Instance | None:
        here = caller.findings if caller else self.findings  # where the use is written
        name = use.block.name.text
        attrs: dict[str, s.Attribute] = {}
        for attr in use.block.attributes:
            if attr.key.missing:
                continue
            if attr.key.text in attrs:
                first = attrs[attr.key.text]
                here.again(
                    "SCT103",
                    f"`{attr.key.text}` is set twice; remove one",
                    use.file,
                    attr.key,
                    (use.file, first.key),
                    "first set here",
                )
                continue
            attrs[attr.key.text] = attr
        source_attr = attrs.pop(SOURCE_KEY, None)
        if source_attr is None:
            here.error(
                "SCT701",
                f'module `{name}` needs `source`, where its files are: `source = "{LOCAL_FORM}"` (relative to '
                f"this file) or `{GIT_FORM}`",
                use.file,
                use.block.name,
            )
            return None
        value = source_attr.value
        if not isinstance(value, s.StringLit) or not value.is_plain:
            here.error(
                "SCT701",
                "`source` is a plain string: a path or a git URL, without `${...}`",
                use.file,
                value,
            )
            return None
        texts = self.load(value.text, use.file.path)
        if isinstance(texts, ModuleSourceError):
            here.error(texts.code, texts.message, use.file, value)
            return None
        keys = (*caller.keys, texts.key) if caller else (texts.key,)
        chain = (*caller.chain, texts.shown) if caller else (texts.shown,)
        if texts.key in keys[:-1]:
            shown = " → ".join(chain)
            here.error(
                "SCT703",
                f"module `{texts.shown}` uses itself: {shown}; break the chain",
                use.file,
                value,
            )
            return None
        if len(keys) > MAX_NESTING:
            here.error(
                "SCT703",
                f"modules used inside one another more than {MAX_NESTING} deep; flatten them",
                use.file,
                value,
            )
            return None
        module = self.parsed(texts, here)
        findings = here.inside(span(use.file, use.block.name), f"in module `{name}`, used here")
        place = Place(self.prefix(use, caller), use.scope, use.component, f"@{texts.shown}")
        declared = declare_module(module.files, findings, self.root, place)
        module.decls.update(declared.decls)
        params = {n: d for n, (d, _) in declared.decls.items() if isinstance(d, s.ParamDecl)}
        for key, attr in attrs.items():
            if key not in params:
                match = closest(key, params)
                choices = f"its params are {join_names(params)}" if params else "it has no params"
                here.error(
                    "SCT704",
                    f"module `{name}` has no param `{key}`{did_you_mean(match)}; {choices} (and `{SOURCE_KEY}`)",
                    use.file,
                    attr.key,
                    match,
                )
        missing = {n for n, d in params.items() if d.default is None and n not in attrs}
        for param in sorted(missing):
            kind = params[param].type.text
            here.error(
                "SCT705",
                f"module `{name}` needs param `{param}` ({kind}); add `{param} = ...` to this block",
                use.file,
                use.block.name,
                param,
            )
        given = {k: a for k, a in attrs.items() if k in params}
        arguments = _Arguments(None, given, params, missing)
        instance = Instance(use, module, declared, findings, chain, keys, caller, arguments)
        arguments.instance = instance
        use.outputs = list(declared.outputs)
        use.output = instance.output
        self.instances[use.scope] = instance
        return instance

    def prefix(self, use: ModuleUse, caller: Instance | None) -> str:
        """What names what an instance makes: the use's name, after its caller's when the
        two make the same level of things (objects of one component, or components)."""
        name = use.block.name.text
        if caller is not None and (caller.use.component is not None or use.component is None):
            return f"{caller.declared.place.instance if caller.declared.place else ''}-{name}"
        return name

    def load(self, source: str, user: str) -> ModuleTexts | ModuleSourceError:
        key = (source, user)
        if key not in self.loaded:
            try:
                self.loaded[key] = self.loader(source, user)
            except ModuleSourceError as error:
                self.loaded[key] = error
        return self.loaded[key]

    def parsed(self, texts: ModuleTexts, findings: Findings) -> _Module:
        """A module's files, parsed once; their syntax errors reported at the first use."""
        module = self.modules.get(texts.key)
        if module is None:
            files: list[s.File] = []
            for path, text in texts.texts.items():
                tree, errors = parse(text, path)
                self.texts[path] = text
                for error in errors:
                    findings.add(error)
                files.append(tree)
            module = _Module(texts, files)
            self.modules[texts.key] = module
        return module

    def evaluators(self, budget: Budget, root: Evaluator, deps: Edges) -> list[Evaluator]:
        """An evaluator for each instance, its params given by its use's (call after `bind`)."""
        made: list[Evaluator] = []
        for instance in self.instances.values():
            evaluator = Evaluator(
                instance.findings, instance.declared, budget, arguments=instance.arguments
            )
            evaluator.deps = deps  # one graph of references for the cycle check
            instance.evaluator = evaluator
            made.append(evaluator)
        for instance in self.instances.values():
            caller = instance.caller
            instance.arguments.caller = caller.evaluator if caller else root
            instance.arguments.findings = caller.findings if caller else self.findings
        return made

    def unused(self) -> list[Diagnostic]:
        """The params and lets of a module no instance uses (each once, however many instances)."""
        used: dict[str, set[str]] = {}
        for instance in self.instances.values():
            if instance.evaluator is not None:
                used.setdefault(instance.module.texts.key, set()).update(instance.evaluator.used)
        found: list[Diagnostic] = []
        plain = Findings(found)
        for key, module in self.modules.items():
            for name, (decl, file) in module.decls.items():
                if name not in used.get(key, set()):
                    what = "param" if isinstance(decl, s.ParamDecl) else "let"
                    plain.error(
                        "SCT901",
                        f"{what} `{name}` is never used; remove it or refer to it",
                        file,
                        decl.name,
                    )
        return found
