"""Secrets: from the environment or a file outside the repository, redacted, digested with a key."""

import json
import os
import random
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scoot_runtime.secrets import SecretError, Secrets, same_digest


def test_a_secrets_file_inside_the_application_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    with pytest.raises(SecretError, match="must not be checked in"):
        Secrets(tmp_path / "app" / ".scoots", tmp_path / "app", tmp_path / "app" / "secrets.env", {})


def test_environment_first_then_the_file(tmp_path: Path) -> None:
    file = tmp_path / "outside" / "shop.env"
    file.parent.mkdir()
    file.write_text("# comment\nTOKEN = from-file\nOTHER=x=y\n")
    root = tmp_path / "app"
    secrets = Secrets(root / ".scoots", root, file, {"TOKEN": "from-env"})
    assert secrets.get("TOKEN") == "from-env"
    assert secrets.get("OTHER") == "x=y"
    assert secrets.missing({"TOKEN", "OTHER", "NOPE"}) == ["NOPE"]
    with pytest.raises(SecretError, match="NOPE"):
        secrets.get("NOPE")
    assert secrets.redact("token from-env and x=y") == "token *** and ***"


def test_a_bad_line_names_the_line_not_its_text(tmp_path: Path) -> None:
    file = tmp_path / "shop.env"
    file.write_text("hunter2\n")
    secrets = Secrets(tmp_path / "app" / ".scoots", tmp_path / "app", file, {})
    with pytest.raises(SecretError) as error:
        secrets.get("X")
    assert ":1:" in str(error.value) and "hunter2" not in str(error.value)
    secrets.hide(["X"])  # quietly: only to hide what can be read
    with pytest.raises(SecretError, match=":1:"):  # and said again, not taken as unset
        secrets.missing({"X"})


def test_digests_are_shared_by_clones_and_useless_without_the_secret(tmp_path: Path) -> None:
    """Two clones (each its own `.scoots/` and key) with one lineage compute the same
    digest of a value, so a changed secret is seen on both and an unchanged one on
    neither; another target's lineage salts it otherwise; and the digest is scrypt's,
    not a plain hash anyone could check a guess against."""
    import hashlib

    lineage = "11111111-1111-4111-8111-111111111111"
    one = Secrets(tmp_path / "a", tmp_path / "app", None, {}, lineage)
    other = Secrets(tmp_path / "b", tmp_path / "app", None, {}, lineage)
    elsewhere = Secrets(tmp_path / "c", tmp_path / "app", None, {}, "another-lineage")
    assert one.digest("v") == other.digest("v") != one.digest("w")
    assert elsewhere.digest("v") != one.digest("v")
    assert (tmp_path / "a" / "secret.key").read_bytes() != (tmp_path / "b" / "secret.key").read_bytes()
    assert (tmp_path / "a" / "secret.key").stat().st_mode & 0o777 == 0o600
    plain = {hashlib.sha256(b"v").hexdigest(), hashlib.sha256(one.salt + b"v").hexdigest()}
    assert one.digest("v").removeprefix("scrypt1:") not in plain
    assert same_digest("sha256:aa+" + one.digest("v"), "sha256:aa+" + other.digest("v"))
    assert not same_digest("sha256:aa+" + one.digest("v"), "sha256:aa+" + other.digest("w"))
    assert not same_digest("sha256:aa+" + one.digest("v"), "sha256:bb+" + other.digest("v"))
    # A digest of an older Scoot (keyed per clone) cannot be compared: only the plain part is.
    old = "hmac-sha256:0a1b2c3d:" + "0" * 64
    assert same_digest("sha256:aa+" + old, "sha256:aa+" + one.digest("w"))
    assert not same_digest("sha256:aa+" + old, "sha256:bb+" + one.digest("w"))


