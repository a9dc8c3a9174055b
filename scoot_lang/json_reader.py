"""The JSON form to syntax tree, so that JSON input gets the same checks as `.sct`.

The JSON is parsed with positions (Lark, `grammar/json.lark`) and turned into
the nodes the `.sct` parser makes: `components.api.objects.web` becomes an
object block, a string holding `${...}` becomes an interpolated string. The
checker then cannot tell the two forms apart, except that JSON references are
always fully qualified.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from scoot_lang import syntax as s
from scoot_lang.diagnostics import Diagnostic, diagnostic
from scoot_lang.parser import MAX_NESTING, NestingLexer, grammar_path, parse_expression
from scoot_lang.source import Span
from scoot_model import template
from scoot_model.objects import FORMAT_VERSION

# The JSON form puts an object's values 3 levels deeper than `.sct` does (inside
# `components`, the component and `objects`): JSON input may nest that much more than
# `MAX_NESTING`, so that the JSON form of every valid `.sct` reads back.
JSON_EXTRA_LEVELS = 3
MAX_JSON_NESTING = MAX_NESTING + JSON_EXTRA_LEVELS


class _TooDeep(Exception):
    """A bracket of the JSON text past `MAX_JSON_NESTING`, at `[start, end)`."""

    def __init__(self, start: int, end: int) -> None:
        super().__init__(start, end)
        self.start, self.end = start, end


def _too_deep(start: int, end: int) -> None:
    raise _TooDeep(start, end)


@cache
def _json_parser() -> Lark:
    lark = Lark(
        grammar_path("json.lark").read_text(encoding="utf-8"),
        parser="lalr",
        lexer="basic",
        maybe_placeholders=False,
        cache=True,
    )
    # Lark builds its tree without recursion, but the reader walks it recursively:
    # a bracket past the limit stops the parse before any tree is built.
    lark.parser.lexer = NestingLexer(lark.parser.lexer, MAX_JSON_NESTING, _too_deep, cut=False, resumed=False)
    return lark


class _Reader:
    def __init__(self, path: str) -> None:
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def error(self, code: str, message: str, start: int, end: int) -> None:
        self.diagnostics.append(diagnostic(code, message, Span(self.path, start, end)))

    # values ------------------------------------------------------------------

    def expr(self, node: Any, level: int = 0) -> s.Expr:
        """The node of a JSON value that `level` arrays and objects hold."""
        kind = node.data
        if kind == "string":
            return self.string(node.children[0], level)
        token = node.children[0]
        if kind == "number":
            raw = token.value
            value: int | float = int(raw) if raw.lstrip("-").isdigit() else float(raw)
            return s.NumberLit(raw, value, token.start_pos, token.end_pos)
        if kind in ("true", "false"):
            return s.BoolLit(kind == "true", token.start_pos, token.end_pos)
        if kind == "null":
            return s.NullLit(token.start_pos, token.end_pos)
        first, last = node.children[0], node.children[-1]
        multiline = first.line != last.line
        if kind == "array":
            items = [self.expr(c, level + 1) for c in node.children[1:-1]]
            return s.ListExpr(items, multiline, first.start_pos, last.end_pos)
        entries = [self.entry(pair, level + 1) for pair in node.children[1:-1]]
        return s.MapExpr(entries, multiline, first.start_pos, last.end_pos)

    def entry(self, pair: Any, level: int) -> s.MapEntry:
        key_token, value = pair.children
        value_expr = self.expr(value, level)
        key = s.Ident(json.loads(key_token.value), key_token.start_pos, key_token.end_pos)
        return s.MapEntry(key, value_expr, True, key_token.start_pos, value_expr.end)

    def string(self, token: Any, level: int) -> s.StringLit | s.ErrorExpr:
        text: str = json.loads(token.value)
        if "$" not in text:
            return s.StringLit(token.value, [text] if text else [], token.start_pos, token.end_pos)
        try:
            pieces = template.split(text)
        except template.TemplateError as error:
            self.error("SCT004", str(error), token.start_pos, token.end_pos)
            return s.ErrorExpr(token.start_pos, token.end_pos)
        # Offsets inside the string are exact when it holds no JSON escapes.
        exact = "\\" not in token.value
        parts: list[str | s.Expr] = []
        for piece in pieces:
            if not piece.interpolation:
                parts.append(piece.text)
                continue
            start = token.start_pos + 1 + piece.offset - 2 if exact else token.start_pos
            end = start + len(piece.text) + 3 if exact else token.end_pos
            # Its interpolations nest one level deeper, counted as in `.sct`.
            depth = max(level - JSON_EXTRA_LEVELS, 0) + 1
            expr, errors = parse_expression(piece.text, self.path, start, end, depth)
            self.diagnostics.extend(errors)
            if not exact:
                _place(expr, token.start_pos, token.end_pos)
            parts.append(expr)
        return s.StringLit(token.value, parts, token.start_pos, token.end_pos)

    # structure ---------------------------------------------------------------

    def map_of(self, expr: s.Expr, what: str) -> list[s.MapEntry]:
        """The entries of a JSON object; a key given twice is reported and its repeat dropped."""
        if not isinstance(expr, s.MapExpr):
            self.error("SCT204", f"{what} must be a JSON object", expr.start, expr.end)
            return []
        entries: dict[str, s.MapEntry] = {}
        for entry in expr.entries:
            if entry.key.text in entries:
                self.error(
                    "SCT103",
                    f"`{entry.key.text}` appears twice in {what}; keep one",
                    entry.key.start,
                    entry.key.end,
                )
            else:
                entries[entry.key.text] = entry
        return list(entries.values())

    def file(self, root: s.Expr) -> s.File:
        items: list[s.Item] = []
        version_seen = False
        for entry in self.map_of(root, "the architecture"):
            key, value = entry.key.text, entry.value
            if key == "version":
                version_seen = True
                if not (isinstance(value, s.NumberLit) and value.value == FORMAT_VERSION):
                    self.error(
                        "SCT008",
                        f"this file is format version {_show(value)}; this Scoot reads version "
                        f"{FORMAT_VERSION}: recompile it with this version of Scoot",
                        value.start,
                        value.end,
                    )
            elif key == "$schema":
                if not isinstance(value, s.StringLit):
                    self.error("SCT204", "`$schema` must be a string", value.start, value.end)
            elif key == "application":
                items.append(self.application(entry))
            elif key == "components":
                for component in self.map_of(value, "`components`"):
                    items.append(self.component(component))
            elif key == "moved":
                items.extend(self.moved(value))
            else:
                self.error(
                    "SCT202",
                    f"unknown top-level key `{key}`; expected `$schema`, `version`, `application`, `components`, `moved`",
                    entry.key.start,
                    entry.key.end,
                )
        if not version_seen and isinstance(root, s.MapExpr):
            self.error("SCT008", f'add `"version": {FORMAT_VERSION}` to the JSON form', root.start, root.start + 1)
        return s.File(self.path, items, [], from_json=True)

    def application(self, entry: s.MapEntry) -> s.ApplicationBlock:
        attributes: list[s.Attribute] = []
        name = s.Ident("", entry.key.start, entry.key.end)
        for field in self.map_of(entry.value, "`application`"):
            if field.key.text == "name":
                if isinstance(field.value, s.StringLit) and field.value.is_plain:
                    name = s.Ident(field.value.text, field.value.start, field.value.end)
                else:
                    self.error("SCT204", "the application's `name` must be a string", field.value.start, field.value.end)
            else:
                attributes.append(_attribute(field))
        if not name.text:
            self.error("SCT203", "the application needs a `name`", entry.key.start, entry.key.end)
        return s.ApplicationBlock(name, attributes, entry.start, entry.end)

    def component(self, entry: s.MapEntry) -> s.ComponentBlock:
        members: list[s.Attribute | s.ObjectBlock] = []
        for field in self.map_of(entry.value, f"component `{entry.key.text}`"):
            if field.key.text == "objects":
                members.extend(self.object(o) for o in self.map_of(field.value, "`objects`"))
            else:
                members.append(_attribute(field))
        return s.ComponentBlock(entry.key, members, entry.start, entry.end)

    def moved(self, value: s.Expr) -> list[s.MovedBlock]:
        """`"moved": [{"from": "api.orders", "to": "api.store"}]`: a `moved` block each."""
        if not isinstance(value, s.ListExpr):
            self.error("SCT204", '`moved` must be a JSON array, such as [{"from": "api.orders", "to": "api.store"}]', value.start, value.end)
            return []
        moves: list[s.MovedBlock] = []
        for item in value.items:
            if not isinstance(item, s.MapExpr):
                self.error("SCT204", 'a move must be a JSON object: {"from": ..., "to": ...}', item.start, item.end)
                continue
            moves.append(s.MovedBlock([_attribute(field) for field in self.map_of(item, "a move")], item.start, item.end))
        return moves

    def object(self, entry: s.MapEntry) -> s.ObjectBlock:
        attributes: list[s.Attribute] = []
        kind = s.Ident("", entry.key.start, entry.key.end)
        for field in self.map_of(entry.value, f"object `{entry.key.text}`"):
            if field.key.text == "kind":
                if isinstance(field.value, s.StringLit) and field.value.is_plain:
                    kind = s.Ident(field.value.text, field.value.start, field.value.end)
                else:
                    self.error("SCT204", "`kind` must be a string", field.value.start, field.value.end)
            else:
                attributes.append(_attribute(field))
        if not kind.text:
            self.error(
                "SCT203",
                f"object `{entry.key.text}` needs a `kind` such as \"compute\"",
                entry.key.start,
                entry.key.end,
            )
        return s.ObjectBlock(kind, entry.key, attributes, entry.start, entry.end)


def _attribute(entry: s.MapEntry) -> s.Attribute:
    return s.Attribute(entry.key, entry.value, entry.start, entry.end)


def _place(node: Any, start: int, end: int) -> None:
    """Point a node (and its children) at the whole string it came from."""
    if hasattr(node, "start"):
        node.start, node.end = start, end
    for name in getattr(node, "__slots__", ()):
        child = getattr(node, name)
        for item in child if isinstance(child, list) else [child]:
            if hasattr(item, "__slots__") and not isinstance(item, str):
                _place(item, start, end)


def _show(expr: s.Expr) -> str:
    if isinstance(expr, s.NumberLit):
        return expr.raw
    return "unknown"


def read_json(text: str, path: str) -> tuple[s.File | None, list[Diagnostic]]:
    """Read the JSON form into a syntax tree (None when it is not JSON at all), with diagnostics."""
    reader = _Reader(path)
    try:
        tree = _json_parser().parse(text)
    except _TooDeep as error:
        reader.error(
            "SCT009",
            f"this nests deeper than {MAX_JSON_NESTING} levels of arrays and objects; "
            "write the value flatter",
            error.start,
            error.end,
        )
        return None, reader.diagnostics
    except UnexpectedInput as error:
        pos = error.pos_in_stream if error.pos_in_stream is not None else len(text)
        if isinstance(error, UnexpectedToken) and error.token.type == "$END":
            message = "the JSON ends too early; close every `{`, `[` and string"
            pos = len(text)
        elif isinstance(error, UnexpectedCharacters):
            message = f"`{text[pos]}` is not valid JSON here"
        else:
            message = f"unexpected `{error.token}` in JSON" if isinstance(error, UnexpectedToken) else "invalid JSON"
        reader.error("SCT007", message, pos, min(pos + 1, len(text)))
        return None, reader.diagnostics
    return reader.file(reader.expr(tree)), reader.diagnostics
