"""The checker's second pass: the value of every expression.

`let`s and `param`s are folded (each once, after those it uses), strings are
interpolated, `file()` is read and `secret()` kept symbolic, and references are
resolved (`references.resolve`); what an object refers to is recorded as an edge
for the cycle check. A value already reported as wrong is `INVALID`, and nothing
built from it is reported again.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from scoot_lang import operators
from scoot_lang import syntax as s
from scoot_lang.binding import Decl, Declarations
from scoot_lang.builtins import IMPLEMENTATIONS, type_ok
from scoot_lang.compilation import PARAM_OPTION
from scoot_lang.findings import Findings
from scoot_lang.functions import FUNCTIONS
from scoot_lang.limits import MAX_FILE_BYTES, Budget
from scoot_lang.operators import OperationError
from scoot_lang.parser import MAX_NESTING
from scoot_lang.references import Failure, resolve, walk_value
from scoot_lang.semantic import ReferenceUse
from scoot_lang.source import Span, decode_text
from scoot_lang.values import (
    INVALID,
    PARAM_TYPES,
    REFERENCE_SIZE,
    ComponentRef,
    ObjectRef,
    Secret,
    Template,
    Value,
    describe_value,
    param_type_ok,
    scalar_text,
    summarize,
)
from scoot_model import template
from scoot_model.reading import UnreadableFile, read_regular_file
from scoot_model.wording import closest, did_you_mean, join_names

SECRET_NAME = re.compile(template.SECRET_NAME_PATTERN)
# An object's references to others, by (component, object): the objects it needs first,
# each with where the first reference to it is written.
Edges = dict[tuple[str, str], dict[tuple[str, str], Span]]


@dataclass(slots=True)
class Context:
    """Where an expression is evaluated."""

    file: s.File
    component: str | None = None
    object: str | None = None
    constant: bool = False  # a param default: no runtime values
    allow_object: bool = False
    # The loop variables of the `for`s around the expression (a component's and an object's).
    variables: Mapping[str, Value] = field(default_factory=dict)

    def nested(self) -> Context:
        """The context of a value inside this one: only a key's own value may be an object."""
        if not self.allow_object:
            return self
        return Context(self.file, self.component, self.object, self.constant, variables=self.variables)


_new = tuple.__new__  # a named tuple made directly (`Span`, `ReferenceUse`)

# The types of a folded scalar: no reference, no secret, nothing of an object.
_PLAIN = frozenset({str, int, float, bool, type(None)})


def given_as(origin: str, name: str) -> str:
    """A value's name with where it was given: `--param port`, `scoot.toml [params]: port`."""
    return f"{origin} {name}" if origin == PARAM_OPTION else f"{origin}: {name}"


