"""The git repository driver and the runtime around it, against real repositories: bare
repositories on disk and a `git daemon` on 127.0.0.1, with the real `git` (no mocks).

The whole-system tests run real processes from fetched sources: a new commit shows in
`scoot plan`, `scoot apply` runs it (the process answers with the new text), `--revision`
pins an older one, `--from` reads the architecture from its repository. Each one destroys
what it applied at teardown and kills any process left.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scoot_cli import cli
from scoot_runtime.repositories.base import RepositoryContext, RepositoryError
from scoot_runtime.repositories.git import GitDriver, safe_name
from scoot_runtime.repositories.locations import parse
from tests.ports import free_port

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}

# Answers every GET with the text of version.txt, read when it starts.
SERVER = """\
import http.server, os
TEXT = open("version.txt", encoding="utf-8").read().strip().encode()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(TEXT)))
        self.end_headers()
        self.wfile.write(TEXT)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **IDENTITY}, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


class Remote:
    """A bare repository and a working copy that pushes to it."""

    def __init__(self, bare: Path, work: Path) -> None:
        self.bare, self.work = bare, work
        git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
        git("clone", "--quiet", str(bare), str(work))
        git("checkout", "--quiet", "-B", "main", cwd=work)

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        for name, text in files.items():
            (self.work / name).parent.mkdir(parents=True, exist_ok=True)
            (self.work / name).write_text(text, encoding="utf-8")
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "-m", message, cwd=self.work)
        git("push", "--quiet", "origin", "HEAD:main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


@pytest.fixture
def served(tmp_path: Path) -> Path:
    """The folder the git daemon serves."""
    folder = tmp_path / "served"
    folder.mkdir()
    return folder


@pytest.fixture
def daemon(served: Path) -> Iterator[str]:
    """`git daemon` on 127.0.0.1 serving `served`; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        ["git", "daemon", "--export-all", f"--base-path={served}", "--listen=127.0.0.1", f"--port={port}",
         "--reuseaddr", "--informative-errors", str(served)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("git daemon did not start") from None
                time.sleep(0.05)
        yield f"git://127.0.0.1:{port}/"
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def driver(root: Path, **options: str) -> GitDriver:
    root.mkdir(parents=True, exist_ok=True)
    return GitDriver(RepositoryContext("tiny", "acme", root, root / ".scoots", options))


# -- the driver ---------------------------------------------------------------------------------


def test_fetch_latest_and_pins_from_a_bare_repository(tmp_path: Path) -> None:
    remote = Remote(tmp_path / "api.git", tmp_path / "work")
    first = remote.commit({"version.txt": "one\n", "bin/run": "#!/bin/sh\n"}, "one")
    os.chmod(remote.work / "bin" / "run", 0o755)
    second = remote.commit({"version.txt": "two\n"}, "two")
    git("tag", "v1", first, cwd=remote.work)
    git("push", "--quiet", "origin", "v1", cwd=remote.work)
    git_driver = driver(tmp_path / "app")
    repository = git_driver.remote(f"file://{remote.bare}")

    assert git_driver.exists(repository)
    assert git_driver.latest(repository) == second
    fetched = git_driver.fetch(repository)
    assert fetched.revision == second
    folder = tmp_path / "app" / ".scoots" / "repos" / safe_name(f"file://{remote.bare}") / second
    assert fetched.path == folder
    assert (folder / "version.txt").read_text() == "two\n"
    assert os.access(folder / "bin" / "run", os.X_OK)  # modes survive the checkout
    assert not (folder / ".git").exists()

    # Pinned: a whole commit, a short one, a tag; each in its own folder.
    assert git_driver.fetch(repository, first).path.joinpath("version.txt").read_text() == "one\n"
    assert git_driver.fetch(repository, first[:9]).revision == first
    assert git_driver.fetch(git_driver.remote(f"file://{remote.bare}", "v1")).revision == first
    assert git_driver.latest(git_driver.remote(f"file://{remote.bare}", "v1")) == first
    assert (folder.parent / first).is_dir() and (folder.parent / second).is_dir()

    # Fetching what is there already needs no remote at all.
    shutil.rmtree(remote.bare)
    assert git_driver.fetch(repository, second).path == folder

    git_driver.prune(repository, {second})
    assert not (folder.parent / first).exists() and folder.is_dir()


def test_plain_paths_base_url_and_create(tmp_path: Path) -> None:
    git_driver = driver(tmp_path / "app", base_url="../repos")
    repository = git_driver.repository("acme/tiny-api")
    assert repository.name == f"{tmp_path / 'repos'}/acme/tiny-api.git"
    assert not git_driver.exists(repository)
    git_driver.create(repository)
    assert git_driver.exists(repository)
    with pytest.raises(RepositoryError, match="no commits yet"):
        git_driver.latest(repository)


def test_errors_say_what_to_do(tmp_path: Path, daemon: str, served: Path) -> None:
    git_driver = driver(tmp_path / "app", base_url=daemon)
    missing = git_driver.repository("acme/nothing")
    assert not git_driver.exists(missing)
    with pytest.raises(RepositoryError, match=r"there is no repository .*scoot repos create"):
        git_driver.fetch(missing)
    with pytest.raises(RepositoryError, match="cannot create"):
        git_driver.create(missing)

    remote = Remote(served / "acme" / "tiny-api.git", tmp_path / "work")
    remote.commit({"a": "a"})
    found = git_driver.repository("acme/tiny-api")
    with pytest.raises(RepositoryError, match="no branch, tag or commit `nope`"):
        git_driver.fetch(found, "nope")
    with pytest.raises(RepositoryError, match="no branch, tag or commit"):
        git_driver.fetch(found, "0" * 40)
    with pytest.raises(RepositoryError, match="no branch or tag `nope`"):
        git_driver.latest(git_driver.remote(found.name, "nope"))

    # Names are checked before any call: no git process for a bad one.
    with pytest.raises(RepositoryError, match="not a repository name"):
        git_driver.repository("acme/../../etc")
    with pytest.raises(RepositoryError, match="base_url"):
        driver(tmp_path / "other").repository("acme/tiny-api")


def test_a_missing_git_program_is_an_error_saying_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    git_driver = driver(tmp_path / "app")
    with pytest.raises(RepositoryError, match="needs the `git` program"):
        git_driver.latest(git_driver.remote("https://example.com/acme/api.git"))
    # A bad name is refused before git is ever looked for.
    named = driver(tmp_path / "app", base_url="https://example.com/")
    with pytest.raises(RepositoryError, match="is not a repository name"):
        named.repository("acme/..")
    with pytest.raises(RepositoryError, match="is not a git remote"):
        named.remote("--upload-pack=touch /tmp/pwned")


@pytest.mark.parametrize(
    "url",
    ["git://user:hunter2@127.0.0.1:9/acme/api.git", "https://ghp_hunter2@github.com/acme/api.git", "https://hunter2@h/x.git"],
)
def test_credentials_in_urls_are_refused_and_never_repeated(tmp_path: Path, url: str) -> None:
    """Credentials come from the user's git setup: a URL holding one (a password, or a token
    where http(s) puts a user) is refused before git runs, and the message does not repeat it."""
    with pytest.raises(RepositoryError, match="holds no credentials") as error:
        driver(tmp_path / "app").remote(url)
    assert "hunter2" not in str(error.value)
    with pytest.raises(RepositoryError, match="holds no credentials"):
        parse(url + "#main")
    assert driver(tmp_path / "app").remote("ssh://git@127.0.0.1/acme/api.git").name.startswith("ssh://git@")


def test_a_file_url_is_an_absolute_folder_and_never_an_option(tmp_path: Path) -> None:
    git_driver = driver(tmp_path / "app")
    for url in ["file://--template=/tmp/x", "file://relative/repo.git", "file://host/srv/repo.git", "file:///srv/-x/repo.git"]:
        with pytest.raises(RepositoryError, match="is not a repository on this machine"):
            git_driver.exists(git_driver.remote(url))
    assert not (tmp_path / "app" / "--template=").exists()


def test_a_git_timeout_leaves_no_process_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A remote that accepts and never answers: git's helpers end with it."""
    import socket
    import threading

    from scoot_runtime.repositories import git as git_module

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    monkeypatch.setattr(git_module, "ASK_SECONDS", 1.0)
    git_driver = driver(tmp_path / "app")
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/acme/api.git"
    with pytest.raises(RepositoryError, match="took more than 1 seconds"):
        git_driver.latest(git_driver.remote(url))
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", f"127.0.0.1:{listener.getsockname()[1]}"], capture_output=True, text=True)
    assert left.stdout.strip() == "", left.stdout
    listener.close()