def test_a_clone_computes_each_digest_once(tmp_path: Path) -> None:
    """The digests a clone computed are remembered in `.scoots/digests.json`, under a keyed
    hash of the value: the file holds nothing a guess could be checked against without
    this clone's key, and a second run reads it instead of computing again."""
    first = Secrets(tmp_path / ".scoots", tmp_path, None, {}, "lineage")
    digest = first.digest("token=hunter2-but-longer")
    remembered = json.loads((tmp_path / ".scoots" / "digests.json").read_text())
    assert list(remembered.values()) == [digest]
    assert "hunter2" not in (tmp_path / ".scoots" / "digests.json").read_text()
    # A planted entry under the same index is what a second run returns: it did not recompute.
    (index,) = remembered
    (tmp_path / ".scoots" / "digests.json").write_text(json.dumps({index: "scrypt1:planted"}))
    assert Secrets(tmp_path / ".scoots", tmp_path, None, {}, "lineage").digest("token=hunter2-but-longer") == "scrypt1:planted"


# -- redact: whatever the window and the splitting of the text ---------------------------------

SEPARATORS = ["\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c"]
no_star = st.characters(blacklist_categories=["Cs"], blacklist_characters="*")  # `***` is the mask


@st.composite
def secret_values(draw: st.DrawFn) -> str:
    """A value of any characters, often of several lines broken by any of `str.splitlines`' breaks."""
    lines = draw(st.lists(st.text(no_star, max_size=30), min_size=1, max_size=6))
    breaks = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(lines) - 1, max_size=len(lines) - 1))
    value = lines[0] + "".join(b + line for b, line in zip(breaks, lines[1:], strict=True))
    assume(value)
    return value


def _leaks(shown: str, value: str) -> list[str]:
    """What `redact` promises never to leave of `value` in `shown`: a piece of 8 characters of
    one of its lines (not all blank), or a line of a multi-line value as a line of its own."""
    lines = value.splitlines() or [value]
    found = [
        piece
        for line in lines
        for start in range(len(line) - 7)
        if not (piece := line[start : start + 8]).isspace() and piece in shown
    ]
    if lines != [value]:
        own = {line.strip() for line in shown.splitlines()}
        found += [line for line in lines if line.strip() and line.strip() in own]
    return found


@settings(max_examples=300, deadline=None)
@given(
    value=secret_values(),
    before=st.text(no_star, max_size=40),
    after=st.text(no_star, max_size=40),
    edges=st.tuples(st.integers(0, 200), st.integers(0, 200)),
    indent=st.sampled_from(["", "    ", "\t"]),
    form=st.sampled_from(["as given", "JSON", "JSON, ASCII"]),
)
def test_redact_hides_what_any_window_or_split_leaves(
    value: str, before: str, after: str, edges: tuple[int, int], indent: str, form: str
) -> None:
    secrets = Secrets(Path("/nonexistent/.scoots"), Path("/nonexistent"), None, {"S": value})
    secrets.get("S")
    written = {
        "as given": value,
        "JSON": json.dumps(value, ensure_ascii=False)[1:-1],
        "JSON, ASCII": json.dumps(value)[1:-1],
    }[form]
    text = before + written + after
    start, end = sorted(min(edge, len(text)) for edge in edges)
    # A window of the text (a log's tail), split into lines and put back indented.
    shown = "\n".join(indent + line for line in text[start:end].splitlines())
    redacted = secrets.redact(shown)
    assert not _leaks(redacted, written), (shown, redacted)
    # Nothing but what is hidden changes.
    assert redacted.replace("***", "") == "".join(redacted.split("***"))


def test_redact_masks_pieces_and_lines_but_keeps_the_layout(tmp_path: Path) -> None:
    value = "first-line-of-it\nab\nlast-line-of-it"
    secrets = Secrets(tmp_path / ".scoots", tmp_path, None, {"S": value, "T": "tiny"})
    secrets.get("S"), secrets.get("T")
    # Cut by a window: what is left of a line, 8 characters or more, and whole short lines.
    assert secrets.redact("    line-of-it\n    ab\n    last-line\n") == "    ***\n    ***\n    ***\n"
    assert secrets.redact("x" + value + "y") == "x***\n***\n***y"
    assert secrets.redact(json.dumps({"v": value})) == '{"v": "***"}'  # one line as JSON
    assert secrets.redact("a tiny cat, and a bird") == "a *** cat, and a bird"
    # Under 8 characters, a piece of a longer line is not hidden: it is not distinctive.
    assert secrets.redact("of-it") == "of-it"
    assert secrets.redact("nothing secret here") == "nothing secret here"


