"""`scoot fmt`: the layout of each construct, comments, and the formatter's promises.

Every sample goes through `formatted()`, which also checks the promises that
hold for every input: the output is a fixed point, it means what the input
meant (same tree, modulo offsets and layout flags), every comment survives, no
line ends in blanks, and the file ends with one newline.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoot_lang import syntax as s
from scoot_lang.format import format_expr, format_file, format_text, string_raw
from scoot_lang.parser import parse

LAYOUT_FIELDS = {"start", "end", "open_brace", "multiline"}


def shape(node: Any) -> Any:
    """A tree as plain data, without offsets and layout flags."""
    if isinstance(node, list):
        return [shape(item) for item in node]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        fields = dataclasses.fields(node)
        return type(node).__name__, {
            f.name: shape(getattr(node, f.name)) for f in fields if f.name not in LAYOUT_FIELDS
        }
    return node


def comment_texts(file: s.File) -> Counter[str]:
    # The formatter strips blanks at the ends of comment lines, and nothing else.
    return Counter("\n".join(line.rstrip() for line in c.text.split("\n")) for c in file.comments)


def _triple_quoted(node: Any) -> list[str]:
    if isinstance(node, s.StringLit):
        return [node.raw] if node.raw.startswith('"""') else []
    if isinstance(node, list):
        return [raw for item in node for raw in _triple_quoted(item)]
    if dataclasses.is_dataclass(node):
        return [
            raw for f in dataclasses.fields(node) for raw in _triple_quoted(getattr(node, f.name))
        ]
    return []


def formatted(text: str) -> str:
    """Format `text`, checking every promise of the formatter on the way."""
    text = textwrap.dedent(text)
    out, diagnostics = format_text(text)
    assert diagnostics == []
    assert out is not None
    assert format_text(out) == (out, []), "formatting is not idempotent"
    before, _ = parse(text)
    after, _ = parse(out)
    assert shape(after.items) == shape(before.items), "formatting changed the meaning"
    assert comment_texts(after) == comment_texts(before), "a comment was lost or changed"
    for comment in comment_texts(before):
        assert comment in out
    rest = out
    for raw in _triple_quoted(before.items):  # blanks at the end of their lines are content
        rest = rest.replace(raw, "STRING")
    assert all(line == line.rstrip() for line in rest.split("\n"))
    assert out == "" or (out.endswith("\n") and not out.endswith("\n\n"))
    return out


def expect(text: str, expected: str) -> None:
    assert formatted(text) == textwrap.dedent(expected).lstrip("\n")


# --- attributes and alignment ---------------------------------------------------


def test_aligns_equals_of_consecutive_one_line_attributes() -> None:
    expect(
        """
        component api {
          compute web {
            command = ["python", "app.py"]
            port = 8080
            replicas=2
          }
        }
        """,
        """
        component api {
          compute web {
            command  = ["python", "app.py"]
            port     = 8080
            replicas = 2
          }
        }
        """,
    )


def test_alignment_runs_are_broken_by_blank_lines_comments_and_multiline_values() -> None:
    expect(
        """
        component api {
          compute web {
            command = ["python"]
            port = 8080

            replicas = 2
            // about health
            health = "/healthz"
            env = {
              A = 1
            }
            workdir = "src"
          }
        }
        """,
        """
        component api {
          compute web {
            command = ["python"]
            port    = 8080

            replicas = 2
            // about health
            health = "/healthz"
            env = {
              A = 1
            }
            workdir = "src"
          }
        }
        """,
    )


def test_object_blocks_break_alignment_and_are_set_apart_by_blank_lines() -> None:
    expect(
        """
        component api {
          source = "./api"
          storage orders { engine = "sqlite" }
          storage files { engine = "directory" }
          long_name = 1
        }
        """,
        """
        component api {
          source = "./api"

          storage orders { engine = "sqlite" }

          storage files { engine = "directory" }

          long_name = 1
        }
        """,
    )


def test_attributes_separated_by_commas_go_one_per_line() -> None:
    expect(
        """
        component api {
          compute web {
            port = 1, replicas = 2
          }
        }
        """,
        """
        component api {
          compute web {
            port     = 1
            replicas = 2
          }
        }
        """,
    )


# --- blocks ---------------------------------------------------------------------


