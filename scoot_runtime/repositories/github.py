"""The `github` repository driver: repositories on GitHub (or GitHub Enterprise Server), through PyGithub.

    [repositories]
    driver = "github"
    # api_url = "https://github.example.com/api/v3"   # GitHub Enterprise Server
    # token_env = "SCOOT_GITHUB_TOKEN"                 # default: GITHUB_TOKEN, then GH_TOKEN

The token comes from the environment, or else from git's credential helper
(`git credential fill` for the API's host, as `gh auth login` sets up). It lives
in memory only: it is never written to a file, a log or an error message, and
it is sent to `api_url` only: the archive of a revision is downloaded from the
temporary link the API answers with, without it.

A revision is fetched as GitHub's tarball of the commit, unpacked into
`.scoots/repos/github/<owner>/<name>/<commit>/`. The tarball rather than `git`
over https: one request through the API (so the same token, rate-limit handling
and errors as every other call, and no token to hand to another program), no
`git` needed on the machine, and no history to download. What it cannot give:
submodules and Git LFS files (the tarball holds their pointers only); a source
that needs them can be named by a git URL, which the `git` driver fetches.

Rate limits (403 or 429 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`,
or `retry-after`) are waited for when the wait is short (`max_wait`), and
reported with the time they reset when it is not; network errors and GitHub's
5xx answers are retried with backoff (`retries`), then reported.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeVar
from urllib.parse import urljoin, urlsplit

import requests
from github import Auth, Github, GithubException
from requests.auth import AuthBase

from scoot_runtime.files import errors_naming
from scoot_runtime.repositories import locations, naming
from scoot_runtime.repositories.base import (
    COMMIT,
    REPOS,
    Fetched,
    Repository,
    RepositoryContext,
    RepositoryDriver,
    RepositoryError,
    prune_checkouts,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")
REQUEST_TIMEOUT = 30  # seconds, for one request to the API or one archive download
CREDENTIAL_TIMEOUT = 30  # seconds for `git credential fill` (a helper may unlock a keychain)
SECONDARY_RATE_LIMIT_WAIT = 60.0  # GitHub's advice when a secondary limit gives no time
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class GitHubOptions:
    """The `[repositories]` options of the github driver."""

    api_url: str = DEFAULT_API_URL
    token_env: str | None = (
        None  # the variable holding the token; default GITHUB_TOKEN, then GH_TOKEN
    )
    private: bool = True  # `false`: repositories are created public
    create: bool = True  # `false`: `create` refuses (the token may, the project should not)
    retries: int = 3  # retries of a request after a network error, a 5xx or a rate limit
    max_wait: float = 60.0  # longest wait for a rate limit to reset before reporting it instead

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> GitHubOptions:
        def wrong(name: str, what: str) -> RepositoryError:
            return RepositoryError(
                f"option `{name}` of [repositories] in scoot.toml must be {what}, not {options[name]!r}"
            )

        api_url = options.get("api_url", DEFAULT_API_URL)
        if (
            not isinstance(api_url, str)
            or urlsplit(api_url).scheme not in {"http", "https"}
            or not urlsplit(api_url).hostname
        ):
            raise wrong("api_url", "the URL of GitHub's REST API, like https://api.github.com")
        token_env = options.get("token_env")
        if token_env is not None and not (
            isinstance(token_env, str) and _VARIABLE.fullmatch(token_env)
        ):
            raise wrong("token_env", "the name of an environment variable")
        for flag in ("private", "create"):
            if not isinstance(options.get(flag, True), bool):
                raise wrong(flag, "true or false")
        retries = options.get("retries", 3)
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
            raise wrong("retries", "a whole number from 0 to 10")
        max_wait = options.get("max_wait", 60.0)
        if isinstance(max_wait, bool) or not isinstance(max_wait, int | float) or max_wait < 0:
            raise wrong("max_wait", "a number of seconds")
        return cls(
            api_url=api_url.rstrip("/"),
            token_env=token_env,
            private=options.get("private", True),
            create=options.get("create", True),
            retries=retries,
            max_wait=float(max_wait),
        )


class _Transient(Exception):
    """A failure worth another try: a network error, a 5xx, a rate limit that resets soon."""

    def __init__(self, wait: float | None) -> None:
        self.wait = wait  # None: back off as usual


class GitHubDriver(RepositoryDriver):
    """Repositories `owner/name` on GitHub, fetched as tarballs of their commits."""

    name = "github"
    option_names = frozenset({"api_url", "token_env", "private", "create", "retries", "max_wait"})

    def __init__(self, context: RepositoryContext) -> None:
        super().__init__(context)
        self.options = GitHubOptions.parse(context.options)
        # Scoot's own environment, under what the runtime gives (as the git driver reads it).
        self._environ = {**os.environ, **context.environ}
        self._client: Github | None = None
        self._token_source = ""  # where the token came from, for messages (never the token)
        self._login: str | None = None
        # GitHub asks clients to send one request at a time; the runtime calls from worker threads.
        self._lock = threading.Lock()

    # -- the interface ---------------------------------------------------------------

    def repository(self, name: str, ref: str | None = None) -> Repository:
        naming.split(name)
        if ref is not None:
            locations.check_ref(ref, f"`{ref}` of {name}")
        return Repository(self.name, name, ref)

    def exists(self, repository: Repository) -> bool:
        full = self._full_name(repository)

        def call() -> bool:
            try:
                self._github().get_repo(full).default_branch  # noqa: B018 (the attribute is the request)
            except GithubException as exc:
                if exc.status == 404:
                    return False
                raise
            return True

        return self._request(call, repository)

    def latest(self, repository: Repository) -> str:
        full = self._full_name(repository)

        def call() -> str:
            repo = self._github().get_repo(full)
            ref = repository.ref or repo.default_branch
            try:
                # Lazily made, the commit is asked for when its data is read.
                return str(repo.get_commit(ref).raw_data["sha"])
            except GithubException as exc:
                if exc.status == 409:
                    raise RepositoryError(
                        f"{full} has no commits yet: push its source to it, then try again"
                    ) from None
                if exc.status in {404, 422} and repository.ref:
                    raise _NoRef() from None
                raise

        try:
            return self._request(call, repository)
        except _NoRef:
            if not self.exists(repository):
                raise RepositoryError(self._not_found(full)) from None
            raise RepositoryError(
                f"{full} has no branch, tag or commit `{repository.ref}`: push it, or name another"
            ) from None

    def create(self, repository: Repository, *, private: bool = True) -> None:
        owner, name = naming.split(repository.name)
        if not self.options.create:
            raise RepositoryError(
                f"{repository.name} is missing and creating repositories is turned off "
                "(`create = false` in [repositories] of scoot.toml): create it on GitHub yourself"
            )
        private = private and self.options.private

        def call() -> None:
            github = self._github()
            mine = (self._authenticated_login() or "").lower() == owner.lower()
            try:
                if mine:
                    github.get_user().create_repo(name, private=private)
                else:
                    github.get_organization(owner).create_repo(name, private=private)
            except GithubException as exc:
                if exc.status == 422:
                    raise _Refused(_message(exc)) from None
                if exc.status in {403, 404} and not mine and not _rate_limited(exc):
                    raise RepositoryError(
                        f"cannot create {repository.name}: {owner} is not the token's own account "
                        f"({self._login or 'unknown'}) and GitHub refused to create it in an organisation "
                        f"{owner} ({exc.status}: {_message(exc)}). Use a token that may create "
                        "repositories there, or create it yourself"
                    ) from None
                raise

        try:
            self._request(call, repository)
        except _Refused as refused:
            if self.exists(repository):
                return  # there already (made by a try whose answer was lost, or by someone else)
            raise RepositoryError(
                f"GitHub refused to create {repository.name}: {refused}"
            ) from None
        log.info(
            "created the %s repository %s on %s",
            "private" if private else "public",
            repository.name,
            self.options.api_url,
        )

    def fetch(self, repository: Repository, revision: str | None = None) -> Fetched:
        owner, name = naming.split(repository.name)
        if revision is not None and COMMIT.fullmatch(revision):
            commit = revision
        else:
            if revision is not None:
                locations.check_ref(revision, f"`{revision}` of {repository.name}")
                commit = self.latest(Repository(repository.driver, repository.name, revision))
            else:
                commit = self.latest(repository)
        target = self.context.workspace / REPOS / "github" / owner / name / commit
        if target.is_dir():
            return Fetched(repository, commit, target)

        full = f"{owner}/{name}"

        def archive_link() -> str:
            try:
                return self._github().get_repo(full).get_archive_link("tarball", commit)
            except GithubException as exc:
                if exc.status == 404:
                    raise _NoRef() from None
                raise

        try:
            link = self._request(archive_link, repository)
        except _NoRef:
            if not self.exists(repository):
                raise RepositoryError(self._not_found(full)) from None
            raise RepositoryError(
                f"{full} has no commit {commit}: push it, or name another"
            ) from None
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=target.parent) as archive:
            self._request(
                lambda: _download(urljoin(self.options.api_url + "/", link), archive, target.parent),
                repository,
            )
            _install(archive, commit, target, full)
        log.info("fetched %s at %s into %s", full, commit, target)
        return Fetched(repository, commit, target)

    def prune(self, repository: Repository, keep: Collection[str]) -> None:
        """Remove the unpacked revisions not in `keep`, and unpacking that a crash left half done."""
        owner, name = naming.split(repository.name)
        folder = self.context.workspace / REPOS / "github" / owner / name
        if not folder.is_dir():
            return
        prune_checkouts(folder, keep, lambda name: name.endswith(".partial"))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- the client and its token ------------------------------------------------------

    def _github(self) -> Github:
        if self._client is None:
            token = self._token()
            self._client = Github(
                auth=Auth.Token(token),
                base_url=self.options.api_url,
                timeout=REQUEST_TIMEOUT,
                user_agent="scoot",
                retry=None,  # retries are ours: bounded, and a far rate-limit reset is reported, not slept through
                seconds_between_requests=None,  # requests are serialised by self._lock
                lazy=True,  # an object is fetched when one of its attributes is read, not when it is named
            )
        return self._client

    def _token(self) -> str:
        names = (self.options.token_env,) if self.options.token_env else DEFAULT_TOKEN_VARIABLES
        for variable in names:
            value = self._environ.get(variable, "").strip()
            if value:
                self._token_source = f"the token in ${variable}"
                return value
        protocol, host = self._credential_host()
        token = _credential_fill(protocol, host, self._environ)
        if token:
            self._token_source = f"the token git's credential helper has for {host}"
            return token
        raise RepositoryError(
            f"no GitHub token: set {' or '.join(names)} to a token that can read (and, to create "
            f"repositories, create) them, or store one in git's credential helper for {host} "
            "(`gh auth login` does)"
        )

    def _credential_host(self) -> tuple[str, str]:
        """The protocol and host git's credential helper knows the token under: github.com, not api.github.com."""
        url = urlsplit(self.options.api_url)
        host = url.hostname or ""
        if host.startswith("api."):
            host = host[len("api.") :]
        if url.port is not None:
            host = f"{host}:{url.port}"
        return url.scheme, host

    def _authenticated_login(self) -> str | None:
        """The token's own account (`GET /user`), or None for a token that has none (a GitHub App's)."""
        if self._login is None:
            try:
                self._login = self._github().get_user().login
            except GithubException as exc:
                if exc.status == 403 and not _rate_limited(exc):
                    return None
                raise
        return self._login

    # -- requests, retries and errors ----------------------------------------------

    def _full_name(self, repository: Repository) -> str:
        owner, name = naming.split(repository.name)
        return f"{owner}/{name}"

    def _request(self, call: Callable[[], T], repository: Repository) -> T:
        """`call` (which talks to GitHub), retried on what is worth retrying, errors told in GitHub's terms."""
        attempts = self.options.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                try:
                    with self._lock:
                        return call()
                except GithubException as exc:
                    raise self._github_error(exc, repository) from exc
                except requests.HTTPError as exc:  # the archive download
                    status = exc.response.status_code if exc.response is not None else 0
                    if status >= 500:
                        raise _Transient(None) from None
                    raise RepositoryError(
                        f"downloading the archive of {repository.name} failed: {status} "
                        f"{exc.response.reason if exc.response is not None else ''}".rstrip()
                    ) from None
                except (requests.ConnectionError, requests.Timeout) as exc:
                    if attempt == attempts:
                        raise RepositoryError(
                            f"cannot reach {self._host_of(exc)}: {_reason(exc)} (tried {attempts} "
                            "times). Check the network, and `api_url` in [repositories] of scoot.toml"
                        ) from None
                    raise _Transient(None) from exc
            except _Transient as transient:
                if attempt == attempts:
                    cause = transient.__cause__
                    raise RepositoryError(
                        f"GitHub kept failing ({_describe(cause)}) after {attempts} tries: try again later"
                    ) from None
                wait = (
                    transient.wait
                    if transient.wait is not None
                    else min(0.5 * 2 ** (attempt - 1), 8.0)
                )
                log.warning(
                    "GitHub: %s; trying again in %.1f s", _describe(transient.__cause__), wait
                )
                time.sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _host_of(self, exc: requests.RequestException) -> str:
        """`api_url`, or the host of the archive link when that was the one out of reach."""
        raw = exc.request.url if exc.request is not None else None
        url = urlsplit(raw) if isinstance(raw, str) else None
        api = urlsplit(self.options.api_url)
        if url is None or not url.netloc or url.netloc == api.netloc:
            return self.options.api_url
        return f"{url.scheme}://{url.netloc}"  # never the link's query: it holds a temporary token

    def _github_error(self, exc: GithubException, repository: Repository) -> Exception:
        """What a GitHub error answer means: a retry (`_Transient`) or a `RepositoryError` for the user."""
        if _rate_limited(exc):
            wait, reset = _rate_limit_wait(exc)
            if wait > self.options.max_wait:
                when = (
                    f"at {reset:%H:%M:%S} UTC (in {_duration(wait)})"
                    if reset
                    else f"in {_duration(wait)}"
                )
                return RepositoryError(
                    f"GitHub's API rate limit for this token is used up ({exc.status}); it resets {when}. "
                    f"Try again then, or raise `max_wait` in [repositories] of scoot.toml (now "
                    f"{self.options.max_wait:g} s) to wait for it"
                )
            return _Transient(wait)
        if exc.status >= 500:
            return _Transient(None)
        if exc.status == 401:
            return RepositoryError(
                f"GitHub refused {self._token_source or 'the token'} (401: {_message(exc)}): set "
                f"{self.options.token_env or 'GITHUB_TOKEN'} to a valid token (or update the one in "
                "git's credential helper)"
            )
        if exc.status == 404:
            return RepositoryError(self._not_found(repository.name))
        if exc.status == 403:
            return RepositoryError(
                f"GitHub refused access to {repository.name} (403: {_message(exc)}): the token needs "
                "permission for it (a classic token: the `repo` scope; a fine-grained one: this repository)"
            )
        return RepositoryError(
            f"GitHub answered {exc.status} for {repository.name}: {_message(exc)}"
        )

    def _not_found(self, full: str) -> str:
        return (
            f"no repository {full} on {self.options.api_url} (or the token cannot see it): check the "
            "name, or give the token access to it; `scoot repos create` makes missing ones"
        )


