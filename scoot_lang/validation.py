"""The checker's third pass: each block's attributes, evaluated, then validated against
the pydantic model of its kind (the models are the truth of what may be written).

A key the model does not have, a reference to an output of the wrong type, and
every validation error of the model become diagnostics on the text at fault,
found through the source map.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from scoot_lang import syntax as s
from scoot_lang.binding import ObjectInfo
from scoot_lang.diagnostics import diagnostic
from scoot_lang.evaluation import Context, Evaluator
from scoot_lang.fields import accepts_output, field_schema, own_pattern, sub_schema
from scoot_lang.findings import Findings, span
from scoot_lang.semantic import JsonPath
from scoot_lang.source import Span
from scoot_lang.values import INVALID, ObjectRef, Value, describe_value, lower
from scoot_model import reference
from scoot_model.objects import (
    OBJECT_REF_PATTERN,
    SECRET_IN_COMMAND,
    Application,
    Component,
    SctObject,
)
from scoot_model.reference import describe_schema
from scoot_model.wording import closest, did_you_mean, join_names

# Validation errors of the models that have a code of their own (the rest are SCT204).
MODEL_ERROR_CODES = {SECRET_IN_COMMAND: "SCT404"}


@dataclass
class Validator:
    findings: Findings
    evaluator: Evaluator
    scopes: dict[str, Validator] = field(default_factory=dict)  # by module instance (shared)

    def application(self, block: s.ApplicationBlock, file: s.File) -> Application | None:
        allowed = {k.name for k in reference.keys(Application)}  # not `name`: the header says it
        values, broken = self.attributes(block.attributes, Application, Context(file), ("application",), allowed)
        if block.name.missing:
            return None
        data = {key: lower(value) for key, value in values.items()}
        data["name"] = block.name.text
        result = self.validate(Application, data, broken, ("application",), span(file, block.name), f"application `{block.name.text}`")
        return result if isinstance(result, Application) else None

    def component(self, name: str, block: s.ComponentBlock, file: s.File) -> Component | None:
        path = ("components", name)
        allowed = {k.name for k in reference.keys(Component)}  # not `objects`: blocks
        variables = self.evaluator.declared.component_variables.get(name, {})
        values, broken = self.attributes(
            block.attributes, Component, Context(file, name, variables=variables), path, allowed
        )
        objects: dict[str, SctObject] = {}
        declared = self.evaluator.declared
        everything = declared.objects if declared.index is None else declared.index
        for obj_name, info in everything[name].items():
            # An object a module made is evaluated in its instance's scope.
            checker = self.scopes.get(info.scope, self) if info.scope else self
            checked = checker.object(name, obj_name, info)
            if checked is not None:
                objects[obj_name] = checked
        data = {key: lower(value) for key, value in values.items()}
        result = self.validate(Component, data, broken, path, span(file, block.name), f"component `{name}`")
        if not isinstance(result, Component):
            return None
        result.objects = objects
        return result

    def object(self, component: str, name: str, info: ObjectInfo) -> SctObject | None:
        if info.model is None:
            return None
        path = ("components", component, "objects", name)
        ctx = Context(info.file, component, name, variables=info.variables)
        values, broken = self.attributes(info.block.attributes, info.model, ctx, path)
        data = {key: lower(value) for key, value in values.items()}
        data["kind"] = info.model.kind_name
        header = Span(info.file.path, info.block.kind.start, info.block.name.end)
        result = self.validate(info.model, data, broken, path, header, f"{info.model.kind_name} `{name}`")
        return result if isinstance(result, SctObject) else None

    def attributes(
        self,
        attributes: list[s.Attribute],
        model: type[BaseModel],
        ctx: Context,
        path: JsonPath,
        allowed: set[str] | None = None,
    ) -> tuple[dict[str, Value], set[str]]:
        """Evaluate a block's attributes: the good values, and the keys already reported."""
        budget, evaluate = self.evaluator.budget, self.evaluator.eval
        mapped, file = self.findings.source_map.add, ctx.file
        result: dict[str, Value] = {}
        broken: set[str] = set()
        seen: dict[str, s.Attribute] = {}
        properties: dict[str, Any] = reference.schema(model).get("properties", {})  # as `field_schema`
        # A value's context, by whether its key takes an object: made once a block (the
        # block's own serves a key that takes none, when it is one already).
        contexts: dict[bool, Context] = {} if ctx.allow_object or ctx.constant else {False: ctx}
        for attr in attributes:
            key = attr.key.text
            if attr.key.missing:
                continue
            if key in seen:
                self.findings.again(
                    "SCT103",
                    f"`{key}` is set twice; remove one",
                    ctx.file,
                    attr.key,
                    (ctx.file, seen[key].key),
                    "first set here",
                )
                continue
            seen[key] = attr
            mapped((*path, key), span(file, attr), attr.value)
            schema = properties.get(key, {})
            if (allowed is not None and key not in allowed) or not schema or key == "kind":
                choices = sorted(allowed if allowed is not None else reference.schema(model).get("properties", {}))
                choices = [c for c in choices if c != "kind"]
                match = closest(key, choices)
                self.findings.error(
                    "SCT202", f"unknown key `{key}`{did_you_mean(match)}; the keys here are {join_names(choices)}", ctx.file, attr.key, match
                )
                broken.add(key)
                continue
            wants_object = schema.get("pattern") == OBJECT_REF_PATTERN
            value_ctx = contexts.get(wants_object)
            if value_ctx is None:
                value_ctx = contexts[wants_object] = Context(
                    ctx.file, ctx.component, ctx.object, allow_object=wants_object, variables=ctx.variables
                )
            value = evaluate(attr.value, value_ctx)
            if value is not INVALID and not budget.output_fits(value, ctx.file, attr.value, f"`{key}`"):
                value = INVALID
            if value is INVALID or (
                isinstance(value, ObjectRef) and not self.output_type_ok(value, schema, key, attr, ctx)
            ):
                broken.add(key)
                continue
            result[key] = value
        return result, broken

    def output_type_ok(self, value: Value, schema: dict[str, Any], key: str, attr: s.Attribute, ctx: Context) -> bool:
        """A reference to a string output cannot fill a number, and the other way round."""
        if not isinstance(value, ObjectRef) or value.output is None:
            return True
        info = self.evaluator.declared.object_info(value.component, value.object)
        output = info.model.outputs[value.output] if info.model else None
        if output is None or accepts_output(schema, output.type):
            return True
        self.findings.error(
            "SCT204",
            f"`{key}` must be {describe_schema(schema)}, but `{value.object}.{value.output}` is a {output.type}",
            ctx.file,
            attr.value,
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
            self.report(error, model, data, broken, path, header, what)
            return None

    def report(
        self,
        error: ValidationError,
        model: type[BaseModel],
        data: dict[str, Any],
        broken: set[str],
        path: JsonPath,
        header: Span,
        what: str,
    ) -> None:
        source_map = self.findings.source_map
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
            schema = field_schema(model, key)
            if item["type"] == "missing":
                description = schema.get("description", "")
                self.findings.add(
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
            where = source_map.value_span((*path, *keys)) or source_map.find(path)
            shown = json.dumps(value, ensure_ascii=False)
            expected = describe_schema(sub_schema(schema, keys[1:]))
            if item["type"] in MODEL_ERROR_CODES:
                # On the element at fault, else (it came from a let) on the key's value.
                at = source_map.value_span((*path, *keys)) or source_map.value_span((*path, key))
                self.findings.add(diagnostic(MODEL_ERROR_CODES[item["type"]], f"`{key}`: {item['msg']}", at or where))
                continue
            if item["type"] == "value_error":
                message = f"`{key}`: {str(item['msg']).removeprefix('Value error, ')}"
            elif item["type"] == "too_short":
                message = f"`{'.'.join(keys)}` is empty: it must be {expected} holding at least one item"
            elif item["type"] in ("greater_than_equal", "less_than_equal"):
                message = f"`{'.'.join(keys)}` must be {expected}; {shown} is not"
            elif item["type"] == "string_pattern_mismatch" and own_pattern(schema):
                message = f"`{key}` = {shown} is not valid: {schema.get('description', '')}"
            else:
                message = f"`{'.'.join(keys)}` must be {expected}, not {describe_value(value)}"
            self.findings.add(diagnostic("SCT204", message, where))
