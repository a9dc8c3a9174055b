"""What a reference may mean where it is written: a `let` or `param` (and keys of its
map), an object of the enclosing component, a component, its object and an output, or
an output of a module used here (`web.url`).

Every meaning that resolves is returned, so the evaluator can report an ambiguous
reference; when none does, why each did not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, cast

from scoot_lang import syntax as s
from scoot_lang.binding import Declarations, ModuleUse
from scoot_lang.values import INVALID, ComponentRef, ObjectRef, Value, describe_value
from scoot_model.wording import closest, did_you_mean, join_names

# The folded value of a let or param, given its name and the use that needs it.
ValueOf = Callable[[str, s.Ident, s.File], Value]
_NONE: dict[str, Any] = {}  # what an absent scope holds (never written)


class Meaning(NamedTuple):
    """One thing a reference may mean: what it is (`object`) and its name (the parts of
    `api.web`), its symbol, its value, and what each part names."""

    what: str
    named: tuple[str, ...]
    target: str
    value: Value
    parts: tuple[str | None, ...]

    @property
    def label(self) -> str:
        """The meaning in words, `the object `api.web``: made only for a message (most
        references resolve once, and are never described)."""
        return f"the {self.what} `{'.'.join(self.named)}`"


class Failure(NamedTuple):
    """Why one meaning of a reference did not resolve."""

    code: str
    message: str
    node: Any
    suggestion: str | None = None


def resolve(
    ref: s.Reference,
    file: s.File,
    component: str | None,
    declared: Declarations,
    value_of: ValueOf,
    parts: list[str] | None = None,
) -> tuple[list[Meaning], list[Failure]]:
    """Every meaning of a reference written in `file` (inside `component`, if any);
    `parts`: the texts of its names, if the caller has them."""
    if parts is None:
        parts = [p.text for p in ref.parts]
    first = parts[0]
    objects = declared.objects
    meanings: list[Meaning] = []
    failures: list[Failure] = []
    if not file.from_json:
        if first in declared.decls:
            value = value_of(first, ref.parts[0], file)
            walked = walk_value(value, ref, failures)
            kind = "param" if isinstance(declared.decls[first][0], s.ParamDecl) else "let"
            if walked is not None or value is INVALID:
                symbol = declared.decl_id(kind, first)
                targets = (symbol,) + (None,) * (len(parts) - 1)  # map keys are no symbols
                meanings.append(
                    Meaning(
                        kind,
                        (first,),
                        symbol,
                        INVALID if walked is None else walked,
                        targets,
                    )
                )
        if component is not None and first in objects.get(component, _NONE):
            _resolve_object(declared, component, ref.parts, 0, meanings, failures)
        module_uses = declared.uses
        if module_uses:  # most units use no module
            for place in (component, None) if component is not None else (None,):
                use = module_uses.get(place, _NONE).get(first)
                if use is not None:
                    _resolve_output(use, ref, file, meanings, failures)
                    break
    real = declared.aliases.get(first, first)  # a module's component, by its name in the module
    if real in objects:
        if len(parts) == 1:
            # A component is never a value: it is a meaning only when there is no other.
            if not meanings:
                meanings.append(
                    Meaning(
                        "component",
                        (real,),
                        f"component:{real}",
                        ComponentRef(real),
                        (f"component:{real}",),
                    )
                )
        elif parts[1] in objects[real]:
            _resolve_object(declared, real, ref.parts, 1, meanings, failures)
        elif parts[1] in declared.uses.get(real, {}):  # `api.web.url`: a module used in `api`
            _resolve_output(
                declared.uses[real][parts[1]],
                s.Reference(ref.parts[1:], ref.start, ref.end),
                file,
                meanings,
                failures,
                (f"component:{real}",),
            )
        else:
            match = closest(parts[1], objects[real])
            failures.append(
                Failure(
                    "SCT301",
                    f"component `{first}` has no object `{parts[1]}`{did_you_mean(match)}",
                    ref.parts[1],
                    match,
                )
            )
    if not meanings and not failures:
        match = None
        if file.from_json:
            message = (
                f"`{ref.dotted}` does not name an object: references in the JSON form are "
                "fully qualified, `component.object` or `component.object.output`"
            )
        else:
            uses = (
                [*declared.uses.get(None, {}), *declared.uses.get(component, {})]
                if component
                else [*declared.uses.get(None, {})]
            )
            match = closest(
                first, [*declared.decls, *objects, *objects.get(component or "", {}), *uses]
            )
            message = f"`{first}` is not defined{did_you_mean(match)}"
        failures.append(Failure("SCT301", message, ref.parts[0], match))
    return meanings, failures


def _resolve_object(
    declared: Declarations,
    component: str,
    parts: list[s.Ident],
    index: int,
    meanings: list[Meaning],
    failures: list[Failure],
) -> None:
    """Resolve `parts[index:]` as an object of `component` and maybe one output."""
    info = declared.objects[component][parts[index].text]
    name = info.real  # its name in the application (a module's objects are renamed)
    target = f"object:{component}.{name}"
    rest = parts[index + 1 :]
    # What each name of the reference names: the component (if spelled), the object,
    # and an output (no symbol: `output` says which).
    targets = (target,) + (None,) * len(rest)
    if index:
        targets = (f"component:{component}",) * index + targets
    if not rest:
        meanings.append(Meaning("object", (component, name), target, ObjectRef(component, name), targets))
        return
    output = rest[0].text
    model = info.model
    if model is None:  # its kind is unknown: already reported
        meanings.append(Meaning("object", (component, name), target, INVALID, targets))
        return
    outputs = model.outputs
    if len(rest) == 1 and output in outputs:
        meanings.append(
            Meaning("output", (component, name, output), target, ObjectRef(component, name, output), targets)
        )
    elif output not in outputs:
        match = closest(output, outputs)
        failures.append(
            Failure(
                "SCT303",
                f"{info.block.kind.text} `{name}` has no output `{output}`{did_you_mean(match)}; "
                f"its outputs are {join_names(outputs)}",
                rest[0],
                match,
            )
        )
    else:
        failures.append(Failure("SCT303", f"output `{output}` is a value; it has no `.{rest[1].text}`", rest[1]))


def too_early(use: ModuleUse, output: str) -> str:
    """Why a module's output cannot decide which blocks exist (SCT812)."""
    name = use.real
    return (
        f"`{name}.{output}` is an output of module `{name}`, and a `for`'s list or an `if`'s condition "
        "cannot use one: the blocks with `for` and `if` are made before the modules they use; give "
        "the value to both instead (a let, or a param, here and in the module's use)"
    )