def test_hide_looks_up_what_is_set_and_nothing_else(tmp_path: Path) -> None:
    app = tmp_path / "app"
    secrets = Secrets(app / ".scoots", app, tmp_path / "missing.env", {"S": "a-secret-value"})
    secrets.hide(["S", "UNSET"])
    assert secrets.redact("it is a-secret-value") == "it is ***"


# -- secrets a process prints, through the windows and splits of scoot's messages -------------

LEAKY = """\
application leaky {
  owner = "acme"
}

component app {
  source = "./app"

  compute multi {
    command = [INTERPRETER, "-u", "leak.py"]
    env = {
      SECRET           = secret("LEAKY_MULTI")
      PYTHONIOENCODING = "utf-8"
    }
  }

  compute separators {
    command = [INTERPRETER, "-u", "leak.py"]
    env = {
      SECRET           = secret("LEAKY_SEPARATORS")
      PYTHONIOENCODING = "utf-8"
    }
  }

  compute long {
    command = [INTERPRETER, "-u", "leak.py"]
    env = {
      SECRET           = secret("LEAKY_LONG")
      PYTHONIOENCODING = "utf-8"
    }
  }
}
"""

# Prints its secret on lines of its own, as a careless program does, then fails to start.
LEAK_PY = """\
import os, sys
sys.stdout.write("starting with:\\n" + os.environ["SECRET"] + "\\nand giving up\\n")
sys.exit(3)
"""


def _words(count: int, low: int, high: int) -> list[str]:
    """Random letters and digits (nothing scoot's own messages could hold by chance)."""
    alphabet = string.ascii_letters + string.digits
    return ["".join(random.choices(alphabet, k=random.randint(low, high))) for _ in range(count)]


def _fragments(text: str, secret: str, size: int = 8) -> list[str]:
    """The pieces of `size` characters of `secret` that appear in `text`."""
    pieces = {secret[i : i + size] for i in range(len(secret) - size + 1)}
    return sorted(pieces & {text[i : i + size] for i in range(len(text) - size + 1)})


def _whole_lines(text: str, secret: str) -> list[str]:
    """The lines of a multi-line `secret` that are lines of `text` of their own."""
    lines = {line.strip() for line in secret.splitlines()} - {""}
    return sorted(lines & {line.strip().removeprefix("[0]").strip() for line in text.splitlines()})


@pytest.mark.slow
def test_a_secret_a_process_prints_is_hidden_however_the_message_is_cut(tmp_path: Path) -> None:
    """A multi-line secret (only some of its lines within the 20 lines shown), one holding
    U+2028 (a line break to `str.splitlines`, not to a log file) and one longer than the
    8 KB shown: no piece of 8 characters, and no line of a multi-line one, is in what
    `scoot apply` or `scoot logs` prints."""
    from tests.runtime.test_cli_runtime import ROOT, app_processes, kill_leftovers

    secrets = {
        # 30 lines: the last 20 lines shown cut it; short lines as well as long ones.
        "LEAKY_MULTI": "\n".join(_words(30, 3, 40)),
        "LEAKY_SEPARATORS": "\u2028".join(_words(3, 10, 20) + _words(2, 3, 6))
        + "\r\n"
        + "\x85".join(_words(2, 9, 14)),
        # Longer than the 8192 bytes shown: they start in its middle.
        "LEAKY_LONG": "".join(_words(1, 9000, 9000)),
    }
    app = tmp_path / "leaky"
    (app / "app").mkdir(parents=True)
    (app / "app" / "leak.py").write_text(LEAK_PY, encoding="utf-8")
    (app / "architecture.sct").write_text(LEAKY.replace("INTERPRETER", json.dumps(sys.executable)), encoding="utf-8")
    environment = {**os.environ, **secrets, "PYTHONPATH": str(ROOT)}

    def scoot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "scoot_cli", *args, str(app)],
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )

    printed: dict[str, str] = {}
    try:
        applied = scoot("apply", "--yes")
        assert applied.returncode == 1, applied.stdout + applied.stderr
        assert "Apply failed: 0 done, 3 failed" in applied.stdout + applied.stderr
        printed["apply stdout"], printed["apply stderr"] = applied.stdout, applied.stderr
        for name in ("multi", "separators", "long"):
            logs = scoot("logs", f"app.{name}")
            assert logs.returncode == 0, logs.stderr
            assert "and giving up" in logs.stdout
            printed[f"logs {name} stdout"], printed[f"logs {name} stderr"] = logs.stdout, logs.stderr
    finally:
        kill_leftovers(app, app_processes(app))
    assert "Last lines of .scoots/logs/app.multi.0.log" in printed["apply stderr"]
    leaks = {
        (stream, name): found
        for stream, text in printed.items()
        for name, secret in secrets.items()
        if (found := _fragments(text, secret) + _whole_lines(text, secret))
    }
    assert not leaks, {where: found[:3] for where, found in sorted(leaks.items())}