# -- the whole system ---------------------------------------------------------------------------


def scoot(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


ARCHITECTURE = """\
application tiny {{
  owner = "acme"
}}

component web {{
  {where}

  compute site {{
    command = [{python}, "-u", "server.py"]
    port    = {port}
    health  = "/"
  }}
}}
"""


def make_app(folder: Path, where: str, port: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = ARCHITECTURE.format(where=where, python=json.dumps(sys.executable), port=port)
    (folder / "architecture.sct").write_text(text, encoding="utf-8")
    return folder


def get(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        text: str = response.read().decode()
        return text


def lock(app: Path) -> dict[str, dict[str, object]]:
    data = json.loads((app / "scoot.lock").read_text(encoding="utf-8"))
    objects: dict[str, dict[str, object]] = data["targets"]["local"]["objects"]
    return objects


@pytest.fixture
def cleanup() -> Iterator[list[Path]]:
    """Applications to destroy at teardown; any process they recorded that is left is killed."""
    from tests.runtime.test_cli_runtime import app_processes, kill_leftovers, wait_until_gone

    apps: list[Path] = []
    yield apps
    for app in apps:
        pids = app_processes(app)
        CliRunner().invoke(cli, ["destroy", "--yes", str(app)])
        wait_until_gone(pids, 5)
        kill_leftovers(app, pids)


@pytest.mark.slow
def test_a_new_commit_is_planned_applied_and_served_and_pins_go_back(
    tmp_path: Path, served: Path, daemon: str, cleanup: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = Remote(served / "acme" / "tiny-web.git", tmp_path / "work")
    first = remote.commit({"server.py": SERVER, "version.txt": "one\n"}, "one")
    port = free_port()
    app = make_app(tmp_path / "tiny", f'source = "{daemon}acme/tiny-web.git"', port)
    monkeypatch.chdir(app)
    cleanup.append(app)

    applied = scoot("apply", "--yes", str(app))
    assert applied.exit_code == 0, applied.output
    assert get(port) == "one"
    assert lock(app)["web.site"]["revision"] == first
    checkouts = app / ".scoots" / "repos" / safe_name(f"{daemon}acme/tiny-web.git")
    assert (checkouts / first / "server.py").is_file()

    again = scoot("plan", "--detailed-exitcode", str(app))
    assert again.exit_code == 0, again.output  # nothing new: nothing to do

    second = remote.commit({"version.txt": "two\n"}, "two")
    planned = scoot("plan", "--detailed-exitcode", str(app))
    assert planned.exit_code == 2, planned.output
    assert "~ web.site (compute) will be updated" in planned.output
    assert f"new revision {first[:12]} → {second[:12]}" in planned.output
    assert "architecture.sct:6" in planned.output  # the line of the component's source

    applied = scoot("apply", "--yes", str(app))
    assert applied.exit_code == 0, applied.output
    assert get(port) == "two"
    assert lock(app)["web.site"]["revision"] == second
    assert (checkouts / second).is_dir() and not (checkouts / first).exists()  # pruned

    pinned = scoot("apply", "--yes", "--revision", f"web={first[:8]}", str(app))
    assert pinned.exit_code == 0, pinned.output
    assert get(port) == "one"
    assert lock(app)["web.site"]["revision"] == first

    as_json = json.loads(scoot("plan", "--json", str(app)).output)
    assert [c["keys"] for c in as_json["changes"]] == [["revision"]]
    assert as_json["changes"][0]["revision"] == {"before": first, "after": second}


@pytest.mark.slow
def test_the_naming_scheme_through_the_git_driver_and_repos(
    tmp_path: Path, served: Path, daemon: str, cleanup: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    app = make_app(tmp_path / "tiny", "", port)
    (app / "scoot.toml").write_text(f'[repositories]\ndriver = "git"\nbase_url = "{daemon}"\n', encoding="utf-8")
    monkeypatch.chdir(app)
    cleanup.append(app)

    missing = scoot("plan", str(app))
    assert missing.exit_code == 1
    assert "acme/tiny-web" in missing.output and "scoot repos create" in missing.output
    assert "set the component's `source`" in missing.output

    listed = scoot("repos", "--json", str(app))
    assert json.loads(listed.output)["repositories"] == [
        {
            "component": None,
            "architecture": True,
            "repository": f"{daemon}acme/tiny.git",
            "driver": "git",
            "exists": False,
            "latest": None,
            "problem": None,
        },
        {
            "component": "web",
            "architecture": False,
            "repository": f"{daemon}acme/tiny-web.git",
            "driver": "git",
            "exists": False,
            "latest": None,
            "problem": None,
        }
    ]
    refused = scoot("repos", "create", str(app))
    assert refused.exit_code == 1 and "cannot create" in refused.output

    remote = Remote(served / "acme" / "tiny-web.git", tmp_path / "work")
    commit = remote.commit({"server.py": SERVER, "version.txt": "scheme\n"})
    table = scoot("repos", str(app))
    assert table.exit_code == 0, table.output
    assert [f"{daemon}acme/tiny-web.git", "git", "yes", commit[:12]] in [line.split()[1:] for line in table.output.splitlines()]

    applied = scoot("apply", "--yes", str(app))
    assert applied.exit_code == 0, applied.output
    assert get(port) == "scheme"


@pytest.mark.slow
def test_apply_from_the_architecture_repository(
    tmp_path: Path, served: Path, daemon: str, cleanup: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    architecture = Remote(served / "acme" / "tiny.git", tmp_path / "architecture")
    text = ARCHITECTURE.format(where='source = "./web"', python=json.dumps(sys.executable), port=port)
    revision = architecture.commit({"architecture.sct": text, "web/server.py": SERVER, "web/version.txt": "from\n"})
    app = tmp_path / "deploy"
    app.mkdir()
    monkeypatch.chdir(app)
    cleanup.append(app)

    bad = scoot("plan", "--from", f"{daemon}acme/missing.git", str(app))
    assert bad.exit_code == 1 and "--from" in bad.output and "no repository" in bad.output

    applied = scoot("apply", "--yes", "--from", f"{daemon}acme/tiny.git", str(app))
    assert applied.exit_code == 0, applied.output
    assert f"at revision {revision[:12]}" in applied.output
    assert get(port) == "from"
    assert (app / "scoot.lock").is_file() and not (app / "architecture.sct").exists()

    listed = json.loads(scoot("repos", "--json", "--from", f"{daemon}acme/tiny.git", str(app)).stdout)
    assert [(r["component"], r["driver"], r["exists"]) for r in listed["repositories"]] == [
        (None, "git", True),  # the architecture's, where --from took it from
        ("web", "path", True),
    ]
    status = scoot("status", "--from", f"{daemon}acme/tiny.git", str(app))
    assert status.exit_code == 0 and "web.site" in status.output

    destroyed = scoot("destroy", "--yes", "--from", f"{daemon}acme/tiny.git", str(app))
    assert destroyed.exit_code == 0, destroyed.output
    assert lock(app) == {}


# -- a remote HEAD that names no branch; the architecture's repository by the scheme -----------


def bare_with_head_on_master(bare: Path, work: Path, branches: tuple[str, ...]) -> dict[str, str]:
    """A bare repository whose HEAD is `master`, with only `branches` pushed: branch → commit."""
    git("init", "--quiet", "--bare", str(bare))
    git("symbolic-ref", "HEAD", "refs/heads/master", cwd=bare)
    git("clone", "--quiet", str(bare), str(work))
    commits = {}
    for number, branch in enumerate(branches):
        git("checkout", "--quiet", "-B", branch, cwd=work)
        (work / "version.txt").write_text(f"{branch}\n", encoding="utf-8")
        git("add", "--all", cwd=work)
        git("commit", "--quiet", "-m", f"commit {number}", cwd=work)
        git("push", "--quiet", "origin", f"HEAD:{branch}", cwd=work)
        commits[branch] = git("rev-parse", "HEAD", cwd=work)
    return commits


def test_a_remote_head_naming_no_branch_falls_back_to_the_only_branch(tmp_path: Path) -> None:
    commits = bare_with_head_on_master(tmp_path / "api.git", tmp_path / "work", ("main",))
    with pytest.raises(subprocess.CalledProcessError):  # what git itself makes of it
        git("fetch", "--depth", "1", f"file://{tmp_path / 'api.git'}", "HEAD", cwd=tmp_path / "work")
    git_driver = driver(tmp_path / "app")
    repository = git_driver.remote(f"file://{tmp_path / 'api.git'}")
    assert git_driver.latest(repository) == commits["main"]
    fetched = git_driver.fetch(repository)
    assert fetched.revision == commits["main"]
    assert (fetched.path / "version.txt").read_text(encoding="utf-8") == "main\n"


def test_a_remote_head_naming_no_branch_with_several_branches_says_which_to_name(tmp_path: Path) -> None:
    commits = bare_with_head_on_master(tmp_path / "api.git", tmp_path / "work", ("main", "dev"))
    git_driver = driver(tmp_path / "app")
    url = f"file://{tmp_path / 'api.git'}"
    for ask in (git_driver.latest, git_driver.fetch):
        with pytest.raises(RepositoryError) as raised:
            ask(git_driver.remote(url))
        said = str(raised.value)
        assert "no default branch" in said and "branches: dev, main" in said
        assert f'source = "{url}#main"' in said
    assert git_driver.fetch(git_driver.remote(url, "dev")).revision == commits["dev"]


def test_the_architectures_repository_by_the_scheme_with_a_relative_base_url(tmp_path: Path) -> None:
    """`scoot repos create` makes the architecture's repository beside the components'; then
    `from = "scheme"` reads the architecture from it, and `base_url = "../remotes/"` stays
    relative to scoot.toml's folder (not to the fetched checkout) to find the component."""
    app = make_app(tmp_path / "tiny", "", free_port())
    (app / "scoot.toml").write_text('[repositories]\ndriver = "git"\nbase_url = "../remotes/"\n', encoding="utf-8")
    remotes = tmp_path / "remotes" / "acme"

    listed = json.loads(scoot("repos", "--json", str(app)).stdout)["repositories"]
    assert [(r["architecture"], r["repository"], r["exists"]) for r in listed] == [
        (True, str(remotes / "tiny.git"), False),
        (False, str(remotes / "tiny-web.git"), False),
    ]
    created = scoot("repos", "create", str(app))
    assert created.exit_code == 0, created.output
    assert f"+ (architecture): created {remotes / 'tiny.git'} (git)" in created.output
    assert (remotes / "tiny.git" / "HEAD").is_file() and (remotes / "tiny-web.git" / "HEAD").is_file()

    # Pushed to `main`, whatever the default branch of `git init` here: HEAD may name none.
    architecture = Remote(remotes / "tiny.git", tmp_path / "architecture")
    revision = architecture.commit({"architecture.sct": (app / "architecture.sct").read_text(encoding="utf-8")})
    web = Remote(remotes / "tiny-web.git", tmp_path / "web")
    web_commit = web.commit({"server.py": SERVER, "version.txt": "scheme\n"})
    (app / "architecture.sct").unlink()  # from now on, only the repository has it
    (app / "scoot.toml").write_text(
        '[architecture]\nfrom = "scheme"\n\n[repositories]\ndriver = "git"\nowner = "acme"\nbase_url = "../remotes/"\n',
        encoding="utf-8",
    )
    planned = scoot("plan", str(app))
    assert planned.exit_code == 0, planned.output
    assert f"Architecture from {remotes / 'tiny.git'} at revision {revision[:12]}" in planned.output
    assert "+ web.site (compute) will be created" in planned.output
    listed = json.loads(scoot("repos", "--json", str(app)).stdout)["repositories"]
    assert [(r["architecture"], r["exists"], r["latest"]) for r in listed] == [
        (True, True, revision[:12]),
        (False, True, web_commit[:12]),
    ]