@dataclass
class Evaluator:
    findings: Findings
    declared: Declarations
    budget: Budget
    params: dict[str, str] = field(default_factory=dict)  # from `--param`, as text
    origins: dict[str, str] = field(default_factory=dict)  # where each was given (PARAM_OPTION if unsaid)
    values: dict[str, Value] = field(default_factory=dict)  # the folded lets and params
    used: set[str] = field(default_factory=set)  # the lets and params something refers to
    deps: Edges = field(default_factory=dict)
    evaluating: list[str] = field(default_factory=list)  # the lets and params being folded
    file_texts: dict[Path, Value] = field(default_factory=dict)  # what file() read (or INVALID)
    # A module instance's params, as its use gives them (evaluated there, and checked).
    arguments: Mapping[str, Value] = field(default_factory=dict)
    files_read: int = 0  # calls of file(): what reads the disk is never replayed (`reuse`)

    # lets and params ---------------------------------------------------------------

    def evaluate_decls(self) -> None:
        """Fold every let and param, each after those it uses, so that evaluating one
        never recurses through a long chain of others (`let a = b`, `let b = c`, ...).

        Those on a cycle, or that use one, are left to the second loop, in the order
        they are declared, which finds and reports the cycle (`value_of`).
        """
        decls = self.declared.decls
        uses = {name: _names_used(decl, decls) for name, (decl, _) in decls.items()}
        waiting = {name: len(used) for name, used in uses.items()}
        users: dict[str, list[str]] = {}
        for name, used in uses.items():
            for other in used:
                users.setdefault(other, []).append(name)
        ready = [name for name, count in waiting.items() if count == 0]
        while ready:
            name = ready.pop()
            decl, file = decls[name]
            self.value_of(name, decl.name, file, mark=False)
            for user in users.get(name, ()):
                waiting[user] -= 1
                if waiting[user] == 0:
                    ready.append(user)
        for name, (decl, file) in decls.items():
            self.value_of(name, decl.name, file, mark=False)

    def value_of(self, name: str, use: s.Ident, file: s.File, mark: bool = True) -> Value:
        """The folded value of a let or param, evaluating it on first use (`mark`: a use)."""
        if mark:
            self.used.add(name)
        if name in self.values:
            return self.values[name]
        if name in self.evaluating:
            cycle = " → ".join([*self.evaluating[self.evaluating.index(name) :], name])
            self.findings.error("SCT304", f"`{name}` depends on itself ({cycle}); break the cycle", file, use)
            return INVALID
        if len(self.evaluating) >= MAX_NESTING:
            # Only lets that lead to a cycle are evaluated through others (`evaluate_decls`):
            # a chain this long is refused rather than followed further down the stack.
            self.findings.error(
                "SCT009",
                f"`{name}` is reached through more than {MAX_NESTING} lets and params that use one "
                "another; shorten the chain",
                file,
                use,
            )
            self.values[name] = INVALID
            return INVALID
        decl, decl_file = self.declared.decls[name]
        self.evaluating.append(name)
        try:
            value = self.evaluate_decl(decl, decl_file)
        finally:
            self.evaluating.pop()
        if isinstance(decl, s.LetDecl):
            where: Any = decl.value
        else:  # a param: its default, or its name for a value from `--param`
            where = decl.default if decl.default is not None and name not in self.params else decl.name
        if value is not INVALID and self.budget.too_deep(value, decl_file, where, f"the value of `{name}`"):
            value = INVALID
        self.values[name] = value
        return value

    def evaluate_decl(self, decl: Decl, file: s.File) -> Value:
        if isinstance(decl, s.LetDecl):
            return self.eval(decl.value, Context(file, allow_object=True))
        kind = decl.type.text
        if kind not in PARAM_TYPES:
            if not decl.type.missing:
                match = closest(kind, PARAM_TYPES)
                self.findings.error(
                    "SCT501",
                    f"unknown parameter type `{kind}`{did_you_mean(match)}; use one of {join_names(PARAM_TYPES)}",
                    file,
                    decl.type,
                    match,
                )
            return INVALID
        name = decl.name.text
        if name in self.arguments:
            return self.arguments[name]
        if name in self.params:
            return self.param_from_text(decl, file, self.params[name])
        if decl.default is None:
            self.findings.error(
                "SCT503",
                f"param `{name}` has no value: give it a default (`= ...`) or set it with `--param {name}=VALUE`",
                file,
                decl.name,
            )
            return INVALID
        value = self.eval(decl.default, Context(file, constant=True))
        if value is not INVALID and not param_type_ok(kind, value):
            self.findings.error(
                "SCT502", f"the default of param `{name}` is {describe_value(value)}, not a {kind}", file, decl.default
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
        if value is INVALID or not param_type_ok(kind, value):
            self.findings.error(
                "SCT502",
                f"{given_as(self.origins.get(name, PARAM_OPTION), name)}={text!r} is not a {kind}"
                + (" (write true or false)" if kind == "bool" else "")
                + ("" if kind not in ("list", "map") else " (write it as JSON)"),
                file,
                decl.name,
            )
            return INVALID
        return cast(Value, value)

    # expressions -------------------------------------------------------------------

    def eval(self, expr: s.Expr, ctx: Context) -> Value:
        kind = type(expr)  # the usual nodes first, by identity (an expression compiled is a call)
        node: Any = expr  # of the type `kind` is
        if kind is s.StringLit:
            parts = node.parts
            if len(parts) == 1 and type(parts[0]) is str:  # most strings: one run of text
                return parts[0]
            return self.eval_string(node, ctx)
        if kind is s.Reference:
            return self.eval_reference(node, ctx)
        if kind is s.NumberLit:
            number: Value = node.value
            return number
        if kind is s.MapExpr:
            return self.eval_map(node, ctx)
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
        if isinstance(expr, s.Paren):
            return self.eval(expr.inner, ctx)
        if isinstance(expr, s.Binary | s.Unary | s.Conditional | s.Index | s.GetAttr):
            return self.eval_operation(expr, ctx)
        return INVALID

    # operators ---------------------------------------------------------------------

    def eval_operation(self, expr: s.Binary | s.Unary | s.Conditional | s.Index | s.GetAttr, ctx: Context) -> Value:
        """An operator, folded: its operands must be known when compiling (SCT803)."""
        inner = ctx.nested()
        try:
            if isinstance(expr, s.Conditional):
                # Only the branch taken is evaluated: `length(xs) > 0 ? xs[0] : ""` is safe.
                condition = self.operand(expr.condition, inner, "`? :`")
                if condition is INVALID:
                    return INVALID
                taken = operators.truth(condition, "the condition of `? :`")
                return self.eval(expr.then if taken else expr.otherwise, ctx)
            if isinstance(expr, s.Unary):
                operand = self.operand(expr.operand, inner, f"`{expr.op}`")
                return INVALID if operand is INVALID else operators.unary(expr.op, operand)
            if isinstance(expr, s.Binary):
                left = self.operand(expr.left, inner, f"`{expr.op}`")
                if left is INVALID:
                    return INVALID
                # `&&` and `||` stop at the left side when it decides.
                if expr.op in ("&&", "||") and isinstance(left, bool) and left == (expr.op == "||"):
                    return left
                right = self.operand(expr.right, inner, f"`{expr.op}`")
                return INVALID if right is INVALID else operators.binary(expr.op, left, right)
            target = self.operand(expr.target, inner, "indexing")
            if target is INVALID:
                return INVALID
            if isinstance(expr, s.GetAttr):
                return operators.index(target, expr.name.text)
            key = self.operand(expr.index, inner, "indexing")
            return INVALID if key is INVALID else operators.index(target, key)
        except OperationError as error:
            self.findings.error(error.code, error.message, ctx.file, expr)
            return INVALID

    def operand(self, expr: s.Expr, ctx: Context, what: str) -> Value:
        """An operand's value: INVALID (reported) if it is only known at apply time."""
        value = self.eval(expr, ctx)
        if value is INVALID:
            return INVALID
        summary = summarize(value, self.budget.measured)
        if summary.refs or summary.secret or isinstance(value, Template | ComponentRef):
            self.findings.error("SCT803", self.runtime_operand(value, expr, what), ctx.file, expr)
            return INVALID
        return value

    @staticmethod
    def runtime_operand(value: Value, expr: s.Expr, what: str) -> str:
        refs = summarize(value, {}).refs
        if refs and refs[0].output is not None:
            named = f"`{refs[0].component}.{refs[0].object}.{refs[0].output}`"
            return (
                f"{what} needs values known when compiling, and the output {named} is only known "
                f'at apply time; use it whole (`= {refs[0].object}.{refs[0].output}`) or inside a string ("${{...}}")'
            )
        if summarize(value, {}).secret:
            return f"{what} needs values known when compiling, and a secret is only read at apply time"
        return f"{what} needs values known when compiling, not {describe_value(value)}"

    def eval_map(self, expr: s.MapExpr, ctx: Context) -> Value:
        inner = ctx.nested()
        result: dict[str, Value] = {}
        for entry in expr.entries:
            key = entry.key.text
            if key in result:
                self.findings.error("SCT103", f"key `{key}` is set twice in this map; remove one", ctx.file, entry.key)
                continue
            result[key] = self.eval(entry.value, inner)
        return INVALID if INVALID in result.values() else result

    def eval_string(self, expr: s.StringLit, ctx: Context) -> Value:
        parts = expr.parts
        if len(parts) == 1 and type(parts[0]) is str:  # most strings: one run of text
            return parts[0]
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

    def eval_string_parts(self, known: list[Value], expr: s.StringLit, ctx: Context) -> Value:
        """Interpolate a string; `known` holds parts already evaluated (None: not yet)."""
        parts: list[str | ObjectRef | Secret] = []
        inner = ctx.nested()
        values = [
            part if isinstance(part, str) else self.eval(part, inner) if value is None else value
            for part, value in zip(expr.parts, known, strict=True)
        ]
        if INVALID in values:  # each part was checked, and reported, on its own
            return INVALID
        if all(type(value) is str for value in values):  # text and strings only: one string
            texts = cast(list[str], values)
            if self.budget.too_large(sum(map(len, texts)), ctx.file, expr, "the strings built by interpolation"):
                return INVALID
            return "".join(texts)
        for part, value in zip(expr.parts, values, strict=True):
            if isinstance(part, str):
                parts.append(part)
                continue
            if (isinstance(value, ObjectRef) and value.output is not None) or isinstance(value, Secret):
                parts.append(value)
            elif isinstance(value, Template):
                parts.extend(value.parts)
            elif isinstance(value, str | int | float | bool) and not isinstance(value, ObjectRef):
                parts.append(scalar_text(value))
            else:
                self.findings.error(
                    "SCT204",
                    f"cannot put {describe_value(value)} inside a string; interpolate a string, a number, "
                    "a boolean or an output",
                    ctx.file,
                    part,
                )
                return INVALID
        # What this string costs, counted before it is built: strings built from
        # strings (`"${a}${a}"`, then `"${b}${b}"`...) double at each step.
        built = sum(len(p) if isinstance(p, str) else REFERENCE_SIZE for p in parts)
        if self.budget.too_large(built, ctx.file, expr, "the strings built by interpolation"):
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

    def eval_call(self, call: s.Call, ctx: Context) -> Value:
        name = call.name.text
        if name not in FUNCTIONS:
            match = closest(name, FUNCTIONS)
            self.findings.error(
                "SCT401",
                f"unknown function `{name}`{did_you_mean(match)}; the functions are {join_names(FUNCTIONS)}",
                ctx.file,
                call.name,
                match,
            )
            return INVALID
        function = FUNCTIONS[name]
        fewest, most = function.arity
        if len(call.args) < fewest or (most is not None and len(call.args) > most):
            self.findings.error("SCT402", f"`{name}` takes {_count(fewest, most)}: {function.signature}", ctx.file, call)
            return INVALID
        args = [self.operand(arg, ctx.nested(), f"`{name}`") for arg in call.args]
        if INVALID in args:
            return INVALID
        for index, (arg, node) in enumerate(zip(args, call.args, strict=True)):
            parameter = function.parameters[min(index, len(function.parameters) - 1)]
            if not type_ok(parameter.type, arg):
                self.findings.error(
                    "SCT402",
                    f"`{name}`'s {parameter.name} must be {_types(parameter.type)}, not {describe_value(arg)}; "
                    f"such as {function.example}",
                    ctx.file,
                    node,
                )
                return INVALID
        if name == "secret":
            return self.secret(cast(str, args[0]), call, ctx)
        if name == "file":
            return self.read_file(cast(str, args[0]), call, ctx)
        try:
            result = IMPLEMENTATIONS[name](*args)
        except OperationError as error:
            self.findings.error(error.code, error.message, ctx.file, call)
            return INVALID
        if isinstance(result, str) and self.budget.too_large(len(result), ctx.file, call, "the strings built by functions"):
            return INVALID
        return result

    def secret(self, arg: str, call: s.Call, ctx: Context) -> Value:
        if ctx.constant:
            self.findings.error("SCT306", "a secret is read at apply time; it cannot be a param's default", ctx.file, call)
            return INVALID
        if not SECRET_NAME.match(arg):
            self.findings.error(
                "SCT402",
                f"secret names are letters, digits and `_`, such as SHOP_TOKEN; `{arg}` is not one",
                ctx.file,
                call.args[0],
            )
            return INVALID
        return Secret(arg)

    def read_file(self, relative: str, call: s.Call, ctx: Context) -> Value:
        self.files_read += 1
        argument = call.args[0]
        shown = _shown_path(relative)
        if "\0" in relative:
            # No file has such a name, and the OS refuses the path outright.
            self.findings.error("SCT403", f"cannot read `{shown}`: a path cannot hold a NUL character", ctx.file, argument)
            return INVALID
        try:
            base = Path(ctx.file.path).resolve().parent
            target = (base / relative).resolve()
        except (OSError, ValueError) as error:  # a name too long, a link loop
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            self.findings.error("SCT403", f"cannot read `{shown}`: {reason}", ctx.file, argument)
            return INVALID
        if Path(relative).is_absolute() or not target.is_relative_to(base):
            self.findings.error(
                "SCT403", f"file() reads files in the architecture's folder; `{shown}` is outside it", ctx.file, argument
            )
            return INVALID
        if target in self.file_texts:  # read once, however many calls name it
            return self.file_texts[target]
        try:
            text: Value = decode_text(read_regular_file(target, MAX_FILE_BYTES))
        except (UnreadableFile, UnicodeDecodeError) as error:
            reason = (error.strerror or str(error)) if isinstance(error, UnreadableFile) else "it is not UTF-8 text"
            self.findings.error("SCT403", f"cannot read `{shown}`: {reason}", ctx.file, argument)
            text = INVALID
        if isinstance(text, str) and self.budget.too_large(
            len(text), ctx.file, argument, "the strings built by interpolation and read by file()"
        ):
            text = INVALID
        self.file_texts[target] = text
        return text

    # references --------------------------------------------------------------------

    def eval_reference(self, ref: s.Reference, ctx: Context) -> Value:
        parts = [p.text for p in ref.parts]
        if not all(parts):
            return INVALID
        if parts[0] in ctx.variables:  # a loop variable hides any other meaning of its name
            failures: list[Failure] = []
            walked = walk_value(ctx.variables[parts[0]], ref, failures)
            if walked is None:
                self.findings.error(failures[0].code, failures[0].message, ctx.file, failures[0].node, failures[0].suggestion)
                return INVALID
            return walked
        meanings, failures = resolve(ref, ctx.file, ctx.component, self.declared, self.value_of, parts)
        part_starts = tuple([p.start for p in ref.parts])
        references = self.findings.semantic.references
        where = _new(Span, (ctx.file.path, ref.start, ref.end))
        if len(meanings) != 1:
            references.append(ReferenceUse(where, tuple(parts), part_starts, None))
            if meanings:
                described = " or ".join(meaning.label for meaning in meanings)
                self.findings.error(
                    "SCT302", f"`{ref.dotted}` is ambiguous here: it could be {described}; rename one of them", ctx.file, ref
                )
            else:
                failure = failures[0] if failures else Failure("SCT301", f"`{parts[0]}` is not defined", ref)
                why = self.unmade(parts, ctx.component) if failure.code == "SCT301" else ""
                if why is not None:
                    message = f"{failure.message} ({why})" if why else failure.message
                    self.findings.error(failure.code, message, ctx.file, failure.node, failure.suggestion)
            return INVALID
        meaning = meanings[0]
        target, value = meaning.target, meaning.value
        output = value.output if isinstance(value, ObjectRef) else None
        # As `ReferenceUse(...)`, without its `__new__`'s Python call (a reference compiled is one).
        references.append(_new(ReferenceUse, (where, tuple(parts), part_starts, target, output, meaning.parts, None)))
        if type(value) in _PLAIN:  # a folded string or number: nothing below applies
            return value
        if type(value) is ObjectRef and not ctx.constant and (value.output is not None or ctx.allow_object):
            # An object's output, or an object where one may be (most references): what
            # `summarize` would find is the reference itself, and nothing below objects.
            if ctx.object is not None and ctx.component is not None:
                self.deps.setdefault((ctx.component, ctx.object), {}).setdefault((value.component, value.object), where)
            return value
        summary = summarize(value, self.budget.measured)
        if ctx.constant and (summary.refs or summary.secret):
            self.findings.error(
                "SCT306", f"`{ref.dotted}` is only known at apply time; a param's default must be a constant", ctx.file, ref
            )
            return INVALID
        if isinstance(value, ComponentRef):
            self.findings.error(
                "SCT305",
                f"`{ref.dotted}` is a component, not a value; refer to one of its objects' outputs, such as `{ref.dotted}.OBJECT.url`",
                ctx.file,
                ref,
            )
            return INVALID
        refs = summary.refs
        if refs and not ctx.allow_object and any(r.output is None for r in refs):
            self.findings.error("SCT305", self.object_not_value(ref, refs), ctx.file, ref)
            return INVALID
        if refs and ctx.object is not None and ctx.component is not None:
            edges = self.deps.setdefault((ctx.component, ctx.object), {})
            for r in refs:
                edges.setdefault((r.component, r.object), where)
        return value

    def unmade(self, parts: list[str], component: str | None) -> str | None:
        """Why a reference names a block with a `for` or `if` that made nothing of that name
        ("" if it does not; None if that block's `for` was reported wrong already)."""
        candidates = [(component or "", parts[0]), ("", parts[0])]
        if len(parts) > 1:
            candidates.append((parts[0], parts[1]))
        for (where, name), why in self.declared.unmade.items():
            for candidate_where, written in candidates:
                if where == candidate_where and (written == name or (why is None and written.startswith(name + "-"))):
                    return why
        return ""

    def object_not_value(self, ref: s.Reference, refs: tuple[ObjectRef, ...]) -> str:
        target = next(r for r in refs if r.output is None)
        info = self.declared.object_info(target.component, target.object)
        outputs = list(info.model.outputs) if info.model else []
        choices = ", ".join(f"`{ref.dotted}.{o}`" for o in outputs) or "its outputs"
        return f"`{ref.dotted}` is an object, not a value; use one of its outputs: {choices}"


def _count(fewest: int, most: int | None) -> str:
    """How many arguments a function takes, in words."""
    if most == fewest:
        return f"{fewest} argument{'s' if fewest != 1 else ''}"
    if most is None:
        return f"at least {fewest} argument{'s' if fewest != 1 else ''}"
    return f"{fewest} to {most} arguments"


def _types(wanted: str) -> str:
    """A parameter's type in words: `a list or a map`."""
    words = {"string": "a string", "number": "a number", "bool": "a boolean", "list": "a list", "map": "a map",
             "any": "any value", "scalar": "a string, a number or a boolean"}
    return " or ".join(words[kind] for kind in wanted.split("|"))


def _names_used(decl: Decl, decls: dict[str, Any]) -> set[str]:
    """The lets and params a declaration's expression names (what evaluating it may use)."""
    top = decl.value if isinstance(decl, s.LetDecl) else decl.default
    if top is None:
        return set()
    return {node.parts[0].text for node in s.walk(top) if isinstance(node, s.Reference) and node.parts[0].text in decls}


def _shown_path(path: str) -> str:
    """A path as a message shows it: control characters escaped, and not too long."""
    shown = json.dumps(path, ensure_ascii=False)[1:-1] if any(c < " " or c in '"\\' for c in path) else path
    return shown if len(shown) <= 120 else shown[:100] + "…" + shown[-10:]
