"""Syntax trees to runtime objects: names, references, values and types.

The checker binds every name of the unit, resolves references, folds `param`
and `let` values, keeps runtime references symbolic, and validates each block
against the pydantic model of its kind. What it learns goes into the semantic
model and the source map; what is wrong goes into diagnostics, each once, with
no cascade from a value that is already known to be wrong.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeAlias, cast

from pydantic import BaseModel, ValidationError

from scoot_lang import syntax as s
from scoot_lang.diagnostics import Diagnostic, diagnostic
from scoot_lang.functions import FUNCTIONS
from scoot_lang.parser import MAX_NESTING
from scoot_lang.semantic import JsonPath, ReferenceUse, SemanticModel, SourceMap, Symbol
from scoot_lang.source import Span, decode_text
from scoot_model import names, reference, template
from scoot_model.objects import (
    OBJECT_REF_PATTERN,
    REF_PATTERN,
    SECRET_IN_COMMAND,
    Application,
    Architecture,
    Component,
    SctObject,
    kinds,
)
from scoot_model.reading import MIB, UnreadableFile, read_regular_file
from scoot_model.reference import describe_schema

PARAM_TYPES = ("string", "number", "bool", "list", "map", "any")
# Validation errors of the models that have a code of their own (the rest are SCT204).
MODEL_ERROR_CODES = {SECRET_IN_COMMAND: "SCT404"}
SECRET_NAME = re.compile(template.SECRET_NAME_PATTERN)
# The most bytes `file()` reads: its text goes into the JSON form, environment
# variables and commands, where a larger file has no place (docs/language.md, "Limits").
MAX_FILE_BYTES = MIB
# The most a compilation builds: the text of the strings it makes by interpolation (and
# reads with file()), and, apart, the attributes' values it checks, as the objects and
# JSON text they become. Far above any architecture (5,000 components take some 7 MiB),
# and a bound on what a hostile one can make of a few lets (`let b = [a, a, a]`...).
MAX_BUILT_BYTES = 64 * MIB


# --- values ------------------------------------------------------------------


class ObjectRef(NamedTuple):
    """A runtime reference: an object, or one of its outputs."""

    component: str
    object: str
    output: str | None = None

    def text(self) -> str:
        tail = f".{self.output}" if self.output else ""
        return f"${{{self.component}.{self.object}{tail}}}"


@dataclass(frozen=True, slots=True)
class ComponentRef:
    component: str


class Secret(NamedTuple):
    name: str

    def text(self) -> str:
        return f'${{secret("{self.name}")}}'


@dataclass(frozen=True, slots=True)
class Template:
    """A string holding runtime references or secrets among literal text."""

    parts: tuple[str | ObjectRef | Secret, ...]


class _Invalid:
    """The value of an expression already reported as wrong: checks skip it."""


INVALID = _Invalid()
Value: TypeAlias = (
    str | int | float | bool | list["Value"] | dict[str, "Value"]
    | ObjectRef | ComponentRef | Secret | Template | _Invalid | None
)


def lower(value: Value) -> Any:
    """A checked value in the JSON form: references as `${...}`, literal text escaped."""
    if isinstance(value, str):
        return template.escape(value)
    if isinstance(value, ObjectRef | Secret):
        return value.text()
    if isinstance(value, Template):
        parts = value.parts
        return "".join(
            template.escape(p, before_interpolation=i + 1 < len(parts)) if isinstance(p, str) else p.text()
            for i, p in enumerate(parts)
        )
    if isinstance(value, list):
        return [lower(v) for v in value]
    if isinstance(value, dict):
        return {k: lower(v) for k, v in value.items()}
    return value


def _describe_value(value: Value) -> str:
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str | Template):
        return "a string"
    if value is None:
        return "`null`"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, ObjectRef):
        return "an object" if value.output is None else "a reference"
    if isinstance(value, Secret):
        return "a secret"
    return "a component"


# --- schema descriptions (for messages) ----------------------------------------


def _field_schema(model: type[BaseModel], key: str) -> dict[str, Any]:
    prop: dict[str, Any] = reference.schema(model).get("properties", {}).get(key, {})
    return prop


def _sub_schema(schema: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """The schema of a value inside a field: `keys` are map keys or list indices."""
    for key in keys:
        options = schema.get("anyOf", [schema])
        container = next((o for o in options if o.get("type") in ("object", "array")), None)
        if container is None:
            return {}
        if container["type"] == "array":
            schema = container.get("items", {})
        else:
            schema = container.get("properties", {}).get(key) or container.get("additionalProperties") or {}
    return schema


def _own_pattern(schema: dict[str, Any]) -> bool:
    """Whether a field's strings must match a pattern of its own (not a reference's)."""
    options = schema.get("anyOf", [schema])
    return any(o.get("pattern") not in (None, REF_PATTERN, OBJECT_REF_PATTERN) for o in options)


def _accepts_output(schema: dict[str, Any], output_type: str) -> bool:
    """Whether a field takes a reference to an output of this type (besides a bare reference)."""
    if "anyOf" in schema:
        return any(_accepts_output(option, output_type) for option in schema["anyOf"])
    kind = schema.get("type")
    if output_type == "string":
        return kind == "string" and schema.get("pattern") not in (REF_PATTERN, OBJECT_REF_PATTERN)
    return kind in ("integer", "number") or "type" not in schema


# --- the checker ---------------------------------------------------------------


class _Meaning(NamedTuple):
    """One thing a reference may mean: described, its symbol, its value, and what each part names."""

    label: str
    target: str
    value: Value
    parts: tuple[str | None, ...]


class _Failure(NamedTuple):
    """Why one meaning of a reference did not resolve."""

    code: str
    message: str
    node: Any
    suggestion: str | None = None


@dataclass
class _ObjectInfo:
    block: s.ObjectBlock
    component: str
    file: s.File
    model: type[SctObject] | None


@dataclass(slots=True)
class _Context:
    """Where an expression is evaluated."""

    file: s.File
    component: str | None = None
    object: str | None = None
    constant: bool = False  # a param default: no runtime values
    allow_object: bool = False

    def nested(self) -> _Context:
        """The context of a value inside this one: only a key's own value may be an object."""
        if not self.allow_object:
            return self
        return _Context(self.file, self.component, self.object, self.constant)


