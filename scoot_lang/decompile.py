"""`scoot decompile`: runtime objects back to `architecture.sct` text.

The decompiler builds syntax nodes (without source) from the canonical JSON
dump and prints them with the formatter, so its output is formatted. References,
fully qualified in the JSON (`${api.orders.path}`), are written in the shortest
form that means the same inside the component that holds them (`orders.path`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scoot_lang import syntax as s
from scoot_lang.format import format_file, string_raw
from scoot_lang.parser import parse_expression
from scoot_model import names, template
from scoot_model.objects import Architecture, SctObject, kinds


def decompile(architecture: Architecture) -> str:
    """The `.sct` text of an architecture, formatted."""
    application = architecture.application
    fields = application.model_dump(by_alias=True, exclude_defaults=True, mode="json")
    del fields["name"]
    items: list[s.Item] = [
        s.ApplicationBlock(s.Ident(application.name), _Scope(architecture, None).attributes(fields))
    ]
    for name in sorted(architecture.components):
        items.append(_component(architecture, name))
    for move in architecture.moved:  # in their order: the model keeps it
        items.append(s.MovedBlock([_address("from", move.from_), _address("to", move.to)]))
    return format_file(s.File("architecture.sct", items), "")


def _component(architecture: Architecture, name: str) -> s.ComponentBlock:
    component = architecture.components[name]
    scope = _Scope(architecture, name)
    fields = component.model_dump(
        by_alias=True, exclude_defaults=True, exclude={"objects"}, mode="json"
    )
    members: list[s.Attribute | s.ObjectBlock] = [*scope.attributes(fields)]
    for object_name in sorted(component.objects):
        fields = component.objects[object_name].model_dump(
            by_alias=True, exclude_defaults=True, mode="json"
        )
        kind = fields.pop("kind")
        members.append(s.ObjectBlock(s.Ident(kind), s.Ident(object_name), scope.attributes(fields)))
    return s.ComponentBlock(s.Ident(name), members)


def _address(key: str, address: str) -> s.Attribute:
    return s.Attribute(s.Ident(key), s.Reference([s.Ident(part) for part in address.split(".")]))


@dataclass
class _Scope:
    """Values as written inside one component (or, with `component=None`, the application)."""

    architecture: Architecture
    component: str | None

    def attributes(self, fields: dict[str, Any]) -> list[s.Attribute]:
        return [s.Attribute(s.Ident(key), self.value(value)) for key, value in fields.items()]

    def value(self, value: Any) -> s.Expr:
        if isinstance(value, bool):
            return s.BoolLit(value)
        if isinstance(value, int | float):
            return s.NumberLit(repr(value), value)
        if value is None:
            return s.NullLit()
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, list):
            return s.ListExpr([self.value(item) for item in value])
        return s.MapExpr(
            [
                s.MapEntry(s.Ident(key), self.value(item), quoted=not _is_name(key))
                for key, item in value.items()
            ]
        )

    def string(self, text: str) -> s.Expr:
        """A JSON string: plain text, one reference or secret, or text with interpolations."""
        parts: list[str | s.Expr] = []
        for piece in template.split(text):
            if not piece.interpolation:
                parts.append(piece.text)
                continue
            expr, diagnostics = parse_expression(piece.text, "architecture.json", 0, 0)
            if diagnostics:
                raise ValueError(f"cannot decompile {text!r}: {diagnostics[0].message}")
            parts.append(self.interpolation(expr))
        if len(parts) == 1 and not isinstance(parts[0], str):
            return parts[0]  # one reference keeps the referenced value's type: no quotes
        return s.StringLit(string_raw(parts), parts)

    def interpolation(self, expr: s.Expr) -> s.Expr:
        """An expression read from inside a JSON `${...}`, rebuilt without source."""
        if isinstance(expr, s.Reference):
            return self.reference([part.text for part in expr.parts])
        if isinstance(expr, s.Call):
            return s.Call(s.Ident(expr.name.text), [self.interpolation(arg) for arg in expr.args])
        if isinstance(expr, s.StringLit):  # `secret("NAME")`'s argument
            parts: list[str | s.Expr] = [expr.text] if expr.text else []
            return s.StringLit(string_raw(parts), parts)
        return expr

    def reference(self, parts: list[str]) -> s.Reference:
        """The shortest form of a fully qualified reference that means it, and only it, here.

        When no form is unambiguous the reference stays fully qualified, and the
        checker reports the ambiguity.
        """
        target = tuple(parts)
        forms = [parts[1:], parts] if len(parts) > 1 and parts[0] == self.component else [parts]
        chosen = next((form for form in forms if self.meanings(form) == [target]), parts)
        return s.Reference([s.Ident(part) for part in chosen])

    def meanings(self, parts: list[str]) -> list[tuple[str, ...]]:
        """What a reference written here may mean, fully qualified (the checker's rule).

        Its first name is an object of this component or a component (the
        decompiled text has no `let` or `param`); a meaning counts when the rest
        of the path resolves under it.
        """
        first, rest = parts[0], parts[1:]
        found: list[tuple[str, ...]] = []
        if self.component is not None:
            objects = self.architecture.components[self.component].objects
            if first in objects and _resolves(objects[first], rest):
                found.append((self.component, *parts))
        component = self.architecture.components.get(first)
        if component is not None and (
            (not rest and not found)  # a component alone means it only when nothing else does
            or (rest and rest[0] in component.objects and _resolves(component.objects[rest[0]], rest[1:]))
        ):
            found.append(tuple(parts))
        return found


def _resolves(obj: SctObject, rest: list[str]) -> bool:
    """Whether `rest`, after an object's name, names the object itself or one of its outputs."""
    kind = kinds.get(obj.kind)
    return not rest or (len(rest) == 1 and kind is not None and rest[0] in kind.outputs)


def _is_name(key: str) -> bool:
    return names.is_name(key) and key not in names.KEYWORDS
