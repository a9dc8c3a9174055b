"""The blocks with a `for` or an `if`, made into their instances (docs/language.md,
"Repetition and conditions").

`storage cache for region in ["eu", "us"] { ... }` binds `cache-eu` and `cache-us`,
each seeing `region`; `compute debug if debug { ... }` binds `debug` only when the
condition holds. An instance's name comes from its element's value (a string or a
number; a map's key), never its position, so that adding an element renames
nothing. The list and the condition must be known when compiling: they decide what
exists. Components are made first, so that the objects inside them are made with
their component's loop variables.
"""

from __future__ import annotations

import json
from typing import Any

from scoot_lang import syntax as s
from scoot_lang.binding import Binder, Pending
from scoot_lang.evaluation import Context, Evaluator
from scoot_lang.findings import span
from scoot_lang.operators import OperationError, truth
from scoot_lang.semantic import Condition
from scoot_lang.values import INVALID, Value, describe_value, lower, summarize
from scoot_model import names

MAX_SHOWN = 80  # characters of a value an `if` read, as the editor shows it


def expand(binder: Binder, evaluator: Evaluator) -> None:
    """Bind the instances of every pending block (components first: they add objects)."""
    pending = binder.found.pending
    while pending:
        _expand(binder, evaluator, pending.pop(0))


def _expand(binder: Binder, evaluator: Evaluator, item: Pending) -> None:
    block, file = item.block, item.file
    repetition = block.repetition
    assert repetition is not None
    findings = evaluator.findings
    ctx = Context(file, item.component, variables=item.variables)
    instances: list[tuple[str, dict[str, Any]]] = []
    if repetition.iterable is None:  # a bare `if`
        holds = _holds(evaluator, repetition, ctx, "the condition of `if`")
        if holds:
            instances.append((block.name.text, dict(item.variables)))
        if holds is not None:  # else reported: the editor has nothing to explain
            _record(evaluator, block, repetition, ctx, holds)
    else:
        iterable = _known(evaluator, repetition.iterable, ctx, "the list of a `for`")
        elements = None if iterable is INVALID else _elements(evaluator, repetition, iterable, file)
        if elements is None:  # reported: what refers to its instances is not reported again
            binder.found.unmade[(item.component or "", block.name.text)] = None
            return
        made: dict[str, Any] = {}
        for suffix, values, node in elements:
            scope = {
                **item.variables,
                **dict(zip((v.text for v in repetition.variables), values, strict=True)),
            }
            if repetition.condition is not None and not _holds(
                evaluator,
                repetition,
                Context(file, item.component, variables=scope),
                "the filter of a `for`",
            ):
                continue
            name = f"{block.name.text}-{suffix}"
            problem = names.name_problem(name)
            if problem:
                findings.error(
                    "SCT813", f"this element makes the name `{name}`, and {problem}", file, node
                )
                continue
            if name in made:
                findings.again(
                    "SCT814",
                    f"this element makes `{name}` again; each element of a `for` names one instance",
                    file,
                    node,
                    (file, made[name]),
                    "the first element",
                )
                continue
            made[name] = node
            instances.append((name, scope))
    if not instances:
        _mark_used(evaluator, block)
    key = (item.component or "", block.name.text)
    if repetition.iterable is not None:
        named = ", ".join(f"`{name}`" for name, _ in instances[:3]) or "none, as its list is empty"
        binder.found.unmade[key] = f"`{block.name.text}` has a `for`: its instances are {named}"
    elif not instances:
        binder.found.unmade[key] = (
            f"`{block.name.text}` exists only when its `if` holds, and it does not"
        )
    for name, scope in instances:
        if isinstance(block, s.ComponentBlock):
            binder.component(block, file, name, scope)
        elif isinstance(block, s.ModuleBlock):
            binder.use(block, file, item.component, name, scope)
        else:
            assert item.component is not None
            objects = binder.found.objects.setdefault(item.component, {})
            lower = {info.real.lower(): info.real for info in objects.values()}
            binder.object(block, item.component, file, objects, lower, name, scope)