@dataclass
class CheckResult:
    architecture: Architecture | None
    diagnostics: list[Diagnostic]
    semantic: SemanticModel
    source_map: SourceMap


@dataclass
class Checker:
    files: list[s.File]
    params: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    semantic: SemanticModel = field(default_factory=SemanticModel)
    source_map: SourceMap = field(default_factory=SourceMap)

    def __post_init__(self) -> None:
        self.application: tuple[s.ApplicationBlock, s.File] | None = None
        self.components: dict[str, tuple[s.ComponentBlock, s.File]] = {}
        self.objects: dict[str, dict[str, _ObjectInfo]] = {}
        self.decls: dict[str, tuple[s.ParamDecl | s.LetDecl, s.File]] = {}
        self.values: dict[str, Value] = {}
        self.evaluating: list[str] = []
        self.used: set[str] = set()
        self.deps: dict[tuple[str, str], dict[tuple[str, str], Span]] = {}
        self.file_texts: dict[Path, Value] = {}  # what file() read (or INVALID), by resolved path
        self.measured: dict[int, tuple[Value, _Summary]] = {}  # `_summarize`'s memory
        self.built_bytes = 0  # the text of strings built by interpolation, and read by file()
        self.output_bytes = 0  # the JSON form of the attributes checked so far

    # diagnostics ---------------------------------------------------------------

    def error(
        self, code: str, message: str, file: s.File, start: int, end: int, suggestion: str | None = None
    ) -> None:
        self.diagnostics.append(diagnostic(code, message, Span(file.path, start, end), suggestion=suggestion))

    def span(self, file: s.File, node: Any) -> Span:
        return Span(file.path, node.start, node.end)

    # pass 1: declarations ------------------------------------------------------

    def declare(self) -> None:
        lower_names: dict[str, str] = {}
        for file in self.files:
            for item in file.items:
                if isinstance(item, s.ApplicationBlock):
                    self.declare_application(item, file)
                elif isinstance(item, s.ComponentBlock):
                    self.declare_component(item, file, lower_names)
                elif not item.name.missing:
                    self.declare_value(item, file)
        if self.application is None:
            first = self.files[0] if self.files else s.File("architecture.sct", [])
            if first.from_json:
                message = 'there is no `application`; add one, such as `"application": {"name": "shop"}`'
            else:
                message = 'there is no `application` block; add one, such as `application shop { owner = "acme" }`'
            self.diagnostics.append(diagnostic("SCT101", message, Span(first.path, 0, 0)))

    def declare_application(self, block: s.ApplicationBlock, file: s.File) -> None:
        if self.application is not None:
            first, first_file = self.application
            self.diagnostics.append(
                diagnostic(
                    "SCT102",
                    f"a second `application` block; the unit already has `{first.name.text}` — keep one",
                    self.span(file, block.name),
                    ((self.span(first_file, first.name), "the first application"),),
                )
            )
            return
        self.application = (block, file)
        if not block.name.missing:
            self.check_name(block.name, file, "application")
        self.semantic.add(
            Symbol(f"application:{block.name.text}", "application", block.name.text, self.span(file, block), self.span(file, block.name))
        )
        self.source_map.add(("application",), self.span(file, block))
        self.source_map.add(("application", "name"), self.span(file, block.name))

    def declare_component(self, block: s.ComponentBlock, file: s.File, lower_names: dict[str, str]) -> None:
        name = block.name.text
        if block.name.missing:
            return
        if name in self.components:
            first, first_file = self.components[name]
            self.diagnostics.append(
                diagnostic(
                    "SCT103",
                    f"component `{name}` is declared twice; rename or merge one",
                    self.span(file, block.name),
                    ((self.span(first_file, first.name), "the first declaration"),),
                )
            )
            return
        self.check_name(block.name, file, "component")
        if name.lower() in lower_names:
            self.error(
                "SCT105",
                f"component `{name}` differs from `{lower_names[name.lower()]}` only in case; their "
                "repositories and folders would collide on case-insensitive systems: rename one",
                file,
                block.name.start,
                block.name.end,
            )
        lower_names[name.lower()] = name
        self.components[name] = (block, file)
        self.semantic.add(Symbol(f"component:{name}", "component", name, self.span(file, block), self.span(file, block.name)))
        self.source_map.add(("components", name), self.span(file, block))
        objects: dict[str, _ObjectInfo] = {}
        lower_objects: dict[str, str] = {}
        for obj in block.objects:
            self.declare_object(obj, name, file, objects, lower_objects)
        self.objects[name] = objects

    def declare_object(
        self,
        obj: s.ObjectBlock,
        component: str,
        file: s.File,
        objects: dict[str, _ObjectInfo],
        lower_objects: dict[str, str],
    ) -> None:
        name = obj.name.text
        if obj.name.missing:
            return
        if name in objects:
            self.diagnostics.append(
                diagnostic(
                    "SCT103",
                    f"component `{component}` already has an object `{name}`; rename one",
                    self.span(file, obj.name),
                    ((self.span(file, objects[name].block.name), "the first object"),),
                )
            )
            return
        self.check_name(obj.name, file, "object")
        if name.lower() in lower_objects:
            self.error(
                "SCT105",
                f"object `{name}` differs from `{lower_objects[name.lower()]}` only in case; their "
                "files would collide on case-insensitive systems: rename one",
                file,
                obj.name.start,
                obj.name.end,
            )
        lower_objects[name.lower()] = name
        model = kinds.get(obj.kind.text)
        if model is None and not obj.kind.missing:
            match = _closest(obj.kind.text, kinds.names())
            self.error(
                "SCT201",
                f"unknown object kind `{obj.kind.text}`{_did_you_mean(match)}; the kinds are {_join(kinds.names())}",
                file,
                obj.kind.start,
                obj.kind.end,
                match,
            )
        objects[name] = _ObjectInfo(obj, component, file, model)
        path = ("components", component, "objects", name)
        self.semantic.add(
            Symbol(f"object:{component}.{name}", "object", name, self.span(file, obj), self.span(file, obj.name), component, obj.kind.text)
        )
        self.source_map.add(path, self.span(file, obj))
        self.source_map.add((*path, "kind"), self.span(file, obj.kind))

    def declare_value(self, decl: s.ParamDecl | s.LetDecl, file: s.File) -> None:
        name = decl.name.text
        what: Literal["param", "let"] = "param" if isinstance(decl, s.ParamDecl) else "let"
        if name in self.decls:
            first, first_file = self.decls[name]
            self.diagnostics.append(
                diagnostic(
                    "SCT103",
                    f"`{name}` is already declared; rename one",
                    self.span(file, decl.name),
                    ((self.span(first_file, first.name), "the first declaration"),),
                )
            )
            return
        self.decls[name] = (decl, file)
        self.semantic.add(Symbol(f"{what}:{name}", what, name, self.span(file, decl), self.span(file, decl.name)))

    def check_name(self, ident: s.Ident, file: s.File, what: str) -> bool:
        name = ident.text
        problem = names.name_problem(name)
        if problem:
            self.error("SCT104", f"invalid {what} name `{name}`: {problem}; rename it", file, ident.start, ident.end)
            return False
        return True

    # pass 2: values ------------------------------------------------------------

    def evaluate_decls(self) -> None:
        """Fold every let and param, each after those it uses, so that evaluating one
        never recurses through a long chain of others (`let a = b`, `let b = c`, ...).

        Those on a cycle, or that use one, are left to the second loop, in the order
        they are declared, which finds and reports the cycle (`value_of`).
        """
        uses = {name: _names_used(decl, self.decls) for name, (decl, _) in self.decls.items()}
        waiting = {name: len(used) for name, used in uses.items()}
        users: dict[str, list[str]] = {}
        for name, used in uses.items():
            for other in used:
                users.setdefault(other, []).append(name)
        ready = [name for name, count in waiting.items() if count == 0]
        while ready:
            name = ready.pop()
            decl, file = self.decls[name]
            self.value_of(name, decl.name, file, mark=False)
            for user in users.get(name, ()):
                waiting[user] -= 1
                if waiting[user] == 0:
                    ready.append(user)
        for name, (decl, file) in self.decls.items():
            self.value_of(name, decl.name, file, mark=False)

    def value_of(self, name: str, use: s.Ident, file: s.File, mark: bool = True) -> Value:
        """The folded value of a let or param, evaluating it on first use (`mark`: a use)."""
        if mark:
            self.used.add(name)
        if name in self.values:
            return self.values[name]
        if name in self.evaluating:
            cycle = " → ".join([*self.evaluating[self.evaluating.index(name) :], name])
            self.error("SCT304", f"`{name}` depends on itself ({cycle}); break the cycle", file, use.start, use.end)
            return INVALID
        if len(self.evaluating) >= MAX_NESTING:
            # Only lets that lead to a cycle are evaluated through others (`evaluate_decls`):
            # a chain this long is refused rather than followed further down the stack.
            self.error(
                "SCT009",
                f"`{name}` is reached through more than {MAX_NESTING} lets and params that use one "
                "another; shorten the chain",
                file,
                use.start,
                use.end,
            )
            self.values[name] = INVALID
            return INVALID
        decl, decl_file = self.decls[name]
        self.evaluating.append(name)
        try:
            value = self.evaluate_decl(decl, decl_file)
        finally:
            self.evaluating.pop()
        if isinstance(decl, s.LetDecl):
            where: Any = decl.value
        else:  # a param: its default, or its name for a value from `--param`
            where = decl.default if decl.default is not None and name not in self.params else decl.name
        if value is not INVALID and self.too_deep(value, decl_file, where, f"the value of `{name}`"):
            value = INVALID
        self.values[name] = value
        return value

    def too_deep(self, value: Value, file: s.File, node: Any, what: str) -> bool:
        """Report a value whose lists and maps nest deeper than `MAX_NESTING`.

        The text of one value cannot (the parser sees to it), but a value built from
        lets can: `let b = [[a]]` nests two levels deeper than `a`. Every later stage
        walks values recursively, so they are held to the same limit as the text.
        """
        depth = _summarize(value, self.measured).depth
        if depth <= MAX_NESTING:
            return False
        self.error(
            "SCT009",
            f"{what} nests {depth} levels of lists and maps deep, with the lets it uses; "
            f"the most is {MAX_NESTING}",
            file,
            node.start,
            node.end,
        )
        return True

    def too_large(self, size: int, file: s.File, node: Any, what: str, output: bool = False) -> bool:
        """Count `size` bytes more of built text (or, with `output`, of the JSON form), and
        report the value that takes the total past `MAX_BUILT_BYTES`.

        A few lets make a value exponentially large (`let b = [a, a, a]`, `let c = [b, b, b]`...)
        from a few hundred bytes of text: what a compilation builds is measured before it
        is built, and bounded, as the text it reads is.
        """
        spent = self.output_bytes if output else self.built_bytes
        if spent + size <= MAX_BUILT_BYTES:
            if output:
                self.output_bytes += size
            else:
                self.built_bytes += size
            return False
        self.error(
            "SCT010",
            f"{what} would come to more than {MAX_BUILT_BYTES // MIB} MiB with this value, which "
            f"alone takes about {_mib(size)} MiB with the lets it uses; build less from each let",
            file,
            node.start,
            node.end,
        )
        return True

    def evaluate_decl(self, decl: s.ParamDecl | s.LetDecl, file: s.File) -> Value:
        if isinstance(decl, s.LetDecl):
            return self.eval(decl.value, _Context(file, allow_object=True))
        kind = decl.type.text
        if kind not in PARAM_TYPES:
            if not decl.type.missing:
                match = _closest(kind, PARAM_TYPES)
                self.error(
                    "SCT501",
                    f"unknown parameter type `{kind}`{_did_you_mean(match)}; use one of {_join(PARAM_TYPES)}",
                    file,
                    decl.type.start,
                    decl.type.end,
                    match,
                )
            return INVALID
        name = decl.name.text
        if name in self.params:
            return self.param_from_text(decl, file, self.params[name])
        if decl.default is None:
            self.error(
                "SCT503",
                f"param `{name}` has no value: give it a default (`= ...`) or set it with `--param {name}=VALUE`",
                file,
                decl.name.start,
                decl.name.end,
            )
            return INVALID
        value = self.eval(decl.default, _Context(file, constant=True))
        if value is not INVALID and not _param_type_ok(kind, value):
            self.error(
                "SCT502",
                f"the default of param `{name}` is {_describe_value(value)}, not a {kind}",
                file,
                decl.default.start,
                decl.default.end,
            )
            return INVALID
        return value

    def param_from_text(self, decl: s.ParamDecl, file: s.File, text: str) -> Value:
        kind, name = decl.type.text, decl.name.text
        value: Any = text
        try:
            if kind == "number":
                value = int(text) if re.fullmatch(r"-?\d+", text) else float(text)
                if not math.isfinite(value):
                    raise ValueError(text)
            elif kind == "bool":
                value = {"true": True, "false": False}[text]
            elif kind in ("list", "map"):
                value = json.loads(text)
            elif kind == "any":
                try:
                    value = json.loads(text)
                except ValueError:
                    value = text
        except (ValueError, KeyError, RecursionError):  # RecursionError: JSON nested thousands deep
            value = INVALID
        if value is INVALID or not _param_type_ok(kind, value):
            self.error(
                "SCT502",
                f"--param {name}={text!r} is not a {kind}" + (" (write true or false)" if kind == "bool" else "")
                + ("" if kind not in ("list", "map") else " (write it as JSON)"),
                file,
                decl.name.start,
                decl.name.end,
            )
            return INVALID
        return cast(Value, value)

    def eval(self, expr: s.Expr, ctx: _Context) -> Value:
        if isinstance(expr, s.StringLit):
            return self.eval_string(expr, ctx)
        if isinstance(expr, s.NumberLit):
            return expr.value
        if isinstance(expr, s.BoolLit):
            return expr.value
        if isinstance(expr, s.NullLit):
            return None
        if isinstance(expr, s.Reference):
            return self.eval_reference(expr, ctx)
        if isinstance(expr, s.ListExpr):
            inner = ctx.nested()
            items = [self.eval(item, inner) for item in expr.items]
            return INVALID if INVALID in items else items
        if isinstance(expr, s.MapExpr):
            return self.eval_map(expr, ctx)
        if isinstance(expr, s.Call):
            return self.eval_call(expr, ctx)
        return INVALID

    def eval_map(self, expr: s.MapExpr, ctx: _Context) -> Value:
        inner = ctx.nested()
        result: dict[str, Value] = {}
        for entry in expr.entries:
            key = entry.key.text
            if key in result:
                self.error("SCT103", f"key `{key}` is set twice in this map; remove one", ctx.file, entry.key.start, entry.key.end)
                continue
            result[key] = self.eval(entry.value, inner)
        return INVALID if INVALID in result.values() else result

    def eval_string(self, expr: s.StringLit, ctx: _Context) -> Value:
        if expr.is_plain:
            return expr.text
        if len(expr.parts) == 1 and not isinstance(expr.parts[0], str):
            # A string that is exactly one runtime reference stands for the referenced
            # value, with its type (the JSON form cannot tell the two apart).
            value = self.eval(expr.parts[0], ctx)
            if ctx.file.from_json or isinstance(value, ObjectRef | Secret) or value is INVALID:
                return value
            return self.eval_string_parts([value], expr, ctx)
        return self.eval_string_parts([None] * len(expr.parts), expr, ctx)

    def eval_string_parts(self, known: list[Value], expr: s.StringLit, ctx: _Context) -> Value:
        """Interpolate a string; `known` holds parts already evaluated (None: not yet)."""
        parts: list[str | ObjectRef | Secret] = []
        inner = ctx.nested()
        values = [
            part if isinstance(part, str) else self.eval(part, inner) if value is None else value
            for part, value in zip(expr.parts, known, strict=True)
        ]
        if INVALID in values:  # each part was checked, and reported, on its own
            return INVALID
        for part, value in zip(expr.parts, values, strict=True):
            if isinstance(part, str):
                parts.append(part)
                continue
            if (isinstance(value, ObjectRef) and value.output is not None) or isinstance(value, Secret):
                parts.append(value)
            elif isinstance(value, Template):
                parts.extend(value.parts)
            elif isinstance(value, str | int | float | bool) and not isinstance(value, ObjectRef):
                parts.append(_scalar_text(value))
            else:
                self.error(
                    "SCT204",
                    f"cannot put {_describe_value(value)} inside a string; interpolate a string, a number, "
                    "a boolean or an output",
                    ctx.file,
                    part.start,
                    part.end,
                )
                return INVALID
        # What this string costs, counted before it is built: strings built from
        # strings (`"${a}${a}"`, then `"${b}${b}"`...) double at each step.
        built = sum(len(p) if isinstance(p, str) else _REFERENCE_SIZE for p in parts)
        if self.too_large(built, ctx.file, expr, "the strings built by interpolation"):
            return INVALID
        # Adjacent texts are merged, each run with one join: all text means one piece (or none).
        merged: list[str | ObjectRef | Secret] = []
        run: list[str] = []
        for p in parts:
            if isinstance(p, str):
                run.append(p)
                continue
            if run:
                merged.append("".join(run))
                run = []
            merged.append(p)
        if run:
            merged.append("".join(run))
        if not merged:
            return ""
        if len(merged) == 1 and isinstance(merged[0], str):
            return merged[0]
        return Template(tuple(merged))

    def eval_call(self, call: s.Call, ctx: _Context) -> Value:
        name = call.name.text
        if name not in FUNCTIONS:
            match = _closest(name, FUNCTIONS)
            self.error(
                "SCT401",
                f"unknown function `{name}`{_did_you_mean(match)}; the functions are {_join(list(FUNCTIONS))}",
                ctx.file,
                call.name.start,
                call.name.end,
                match,
            )
            return INVALID
        args = [self.eval(arg, ctx.nested()) for arg in call.args]
        if INVALID in args:
            return INVALID
        if len(args) != 1 or not isinstance(args[0], str):
            self.error("SCT402", f'`{name}` takes one string, such as {name}("{FUNCTIONS[name].example}")', ctx.file, call.start, call.end)
            return INVALID
        arg = args[0]
        if name == "secret":
            if ctx.constant:
                self.error("SCT306", "a secret is read at apply time; it cannot be a param's default", ctx.file, call.start, call.end)
                return INVALID
            if not SECRET_NAME.match(arg):
                self.error(
                    "SCT402",
                    f"secret names are letters, digits and `_`, such as SHOP_TOKEN; `{arg}` is not one",
                    ctx.file,
                    call.args[0].start,
                    call.args[0].end,
                )
                return INVALID
            return Secret(arg)
        return self.read_file(arg, call, ctx)

    def read_file(self, relative: str, call: s.Call, ctx: _Context) -> Value:
        argument = call.args[0]
        shown = _shown_path(relative)
        if "\0" in relative:
            # No file has such a name, and the OS refuses the path outright.
            self.error("SCT403", f"cannot read `{shown}`: a path cannot hold a NUL character", ctx.file, argument.start, argument.end)
            return INVALID
        try:
            base = Path(ctx.file.path).resolve().parent
            target = (base / relative).resolve()
        except (OSError, ValueError) as error:  # a name too long, a link loop
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            self.error("SCT403", f"cannot read `{shown}`: {reason}", ctx.file, argument.start, argument.end)
            return INVALID
        if Path(relative).is_absolute() or not target.is_relative_to(base):
            self.error(
                "SCT403",
                f"file() reads files in the architecture's folder; `{shown}` is outside it",
                ctx.file,
                argument.start,
                argument.end,
            )
            return INVALID
        if target in self.file_texts:  # read once, however many calls name it
            return self.file_texts[target]
        try:
            text: Value = decode_text(read_regular_file(target, MAX_FILE_BYTES))
        except (UnreadableFile, UnicodeDecodeError) as error:
            reason = (error.strerror or str(error)) if isinstance(error, UnreadableFile) else "it is not UTF-8 text"
            self.error("SCT403", f"cannot read `{shown}`: {reason}", ctx.file, argument.start, argument.end)
            text = INVALID
        if isinstance(text, str) and self.too_large(len(text), ctx.file, argument, "the strings built by interpolation and read by file()"):
            text = INVALID
        self.file_texts[target] = text
        return text

    # references ------------------------------------------------------------------

    def eval_reference(self, ref: s.Reference, ctx: _Context) -> Value:
        parts = [p.text for p in ref.parts]
        if any(not p for p in parts):
            return INVALID
        meanings, failures = self.resolve(ref, ctx)
        part_starts = tuple(p.start for p in ref.parts)
        if len(meanings) != 1:
            self.semantic.references.append(ReferenceUse(self.span(ctx.file, ref), tuple(parts), part_starts, None))
            if meanings:
                described = " or ".join(meaning.label for meaning in meanings)
                self.error(
                    "SCT302",
                    f"`{ref.dotted}` is ambiguous here: it could be {described}; rename one of them",
                    ctx.file,
                    ref.start,
                    ref.end,
                )
            else:
                failure = failures[0] if failures else _Failure("SCT301", f"`{parts[0]}` is not defined", ref)
                self.error(failure.code, failure.message, ctx.file, failure.node.start, failure.node.end, failure.suggestion)
            return INVALID
        meaning = meanings[0]
        target, value = meaning.target, meaning.value
        output = value.output if isinstance(value, ObjectRef) else None
        self.semantic.references.append(
            ReferenceUse(self.span(ctx.file, ref), tuple(parts), part_starts, target, output, meaning.parts)
        )
        summary = _summarize(value, self.measured)
        if ctx.constant and (summary.refs or summary.secret):
            self.error("SCT306", f"`{ref.dotted}` is only known at apply time; a param's default must be a constant", ctx.file, ref.start, ref.end)
            return INVALID
        if isinstance(value, ComponentRef):
            self.error(
                "SCT305",
                f"`{ref.dotted}` is a component, not a value; refer to one of its objects' outputs, such as `{ref.dotted}.OBJECT.url`",
                ctx.file,
                ref.start,
                ref.end,
            )
            return INVALID
        refs = summary.refs
        if not ctx.allow_object and any(r.output is None for r in refs):
            self.error("SCT305", self.object_not_value(ref, refs), ctx.file, ref.start, ref.end)
            return INVALID
        if ctx.object is not None and ctx.component is not None:
            edges = self.deps.setdefault((ctx.component, ctx.object), {})
            for r in refs:
                edges.setdefault((r.component, r.object), self.span(ctx.file, ref))
        return value

    def object_not_value(self, ref: s.Reference, refs: tuple[ObjectRef, ...]) -> str:
        target = next(r for r in refs if r.output is None)
        info = self.objects[target.component][target.object]
        outputs = list(info.model.outputs) if info.model else []
        choices = ", ".join(f"`{ref.dotted}.{o}`" for o in outputs) or "its outputs"
        return f"`{ref.dotted}` is an object, not a value; use one of its outputs: {choices}"

    def resolve(self, ref: s.Reference, ctx: _Context) -> tuple[list[_Meaning], list[_Failure]]:
        """Every meaning of a reference that resolves, and why the others did not."""
        parts = [p.text for p in ref.parts]
        first = parts[0]
        meanings: list[_Meaning] = []
        failures: list[_Failure] = []
        if not ctx.file.from_json:
            if first in self.decls:
                value = self.value_of(first, ref.parts[0], ctx.file)
                walked = self.walk_value(value, ref, failures)
                kind = "param" if isinstance(self.decls[first][0], s.ParamDecl) else "let"
                if walked is not None or value is INVALID:
                    targets = (f"{kind}:{first}",) + (None,) * (len(parts) - 1)  # map keys are no symbols
                    meanings.append(
                        _Meaning(f"the {kind} `{first}`", f"{kind}:{first}", INVALID if walked is None else walked, targets)
                    )
            if ctx.component is not None and first in self.objects.get(ctx.component, {}):
                self.resolve_object(ctx.component, ref.parts, 0, meanings, failures)
        if first in self.objects:
            if len(parts) == 1:
                # A component is never a value: it is a meaning only when there is no other.
                if not meanings:
                    meanings.append(
                        _Meaning(f"the component `{first}`", f"component:{first}", ComponentRef(first), (f"component:{first}",))
                    )
            elif parts[1] in self.objects[first]:
                self.resolve_object(first, ref.parts, 1, meanings, failures)
            else:
                candidates = list(self.objects[first])
                match = _closest(parts[1], candidates)
                failures.append(
                    _Failure("SCT301", f"component `{first}` has no object `{parts[1]}`{_did_you_mean(match)}", ref.parts[1], match)
                )
        if not meanings and not failures:
            match = None
            if ctx.file.from_json:
                message = (
                    f"`{ref.dotted}` does not name an object: references in the JSON form are "
                    "fully qualified, `component.object` or `component.object.output`"
                )
            else:
                candidates = [*self.decls, *self.objects, *self.objects.get(ctx.component or "", {})]
                match = _closest(first, candidates)
                message = f"`{first}` is not defined{_did_you_mean(match)}"
            failures.append(_Failure("SCT301", message, ref.parts[0], match))
        return meanings, failures

    def resolve_object(
        self,
        component: str,
        parts: list[s.Ident],
        index: int,
        meanings: list[_Meaning],
        failures: list[_Failure],
    ) -> None:
        """Resolve `parts[index:]` as an object of `component` and maybe one output."""
        name = parts[index].text
        info = self.objects[component][name]
        target = f"object:{component}.{name}"
        label = f"the object `{component}.{name}`"
        rest = parts[index + 1 :]
        # What each name of the reference names: the component (if spelled), the object,
        # and an output (no symbol: `output` says which).
        targets = (f"component:{component}",) * index + (target,) + (None,) * len(rest)
        if not rest:
            meanings.append(_Meaning(label, target, ObjectRef(component, name), targets))
            return
        output = rest[0].text
        outputs = info.model.outputs if info.model else {}
        if info.model is None:
            meanings.append(_Meaning(label, target, INVALID, targets))  # its kind is unknown: already reported
        elif len(rest) == 1 and output in outputs:
            meanings.append(
                _Meaning(f"the output `{component}.{name}.{output}`", target, ObjectRef(component, name, output), targets)
            )
        elif output not in outputs:
            match = _closest(output, list(outputs))
            failures.append(
                _Failure(
                    "SCT303",
                    f"{info.block.kind.text} `{name}` has no output `{output}`{_did_you_mean(match)}; "
                    f"its outputs are {_join(list(outputs))}",
                    rest[0],
                    match,
                )
            )
        else:
            failures.append(_Failure("SCT303", f"output `{output}` is a value; it has no `.{rest[1].text}`", rest[1]))

    def walk_value(self, value: Value, ref: s.Reference, failures: list[_Failure]) -> Value | None:
        """Follow `.key` parts into a let's map value."""
        for part in ref.parts[1:]:
            if value is INVALID:
                return INVALID
            if not isinstance(value, dict) or part.text not in value:
                keys = list(value) if isinstance(value, dict) else []
                match = _closest(part.text, keys) if keys else None
                hint = _did_you_mean(match) if keys else f" ({_describe_value(value)} has no keys)"
                failures.append(_Failure("SCT301", f"`{ref.parts[0].text}` has no key `{part.text}`{hint}", part, match))
                return None
            value = value[part.text]
        return value

    # pass 3: blocks --------------------------------------------------------------

    def check_attributes(
        self,
        attributes: list[s.Attribute],
        model: type[BaseModel],
        ctx: _Context,
        path: JsonPath,
        allowed: set[str] | None = None,
    ) -> tuple[dict[str, Value], set[str]]:
        """Evaluate a block's attributes: the good values, and the keys already reported."""
        result: dict[str, Value] = {}
        broken: set[str] = set()
        seen: dict[str, s.Attribute] = {}
        for attr in attributes:
            key = attr.key.text
            if attr.key.missing:
                continue
            if key in seen:
                self.diagnostics.append(
                    diagnostic(
                        "SCT103",
                        f"`{key}` is set twice; remove one",
                        self.span(ctx.file, attr.key),
                        ((self.span(ctx.file, seen[key].key), "first set here"),),
                    )
                )
                continue
            seen[key] = attr
            self.source_map.add((*path, key), self.span(ctx.file, attr), attr.value)
            field_schema = _field_schema(model, key)
            if (allowed is not None and key not in allowed) or not field_schema or key == "kind":
                choices = sorted(allowed if allowed is not None else reference.schema(model).get("properties", {}))
                choices = [c for c in choices if c != "kind"]
                match = _closest(key, choices)
                self.error(
                    "SCT202",
                    f"unknown key `{key}`{_did_you_mean(match)}; the keys here are {_join(choices)}",
                    ctx.file,
                    attr.key.start,
                    attr.key.end,
                    match,
                )
                broken.add(key)
                continue
            wants_object = field_schema.get("pattern") == OBJECT_REF_PATTERN
            value = self.eval(attr.value, _Context(ctx.file, ctx.component, ctx.object, allow_object=wants_object))
            if value is not INVALID and (
                self.too_deep(value, ctx.file, attr.value, f"`{key}`")
                or self.too_large(_summarize(value, self.measured).size, ctx.file, attr.value, "the architecture's values", output=True)
            ):
                value = INVALID
            if value is INVALID or not self.output_type_ok(value, field_schema, key, attr, ctx):
                broken.add(key)
                continue
            result[key] = value
        return result, broken

    def output_type_ok(self, value: Value, field_schema: dict[str, Any], key: str, attr: s.Attribute, ctx: _Context) -> bool:
        """A reference to a string output cannot fill a number, and the other way round."""
        if not isinstance(value, ObjectRef) or value.output is None:
            return True
        info = self.objects[value.component][value.object]
        output = info.model.outputs[value.output] if info.model else None
        if output is None or _accepts_output(field_schema, output.type):
            return True
        self.error(
            "SCT204",
            f"`{key}` must be {describe_schema(field_schema)}, but `{value.object}.{value.output}` is a {output.type}",
            ctx.file,
            attr.value.start,
            attr.value.end,
        )
        return False

    def validate(
        self, model: type[BaseModel], data: dict[str, Any], broken: set[str], path: JsonPath, header: Span, what: str
    ) -> BaseModel | None:
        """Validate a block's values against its model; `header` is where a missing key is reported."""
        try:
            result = model.model_validate(data)
            return None if broken else result
        except ValidationError as error:
            self.report_validation(error, model, data, broken, path, header, what)
            return None

    def report_validation(
        self,
        error: ValidationError,
        model: type[BaseModel],
        data: dict[str, Any],
        broken: set[str],
        path: JsonPath,
        header: Span,
        what: str,
    ) -> None:
        seen: set[str] = set(broken)
        # A union fails each way: the error with a code of its own says the most, then an
        # empty list's (it has the right shape, so "not a string" would mislead).
        def telling(item: Any) -> tuple[bool, bool]:
            return item["type"] not in MODEL_ERROR_CODES, item["type"] != "too_short"

        for item in sorted(error.errors(), key=telling):
            # Pydantic adds the name of each union member it tried: keep the keys the text has.
            loc = [str(p) for p in item["loc"]]
            key = loc[0] if loc else ""
            if key in seen:
                continue  # one message a key, even when a union failed each way
            seen.add(key)
            field_schema = _field_schema(model, key)
            if item["type"] == "missing":
                description = field_schema.get("description", "")
                self.diagnostics.append(
                    diagnostic("SCT203", f"{what} needs `{key}`: {description} Add `{key} = ...`.", header, suggestion=key)
                )
                continue
            keys = [key]
            value = data.get(key)
            for part in loc[1:]:
                if isinstance(value, dict) and part in value:
                    value = value[part]
                elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                    value = value[int(part)]
                else:
                    continue
                keys.append(part)
            span = self.source_map.value_span((*path, *keys)) or self.source_map.find(path)
            shown = json.dumps(value, ensure_ascii=False)
            expected = describe_schema(_sub_schema(field_schema, keys[1:]))
            if item["type"] in MODEL_ERROR_CODES:
                # On the element at fault, else (it came from a let) on the key's value.
                where = self.source_map.value_span((*path, *keys)) or self.source_map.value_span((*path, key))
                code = MODEL_ERROR_CODES[item["type"]]
                self.diagnostics.append(diagnostic(code, f"`{key}`: {item['msg']}", where or span))
                continue
            if item["type"] == "value_error":
                message = f"`{key}`: {str(item['msg']).removeprefix('Value error, ')}"
            elif item["type"] == "too_short":
                message = f"`{'.'.join(keys)}` is empty: it must be {expected} holding at least one item"
            elif item["type"] in ("greater_than_equal", "less_than_equal"):
                message = f"`{'.'.join(keys)}` must be {expected}; {shown} is not"
            elif item["type"] == "string_pattern_mismatch" and _own_pattern(field_schema):
                message = f"`{key}` = {shown} is not valid: {field_schema.get('description', '')}"
            else:
                message = f"`{'.'.join(keys)}` must be {expected}, not {_describe_value(value)}"
            self.diagnostics.append(diagnostic("SCT204", message, span))

    # the whole unit ------------------------------------------------------------------

    def check(self) -> CheckResult:
        self.declare()
        for name in self.params:
            if name not in self.decls or not isinstance(self.decls[name][0], s.ParamDecl):
                candidates = [n for n, (d, _) in self.decls.items() if isinstance(d, s.ParamDecl)]
                self.diagnostics.append(
                    diagnostic(
                        "SCT504",
                        f"--param {name}: the architecture declares no param `{name}`{_did_you_mean(_closest(name, candidates))}",
                        None,
                    )
                )
        self.evaluate_decls()
        application = self.check_application()
        components: dict[str, Component] = {}
        for name, (block, file) in self.components.items():
            component = self.check_component(name, block, file)
            if component is not None:
                components[name] = component
        self.check_cycles()
        for name, (decl, file) in self.decls.items():
            if name not in self.used and not file.from_json:
                what = "param" if isinstance(decl, s.ParamDecl) else "let"
                self.error("SCT901", f"{what} `{name}` is never used; remove it or refer to it", file, decl.name.start, decl.name.end)
        architecture = None
        if application is not None and not any(d.severity.value == "error" for d in self.diagnostics):
            architecture = Architecture.model_construct(application=application, components=components)
        return CheckResult(architecture, self.diagnostics, self.semantic, self.source_map)

    def check_application(self) -> Application | None:
        if self.application is None:
            return None
        block, file = self.application
        allowed = {k.name for k in reference.keys(Application)}  # not `name`: the header says it
        values, broken = self.check_attributes(block.attributes, Application, _Context(file), ("application",), allowed)
        if block.name.missing:
            return None
        data = {key: lower(value) for key, value in values.items()}
        data["name"] = block.name.text
        result = self.validate(
            Application, data, broken, ("application",), self.span(file, block.name), f"application `{block.name.text}`"
        )
        return result if isinstance(result, Application) else None

    def check_component(self, name: str, block: s.ComponentBlock, file: s.File) -> Component | None:
        path = ("components", name)
        allowed = {k.name for k in reference.keys(Component)}  # not `objects`: blocks
        values, broken = self.check_attributes(block.attributes, Component, _Context(file, name), path, allowed)
        objects: dict[str, SctObject] = {}
        for obj_name, info in self.objects[name].items():
            checked = self.check_object(name, obj_name, info)
            if checked is not None:
                objects[obj_name] = checked
        data = {key: lower(value) for key, value in values.items()}
        result = self.validate(Component, data, broken, path, self.span(file, block.name), f"component `{name}`")
        if not isinstance(result, Component):
            return None
        result.objects = objects
        return result

    def check_object(self, component: str, name: str, info: _ObjectInfo) -> SctObject | None:
        if info.model is None:
            return None
        path = ("components", component, "objects", name)
        ctx = _Context(info.file, component, name)
        values, broken = self.check_attributes(info.block.attributes, info.model, ctx, path)
        data = {key: lower(value) for key, value in values.items()}
        data["kind"] = info.model.kind_name
        header = Span(info.file.path, info.block.kind.start, info.block.name.end)
        result = self.validate(info.model, data, broken, path, header, f"{info.model.kind_name} `{name}`")
        return result if isinstance(result, SctObject) else None

    def check_cycles(self) -> None:
        """Report each cycle of object references once: the runtime could not order it.

        A depth-first search with its own stack, not Python's: a chain of thousands
        of objects, each referring to the next, is a few kilobytes of text.
        """
        state: dict[tuple[str, str], int] = {}  # 1: on the path being searched, 2: done
        for root in sorted(self.deps):
            if root in state:
                continue
            state[root] = 1
            path = [root]
            edges = [iter(self.deps.get(root, {}).items())]
            while edges:
                for target, span in edges[-1]:
                    if state.get(target) == 1:
                        cycle = [*path[path.index(target) :], target]
                        shown = " → ".join(f"{c}.{o}" for c, o in cycle)
                        self.diagnostics.append(
                            diagnostic(
                                "SCT304",
                                f"reference cycle {shown}: none of them can be created first; remove one of these references",
                                span,
                            )
                        )
                    elif target not in state:
                        state[target] = 1
                        path.append(target)
                        edges.append(iter(self.deps.get(target, {}).items()))
                        break
                else:
                    state[path.pop()] = 2
                    edges.pop()


