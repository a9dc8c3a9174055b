"""`scoot decompile`: runtime objects back to `.sct`, formatted, meaning the same."""

from __future__ import annotations

import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st

from scoot_lang import compile_source
from scoot_lang import syntax as s
from scoot_lang.decompile import decompile
from scoot_lang.format import format_text
from scoot_lang.parser import parse
from scoot_model import template
from scoot_model.objects import (
    Application,
    Architecture,
    Component,
    Compute,
    Connection,
    EnvValue,
    Storage,
)


def shop() -> Architecture:
    return Architecture(
        application=Application(name="shop", owner="acme"),
        components={
            "worker": Component(
                objects={
                    "jobs": Compute(
                        command=["python", "worker.py"],
                        env={
                            "API_URL": "${api.web.url}",
                            "HOME": "http://${api.web.host}:${api.web.port}/",
                        },
                    ),
                    "jobs_api": Connection(from_="${worker.jobs}", to="${api.web}"),
                }
            ),
            "api": Component(
                source="./api",
                objects={
                    "web": Compute(
                        command=["python", "-m", "shop.api"],
                        port=8080,
                        env={
                            "DATABASE": "${api.orders.path}",
                            "TOKEN": '${secret("SHOP_TOKEN")}',
                            "ORDERS": "file:${api.orders.path}?mode=rw",
                            "QUOTED": 'say "hi" \\ bye',
                            "LINES": "one\ntwo\tthree",
                            "LITERAL": "$${not_a_ref} and $ alone",
                            "MIXED": 'token=${secret("SHOP_TOKEN")}',
                            "CACHE_URL": "${api.cache.url}",
                            "DB_PATH": "${api.db.path}",
                            "COUNT": 3,
                            "DEBUG": True,
                            "RATIO": 0.5,
                            "with space": "x",
                            "true": "keyword",
                            "A-B": "dash",
                        },
                    ),
                    "orders": Storage(engine="sqlite", size="1GB"),
                    "cache": Storage(engine="directory"),
                    "db": Storage(engine="sqlite"),
                    "web_orders": Connection(from_="${api.web}", to="${api.orders}"),
                    "web_db": Connection(from_="${api.web}", to="${api.db}"),
                },
            ),
            # Names that make some relative references in `api` ambiguous.
            "cache": Component(objects={"url": Storage(engine="sqlite")}),
            "db": Component(objects={"main": Storage(engine="sqlite")}),
        },
    )


def check_round_trip(architecture: Architecture) -> str:
    """Decompile, and check the text is formatted, parses cleanly and compiles back to the same."""
    text = decompile(architecture)
    assert parse(text)[1] == []
    assert format_text(text) == (text, [])
    compiled = compile_source(text)
    assert compiled.errors == []
    assert compiled.architecture is not None
    assert compiled.architecture.to_dict() == architecture.to_dict()
    return text


def test_decompiles_a_small_architecture() -> None:
    architecture = Architecture(
        application=Application(name="shop", owner="acme"),
        components={
            "api": Component(
                source="./api",
                objects={
                    "web": Compute(
                        command=["python", "app.py"], port=8080, env={"DB": "${api.orders.path}"}
                    ),
                    "orders": Storage(engine="sqlite"),
                    "web_orders": Connection(from_="${api.web}", to="${api.orders}"),
                },
            )
        },
    )
    assert check_round_trip(architecture) == textwrap.dedent(
        """\
        application shop { owner = "acme" }

        component api {
          source = "./api"

          storage orders { engine = "sqlite" }

          compute web {
            command = ["python", "app.py"]
            port    = 8080
            env     = { DB = orders.path }
          }

          connection web_orders { from = web, to = orders }
        }
        """
    )


def test_round_trip_of_references_secrets_and_strings() -> None:
    check_round_trip(shop())


def test_structure_components_then_objects_sorted_by_name() -> None:
    file, _ = parse(decompile(shop()))
    application, *components = file.items
    assert isinstance(application, s.ApplicationBlock)
    assert [a.key.text for a in application.attributes] == ["owner"]
    assert [c.name.text for c in components if isinstance(c, s.ComponentBlock)] == [
        "api",
        "cache",
        "db",
        "worker",
    ]
    api = components[0]
    assert isinstance(api, s.ComponentBlock)
    assert [m.key.text if isinstance(m, s.Attribute) else m.name.text for m in api.members] == [
        "source",
        "cache",
        "db",
        "orders",
        "web",
        "web_db",
        "web_orders",
    ]
    web = next(o for o in api.objects if o.name.text == "web")
    assert web.kind.text == "compute"
    # Non-default fields only, in the model's order; `kind` is the block's keyword.
    assert [a.key.text for a in web.attributes] == ["command", "port", "env"]


def lines_of(text: str) -> set[str]:
    """The lines of a text, with runs of blanks (indentation, alignment) as one space."""
    return {" ".join(line.split()) for line in text.splitlines()}