class _NoRef(Exception):
    """The commits endpoint found no such ref: the repository or the ref is missing."""


class _Refused(Exception):
    """GitHub would not create a repository (422): maybe because it is there already."""


# -- helpers ---------------------------------------------------------------------------


def _rate_limited(exc: GithubException) -> bool:
    headers = exc.headers or {}
    return exc.status == 429 or (
        exc.status == 403
        and (
            "retry-after" in headers
            or headers.get("x-ratelimit-remaining") == "0"
            or "rate limit" in _message(exc).lower()
        )
    )


def _rate_limit_wait(exc: GithubException) -> tuple[float, datetime | None]:
    """Seconds until a rate limit lifts, and when, as GitHub's headers say."""
    headers = exc.headers or {}
    retry_after = headers.get("retry-after", "")
    if retry_after.isdigit():
        return float(retry_after), None
    reset = headers.get("x-ratelimit-reset", "")
    if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        at = datetime.fromtimestamp(int(reset), UTC)
        # The reset is a whole second: wait one more, as nobody knows where in it the limit lifts.
        return max(int(reset) - time.time(), 0.0) + 1.0, at
    return SECONDARY_RATE_LIMIT_WAIT, None


def _message(exc: GithubException) -> str:
    data = exc.data
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return exc.message or "no message"