def test_one_line_blocks_stay_on_one_line() -> None:
    expect(
        """
        application shop {owner="acme"}
        component api {
          connection web_orders {from=web,to=orders}
          storage orders {   }
        }
        """,
        """
        application shop { owner = "acme" }

        component api {
          connection web_orders { from = web, to = orders }

          storage orders {}
        }
        """,
    )


def test_multiline_blocks_stay_multiline_and_components_are_always_multiline() -> None:
    expect(
        """
        application shop {
          owner = "acme" }
        component api { source = "./api" }
        component empty {}
        """,
        """
        application shop {
          owner = "acme"
        }

        component api {
          source = "./api"
        }

        component empty {
        }
        """,
    )


def test_a_comment_inside_a_one_line_block_makes_it_multiline() -> None:
    expect(
        """
        component api {
          storage orders { engine = "sqlite" /* for now */ }
        }
        """,
        """
        component api {
          storage orders {
            engine = "sqlite" /* for now */
          }
        }
        """,
    )


def test_indentation_is_two_spaces_at_every_depth() -> None:
    expect(
        """
        component api {
        compute web {
        env = {
        A = [
        1,
        ]
        }
        }
        }
        """,
        """
        component api {
          compute web {
            env = {
              A = [
                1,
              ]
            }
          }
        }
        """,
    )


# --- lists and maps -------------------------------------------------------------


def test_one_line_lists_and_maps_stay_on_one_line() -> None:
    expect(
        """
        let a = [ 1,2 , 3, ]
        let b = {A=1,B="x"}
        let c = [ ]
        let d = {  }
        let e = [[1, 2], {X = [3]}]
        """,
        """
        let a = [1, 2, 3]
        let b = { A = 1, B = "x" }
        let c = []
        let d = {}
        let e = [[1, 2], { X = [3] }]
        """,
    )


def test_multiline_lists_get_one_item_per_line_and_a_trailing_comma() -> None:
    expect(
        """
        let a = [1, 2,
          3]
        let b = [
        ]
        """,
        """
        let a = [
          1,
          2,
          3,
        ]
        let b = []
        """,
    )


def test_multiline_maps_get_one_entry_per_line_with_aligned_equals() -> None:
    expect(
        """
        let env = { A = 1, LONGER = 2
          C = { X = 1 }, D = [
            "x"
          ]
          E = 5 }
        """,
        """
        let env = {
          A      = 1
          LONGER = 2
          C      = { X = 1 }
          D = [
            "x",
          ]
          E = 5
        }
        """,
    )


def test_quoted_map_keys_keep_their_quotes_and_escapes() -> None:
    expect(
        r"""
        let env = {
          "with space" = 1
          "quote\"back\\slash" = 2
          "$${literal}" = 3
          "\u00e9t\u00e9" = 4
          bare = 5
        }
        let one = { "a b" = 1 }
        """,
        r"""
        let env = {
          "with space"         = 1
          "quote\"back\\slash" = 2
          "$${literal}"        = 3
          "été"                = 4
          bare                 = 5
        }
        let one = { "a b" = 1 }
        """,
    )


def test_calls_and_references() -> None:
    expect(
        """
        let a = secret( "TOKEN" )
        let b = api . web . url
        let c = f(1,[2,3],)
        """,
        """
        let a = secret("TOKEN")
        let b = api.web.url
        let c = f(1, [2, 3])
        """,
    )


def test_a_multiline_argument_of_a_call_stays_multiline() -> None:
    expect(
        """
        let a = f([
        1], 2)
        """,
        """
        let a = f([
          1,
        ], 2)
        """,
    )


# --- literals -------------------------------------------------------------------


def test_strings_and_numbers_keep_their_source_text() -> None:
    expect(
        r"""
        let a = "caf\u00e9 \t \"q\" \$ $${x} ${b} ${ secret("X") }"
        let b = 1.50
        let c = -2e10
        let d = [true, false, null]
        """,
        r"""
        let a = "caf\u00e9 \t \"q\" \$ $${x} ${b} ${ secret("X") }"
        let b = 1.50
        let c = -2e10
        let d = [true, false, null]
        """,
    )