def _names_used(decl: s.ParamDecl | s.LetDecl, decls: dict[str, Any]) -> set[str]:
    """The lets and params a declaration's expression names (what evaluating it may use)."""
    found: set[str] = set()
    pending: list[Any] = [decl.value if isinstance(decl, s.LetDecl) else decl.default]
    while pending:
        node = pending.pop()
        if isinstance(node, s.Reference):
            if node.parts[0].text in decls:
                found.add(node.parts[0].text)
        elif isinstance(node, s.StringLit):
            pending.extend(part for part in node.parts if not isinstance(part, str))
        elif isinstance(node, s.ListExpr):
            pending.extend(node.items)
        elif isinstance(node, s.MapExpr):
            pending.extend(entry.value for entry in node.entries)
        elif isinstance(node, s.Call):
            pending.extend(node.args)
    return found


_REFERENCE_SIZE = 32  # about the length of a reference or a secret in the JSON form


class _Summary(NamedTuple):
    """What the checks need to know of a value, found without walking it more than once."""

    depth: int  # how deep lists and maps nest (a scalar: 0)
    size: int  # about how many bytes it takes once lowered: its objects, and its JSON text
    refs: tuple[ObjectRef, ...]  # the objects and outputs it refers to, each once, in order
    secret: bool  # whether it holds a secret