def _describe(exc: BaseException | None) -> str:
    if isinstance(exc, GithubException):
        return f"{exc.status}: {_message(exc)}"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"archive download {exc.response.status_code}"
    if isinstance(exc, OSError):
        return _reason(exc)
    return type(exc).__name__


def _reason(exc: BaseException) -> str:
    """The innermost operating-system reason of a network error (`connection refused`), without URLs."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    found = ""
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, TimeoutError | requests.Timeout):
            found = found or "timed out"
        if isinstance(current, OSError) and current.strerror:
            found = current.strerror.lower()
        nested = [
            getattr(current, "reason", None),
            current.__cause__,
            current.__context__,
            *current.args,
        ]
        todo.extend(item for item in nested if isinstance(item, BaseException))
    return found or type(exc).__name__


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{round(seconds)} s" if minutes < 2 else f"{minutes} min"


def _credential_fill(protocol: str, host: str, environ: Mapping[str, str]) -> str | None:
    """The password git's credential helper has for `protocol://host`, or None.

    Git runs with an argument list (no shell), never prompts (no terminal, no
    askpass program), and outside any repository, so only the user's own git
    configuration chooses the helper. Its output is read in memory and dropped.
    """
    git = shutil.which("git", path=environ.get("PATH"))
    if git is None:
        return None
    env = {
        **environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
        "GCM_INTERACTIVE": "never",
    }
    try:
        done = subprocess.run(
            [git, "credential", "fill"],
            input=f"protocol={protocol}\nhost={host}\n\n",
            capture_output=True,
            text=True,
            env=env,
            cwd=os.path.abspath(os.sep),
            timeout=CREDENTIAL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.warning(
            "git credential fill gave no answer in %d s: not using git's credential helper",
            CREDENTIAL_TIMEOUT,
        )
        return None
    except OSError as exc:
        log.warning("cannot run git credential fill: %s", exc.strerror)
        return None
    if done.returncode != 0:
        log.debug("git's credential helper has no credential for %s://%s", protocol, host)
        return None
    for line in done.stdout.splitlines():
        key, _, value = line.partition("=")
        if key == "password" and value.strip():
            return value.strip()
    return None


class _NoAuth(AuthBase):
    """No credentials at all: not even the ones `requests` would take from ~/.netrc."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class _HideLinkTokens(logging.Filter):
    """GitHub's archive links carry a short-lived token in their query, and the HTTP
    libraries log each request line and redirect at DEBUG: the token is masked there."""

    _TOKEN = re.compile(r"(token=)[^&\s'\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = self._masked(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self._masked(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: self._masked(arg) for key, arg in record.args.items()}
        return True

    def _masked(self, value: Any) -> Any:
        """A value holding a link token, as its text with the token masked (headers are dicts)."""
        if isinstance(value, str | dict | list | tuple) and "token=" in str(value):
            return self._TOKEN.sub(r"\1***", str(value))
        return value


_LINK_TOKENS = _HideLinkTokens()
for _logger in ("urllib3.connectionpool", "github.Requester"):
    logging.getLogger(_logger).addFilter(_LINK_TOKENS)


def _download(url: str, into: IO[bytes], folder: Path) -> None:
    """The archive at GitHub's temporary link, without the token (the link is its own credential),
    into a temporary file of `folder`."""
    if urlsplit(url).scheme not in {"http", "https"}:
        raise RepositoryError(
            f"GitHub gave an archive link that is not http(s): {urlsplit(url).scheme}"
        )
    into.seek(0)
    into.truncate()
    with requests.get(
        url, stream=True, timeout=REQUEST_TIMEOUT, auth=_NoAuth(), headers={"User-Agent": "scoot"}
    ) as response:
        response.raise_for_status()
        # Only the writes are named: requests' own errors are OSErrors too.
        for chunk in response.iter_content(chunk_size=1 << 16):
            with errors_naming(folder):
                into.write(chunk)
    with errors_naming(folder):
        into.flush()


def _install(archive: IO[bytes], commit: str, target: Path, full: str) -> None:
    """Unpack GitHub's tarball of `commit` into `target`, atomically, refusing anything that could land outside it."""
    archive.seek(0)
    partial = Path(
        tempfile.mkdtemp(prefix=f".{commit[:12]}.", suffix=".partial", dir=target.parent)
    )
    try:
        try:
            with tarfile.open(fileobj=archive, mode="r:gz") as tar:
                members = tar.getmembers()
                marked = tar.pax_headers.get("comment")  # `git archive` writes the commit here
                if marked is not None and marked != commit:
                    raise _Unsafe(f"it holds commit {marked}, not {commit}")
                with errors_naming(partial):
                    tar.extractall(
                        partial, members=members, filter=_member_filter(_top_folder(members))
                    )
        except (_Unsafe, tarfile.FilterError) as exc:
            raise RepositoryError(f"refusing the archive of {full} at {commit}: {exc}") from None
        except (tarfile.TarError, EOFError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise  # writing the files (a full disk), not the archive's form: named above
            raise RepositoryError(
                f"the archive of {full} at {commit} is not a tarball GitHub makes: {exc}"
            ) from None
        partial.chmod(0o755)
        try:
            partial.rename(target)
        except OSError:
            if not target.is_dir():
                raise
            # Fetched meanwhile by another process: theirs is the same commit.
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)


class _Unsafe(Exception):
    """An archive entry that could write outside its folder."""


def _top_folder(members: list[tarfile.TarInfo]) -> str:
    """The one folder GitHub puts everything in (`owner-name-abc1234/`)."""
    tops = {
        PurePosixPath(member.name).parts[0]
        for member in members
        if PurePosixPath(member.name).parts
    }
    if len(tops) != 1:
        raise _Unsafe(f"it should hold one folder, not {len(tops)} entries at its top")
    (top,) = tops
    return top


def _member_filter(top: str) -> Callable[[tarfile.TarInfo, str], tarfile.TarInfo | None]:
    """Strip the top folder; allow files, folders and symbolic links that stay inside; nothing else."""

    def check(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo | None:
        name = member.name
        if name.startswith("/") or not name.startswith(top):
            raise _Unsafe(f"`{name}` is outside the archive's folder")
        if name.rstrip("/") == top:
            return None  # the top folder itself
        if not name.startswith(top + "/"):
            raise _Unsafe(f"`{name}` is outside the archive's folder")
        relative = name[len(top) + 1 :].rstrip("/")
        parts = PurePosixPath(relative).parts
        if not parts or ".." in parts or relative.startswith("/"):
            raise _Unsafe(f"`{name}` is outside the archive's folder")
        if member.issym():
            pointed = posixpath.normpath(
                posixpath.join(posixpath.dirname(relative), member.linkname)
            )
            if member.linkname.startswith("/") or pointed == ".." or pointed.startswith("../"):
                raise _Unsafe(
                    f"the link `{relative}` points outside the folder, to `{member.linkname}`"
                )
        elif not (member.isfile() or member.isdir()):
            raise _Unsafe(f"`{relative}` is neither a file, a folder nor a symbolic link")
        # Python's own `data` filter on top: no absolute or escaping paths or links, no odd modes.
        return tarfile.data_filter(member.replace(name=relative, deep=False), destination)

    return check