def test_triple_quoted_strings_are_printed_verbatim() -> None:
    text = 'component api {\n  compute web {\n       welcome = """\n  keep   \n      this\n\t as is\n"""\n  }\n}\n'
    out = formatted(text)
    assert '"""\n  keep   \n      this\n\t as is\n"""' in out
    assert out == (
        'component api {\n  compute web {\n    welcome = """\n  keep   \n      this\n\t as is\n"""\n  }\n}\n'
    )


def test_params_and_lets() -> None:
    expect(
        """
        param env:string="dev"
        param count : number
        let greeting="hello ${env}"


        let other = 1
        application shop {}
        let last = 2
        """,
        """
        param env: string = "dev"
        param count: number
        let greeting = "hello ${env}"

        let other = 1

        application shop {}

        let last = 2
        """,
    )


# --- blank lines ----------------------------------------------------------------


def test_blank_lines() -> None:
    expect(
        """


        application shop { owner = "acme" }
        component api {

          source = "./api"



          compute web {

            port = 1


            replicas = 2

          }

        }



        """,
        """
        application shop { owner = "acme" }

        component api {
          source = "./api"

          compute web {
            port = 1

            replicas = 2
          }
        }
        """,
    )


def test_windows_line_ends_become_unix_ones() -> None:
    assert (
        formatted("let a = [ // one\r\n  1,\r\n]\r\n\r\n\r\n// end\r\n")
        == "let a = [ // one\n  1,\n]\n\n// end\n"
    )


def test_empty_files() -> None:
    assert formatted("") == ""
    assert formatted("\n\n  \n") == ""


# --- comments -------------------------------------------------------------------


def test_comments_on_their_own_lines_stay_before_the_next_item() -> None:
    expect(
        """
        // the file
        # hash comment

        /* the application */
        application shop { owner = "acme" }
        component api {
              // about web
          compute web {
                    /* about port
                       on two lines */
            port = 1
          }
        }
        """,
        """
        // the file
        # hash comment

        /* the application */
        application shop { owner = "acme" }

        component api {
          // about web
          compute web {
            /* about port
                       on two lines */
            port = 1
          }
        }
        """,
    )


def test_comments_after_an_item_on_its_line_stay_there() -> None:
    expect(
        """
        application shop { owner = "acme" }     // the app
        component api {   # the api
          compute web {
            command = ["x"]   /* one */   // two
            port = 1 // the port
            env = {
              A = 1  // a
            }     // env
          } // web
        } // api
        let x = 1 // x
        """,
        """
        application shop { owner = "acme" } // the app

        component api { # the api
          compute web {
            command = ["x"] /* one */ // two
            port    = 1 // the port
            env = {
              A = 1 // a
            } // env
          } // web
        } // api

        let x = 1 // x
        """,
    )


def test_comments_before_a_closing_brace_stay_inside_the_block() -> None:
    expect(
        """
        component api {
          compute web {
            port = 1

              // last in web

          }
          // last in api
        }
        """,
        """
        component api {
          compute web {
            port = 1

            // last in web
          }
          // last in api
        }
        """,
    )


def test_comments_at_the_end_of_the_file_stay_at_the_end() -> None:
    expect(
        """
        let a = 1
        // one

        /* two */
        # three
        """,
        """
        let a = 1
        // one

        /* two */
        # three
        """,
    )


def test_only_comments() -> None:
    expect("// just this\n", "// just this\n")


def test_comments_inside_multiline_lists_and_maps_stay_with_their_element() -> None:
    expect(
        """
        let a = [ // the list
          // before one
          1, // one
          2 /* two */ , 3,
          // at the end
        ]
        let b = {
          A = 1 // a
          /* before b */
          B = 2
          // at the end
        }
        """,
        """
        let a = [ // the list
          // before one
          1, // one
          2, /* two */
          3,
          // at the end
        ]
        let b = {
          A = 1 // a
          /* before b */
          B = 2
          // at the end
        }
        """,
    )


def test_a_comment_inside_a_one_line_list_or_map_makes_it_multiline() -> None:
    expect(
        """
        let a = [1, /* two */ 2]
        let b = { A = 1, /* b */ B = [/* empty */] }
        """,
        """
        let a = [
          1, /* two */
          2,
        ]
        let b = {
          A = 1 /* b */
          B = [ /* empty */
          ]
        }
        """,
    )