def module_symbol(use: ModuleUse) -> str:
    return f"module:{use.scope}"


def _resolve_output(
    use: ModuleUse,
    ref: s.Reference,
    file: s.File,
    meanings: list[Meaning],
    failures: list[Failure],
    lead: tuple[str | None, ...] = (),
) -> None:
    """`web.url`: an output of the module used as `web` (`lead`: what the parts before
    `ref`'s name, `api` of `api.web.url`, name)."""
    name = use.real
    target = module_symbol(use)
    if len(ref.parts) == 1:
        choices = (
            ", ".join(f"`{name}.{o}`" for o in use.outputs)
            or "none: add `output NAME = ...` to the module"
        )
        failures.append(
            Failure(
                "SCT305",
                f"`{name}` is a module, not a value; use one of its outputs: {choices}",
                ref,
            )
        )
        return
    output = ref.parts[1].text
    if use.output is None and not use.tried:  # the blocks with `for` and `if` are being made
        failures.append(Failure("SCT812", too_early(use, output), ref.parts[1]))
        return
    if use.output is None:  # not instantiated: its source could not be read (reported)
        meanings.append(Meaning("module", (name,), target, INVALID, (*lead, target, None)))
        return
    if output not in use.outputs:
        match = closest(output, use.outputs)
        failures.append(
            Failure(
                "SCT301",
                f"module `{name}` has no output `{output}`{did_you_mean(match)}; its outputs are {join_names(use.outputs)}",
                ref.parts[1],
                match,
            )
        )
        return
    value = cast(Value, use.output(output, ref.parts[1], file))
    walked = walk_value(value, s.Reference(ref.parts[1:], ref.start, ref.end), failures)
    if walked is not None or value is INVALID:
        meanings.append(
            Meaning(
                "output",
                (name, output),
                target,
                INVALID if walked is None else walked,
                # The output is a symbol of the module's text; map keys after it are none.
                (*lead, target, f"output:{output}{use.suffix}") + (None,) * (len(ref.parts) - 2),
            )
        )


def walk_value(value: Value, ref: s.Reference, failures: list[Failure]) -> Value | None:
    """Follow `.key` parts into a let's map value."""
    for part in ref.parts[1:]:
        if value is INVALID:
            return INVALID
        if not isinstance(value, dict) or part.text not in value:
            keys = list(value) if isinstance(value, dict) else []
            match = closest(part.text, keys) if keys else None
            hint = did_you_mean(match) if keys else f" ({describe_value(value)} has no keys)"
            failures.append(Failure("SCT301", f"`{ref.parts[0].text}` has no key `{part.text}`{hint}", part, match))
            return None
        value = value[part.text]
    return value
