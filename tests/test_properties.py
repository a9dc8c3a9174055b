"""Properties that hold for every input, checked on generated ones (hypothesis).

- `fmt` is idempotent and never changes what a file compiles to;
- `compile(decompile(x)) == x` for generated valid architectures, and the JSON
  form read back compiles to itself;
- arbitrary text and mutations of valid files give diagnostics, never an exception.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoot_lang import compile_source
from scoot_lang.decompile import decompile
from scoot_lang.format import format_text
from scoot_model import template
from scoot_model.objects import (
    Application,
    Architecture,
    Component,
    Compute,
    Connection,
    Moved,
    Storage,
)

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted(
    p
    for p in [*ROOT.glob("examples/*/*.sct"), *ROOT.glob("tests/baselines/**/*.sct")]
    if p.is_file()
)

KEYWORDS = {"application", "component", "param", "let", "moved", "for", "in", "if", "true", "false", "null"}
# Object names that are also output names could make `component.object` mean an
# output of a same-named object in the enclosing component; see docs/decisions.md.
OUTPUT_NAMES = {"url", "host", "port", "path", "env"}
DEVICE_NAMES = {"con", "prn", "aux", "nul"} | {f"{d}{i}" for d in ("com", "lpt") for i in range(1, 10)}

names = st.from_regex(r"[a-z_][a-z0-9_-]{0,11}", fullmatch=True).filter(
    lambda n: n not in KEYWORDS | OUTPUT_NAMES | DEVICE_NAMES
)
raw_texts = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    max_size=20,
)
# Literal text as the JSON form holds it (a `$` before `{` or `$` doubled).
texts = raw_texts.map(template.escape)
env_keys = st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True)
# A component's source: a relative folder, or a git URL with an optional `#ref`.
sources = st.one_of(
    st.from_regex(r"(\./|\.\./)?[a-z0-9_-]{1,8}(/[a-z0-9_.-]{1,8}){0,2}", fullmatch=True),
    st.builds(
        lambda base, ref: base + ref,
        st.sampled_from(["https://example.com/acme/api.git", "git@example.com:acme/api.git", "file:///srv/git/a.git"]),
        st.sampled_from(["", "#main", "#v1.2", "#3f2a9c1"]),
    ),
)
repositories = st.from_regex(r"[a-z0-9]{1,8}/[a-z0-9._-]{1,12}", fullmatch=True).filter(
    lambda n: n.split("/")[1] not in (".", "..")
)


@st.composite
def architectures(draw: st.DrawFn) -> Architecture:
    component_names = draw(st.lists(names, min_size=1, max_size=4, unique_by=str.lower))
    components: dict[str, Component] = {}
    earlier: list[tuple[str, str, str]] = []  # (component, object, output) to refer to
    for component in component_names:
        object_names = draw(st.lists(names, min_size=1, max_size=4, unique_by=str.lower))
        objects: dict[str, Compute | Storage | Connection] = {}
        made: list[str] = []
        for name in object_names:
            kind = draw(st.sampled_from(["compute", "storage", "connection"] if made else ["compute", "storage"]))
            if kind == "storage":
                objects[name] = Storage(
                    engine=draw(st.sampled_from(["sqlite", "directory", "bucket"])),
                    size=draw(st.none() | st.sampled_from(["1GB", "512MiB", "10 TB"])),
                )
                earlier.append((component, name, "path"))
            elif kind == "compute":
                env_values = st.one_of(
                    texts,
                    st.integers(-(10**6), 10**6),
                    st.booleans(),
                    st.sampled_from([f"${{{c}.{o}.{out}}}" for c, o, out in earlier] or ["plain"]),
                    st.builds(
                        lambda t, n: f"{template.escape(t, before_interpolation=True)}${{secret(\"{n}\")}}",
                        raw_texts,
                        env_keys,
                    ),
                )
                command = draw(st.lists(texts, min_size=1, max_size=4))
                objects[name] = Compute(
                    command=command,
                    port=draw(st.none() | st.integers(1, 65535)),
                    replicas=draw(st.integers(1, 5)),
                    env=draw(st.dictionaries(env_keys, env_values, max_size=4)),
                    # `shell = true` runs one script: one element.
                    shell=len(command) == 1 and draw(st.booleans()),
                )
                earlier.append((component, name, "url"))
            else:
                source, target = draw(st.lists(st.sampled_from(made), min_size=2, max_size=2))
                objects[name] = Connection.model_validate(
                    {"kind": "connection", "from": f"${{{component}.{source}}}", "to": f"${{{component}.{target}}}"}
                )
            made.append(name)
        where = draw(st.sampled_from(["source", "repository", None]))
        components[component] = Component(
            source=draw(sources) if where == "source" else None,
            repository=draw(repositories) if where == "repository" else None,
            objects=objects,
        )
    owner = draw(st.none() | st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True))
    application = Application(name=draw(names), owner=owner)
    return Architecture(application=application, components=components, moved=draw(moves(components)))


@st.composite
def moves(draw: st.DrawFn, components: dict[str, Component]) -> list[Moved]:
    """Renames to declared objects and components, some of them chains (`a` to `b`, `b` to `c`)."""
    declared = {*components, *(f"{c}.{o}" for c, held in components.items() for o in held.objects)}
    made: list[Moved] = []
    for _ in range(draw(st.integers(0, 3))):
        whole = draw(st.booleans())  # a component, or an object
        ends = [a for a in [*sorted(declared), *(m.from_ for m in made)] if ("." not in a) == whole]
        old = draw(names) if whole else f"{draw(names)}.{draw(names)}"
        if old in declared or any(m.from_ == old for m in made):
            continue
        made.append(Moved.model_validate({"from": old, "to": draw(st.sampled_from(ends))}))
    return made


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(architectures())
def test_compile_of_decompile_is_identity(architecture: Architecture) -> None:
    expected = architecture.to_json()
    text = decompile(architecture)
    result = compile_source(text)
    assert result.errors == [], (text, result.errors)
    assert result.architecture is not None
    assert result.architecture.to_json() == expected
    formatted, _ = format_text(text)
    assert formatted == text  # the decompiler writes formatted text


@settings(max_examples=150, deadline=None)
@given(architectures())
def test_json_form_reads_back_to_itself(architecture: Architecture) -> None:
    expected = architecture.to_json()
    result = compile_source(expected, "architecture.json")
    assert result.errors == [], result.errors
    assert result.architecture is not None
    assert result.architecture.to_json() == expected


def _outcome(text: str) -> tuple[str | None, list[tuple[str, str]]]:
    result = compile_source(text)
    compiled = result.architecture.to_json() if result.architecture else None
    return compiled, [(d.code, d.message) for d in result.diagnostics]


def test_fmt_is_idempotent_and_keeps_meaning_on_every_sample() -> None:
    assert SAMPLES, "no samples found"
    for path in SAMPLES:
        text = path.read_text(encoding="utf-8", errors="replace")
        formatted, _ = format_text(text, str(path))
        if formatted is None:
            continue  # syntax errors: fmt refuses, which its own tests check
        again, _ = format_text(formatted, str(path))
        assert again == formatted, path
        before, after = _outcome(text), _outcome(formatted)
        assert before[0] == after[0], path
        assert [c for c, _ in before[1]] == [c for c, _ in after[1]], path


@settings(max_examples=100, deadline=None)
@given(architectures(), st.data())
def test_fmt_keeps_meaning_of_reshaped_text(architecture: Architecture, data: st.DataObject) -> None:
    text = decompile(architecture)
    # Reshape the layout without changing tokens: newlines and spaces between lines.
    lines = text.split("\n")  # not splitlines(): U+2028 may sit inside a string
    reshaped = "\n".join(
        " " * data.draw(st.integers(0, 6)) + line + data.draw(st.sampled_from(["", " ", "  // note", " # note"]))
        for line in lines
    )
    formatted, diagnostics = format_text(reshaped)
    assert formatted is not None, diagnostics
    assert format_text(formatted)[0] == formatted
    assert _outcome(formatted)[0] == architecture.to_json()
    assert formatted.count("// note") == reshaped.count("// note")
    assert formatted.count("# note") == reshaped.count("# note")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_diagnostics_not_exceptions(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    compile_source(text)
    compile_source(text, "architecture.json")
    format_text(text)


TOKENS = ["{", "}", "[", "]", "(", ")", "=", ",", ".", '"', '"""', "${", "$${", "}", "/*", "//", "#",
          "\\", "application", "component", "let", "param", "moved", "compute", "null", "-1.5e3", "\n", "é", "\t"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAMPLES), st.data())
def test_mutated_samples_give_diagnostics_not_exceptions(path: Path, data: st.DataObject) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["insert", "delete", "duplicate"]))
        if action == "insert":
            text = text[:at] + data.draw(st.sampled_from(TOKENS) | st.text(max_size=3)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + data.draw(st.integers(1, 12)) :]
        else:
            end = min(len(text), at + data.draw(st.integers(1, 40)))
            text = text[:at] + text[at:end] + text[at:]
    result = compile_source(text, str(path))
    for item in result.located():
        assert item.diagnostic.code.startswith("SCT")
    formatted, _ = format_text(text, str(path))
    if formatted is not None:
        assert format_text(formatted, str(path))[0] == formatted