def test_references_are_written_in_the_shortest_unambiguous_form() -> None:
    lines = lines_of(decompile(shop()))
    assert "DATABASE = orders.path" in lines  # an object of the same component: relative
    assert "DB_PATH = db.path" in lines  # component `db` has no object `path`: still relative
    assert (
        "CACHE_URL = api.cache.url" in lines
    )  # `cache.url` could be component `cache`'s object `url`
    # `db` alone: a component is never a value, so it means the object
    assert "connection web_db { from = web, to = db }" in lines
    assert "connection web_orders { from = web, to = orders }" in lines
    assert "API_URL = api.web.url" in lines  # another component's: qualified
    assert "connection jobs_api { from = jobs, to = api.web }" in lines


def test_secrets_and_interpolated_strings() -> None:
    lines = lines_of(decompile(shop()))
    assert 'TOKEN = secret("SHOP_TOKEN")' in lines
    assert 'MIXED = "token=${secret("SHOP_TOKEN")}"' in lines
    assert 'ORDERS = "file:${orders.path}?mode=rw"' in lines
    assert 'HOME = "http://${api.web.host}:${api.web.port}/"' in lines


def test_strings_are_escaped() -> None:
    lines = lines_of(decompile(shop()))
    assert r'QUOTED = "say \"hi\" \\ bye"' in lines
    assert r'LINES = "one\ntwo\tthree"' in lines
    assert 'LITERAL = "$${not_a_ref} and $ alone"' in lines


def test_map_keys_that_are_not_names_are_quoted() -> None:
    lines = lines_of(decompile(shop()))
    assert '"with space" = "x"' in lines
    assert '"true" = "keyword"' in lines
    assert 'A-B = "dash"' in lines


def test_numbers_and_booleans_keep_their_type() -> None:
    lines = lines_of(decompile(shop()))
    assert {"COUNT = 3", "DEBUG = true", "RATIO = 0.5"} <= lines


def test_an_application_with_no_owner_and_no_components() -> None:
    assert (
        check_round_trip(Architecture(application=Application(name="empty")))
        == "application empty {}\n"
    )


def test_long_values_go_over_several_lines() -> None:
    command = [f"--option-{n}" for n in range(12)]
    architecture = Architecture(
        application=Application(name="shop"),
        components={
            "api": Component(objects={"web": Compute(command=command, replicas=2, workdir="src")})
        },
    )
    text = check_round_trip(architecture)
    assert '  compute web {\n    command = [\n      "--option-0",\n' in text
    assert '    replicas = 2\n    workdir  = "src"\n  }\n' in text


def _readable(text: str) -> bool:
    """A JSON string in canonical form whose interpolations all parse."""
    try:
        pieces = template.split(text)
    except template.TemplateError:
        return False
    rebuilt = []
    for index, piece in enumerate(pieces):
        if piece.interpolation:
            if piece.text != "other.db.path":  # the one reference the architecture has
                return False
            rebuilt.append("${" + piece.text + "}")
        else:
            following = index + 1 < len(pieces) and pieces[index + 1].interpolation
            rebuilt.append(template.escape(piece.text, before_interpolation=following))
    return "".join(rebuilt) == text


# Strings as the JSON holds them, in canonical form: literal text (a `$` before `{`
# or `$` written `$$`) and references.
json_string = (
    st.lists(
        st.one_of(
            # Any character an environment can hold: a NUL it cannot, which the model refuses.
            st.characters(codec="utf-8", exclude_characters="\0"),
            st.sampled_from(["$", "{", "}", "${", "$${", '"', "\\", "\n", "${other.db.path}"]),
        )
    )
    .map("".join)
    .filter(_readable)
)


@settings(max_examples=200, deadline=None)
@given(
    values=st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
        json_string,
        max_size=4,
    )
)
def test_any_string_round_trips(values: dict[str, EnvValue]) -> None:
    architecture = Architecture(
        application=Application(name="shop"),
        components={
            "api": Component(objects={"web": Compute(command=["run"], env=values)}),
            "other": Component(objects={"db": Storage(engine="sqlite")}),
        },
    )
    check_round_trip(architecture)


def test_moves_are_kept_in_their_order() -> None:
    text = textwrap.dedent(
        """\
        application shop { owner = "acme" }

        component api {
          storage store { engine = "sqlite" }
        }

        component payments {
        }

        moved { from = billing, to = payments }
        moved { from = api.orders, to = api.store }
        """
    )
    compiled = compile_source(text)
    assert compiled.architecture is not None
    assert [(m.from_, m.to) for m in compiled.architecture.moved] == [("billing", "payments"), ("api.orders", "api.store")]
    decompiled = decompile(compiled.architecture)
    assert decompiled == text
    again = compile_source(decompiled).architecture
    assert again is not None and again.to_json() == compiled.architecture.to_json()