# -- secrets never in a command line ------------------------------------------------------------

IN_COMMAND = """\
application vault {
  owner = "acme"
}

component app {
  source = "./app"

  compute web {
    command = [INTERPRETER, "-c", "import time; time.sleep(60)", "--token=${secret("VAULT_TOKEN")}"]
  }
}
"""


def test_a_secret_in_a_command_is_refused_before_anything_runs(tmp_path: Path) -> None:
    """In `command` the value would be in /proc/PID/cmdline, readable by every user of the
    machine: `validate` and `plan` refuse it on its line (SCT404), `apply` starts nothing;
    the JSON form is refused the same way."""
    from tests.runtime.test_cli_runtime import ROOT

    value = "vault-" + os.urandom(8).hex()
    app = tmp_path / "vault"
    (app / "app").mkdir(parents=True)
    sct = app / "architecture.sct"
    sct.write_text(IN_COMMAND.replace("INTERPRETER", json.dumps(sys.executable)), encoding="utf-8")
    environment = {**os.environ, "VAULT_TOKEN": value, "PYTHONPATH": str(ROOT)}

    def scoot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "scoot_cli", *args],
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )

    for args in (("validate", str(sct)), ("plan", str(app)), ("apply", "--yes", str(app))):
        result = scoot(*args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert re.search(r"architecture\.sct:9:\d+: error SCT404: `command`: secret\(\"VAULT_TOKEN\"\)", result.stderr)
        assert "/proc/PID/cmdline" in result.stderr and "`env`" in result.stderr
        assert value not in result.stdout + result.stderr
    assert not (app / "scoot.lock").exists() and not (app / ".scoots" / "logs").exists()
    # The JSON form: the same rule, the same code.
    form = app / "vault.json"
    env_only = IN_COMMAND.replace(', "--token=${secret("VAULT_TOKEN")}"]', "]")
    sct.write_text(env_only.replace("INTERPRETER", json.dumps(sys.executable)), encoding="utf-8")
    compiled = scoot("compile", str(sct))
    assert compiled.returncode == 0, compiled.stderr
    data = json.loads(compiled.stdout)
    data["components"]["app"]["objects"]["web"]["command"].append('${secret("VAULT_TOKEN")}')
    form.write_text(json.dumps(data), encoding="utf-8")
    refused = scoot("validate", str(form))
    assert refused.returncode == 1 and "error SCT404: `command`" in refused.stderr, refused.stderr


def test_the_clones_digests_are_bounded_keeping_the_newest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import scoot_runtime.secrets as module

    monkeypatch.setattr(module, "MAX_DIGESTS_KEPT", 2)
    secrets = Secrets(tmp_path / ".scoots", tmp_path, None, {}, "lineage")
    made = [secrets.digest(text) for text in ("one", "two", "three")]
    kept = json.loads((tmp_path / ".scoots" / "digests.json").read_text())
    assert list(kept.values()) == made[1:]