def _record(
    evaluator: Evaluator, block: s.ComponentBlock | s.ObjectBlock, repetition: s.Repetition, ctx: Context, holds: bool
) -> None:
    """Keep how an `if` came out, with the values of the lets, params and loop variables it
    read (folded already: looked up, not evaluated again), for the editor's hover."""
    assert repetition.condition is not None
    reads: dict[str, str] = {}
    for node in s.walk(repetition.condition):
        if not isinstance(node, s.Reference) or node.parts[0].text in reads:
            continue
        name = node.parts[0].text
        value = ctx.variables[name] if name in ctx.variables else evaluator.values.get(name, INVALID)
        try:
            shown = json.dumps(lower(value), ensure_ascii=False)
        except (TypeError, ValueError):  # not a value written as text (a component, INVALID)
            continue
        reads[name] = shown if len(shown) <= MAX_SHOWN else shown[: MAX_SHOWN - 1] + "…"
    conditions = evaluator.findings.semantic.conditions
    conditions.setdefault(span(ctx.file, block.name), Condition(holds, tuple(reads.items())))


def _mark_used(evaluator: Evaluator, block: s.ComponentBlock | s.ObjectBlock) -> None:
    """A block that made nothing uses its lets and params still: a param that only a false
    `if` reads (`debug_port`) is not an unused one (SCT901)."""
    blocks: list[s.ComponentBlock | s.ObjectBlock] = [block]
    if isinstance(block, s.ComponentBlock):
        blocks += block.objects
    for each in blocks:
        for attr in each.attributes:
            for node in s.walk(attr.value):
                if isinstance(node, s.Reference) and node.parts[0].text in evaluator.declared.decls:
                    evaluator.used.add(node.parts[0].text)


def _known(evaluator: Evaluator, expr: s.Expr, ctx: Context, what: str) -> Value:
    """A value that decides what exists: it must be known when compiling (SCT812)."""
    value = evaluator.eval(expr, ctx)
    if value is INVALID:
        return INVALID
    summary = summarize(value, evaluator.budget.measured)
    if summary.refs or summary.secret:
        evaluator.findings.error(
            "SCT812",
            f"{what} decides which blocks exist, so it must be known when compiling; "
            "an output or a secret is only known at apply time: use params, lets and literals",
            ctx.file,
            expr,
        )
        return INVALID
    return value


def _holds(evaluator: Evaluator, repetition: s.Repetition, ctx: Context, what: str) -> bool | None:
    """Whether the condition holds; None when it cannot be known (reported)."""
    assert repetition.condition is not None
    value = _known(evaluator, repetition.condition, ctx, what)
    if value is INVALID:
        return None
    try:
        return truth(value, what)
    except OperationError as error:
        evaluator.findings.error(error.code, error.message, ctx.file, repetition.condition)
        return None


def _elements(
    evaluator: Evaluator, repetition: s.Repetition, iterable: Value, file: s.File
) -> list[tuple[str, tuple[Value, ...], Any]] | None:
    """Each element's name suffix, the loop variables' values, and where to report it."""
    findings = evaluator.findings
    assert repetition.iterable is not None
    variables = len(repetition.variables)
    written = repetition.iterable
    if isinstance(iterable, dict):
        if variables > 2:
            findings.error(
                "SCT811",
                "a `for` over a map takes one or two variables: `for key, value in m`",
                file,
                repetition,
            )
            return None
        entries = (
            {e.key.text: e.key for e in written.entries} if isinstance(written, s.MapExpr) else {}
        )
        return [
            (key, (key, value)[:variables], entries.get(key, written))
            for key, value in sorted(iterable.items())
        ]
    if not isinstance(iterable, list):
        findings.error(
            "SCT811",
            f"a `for` goes over a list or a map, not {describe_value(iterable)}",
            file,
            written,
        )
        return None
    if variables != 1:
        findings.error(
            "SCT811",
            "a `for` over a list takes one variable (`for x in xs`); two are for a map (`for key, value in m`)",
            file,
            repetition,
        )
        return None
    items = (
        written.items
        if isinstance(written, s.ListExpr) and len(written.items) == len(iterable)
        else None
    )
    result: list[tuple[str, tuple[Value, ...], Any]] = []
    for index, element in enumerate(iterable):
        node = items[index] if items is not None else written
        if isinstance(element, str) or (isinstance(element, int) and not isinstance(element, bool)):
            result.append((str(element), (element,), node))
        else:
            findings.error(
                "SCT813",
                f"an element of a `for`'s list names its instance, so it is a string or a whole number, "
                f"not {describe_value(element)}; to repeat with maps, go over a map: `for name, value in {{ ... }}`",
                file,
                node,
            )
    return result
