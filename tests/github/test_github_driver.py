"""The `github` repository driver, through PyGithub, against a local GitHub held to GitHub's REST description.

Nothing is mocked: the driver's PyGithub speaks HTTP to `github_server.FakeGitHub`
on 127.0.0.1, which validates every request and response against GitHub's
official OpenAPI description (a violation fails the test at teardown); the
repositories behind it are real git repositories, their tarballs `git archive`'s.
Every test also checks (conftest.py) that the token is in no log (all at DEBUG,
PyGithub's included), no output and no file the test made. The last tests go
through the CLI: `scoot repos`, `scoot repos create`, `apply` running a
component's source from GitHub and a new commit replacing it, `plan --from`.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from github_server import Answer, FakeGitHub
from github_testing import TOKEN, context, git_home, message

from scoot_cli import cli
from scoot_runtime.repositories import available, load
from scoot_runtime.repositories.base import Repository, RepositoryError
from scoot_runtime.repositories.github import GitHubDriver
from tests.waiting import wait_for

RATE_LIMITED = "API rate limit exceeded for user ID 1."


def rate_limit(reset_in: float) -> Answer:
    """GitHub's answer when the primary rate limit is used up, resetting `reset_in` seconds from now."""
    return Answer.error(
        403,
        RATE_LIMITED,
        headers={
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "5000",
            "x-ratelimit-resource": "core",
            "x-ratelimit-reset": str(int(time.time() + reset_in)),
        },
    )


@pytest.fixture
def web(github: FakeGitHub) -> str:
    """alice/shop-web with one commit on main: the commit."""
    github.add_repo("alice/shop-web")
    return github.commit("alice/shop-web", {"main.py": "print('v1')\n"}, message="First")


# -- the driver as a plugin, and names -------------------------------------------------------


def test_registered_under_the_entry_point_group() -> None:
    assert available()["github"] == "scoot_runtime.repositories.github:GitHubDriver"
    assert load("github") is GitHubDriver
    assert GitHubDriver.option_names >= {
        "api_url",
        "token_env",
        "private",
        "create",
        "retries",
        "max_wait",
    }


@pytest.mark.parametrize(
    "name",
    [
        "alice",
        "alice/",
        "/shop",
        "alice/../etc",
        "al ice/shop",
        "-alice/shop",
        "alice/shop/x",
        "alice/..",
    ],
)
def test_names_that_cannot_be_repositories_are_refused_before_any_request(
    github: FakeGitHub, driver: GitHubDriver, name: str
) -> None:
    with pytest.raises(RepositoryError, match="is not a repository name"):
        driver.repository(name)
    for call in (driver.exists, driver.latest, driver.fetch):
        with pytest.raises(RepositoryError, match="is not a repository name"):
            call(Repository("github", name))
    assert github.requests == []


@pytest.mark.parametrize(
    "ref", ["../main", "-x", "a..b", "feature//x", "main/", "a b", "refs@{1}", ""]
)
def test_refs_that_git_could_not_have_are_refused_before_any_request(
    github: FakeGitHub, driver: GitHubDriver, ref: str
) -> None:
    with pytest.raises(RepositoryError, match="is not a branch, tag or commit"):
        driver.repository("alice/shop-web", ref)
    with pytest.raises(RepositoryError, match="is not a branch, tag or commit"):
        driver.fetch(Repository("github", "alice/shop-web"), ref or "-")
    assert github.requests == []


@pytest.mark.parametrize(
    ("options", "wrong"),
    [
        ({"api_url": "ftp://example.com"}, "api_url"),
        ({"token_env": "NOT A NAME"}, "token_env"),
        ({"private": "yes"}, "private"),
        ({"retries": 99}, "retries"),
        ({"max_wait": -1}, "max_wait"),
    ],
)
def test_wrong_options_say_which(
    github: FakeGitHub, workspace: Path, options: dict[str, object], wrong: str
) -> None:
    with pytest.raises(RepositoryError, match=f"option `{wrong}` of \\[repositories\\]"):
        GitHubDriver(
            replace(context(github, workspace), options={"api_url": github.url, **options})
        )


