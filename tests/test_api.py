"""The Python API: runtime objects built by hand, the compiler's semantic model and source map."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from scoot_lang import Compilation, compile_path, compile_source, compile_sources
from scoot_lang.semantic import ReferenceUse
from scoot_lang.source import Span
from scoot_model.objects import FORMAT_VERSION, SCHEMA_URI, validate_object
from scoot_model.template import references_in
from scoot_runtime import Application, Architecture, Component, Compute, Connection, Storage, kinds

SAMPLES = Path(__file__).resolve().parent / "baselines"

SHOP = """\
application shop {
  owner = "acme"
}

param env: string = "dev"
let greeting = "hello from ${env}"

component api {
  source = "./api"

  compute web {
    command = ["python", "-m", "shop.api", "--port", "8080"]
    port    = 8080
    env = {
      DATABASE = orders.path
      GREETING = greeting
      TOKEN    = secret("SHOP_TOKEN")
    }
  }

  storage orders { engine = "sqlite" }

  connection web_orders { from = web, to = orders }
}

component worker {
  compute jobs {
    command = ["python", "worker.py"]
    env = { API_URL = api.web.url }
  }
}
"""


def shop_in_python() -> Architecture:
    return Architecture(
        application=Application(name="shop", owner="acme"),
        components={
            "api": Component(
                source="./api",
                objects={
                    "web": Compute(
                        command=["python", "-m", "shop.api", "--port", "8080"],
                        port=8080,
                        env={
                            "DATABASE": "${api.orders.path}",
                            "GREETING": "hello from dev",
                            "TOKEN": '${secret("SHOP_TOKEN")}',
                        },
                    ),
                    "orders": Storage(engine="sqlite"),
                    "web_orders": Connection(from_="${api.web}", to="${api.orders}"),
                },
            ),
            "worker": Component(
                objects={"jobs": Compute(command=["python", "worker.py"], env={"API_URL": "${api.web.url}"})}
            ),
        },
    )


@pytest.fixture(scope="module")
def shop() -> Compilation:
    result = compile_source(SHOP, "architecture.sct")
    assert result.ok, [d.message for d in result.diagnostics]
    return result


def text_of(result: Compilation, span: Span | None) -> str:
    assert span is not None
    return result.sources[span.file].text[span.start : span.end]


def part_texts(result: Compilation, ref: ReferenceUse) -> list[str]:
    """The text of each name of a reference, from the spans the model gives for them."""
    spans = [ref.part_span(i) for i in range(len(ref.parts))]
    return [text_of(result, span) for span in spans]


def line_of(result: Compilation, span: Span | None) -> int:
    assert span is not None
    return result.sources[span.file].position(span.start).line


# --- runtime objects built in Python ------------------------------------------------------


def test_python_models_dump_like_the_compiler(shop: Compilation) -> None:
    assert shop.architecture is not None
    assert shop_in_python().to_json() == shop.architecture.to_json()


def test_python_models_with_the_sct_param_set(shop: Compilation) -> None:
    built = shop_in_python()
    web = built.components["api"].objects["web"]
    assert isinstance(web, Compute)
    web.env["GREETING"] = "hello from prod"
    compiled = compile_source(SHOP, params={"env": "prod"}).architecture
    assert compiled is not None
    assert built.to_json() == compiled.to_json()


def test_the_dump_is_canonical() -> None:
    text = shop_in_python().to_json()
    data = json.loads(text)
    assert text.endswith("}\n")
    assert data["$schema"] == SCHEMA_URI
    assert data["version"] == FORMAT_VERSION == 1
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    # defaults are left out, `kind` never is
    assert data["components"]["api"]["objects"]["orders"] == {"engine": "sqlite", "kind": "storage"}
    assert "replicas" not in data["components"]["api"]["objects"]["web"]
    assert data["components"]["api"]["objects"]["web_orders"]["from"] == "${api.web}"


def test_a_minimal_architecture_dumps_version_and_schema() -> None:
    data = json.loads(Architecture(application=Application(name="hello")).to_json())
    assert data == {"$schema": SCHEMA_URI, "application": {"name": "hello"}, "version": 1}


def test_dump_reads_back() -> None:
    built = shop_in_python()
    again = Architecture.from_json(built.to_json())
    assert again.to_json() == built.to_json()
    assert isinstance(again.components["api"].objects["orders"], Storage)
    assert isinstance(again.components["api"].objects["web_orders"], Connection)


def test_the_dump_compiles_as_json_input(shop: Compilation) -> None:
    text = shop_in_python().to_json()
    result = compile_sources({"architecture.json": text})
    assert result.ok and result.architecture is not None
    assert result.architecture.to_json() == text


def test_references_in_a_dump() -> None:
    data = shop_in_python().to_dict()
    refs = sorted(references_in(data))
    assert refs == ["api.orders", "api.orders.path", "api.web", "api.web.url"]  # not secrets
    assert list(references_in("literal $${not.a.reference}")) == []


def test_connection_takes_from_by_alias_or_name() -> None:
    by_alias = Connection.model_validate({"from": "${api.web}", "to": "${api.orders}"})
    by_name = Connection(from_="${api.web}", to="${api.orders}")
    assert by_alias == by_name
    assert by_alias.model_dump(by_alias=True)["from"] == "${api.web}"


def test_models_are_strict() -> None:
    with pytest.raises(ValidationError):
        Compute(command=["x"], port="8080")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Compute(command=["x"], replicas=0)
    with pytest.raises(ValidationError):
        Compute(command=["x"], shell=1)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Compute(command=["x"], workdir="../up")
    with pytest.raises(ValidationError):
        Storage(engine="sqlite", size="big")
    with pytest.raises(ValidationError):
        Connection(from_="web", to="${api.orders}")
    with pytest.raises(ValidationError):
        Application(name="my shop")
    with pytest.raises(ValidationError):
        Compute.model_validate({"command": ["x"], "ports": [80]})


def test_typed_fields_take_a_reference() -> None:
    web = Compute(command=["x"], port="${api.web.port}", replicas="${api.web.port}")  # type: ignore[arg-type]
    assert web.port == "${api.web.port}"


def test_validate_object_by_kind() -> None:
    assert isinstance(validate_object({"kind": "storage", "engine": "sqlite"}), Storage)
    with pytest.raises(ValueError, match="unknown object kind 'queue'"):
        validate_object({"kind": "queue"})
    assert kinds.names() == ["compute", "connection", "storage"]
    assert kinds.get("compute") is Compute


# --- the semantic model --------------------------------------------------------------------


def test_symbols_have_ids_kinds_and_spans(shop: Compilation) -> None:
    symbols = shop.semantic.symbols
    assert set(symbols) == {
        "application:shop",
        "param:env",
        "let:greeting",
        "component:api",
        "component:worker",
        "object:api.web",
        "object:api.orders",
        "object:api.web_orders",
        "object:worker.jobs",
    }
    for symbol in symbols.values():
        assert text_of(shop, symbol.name_span) == symbol.name
        assert symbol.span.start <= symbol.name_span.start < symbol.name_span.end <= symbol.span.end
        assert symbol.span.file == "architecture.sct"
    orders = symbols["object:api.orders"]
    assert (orders.kind, orders.component, orders.object_kind) == ("object", "api", "storage")
    assert text_of(shop, orders.span) == 'storage orders { engine = "sqlite" }'
    assert text_of(shop, symbols["component:api"].span).startswith("component api {")
    assert text_of(shop, symbols["component:api"].span).endswith("}")
    assert text_of(shop, symbols["param:env"].span) == 'param env: string = "dev"'
    assert text_of(shop, symbols["let:greeting"].span) == 'let greeting = "hello from ${env}"'
    assert symbols["param:env"].kind == "param"
    assert symbols["let:greeting"].kind == "let"
    assert symbols["application:shop"].kind == "application"


def _reference(result: Compilation, dotted: str) -> ReferenceUse:
    (found,) = [ref for ref in result.semantic.references if ".".join(ref.parts) == dotted]
    return found


def test_references_have_targets(shop: Compilation) -> None:
    orders_path = _reference(shop, "orders.path")
    assert (orders_path.target, orders_path.output) == ("object:api.orders", "path")
    assert text_of(shop, orders_path.span) == "orders.path"
    assert line_of(shop, orders_path.span) == 15
    assert part_texts(shop, orders_path) == ["orders", "path"]

    url = _reference(shop, "api.web.url")
    assert (url.target, url.output) == ("object:api.web", "url")
    assert part_texts(shop, url) == ["api", "web", "url"]

    assert (_reference(shop, "greeting").target, _reference(shop, "greeting").output) == ("let:greeting", None)
    env = _reference(shop, "env")  # inside the let's interpolation
    assert env.target == "param:env"
    assert text_of(shop, env.span) == "env"
    assert line_of(shop, env.span) == 6

    web = _reference(shop, "web")  # `from = web` in the connection
    assert (web.target, web.output) == ("object:api.web", None)


def test_references_to_a_symbol(shop: Compilation) -> None:
    to_orders = shop.semantic.references_to("object:api.orders")
    assert sorted(".".join(ref.parts) for ref in to_orders) == ["orders", "orders.path"]
    to_web = shop.semantic.references_to("object:api.web")
    assert sorted(".".join(ref.parts) for ref in to_web) == ["api.web.url", "web"]
    assert shop.semantic.references_to("component:worker") == []


def test_symbol_at_a_declaration_or_a_reference(shop: Compilation) -> None:
    at_use = SHOP.index("orders.path") + 2
    symbol = shop.semantic.symbol_at("architecture.sct", at_use)
    assert symbol is not None and symbol.id == "object:api.orders"
    at_declaration = SHOP.index("component worker") + len("component w")
    symbol = shop.semantic.symbol_at("architecture.sct", at_declaration)
    assert symbol is not None and symbol.id == "component:worker"
    assert shop.semantic.symbol_at("architecture.sct", SHOP.index('"acme"')) is None
    assert shop.semantic.symbol_at("elsewhere.sct", at_use) is None


def test_unresolved_reference_has_no_target() -> None:
    result = compile_source(SHOP.replace("orders.path", "order.path"))
    assert not result.ok
    ref = _reference(result, "order.path")
    assert ref.target is None
    assert [d.code for d in result.diagnostics] == ["SCT301"]


def test_symbols_of_a_multi_file_unit_name_their_files() -> None:
    result = compile_path(SAMPLES / "multi_file")
    assert result.ok
    files = {sid: Path(symbol.span.file).name for sid, symbol in result.semantic.symbols.items()}
    assert files["application:newsroom"] == "application.sct"
    assert files["param:edition"] == "application.sct"
    assert files["object:api.web"] == "api.sct"
    assert files["component:publisher"] == "worker.sct"
    assert files["let:api_port"] == "values.sct"
    api_port = _reference(result, "api_port")
    assert api_port.target == "let:api_port"
    assert Path(api_port.span.file).name == "api.sct"
    url = _reference(result, "api.web.url")
    assert (url.target, Path(url.span.file).name) == ("object:api.web", "worker.sct")


def test_references_in_json_input_are_resolved() -> None:
    result = compile_path(SAMPLES / "json_input" / "architecture.json")
    assert result.ok
    port = _reference(result, "studio.mixer.port")
    assert (port.target, port.output) == ("object:studio.mixer", "port")
    assert text_of(result, port.span) == "studio.mixer.port"


# --- the source map ---------------------------------------------------------------------------


def test_source_map_points_at_the_attribute(shop: Compilation) -> None:
    span = shop.source_map.find(("components", "api", "objects", "web", "port"))
    assert text_of(shop, span) == "port    = 8080"
    assert line_of(shop, span) == 13


def test_source_map_blocks_and_kinds(shop: Compilation) -> None:
    find = shop.source_map.find
    assert text_of(shop, find(("application", "name"))) == "shop"
    assert text_of(shop, find(("application", "owner"))) == 'owner = "acme"'
    assert text_of(shop, find(("components", "api", "source"))) == 'source = "./api"'
    assert text_of(shop, find(("components", "api", "objects", "orders"))) == 'storage orders { engine = "sqlite" }'
    assert text_of(shop, find(("components", "api", "objects", "orders", "kind"))) == "storage"
    assert text_of(shop, find(("components", "api", "objects", "web_orders", "from"))) == "from = web"
    assert text_of(shop, find(("components", "worker"))).startswith("component worker {")


def test_source_map_map_entries_and_list_items(shop: Compilation) -> None:
    find = shop.source_map.find
    assert text_of(shop, find(("components", "api", "objects", "web", "env", "TOKEN"))) == 'TOKEN    = secret("SHOP_TOKEN")'
    assert line_of(shop, find(("components", "api", "objects", "web", "env", "DATABASE"))) == 15
    assert text_of(shop, find(("components", "api", "objects", "web", "command", "2"))) == '"shop.api"'
    assert text_of(shop, find(("components", "worker", "objects", "jobs", "env", "API_URL"))) == "API_URL = api.web.url"


def test_source_map_falls_back_to_the_nearest_ancestor(shop: Compilation) -> None:
    env = shop.source_map.find(("components", "api", "objects", "web", "env"))
    assert shop.source_map.find(("components", "api", "objects", "web", "env", "MISSING")) == env
    assert shop.source_map.find(("components", "api", "objects", "web", "command", "99")) == shop.source_map.find(
        ("components", "api", "objects", "web", "command")
    )
    # `replicas` is not written: the block is the nearest thing that is
    assert text_of(shop, shop.source_map.find(("components", "api", "objects", "web", "replicas"))).startswith("compute web {")
    assert shop.source_map.find(("nothing",)) is None


def test_source_map_of_every_path_of_the_dump(shop: Compilation) -> None:
    """Every path of the compiled JSON form has a span (its own or an ancestor's), in the file."""
    assert shop.architecture is not None

    def paths(value: object, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        found = [path] if path else []
        if isinstance(value, dict):
            for key, item in value.items():
                found += paths(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                found += paths(item, (*path, str(index)))
        return found

    data = shop.architecture.to_dict()
    for path in paths({k: v for k, v in data.items() if k not in ("$schema", "version")}, ()):
        if path == ("components",):
            continue  # a container of the JSON form that no text writes
        span = shop.source_map.find(path)
        assert span is not None, path
        assert 0 <= span.start < span.end <= len(SHOP), path
    # the leaves written in the text map to themselves, not to an ancestor
    assert text_of(shop, shop.source_map.find(("components", "api", "objects", "web", "env", "GREETING"))).startswith("GREETING")


def test_source_map_into_json_input() -> None:
    result = compile_path(SAMPLES / "json_input" / "architecture.json")
    assert result.ok
    span = result.source_map.find(("components", "studio", "objects", "mixer", "port"))
    assert text_of(result, span) == '"port": 7000'
    assert line_of(result, span) == 12
    span = result.source_map.find(("components", "studio", "objects", "mixer", "env", "VOLUME"))
    assert text_of(result, span) == '"VOLUME": 0.8'


# --- compiling from Python ----------------------------------------------------------------------


def test_compile_source_reports_with_positions() -> None:
    result = compile_source(SHOP.replace("port    = 8080", 'port    = "8080"'), "shop.sct")
    assert not result.ok and result.architecture is None
    (located,) = result.located()
    assert located.diagnostic.code == "SCT204"
    assert located.diagnostic.span is not None and located.diagnostic.span.file == "shop.sct"
    assert located.start is not None and (located.start.line, located.start.column) == (13, 15)  # the value
    assert located.to_dict()["range"]["start"] == {"line": 13, "column": 15}


def test_json_and_sct_together_are_refused() -> None:
    result = compile_sources({"architecture.sct": SHOP, "architecture.json": shop_in_python().to_json()})
    assert not result.ok
    assert "SCT006" in [d.code for d in result.diagnostics]


def test_params_reach_the_output() -> None:
    result = compile_source(SHOP, params={"env": "staging"})
    assert result.architecture is not None
    web = result.architecture.components["api"].objects["web"]
    assert isinstance(web, Compute)
    assert web.env["GREETING"] == "hello from staging"


def test_secrets_are_never_values() -> None:
    result = compile_source(SHOP)
    assert result.architecture is not None
    assert '${secret(\\"SHOP_TOKEN\\")}' in result.architecture.to_json()


def test_diagnostics_carry_their_suggestion_for_tools() -> None:
    text = (
        'application shop {}\n'
        'component api {\n'
        '  compute web { comand = ["x"], port = 8080 }\n'
        '  storage db {}\n'
        '  computer other {}\n'
        '  connection c { from = web, to = dbb }\n'
        '}\n'
    )
    result = compile_source(text)
    found = {(d.code, d.suggestion) for d in result.diagnostics}
    assert ("SCT202", "command") in found  # did you mean
    assert ("SCT203", "engine") in found  # the key to add
    assert ("SCT201", "compute") in found
    assert ("SCT301", "db") in found
    (located,) = [item for item in result.located() if item.diagnostic.code == "SCT202"]
    assert located.to_dict()["suggestion"] == "command"


def test_each_name_of_a_reference_knows_what_it_names() -> None:
    text = (
        "application shop {}\n"
        "component api {\n"
        '  compute api { command = ["x"], port = 8080 }\n'
        "}\n"
        "component worker {\n"
        '  compute jobs { command = ["y"], env = { A = api.api.url } }\n'
        "}\n"
    )
    result = compile_source(text)
    assert result.ok, result.diagnostics
    (ref,) = result.semantic.references
    assert ref.part_targets == ("component:api", "object:api.api", None)
    assert ref.output == "url"
    first, second = ref.part_span(0), ref.part_span(1)
    assert result.semantic.symbol_at(first.file, first.start).id == "component:api"  # type: ignore[union-attr]
    assert result.semantic.symbol_at(second.file, second.start).id == "object:api.api"  # type: ignore[union-attr]