def test_comments_the_printer_cannot_place_precisely_go_just_before_their_item() -> None:
    expect(
        """
        application /* name */ shop { owner = "acme" }
        component /* c */ api {
          compute // kind
            web {
            port /* key */ = /* value */ 1
            env = // before the map
            {
              TOKEN = secret(/* arg */ "X")
            }
          }
        }
        param /* p */ env: /* type */ string
        let x = f([
          1,
        ], /* between */ 2)
        """,
        """
        /* name */
        application shop { owner = "acme" }

        /* c */
        component api {
          // kind
          compute web {
            /* key */
            /* value */
            port = 1
            // before the map
            env = {
              /* arg */
              TOKEN = secret("X")
            }
          }
        }

        /* p */
        /* type */
        param env: string
        /* between */
        let x = f([
          1,
        ], 2)
        """,
    )


# --- tree without source ----------------------------------------------------------


def _string(text: str) -> s.StringLit:
    return s.StringLit(string_raw([text]), [text])


def test_trees_without_source_are_laid_out_by_width() -> None:
    short = s.ListExpr([_string("python"), _string("app.py")])
    long = s.ListExpr([_string("x" * 30), _string("y" * 30), _string("z" * 30)])
    file = s.File(
        "architecture.sct",
        [
            s.ApplicationBlock(s.Ident("shop"), [s.Attribute(s.Ident("owner"), _string("acme"))]),
            s.ComponentBlock(
                s.Ident("api"),
                [
                    s.ObjectBlock(
                        s.Ident("compute"),
                        s.Ident("small"),
                        [s.Attribute(s.Ident("command"), short)],
                    ),
                    s.ObjectBlock(
                        s.Ident("compute"),
                        s.Ident("big"),
                        [
                            s.Attribute(s.Ident("command"), long),
                            s.Attribute(
                                s.Ident("env"), s.MapExpr([s.MapEntry(s.Ident("A"), short)])
                            ),
                        ],
                    ),
                    s.ObjectBlock(
                        s.Ident("compute"),
                        s.Ident("three"),
                        [
                            s.Attribute(s.Ident(key), s.NumberLit("1", 1))
                            for key in ("a", "b", "port")
                        ],
                    ),
                ],
            ),
        ],
    )
    out = format_file(file, "")
    assert out == textwrap.dedent(
        """\
        application shop { owner = "acme" }

        component api {
          compute small { command = ["python", "app.py"] }

          compute big {
            command = [
              "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
              "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
              "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
            ]
            env = { A = ["python", "app.py"] }
          }

          compute three {
            a    = 1
            b    = 1
            port = 1
          }
        }
        """
    )
    assert formatted(out) == out


def test_format_expr_prints_one_line() -> None:
    expr = s.MapExpr(
        [s.MapEntry(s.Ident("a b"), s.ListExpr([s.NullLit(), s.BoolLit(True)]), quoted=True)]
    )
    assert format_expr(expr) == '{ "a b" = [null, true] }'


# --- refusal --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "application shop {",
        'let x = "unclosed',
        "component api { compute web { port = } }",
        "let = 1",
    ],
)
def test_files_with_syntax_errors_are_not_formatted(text: str) -> None:
    out, diagnostics = format_text(text, "broken.sct")
    assert out is None
    assert diagnostics
    assert all(d.span is not None and d.span.file == "broken.sct" for d in diagnostics)


# --- properties -----------------------------------------------------------------

SAMPLE = textwrap.dedent(
    """\
    application shop { owner = "acme" }

    param env: string = "dev"
    let greeting = "hello from ${env}"

    component api {
      source = "./api"

      compute web {
        command = ["python", "-m", "shop.api"]
        port    = 8080
        env = {
          DATABASE   = orders.path
          TOKEN      = secret("SHOP_TOKEN")
          "a key"    = [1, { B = 2 }]
        }
        health = \"\"\"
          /healthz
        \"\"\"
      }

      storage orders { engine = "sqlite" }

      connection web_orders { from = web, to = orders }
    }
    """
)


def _boundaries(file: s.File) -> list[int]:
    """Every offset where a token of the file starts or ends (none inside a string)."""
    found: set[int] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif dataclasses.is_dataclass(node) and not isinstance(node, s.StringLit):
            for name in ("start", "end", "open_brace"):
                offset = getattr(node, name, -1)
                if offset >= 0:
                    found.add(offset)
            for f in dataclasses.fields(node):
                walk(getattr(node, f.name))

    walk(file.items)
    return sorted(found)