# -- exists, latest ---------------------------------------------------------------------------


def test_exists_and_missing(github: FakeGitHub, driver: GitHubDriver, web: str) -> None:
    assert driver.exists(driver.repository("alice/shop-web"))
    assert driver.exists(driver.repository("Alice/Shop-Web"))  # GitHub's names ignore case
    assert not driver.exists(driver.repository("alice/shop-nothing"))
    assert ("GET", "/repos/alice/shop-nothing") in github.requests


def test_latest_follows_the_default_branch_or_the_ref(
    github: FakeGitHub, driver: GitHubDriver, web: str
) -> None:
    repository = driver.repository("alice/shop-web")
    assert driver.latest(repository) == web
    tagged = web
    github.tag("alice/shop-web", "v1", tagged)
    dev = github.commit("alice/shop-web", {"main.py": "print('dev')\n"}, branch="dev")
    second = github.commit("alice/shop-web", {"main.py": "print('v2')\n"}, branch="main")
    assert driver.latest(repository) == second
    assert driver.latest(driver.repository("alice/shop-web", "v1")) == tagged
    assert driver.latest(driver.repository("alice/shop-web", "dev")) == dev
    assert driver.latest(driver.repository("alice/shop-web", dev[:7])) == dev


def test_latest_of_a_missing_ref_or_repository_says_which(driver: GitHubDriver, web: str) -> None:
    with pytest.raises(RepositoryError) as error:
        driver.latest(driver.repository("alice/shop-web", "no-such-branch"))
    assert "alice/shop-web has no branch, tag or commit `no-such-branch`" in message(error)
    with pytest.raises(RepositoryError) as error:
        driver.latest(driver.repository("alice/shop-gone"))
    assert "no repository alice/shop-gone on http://127.0.0.1:" in message(error)
    assert "(or the token cannot see it)" in message(error)
    with pytest.raises(RepositoryError) as error:
        driver.latest(driver.repository("alice/shop-gone", "main"))
    assert "no repository alice/shop-gone" in message(error)


# -- create ---------------------------------------------------------------------------------


def test_create_in_the_users_own_account_is_private(
    github: FakeGitHub, driver: GitHubDriver
) -> None:
    repository = driver.repository("alice/shop-new")
    assert not driver.exists(repository)
    driver.create(repository)
    assert ("POST", "/user/repos") in github.requests
    assert github.bodies == [{"name": "shop-new", "private": True}]
    assert github.repos[("alice", "shop-new")].private
    assert driver.exists(repository)
    with pytest.raises(RepositoryError) as error:
        driver.latest(repository)  # GitHub answers 409 for a repository without commits
    assert "alice/shop-new has no commits yet: push its source to it" in message(error)


def test_create_in_an_organisation(github: FakeGitHub, workspace: Path) -> None:
    driver = GitHubDriver(context(github, workspace, private=False))
    driver.create(driver.repository("acme/architecture"))
    driver.create(driver.repository("acme/web"), private=True)  # the option says public: it wins
    assert [r for r in github.requests if r[0] == "POST"] == [
        ("POST", "/orgs/acme/repos"),
        ("POST", "/orgs/acme/repos"),
    ]
    assert github.bodies == [
        {"name": "architecture", "private": False},
        {"name": "web", "private": False},
    ]
    assert github.calls("GET", "/user") == 1  # who the token is, asked once
    assert github.repos[("acme", "architecture")].organisation


def test_creating_a_repository_that_is_there_already_is_quiet(
    github: FakeGitHub, driver: GitHubDriver, web: str
) -> None:
    driver.create(driver.repository("alice/shop-web"))  # 422 from GitHub, then: it exists
    assert github.calls("POST", "/user/repos") == 1


def test_create_can_be_turned_off(github: FakeGitHub, workspace: Path) -> None:
    driver = GitHubDriver(context(github, workspace, create=False))
    with pytest.raises(RepositoryError) as error:
        driver.create(driver.repository("alice/shop-new"))
    assert "creating repositories is turned off (`create = false`" in message(error)
    assert github.requests == []


