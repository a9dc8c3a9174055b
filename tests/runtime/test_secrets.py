"""Secrets: from the environment or a file outside the repository, redacted, digested with a key."""

from pathlib import Path

import pytest

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


def test_keyed_digests(tmp_path: Path) -> None:
    one = Secrets(tmp_path / "a", tmp_path / "app", None, {})
    other = Secrets(tmp_path / "b", tmp_path / "app", None, {})
    assert one.digest("v") == one.digest("v") != one.digest("w")
    assert (tmp_path / "a" / "secret.key").stat().st_mode & 0o777 == 0o600
    # Another machine's key: the keyed part cannot be compared, the plain part can.
    assert same_digest("sha256:aa+" + one.digest("v"), "sha256:aa+" + other.digest("w"))
    assert not same_digest("sha256:aa+" + one.digest("v"), "sha256:bb+" + other.digest("v"))
    assert not same_digest("sha256:aa+" + one.digest("v"), "sha256:aa+" + one.digest("w"))