# What a lowered value costs, in bytes, about (CPython's objects): a string's object
# around its text, a number, and a list or map around each of its items.
_OBJECT_SIZE, _LIST_SIZE, _LIST_ITEM_SIZE, _MAP_SIZE, _MAP_ITEM_SIZE = 50, 64, 8, 232, 100


def _scalar_summary(item: Any) -> _Summary:
    if isinstance(item, str):
        return _Summary(0, len(item) + _OBJECT_SIZE, (), False)
    if isinstance(item, Template):
        size = sum(len(p) if isinstance(p, str) else _REFERENCE_SIZE for p in item.parts) + _OBJECT_SIZE
        refs = tuple(dict.fromkeys(p for p in item.parts if isinstance(p, ObjectRef)))
        return _Summary(0, size, refs, any(isinstance(p, Secret) for p in item.parts))
    if isinstance(item, ObjectRef):
        return _Summary(0, _REFERENCE_SIZE + _OBJECT_SIZE, (item,), False)
    if isinstance(item, Secret | ComponentRef):
        return _Summary(0, _REFERENCE_SIZE + _OBJECT_SIZE, (), isinstance(item, Secret))
    return _Summary(0, 32, (), False)


def _summarize(value: Value, memory: dict[int, tuple[Value, _Summary]]) -> _Summary:
    """The `_Summary` of a value, without recursion and without building the value out.

    A value made from lets shares theirs (`[a, a]` holds `a` twice, and `let b =
    [a, a, a]` then `let c = [b, b, b]` hold it nine times): each list or map is
    summed up once and remembered in `memory` (by id, holding the value so that
    the id stays its own) for the next value that holds it. The size counts a
    shared part each time it appears, as lowering it (`lower`) and the JSON form
    would write it out.
    """
    if not isinstance(value, list | dict):
        return _scalar_summary(value)
    pending: list[tuple[Any, bool]] = [(value, False)]
    while pending:
        item, children_done = pending.pop()
        if id(item) in memory:
            continue
        children = list(item if isinstance(item, list) else item.values())
        containers = [c for c in children if isinstance(c, list | dict) and id(c) not in memory]
        if containers and not children_done:
            pending.append((item, True))
            pending.extend((c, False) for c in containers)
            continue
        parts = [memory[id(c)][1] if isinstance(c, list | dict) else _scalar_summary(c) for c in children]
        size = sum(part.size for part in parts)
        if isinstance(item, dict):
            size += _MAP_SIZE + len(item) * _MAP_ITEM_SIZE + sum(len(key) for key in item)
        else:
            size += _LIST_SIZE + len(item) * _LIST_ITEM_SIZE
        memory[id(item)] = (
            item,
            _Summary(
                1 + max((part.depth for part in parts), default=0),
                size,
                tuple(dict.fromkeys(r for part in parts for r in part.refs)),
                any(part.secret for part in parts),
            ),
        )
    return memory[id(value)][1]


def _mib(size: int) -> str:
    return f"{size / MIB:,.0f}" if size >= 10 * MIB else f"{size / MIB:.1f}"


def _scalar_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _param_type_ok(kind: str, value: Value) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    if kind == "map":
        return isinstance(value, dict)
    return True


def _closest(name: str, candidates: list[str] | tuple[str, ...] | Any) -> str | None:
    matches = get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _shown_path(path: str) -> str:
    """A path as a message shows it: control characters escaped, and not too long."""
    shown = json.dumps(path, ensure_ascii=False)[1:-1] if any(c < " " or c in '"\\' for c in path) else path
    return shown if len(shown) <= 120 else shown[:100] + "…" + shown[-10:]


def _did_you_mean(match: str | None) -> str:
    return f" (did you mean `{match}`?)" if match else ""


def _join(names: list[str] | tuple[str, ...]) -> str:
    shown = [f"`{n}`" for n in names]
    if len(shown) <= 1:
        return "".join(shown) or "none"
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def check(files: list[s.File], params: dict[str, str] | None = None) -> CheckResult:
    return Checker(files, dict(params or {})).check()