# -- fetch ------------------------------------------------------------------------------------


def test_fetch_unpacks_the_commit_and_it_runs_from_there(
    github: FakeGitHub, driver: GitHubDriver, workspace: Path
) -> None:
    github.add_repo("alice/shop-web")
    first = github.commit(
        "alice/shop-web",
        {
            "main.py": "from pathlib import Path\nprint(Path('data/message.txt').read_text().strip())\n",
            "data/message.txt": "version one\n",
            "bin/serve": "#!/bin/sh\necho served\n",
        },
        executable=["bin/serve"],
        symlinks={"message": "data/message.txt"},
    )
    repository = driver.repository("alice/shop-web")
    fetched = driver.fetch(repository)
    assert fetched.revision == first
    assert fetched.repository == repository
    assert fetched.path == workspace / "repos" / "github" / "alice" / "shop-web" / first
    assert sorted(p.name for p in fetched.path.iterdir()) == ["bin", "data", "main.py", "message"]
    ran = subprocess.run(
        [sys.executable, "main.py"], cwd=fetched.path, capture_output=True, text=True, check=True
    )
    assert ran.stdout == "version one\n"
    assert (
        subprocess.run(
            ["./bin/serve"], cwd=fetched.path, capture_output=True, text=True, check=True
        ).stdout
        == "served\n"
    )
    assert os.readlink(fetched.path / "message") == "data/message.txt"
    assert not list(fetched.path.parent.glob(".*"))  # no partial unpacking left behind

    # The same revision again: nothing is asked of GitHub.
    before = len(github.requests)
    assert driver.fetch(repository, first) == fetched
    assert len(github.requests) == before

    # A new commit is a new folder beside the old one.
    second = github.commit("alice/shop-web", {"data/message.txt": "version two\n"})
    newer = driver.fetch(repository)
    assert newer.revision == second and newer.path.name == second
    ran = subprocess.run(
        [sys.executable, "main.py"], cwd=newer.path, capture_output=True, text=True, check=True
    )
    assert ran.stdout == "version two\n"
    assert (fetched.path / "data" / "message.txt").read_text() == "version one\n"

    # A revision by a short sha or a branch is resolved to its commit.
    assert driver.fetch(repository, first[:8]).path == fetched.path
    assert driver.fetch(repository, "main").path == newer.path


def test_prune_keeps_what_runs_and_removes_the_rest(
    github: FakeGitHub, driver: GitHubDriver, workspace: Path, web: str
) -> None:
    repository = driver.repository("alice/shop-web")
    second = github.commit("alice/shop-web", {"main.py": "print('v2')\n"})
    third = github.commit("alice/shop-web", {"main.py": "print('v3')\n"})
    for commit in (web, second, third):
        driver.fetch(repository, commit)
    folder = workspace / "repos" / "github" / "alice" / "shop-web"
    crashed = folder / f".{web[:12]}.abcd.partial"
    crashed.mkdir()
    os.utime(crashed, (time.time() - 7200, time.time() - 7200))
    in_progress = folder / f".{second[:12]}.efgh.partial"
    in_progress.mkdir()
    driver.prune(repository, {web, third})
    assert sorted(p.name for p in folder.iterdir()) == sorted([web, third, in_progress.name])
    driver.prune(driver.repository("alice/never-fetched"), set())  # nothing there: nothing to do


def test_the_archive_links_token_is_masked_in_the_http_libraries_logs(
    github: FakeGitHub, driver: GitHubDriver, caplog: pytest.LogCaptureFixture
) -> None:
    """GitHub's archive link carries its own short-lived token; urllib3 and PyGithub log
    links at DEBUG: the logs show `token=***`."""
    github.add_repo("alice/shop-web")
    github.commit("alice/shop-web", {"main.py": "print('hi')\n"})
    caplog.set_level(logging.DEBUG)
    driver.fetch(driver.repository("alice/shop-web"))
    tokens = set(github._codeload_tokens)
    assert tokens, "the server handed out an archive link"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "token=***" in logged
    assert not [token for token in tokens if token in logged]