SAMPLE_BOUNDARIES = _boundaries(parse(SAMPLE)[0])
COMMENTS = st.sampled_from([" /* c{} */ ", " // c{}\n", "\n# c{}\n", "\n\n/* c{}\n  more */\n\n"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SAMPLE_BOUNDARIES), COMMENTS), max_size=8))
def test_comments_anywhere_are_kept_and_formatting_is_stable(
    insertions: list[tuple[int, str]],
) -> None:
    text = SAMPLE
    for number, (offset, comment) in sorted(enumerate(insertions), key=lambda x: -x[1][0]):
        text = text[:offset] + comment.format(number) + text[offset:]
    formatted(text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.text(), st.sampled_from(["$", "{", "}", "${", "$${x}", '"', "\\"])), max_size=6
    )
)
def test_string_raw_reads_back_as_the_same_text(pieces: list[str]) -> None:
    text = "".join(pieces)
    reference = s.Reference([s.Ident("x")])
    samples: list[list[str | s.Expr]] = [
        [text] if text else [],
        [text, reference, text] if text else [reference],
    ]
    for parts in samples:
        raw = string_raw(parts)
        file, diagnostics = parse(f"let v = {raw}")
        assert diagnostics == []
        value = file.items[0].value  # type: ignore[union-attr]
        assert isinstance(value, s.StringLit)
        assert shape(value.parts) == shape(parts)
        assert "\n" not in raw


def test_string_raw_writes_a_literal_interpolation_as_in_the_json() -> None:
    assert string_raw(["a ${b} c"]) == '"a $${b} c"'
    # `$${` is a literal `${` whatever follows: no `}` is needed, a quote is escaped as anywhere.
    assert string_raw(["a ${b"]) == '"a $${b"'
    assert string_raw(['${secret("X")}']) == '"$${secret(\\"X\\")}"'
    assert string_raw(["cost: $", s.Reference([s.Ident("x")])]) == '"cost: \\$${x}"'
    assert string_raw(['q"b\\s\n\t\r\x01\x85']) == '"q\\"b\\\\s\\n\\t\\r\\u0001\\u0085"'


# --- modules --------------------------------------------------------------------


def test_module_uses_and_outputs_round_trip() -> None:
    # A use is laid out as an object block (at the top level and in a component), an
    # output as a let; a module's files hold objects at their top level.
    expect(
        """
        module  shop {source="./modules/shop",database=db.path}
        component api {
          module web { source = "./modules/web"
            port = 8080 }
          compute front { command = ["true"] }
        }
        param port:number
        output url=server.url
        output  port = port
        compute server {port=port}
        """,
        """
        module shop { source = "./modules/shop", database = db.path }

        component api {
          module web {
            source = "./modules/web"
            port   = 8080
          }

          compute front { command = ["true"] }
        }

        param port: number
        output url = server.url
        output port = port

        compute server { port = port }
        """,
    )


# --- expressions, for and if ----------------------------------------------------


def test_operators_get_one_blank_each_side_and_keep_their_parentheses() -> None:
    expect(
        "let a = (b+1)*2 >= c?!d:e[0] % 3 - -1\nlet b = xs[0].name\nlet c = web-api\n",
        """
        let a = (b + 1) * 2 >= c ? !d : e[0] % 3 - -1
        let b = xs[0].name
        let c = web-api
        """,
    )


def test_for_and_if_clauses_are_printed_in_the_header() -> None:
    expect(
        """
        component api   for zone   in ["a","b"] if zone!="x"{
          // the caches
          storage cache for k,v in {a=1} { engine = k } // one a key
          compute debug if debug { command = ["x"] }
        }
        """,
        """
        component api for zone in ["a", "b"] if zone != "x" {
          // the caches
          storage cache for k, v in { a = 1 } { engine = k } // one a key

          compute debug if debug { command = ["x"] }
        }
        """,
    )


def test_a_comment_in_a_header_is_kept() -> None:
    out = formatted('component api for zone /* where */ in zones {\n  compute web {}\n}\n')
    assert "/* where */" in out and "component api for zone in zones {" in out