def test_fetches_of_one_commit_at_once_make_one_folder(
    github: FakeGitHub, workspace: Path, web: str
) -> None:
    drivers = [GitHubDriver(context(github, workspace)) for _ in range(4)]
    results: list[Path] = []
    errors: list[BaseException] = []

    def fetch(driver: GitHubDriver) -> None:
        try:
            results.append(driver.fetch(driver.repository("alice/shop-web"), web).path)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=fetch, args=(driver,)) for driver in drivers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    folder = workspace / "repos" / "github" / "alice" / "shop-web"
    assert results == [folder / web] * 4
    assert [p.name for p in folder.iterdir()] == [web]  # no partial unpacking left
    assert (folder / web / "main.py").read_text() == "print('v1')\n"


def test_the_token_goes_to_the_api_only(
    github: FakeGitHub, driver: GitHubDriver, web: str, caplog: pytest.LogCaptureFixture
) -> None:
    driver.fetch(driver.repository("alice/shop-web"))
    downloads = [path for method, path in github.requests if path.startswith("/_codeload/")]
    assert len(downloads) == 1  # and the server records a violation if it carried the token
    # PyGithub's debug log (every request, with its headers) is captured, masked: the
    # search for the token in the logs after each test reads these.
    logged = [r.getMessage() for r in caplog.records if r.name == "github.Requester"]
    assert logged and all("'Authorization': 'token (oauth token removed)'" in m for m in logged)


def _tarball(entries: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return gzip.compress(raw.getvalue())


def _entry(
    name: str, kind: bytes = tarfile.REGTYPE, link: str = ""
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o644
    return info, b"pwned\n"


UNSAFE = {
    "parent path": [_entry("top/"), _entry("top/../../escaped.txt")],
    "absolute path": [_entry("/tmp/scoot-escaped.txt")],
    "link outside": [_entry("top/"), _entry("top/passwd", tarfile.SYMTYPE, "/etc/passwd")],
    "link up": [_entry("top/"), _entry("top/up", tarfile.SYMTYPE, "../../..")],
    "hard link": [_entry("top/"), _entry("top/a"), _entry("top/b", tarfile.LNKTYPE, "top/a")],
    "device": [_entry("top/"), _entry("top/null", tarfile.CHRTYPE)],
    "two folders": [_entry("top/a"), _entry("other/b")],
}


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_unsafe_archives_are_refused_and_leave_nothing(
    github: FakeGitHub, driver: GitHubDriver, workspace: Path, web: str, case: str
) -> None:
    github.repos[("alice", "shop-web")].archives[web] = _tarball(UNSAFE[case])
    with pytest.raises(RepositoryError) as error:
        driver.fetch(driver.repository("alice/shop-web"), web)
    assert f"refusing the archive of alice/shop-web at {web}" in message(error)
    folder = workspace / "repos" / "github" / "alice" / "shop-web"
    assert list(folder.iterdir()) == []
    assert not list(workspace.parent.parent.rglob("escaped.txt"))
    assert not Path("/tmp/scoot-escaped.txt").exists()


def test_an_archive_of_another_commit_is_refused(
    github: FakeGitHub, driver: GitHubDriver, web: str
) -> None:
    other = github.commit("alice/shop-web", {"main.py": "print('v2')\n"})
    git = github.repos[("alice", "shop-web")].git
    archive = subprocess.run(
        ["git", "archive", "--format=tar.gz", "--prefix=top/", other],
        cwd=git,
        capture_output=True,
        check=True,
    ).stdout
    github.repos[("alice", "shop-web")].archives[web] = archive
    with pytest.raises(RepositoryError) as error:
        driver.fetch(driver.repository("alice/shop-web"), web)
    assert f"it holds commit {other}, not {web}" in message(error)


# -- the token ----------------------------------------------------------------------------------


def test_a_refused_token_says_what_to_do(github: FakeGitHub, workspace: Path) -> None:
    wrong = GitHubDriver(context(github, workspace, environ={"GITHUB_TOKEN": "ghp_" + "0" * 36}))
    # GitHub answers 401 to any call with a bad token; its description declares the 401 on a
    # few endpoints only, so it is provoked on one of them: `GET /user`, the first call of create.
    with pytest.raises(RepositoryError) as error:
        wrong.create(wrong.repository("alice/shop-new"))
    text = message(error)
    assert "GitHub refused the token in $GITHUB_TOKEN (401: Bad credentials)" in text
    assert "set GITHUB_TOKEN to a valid token" in text
    assert "0" * 36 not in text
    assert github.requests == [("GET", "/user")]


def test_token_env_names_the_variable(github: FakeGitHub, workspace: Path, web: str) -> None:
    driver = GitHubDriver(
        context(
            github,
            workspace,
            environ={"MY_TOKEN": TOKEN, "GITHUB_TOKEN": "wrong"},
            token_env="MY_TOKEN",
        )
    )
    assert driver.exists(driver.repository("alice/shop-web"))
    fallback = GitHubDriver(context(github, workspace, environ={"GH_TOKEN": TOKEN}))
    assert fallback.exists(fallback.repository("alice/shop-web"))


def test_no_token_anywhere_says_where_to_put_one(
    github: FakeGitHub, workspace: Path, tmp_path: Path
) -> None:
    driver = GitHubDriver(context(github, workspace, environ=git_home(tmp_path)))
    with pytest.raises(RepositoryError) as error:
        driver.exists(driver.repository("alice/shop-web"))
    text = message(error)
    assert "no GitHub token: set GITHUB_TOKEN or GH_TOKEN" in text
    assert f"git's credential helper for 127.0.0.1:{github.port}" in text
    assert github.requests == []


def test_the_token_from_gits_credential_helper(
    github: FakeGitHub, workspace: Path, tmp_path: Path, web: str
) -> None:
    # A helper configured through the environment (nothing written to a file), answering
    # for this host only, from a variable: as a keychain would, without the test writing the token.
    environ = {
        **git_home(tmp_path),
        "HELPER_SECRET": TOKEN,
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"credential.http://127.0.0.1:{github.port}.helper",
        "GIT_CONFIG_VALUE_0": '!f() { test "$1" = get && echo username=x-access-token && echo "password=$HELPER_SECRET"; }; f',
    }
    driver = GitHubDriver(context(github, workspace, environ=environ))
    assert driver.exists(driver.repository("alice/shop-web"))
    assert driver.fetch(driver.repository("alice/shop-web")).revision == web

    other_host = {**environ, "GIT_CONFIG_KEY_0": "credential.https://github.com.helper"}
    nobody = GitHubDriver(context(github, workspace, environ=other_host))
    with pytest.raises(RepositoryError, match="no GitHub token"):
        nobody.exists(nobody.repository("alice/shop-web"))


# -- rate limits, server errors, the network ----------------------------------------------------


def test_a_rate_limit_that_resets_soon_is_waited_for(
    github: FakeGitHub, driver: GitHubDriver, web: str
) -> None:
    github.inject("GET", "/repos/alice/shop-web", rate_limit(reset_in=1))
    started = time.monotonic()
    assert driver.exists(driver.repository("alice/shop-web"))
    assert time.monotonic() - started >= 1.0
    assert github.calls("GET", "/repos/alice/shop-web") == 2


def test_a_rate_limit_that_resets_in_an_hour_is_reported_with_when(
    github: FakeGitHub, driver: GitHubDriver, web: str
) -> None:
    github.inject("GET", "/repos/alice/shop-web", rate_limit(reset_in=3600))
    started = time.monotonic()
    with pytest.raises(RepositoryError) as error:
        driver.exists(driver.repository("alice/shop-web"))
    assert time.monotonic() - started < 5
    text = message(error)
    assert "GitHub's API rate limit for this token is used up (403); it resets at" in text
    assert "UTC (in 60 min). Try again then, or raise `max_wait`" in text
    assert github.calls("GET", "/repos/alice/shop-web") == 1


def test_a_secondary_rate_limit_is_waited_for_as_retry_after_says(
    github: FakeGitHub, driver: GitHubDriver, web: str
) -> None:
    answer = Answer.error(
        403,
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        headers={"retry-after": "1"},
    )
    github.inject("GET", "/repos/alice/shop-web", answer)
    assert driver.exists(driver.repository("alice/shop-web"))
    assert github.calls("GET", "/repos/alice/shop-web") == 2


def test_rate_limits_are_retried_a_bounded_number_of_times(
    github: FakeGitHub, workspace: Path, web: str
) -> None:
    driver = GitHubDriver(context(github, workspace, retries=1))
    github.inject("GET", "/repos/alice/shop-web", rate_limit(reset_in=0), times=5)
    with pytest.raises(RepositoryError) as error:
        driver.exists(driver.repository("alice/shop-web"))
    assert f"GitHub kept failing (403: {RATE_LIMITED}) after 2 tries" in message(error)
    assert github.calls("GET", "/repos/alice/shop-web") == 2


def test_server_errors_are_retried(github: FakeGitHub, driver: GitHubDriver, web: str) -> None:
    unavailable = Answer.json(
        503,
        {
            "code": "unavailable",
            "message": "Service unavailable",
            "documentation_url": "https://docs.github.com/rest",
        },
    )
    github.inject("GET", "/repos/alice/shop-web/commits/main", unavailable)
    assert driver.latest(driver.repository("alice/shop-web")) == web
    assert github.calls("GET", "/repos/alice/shop-web/commits/main") == 2


def test_a_network_failure_is_retried_then_reported(
    github: FakeGitHub, workspace: Path, web: str
) -> None:
    driver = GitHubDriver(context(github, workspace, retries=2))
    github.stop()
    started = time.monotonic()
    with pytest.raises(RepositoryError) as error:
        driver.exists(driver.repository("alice/shop-web"))
    assert time.monotonic() - started >= 1.5  # backed off 0.5 s, then 1 s
    assert message(error) == (
        f"cannot reach http://127.0.0.1:{github.port}: connection refused (tried 3 times). "
        "Check the network, and `api_url` in [repositories] of scoot.toml"
    )
    github.start()  # for the teardown's checks


def test_a_network_failure_that_passes_is_only_a_delay(
    github: FakeGitHub, driver: GitHubDriver, web: str
) -> None:
    github.stop()
    restart = threading.Timer(0.2, github.start)
    restart.start()
    try:
        assert driver.exists(driver.repository("alice/shop-web"))
    finally:
        restart.join()


# -- the server's own checks can fail -------------------------------------------------------------


def test_a_response_github_would_not_send_is_caught(
    github: FakeGitHub, driver: GitHubDriver, web: str
) -> None:
    github.inject("GET", "/repos/alice/shop-web", Answer.json(200, {"name": "shop-web"}))
    driver.exists(driver.repository("alice/shop-web"))
    assert len(github.violations) == 1
    assert github.violations[0].startswith("response 200 to GET /repos/alice/shop-web")
    assert "is a required property" in github.violations[0]
    github.violations.clear()


def test_a_request_github_would_refuse_is_caught(github: FakeGitHub) -> None:
    def send(request: urllib.request.Request) -> None:
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except urllib.error.HTTPError as answer:
            answer.close()

    send(
        urllib.request.Request(
            f"{github.url}/user/repos",
            data=json.dumps({"name": 7, "private": "very"}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"token {TOKEN}"},
            method="POST",
        )
    )
    send(
        urllib.request.Request(
            f"{github.url}/repos/alice/shop-web/no-such-endpoint",
            headers={"Authorization": f"token {TOKEN}"},
        )
    )
    assert any(v.startswith("request POST /user/repos: ") for v in github.violations)
    assert any(
        v.startswith("request GET /repos/alice/shop-web/no-such-endpoint: ")
        for v in github.violations
    )
    github.violations.clear()


# -- through the CLI ------------------------------------------------------------------------------

ARCHITECTURE = """\
application shop {{
  owner = "alice"
}}

component api {{
  compute web {{
    command = [{python}, "main.py", {out}]
  }}
}}
"""

MAIN = """\
import os, sys, time
with open(sys.argv[1], "a") as out:
    out.write(os.getcwd() + " {version}\\n")
time.sleep(600)
"""


def test_scoot_finds_creates_and_runs_components_from_github(
    github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    ran = tmp_path / "ran.txt"
    (root / "architecture.sct").write_text(
        ARCHITECTURE.format(python=json.dumps(sys.executable), out=json.dumps(str(ran))),
        encoding="utf-8",
    )
    (root / "scoot.toml").write_text(
        f'[repositories]\ndriver = "github"\napi_url = "{github.url}"\n', encoding="utf-8"
    )
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    outputs: list[str] = []

    def scoot(*args: str) -> str:
        result = CliRunner().invoke(cli, [*args, str(root)], catch_exceptions=False)
        outputs.append(result.output)
        assert result.exit_code == 0, result.output
        return result.output

    def lines() -> list[str]:
        return ran.read_text().splitlines() if ran.exists() else []

    assert "alice/shop-api  github  no" in scoot("repos")
    created = scoot("repos", "create")
    assert "+ (architecture): created alice/shop (github)" in created  # the architecture's own, too
    assert "+ api: created alice/shop-api (github)" in created
    assert github.bodies == [{"name": "shop", "private": True}, {"name": "shop-api", "private": True}]

    first = github.commit("alice/shop-api", {"main.py": MAIN.format(version="v1")})
    assert f"alice/shop-api  github  yes     {first[:12]}" in scoot("repos")
    try:
        scoot("apply", "--yes")
        wait_for(lambda: len(lines()) == 1, 15)
        folder = root / ".scoots" / "repos" / "github" / "alice" / "shop-api"
        assert lines() == [f"{folder / first} v1"]

        second = github.commit("alice/shop-api", {"main.py": MAIN.format(version="v2")})
        assert "api.web (compute) will be updated" in scoot("plan")
        scoot("apply", "--yes")
        wait_for(lambda: len(lines()) == 2, 15)
        assert lines()[1] == f"{folder / second} v2"
    finally:
        scoot("destroy", "--yes")
    assert all(TOKEN not in output for output in outputs)


def test_the_architecture_read_from_its_github_repository(
    github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    github.add_repo("alice/shop")
    architecture = ARCHITECTURE.format(python=json.dumps(sys.executable), out='"ran.txt"')
    commit = github.commit("alice/shop", {"architecture.sct": architecture})
    github.add_repo("alice/shop-api")
    github.commit("alice/shop-api", {"main.py": MAIN.format(version="v1")})
    root = tmp_path / "shop"
    root.mkdir()
    (root / "scoot.toml").write_text(
        f'[repositories]\ndriver = "github"\napi_url = "{github.url}"\n', encoding="utf-8"
    )
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    result = CliRunner().invoke(
        cli, ["plan", "--from", "alice/shop", str(root)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "api.web (compute) will be created" in result.output
    assert TOKEN not in result.output
    assert (
        root / ".scoots" / "repos" / "github" / "alice" / "shop" / commit / "architecture.sct"
    ).is_file()

    # Written once in scoot.toml: the scheme's alice/shop (the folder names the application).
    (root / "scoot.toml").write_text(
        '[architecture]\nfrom = "scheme"\n\n'
        f'[repositories]\ndriver = "github"\nowner = "alice"\napi_url = "{github.url}"\n',
        encoding="utf-8",
    )
    configured = CliRunner().invoke(cli, ["plan", str(root)], catch_exceptions=False)
    assert configured.exit_code == 0, configured.output
    assert f"Architecture from alice/shop at revision {commit[:12]}" in configured.output
    assert "api.web (compute) will be created" in configured.output
