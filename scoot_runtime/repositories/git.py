"""The `git` repository driver: any git remote, through the `git` program.

    file:///srv/git/acme/shop-api.git   /srv/git/acme/shop-api.git   ../repos/shop-api.git
    https://host/acme/shop-api.git      ssh://git@host/acme/shop-api.git   git@host:acme/shop-api.git
    git://host/acme/shop-api.git

A revision is a full commit id. Each remote has one cache under
`.scoots/repos/<safe name>/cache.git`, filled by shallow fetches of the one
commit wanted; each revision is checked out into its own folder beside it,
`.scoots/repos/<safe name>/<commit>/`, where compute objects run. A new revision
gets a new folder, so a process still running the old one is untouched until it
is replaced; `prune` removes the folders nothing uses any more.

`git` runs with an argument list (never a shell), no terminal (a prompt for a
password fails instead of hanging), `GIT_TERMINAL_PROMPT=0`, and only the
transports below: credentials come from the user's own git setup (credential
helpers, ssh agent), never from Scoot. With `base_url`, a repository named
`owner/name` (by the scheme or by `repository =`) is `<base_url>owner/name.git`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote, urlsplit

from scoot_runtime.repositories import locations, naming
from scoot_runtime.repositories.base import (
    COMMIT,
    REPOS,
    Fetched,
    Repository,
    RepositoryDriver,
    RepositoryError,
    prune_checkouts,
)

CACHE = "cache.git"
_SHORT = re.compile(r"[0-9a-fA-F]{4,63}")
_CREDENTIALS = re.compile(r"(?<=://)([^/@\s:]*):[^/@\s]*@")
_MISSING = (
    "repository not found",
    "does not appear to be a git repository",
    "not exported",
    "not found",
    "no such file or directory",
    "no such repository",
)
_AUTH = ("could not read username", "could not read password", "authentication failed", "permission denied", "terminal prompts disabled")
FETCH_SECONDS = 600
ASK_SECONDS = 120


def shown(url: str) -> str:
    """A URL fit for a message: a password written into it is masked."""
    return _CREDENTIALS.sub(r"\1:***@", url)


def safe_name(url: str) -> str:
    """The folder under `.scoots/repos/` for a remote: readable, unique, never a path."""
    readable = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", _CREDENTIALS.sub("", url))
    readable = re.sub(r"\.git$", "", readable.rstrip("/"))
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", readable).strip("-.")[-60:].lstrip("-.")
    return f"{readable or 'repo'}-{hashlib.sha256(url.encode()).hexdigest()[:10]}"


class GitDriver(RepositoryDriver):
    """Any git remote, fetched shallowly into `.scoots/repos/`."""

    name: ClassVar[str] = "git"
    option_names: ClassVar[frozenset[str]] = frozenset({"base_url"})

    # --- naming ------------------------------------------------------------------------------

    def repository(self, name: str, ref: str | None = None) -> Repository:
        owner, repo = naming.split(name)
        base = self.context.options.get("base_url")
        if not isinstance(base, str) or not base:
            raise RepositoryError(
                f"the git driver cannot find `{name}`: set `base_url` in [repositories] of scoot.toml "
                "(such as \"https://github.com/\" or \"git@github.com:\"), so that `owner/name` is "
                "`<base_url>owner/name.git`; or give the component a `source` URL"
            )
        return self.remote(self._base(base) + f"{owner}/{repo}.git", ref)

    def remote(self, url: str, ref: str | None = None) -> Repository:
        """A component's `source` URL (its `#ref` apart)."""
        if url.startswith("-"):
            raise RepositoryError(f"`{url}` is not a git remote")
        locations.check_no_credentials(url)
        return Repository(self.name, url, ref)

    def _base(self, base: str) -> str:
        """`base_url` as a URL prefix; a plain folder is relative to scoot.toml's folder."""
        if locations.is_git_url(base + "x/y"):
            return base if base.endswith(("/", ":")) else base + "/"
        return str(self.context.option_path(base)) + "/"

    # --- what is there -----------------------------------------------------------------------

    def exists(self, repository: Repository) -> bool:
        local = self._local(repository.name)
        if local is not None:
            return local.is_dir()
        try:
            self._git(["ls-remote", repository.name, "HEAD"], timeout=ASK_SECONDS, about=repository)
        except _Missing:
            return False
        return True

    def create(self, repository: Repository, *, private: bool = True) -> None:
        """A bare repository, for remotes on this machine; others are made on their host."""
        local = self._local(repository.name)
        if local is None:
            raise RepositoryError(
                f"the git driver cannot create {shown(repository.name)}: it only makes repositories on this "
                "machine. Create it on its host (or use the github driver, which can)"
            )
        local.parent.mkdir(parents=True, exist_ok=True)
        self._git(["init", "--quiet", "--bare", "--", str(local)], timeout=ASK_SECONDS, about=repository)

    def latest(self, repository: Repository) -> str:
        ref = repository.ref
        if ref is None:
            return self._default_branch(repository)[1]
        if COMMIT.fullmatch(ref):
            return ref
        patterns = [f"refs/heads/{ref}", f"refs/tags/{ref}", f"refs/tags/{ref}^{{}}", ref]
        found = self._ls_remote(repository, patterns)
        for name in (f"refs/tags/{ref}^{{}}", f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
            if name in found:
                return found[name]
        if _SHORT.fullmatch(ref):
            return self.fetch(repository).revision
        raise RepositoryError(
            f"{shown(repository.name)} has no branch or tag `{ref}`: push it, or change the `#{ref}` of the source"
        )

    def _default_branch(self, repository: Repository) -> tuple[str, str]:
        """What to fetch for the default branch, and its commit: the remote's HEAD; or, when
        HEAD names no branch there (a bare repository whose HEAD is `master`, with only `main`
        pushed), the remote's only branch. Several branches and no HEAD: which to name."""
        found = self._ls_remote(repository, ["HEAD"])
        if "HEAD" in found:
            return "HEAD", found["HEAD"]
        found = self._ls_remote(repository, [], heads=True)  # asked only then: a remote may have many
        branches = sorted(name for name in found if name.startswith("refs/heads/"))
        if len(branches) == 1:
            return branches[0], found[branches[0]]
        if not branches:
            raise RepositoryError(f"{shown(repository.name)} has no commits yet: push one, then run the command again")
        listed = ", ".join(name.removeprefix("refs/heads/") for name in branches)
        first = "main" if "refs/heads/main" in branches else branches[0].removeprefix("refs/heads/")
        raise RepositoryError(
            f"{shown(repository.name)} has no default branch (its HEAD names no branch there) and several "
            f"branches: {listed}. Name one after `#`, such as `source = \"{shown(repository.name)}#{first}\"` "
            f"(`--from {shown(repository.name)}#{first}`), or set the remote's HEAD to one of them"
        )

    def _ls_remote(self, repository: Repository, patterns: Sequence[str], *, heads: bool = False) -> dict[str, str]:
        """`git ls-remote` of the patterns (`heads`: of every branch): ref name → commit."""
        option = ["--heads"] if heads else []
        output = self._git(["ls-remote", *option, repository.name, *patterns], timeout=ASK_SECONDS, about=repository)
        found: dict[str, str] = {}
        for line in output.splitlines():
            commit, _, name = line.partition("\t")
            found.setdefault(name, commit)
        return found

    # --- fetching ----------------------------------------------------------------------------

    def fetch(self, repository: Repository, revision: str | None = None) -> Fetched:
        """The wanted revision (a pin, else the `#ref`, else the default branch), checked out."""
        wanted = revision or repository.ref
        folder = self.context.workspace / REPOS / safe_name(repository.name)
        known = wanted
        default = "HEAD"
        if wanted is None:
            default, known = self._default_branch(repository)
        elif not (COMMIT.fullmatch(wanted) or _SHORT.fullmatch(wanted)):
            # A branch, a tag or the default branch: ask which commit it is (one ls-remote).
            # A shallow fetch would send the whole tree again even when it is here already.
            try:
                known = self.latest(Repository(repository.driver, repository.name, wanted))
            except _Missing:
                raise
            except RepositoryError:
                known = None  # the fetch below says what is wrong, as it says it for a pin
        if known is not None and COMMIT.fullmatch(known) and (folder / known).is_dir():
            return Fetched(repository, known, folder / known)  # already there: no fetch
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder):
            cache = self._cache(folder, repository)
            commit = self._fetch_commit(cache, repository, wanted, default)
            checkout = folder / commit
            if not checkout.is_dir():
                self._checkout(cache, commit, checkout, repository)
        return Fetched(repository, commit, checkout)

    def prune(self, repository: Repository, keep: Collection[str]) -> None:
        """Remove the checkouts of revisions not in `keep` (and what crashes left half made)."""
        folder = self.context.workspace / REPOS / safe_name(repository.name)
        if not folder.is_dir():
            return
        with _locked(folder):
            prune_checkouts(folder, keep, lambda name: name.startswith(".checkout-"))

    def _cache(self, folder: Path, repository: Repository) -> Path:
        cache = folder / CACHE
        if not (cache / "HEAD").exists():
            self._git(["init", "--quiet", "--bare", "--", str(cache)], timeout=ASK_SECONDS, about=repository)
        # Set each time: the cache is named after the URL, yet the URL is the source of truth.
        self._git(["config", "remote.origin.url", repository.name], cache=cache, timeout=ASK_SECONDS, about=repository)
        return cache

    def _fetch_commit(self, cache: Path, repository: Repository, wanted: str | None, default: str = "HEAD") -> str:
        """Fetch one commit (shallow) and return its full id; `default` when nothing is `wanted`."""
        try:
            self._git(
                ["fetch", "--quiet", "--no-tags", "--depth", "1", "origin", wanted or default],
                cache=cache, timeout=FETCH_SECONDS, about=repository,
            )
        except _Missing:
            raise
        except RepositoryError:
            if wanted is None:
                raise
            if _SHORT.fullmatch(wanted) or COMMIT.fullmatch(wanted):
                # A short commit id (servers hand out whole ids only), or a whole one an older
                # server will not give by its id: fetch the history and look.
                return self._find_short(cache, repository, wanted)
            raise self._unknown(repository, wanted) from None
        commit = self._git(["rev-parse", "--verify", "FETCH_HEAD^{commit}"], cache=cache, about=repository).strip()
        if wanted is not None and COMMIT.fullmatch(wanted) and commit != wanted:
            raise self._unknown(repository, wanted)
        return commit

    def _find_short(self, cache: Path, repository: Repository, short: str) -> str:
        unshallow = ["--unshallow"] if (cache / "shallow").exists() else []
        self._git(
            ["fetch", "--quiet", *unshallow, "origin", "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"],
            cache=cache, timeout=FETCH_SECONDS, about=repository,
        )
        try:
            commit = self._git(
                ["rev-parse", "--verify", "--quiet", f"{short}^{{commit}}"], cache=cache, about=repository
            ).strip()
        except RepositoryError:
            raise self._unknown(repository, short) from None
        if not commit.startswith(short.lower()):  # `short` named a branch or tag after all
            raise self._unknown(repository, short)
        return commit

    def _unknown(self, repository: Repository, wanted: str) -> RepositoryError:
        return RepositoryError(
            f"{shown(repository.name)} has no branch, tag or commit `{wanted}`: check the `--revision` "
            "or the source's `#…` (a commit may be given whole, or by at least 4 leading digits)"
        )

    def _checkout(self, cache: Path, commit: str, checkout: Path, repository: Repository) -> None:
        """Write the commit's files into `checkout`, whole or not at all."""
        temporary = Path(tempfile.mkdtemp(prefix=".checkout-", dir=checkout.parent))
        index = temporary.with_name(temporary.name + ".index")
        try:
            files = temporary / "files"
            files.mkdir()  # a commit with no files is an empty folder
            # A private index: the cache's own is never touched, so checkouts never collide.
            environ = {"GIT_INDEX_FILE": str(index), "GIT_WORK_TREE": str(files)}
            self._git(["read-tree", commit], cache=cache, extra=environ, about=repository)
            self._git(["checkout-index", "--all", "--force"], cache=cache, extra=environ, about=repository)
            os.replace(files, checkout)
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
            index.unlink(missing_ok=True)

    # --- running git -------------------------------------------------------------------------

    def _local(self, url: str) -> Path | None:
        """The folder of a remote on this machine (`file://` or a plain path), else None."""
        if url.startswith("file://"):
            parts = urlsplit(url)
            path = Path(unquote(parts.path))
            # `file:///abs/path` only: a host, a relative path or a segment that reads as an
            # option (`file://--template=…`) is not a folder Scoot makes or reads.
            if parts.netloc not in ("", "localhost") or not path.is_absolute() or any(p.startswith("-") for p in path.parts):
                raise RepositoryError(
                    f"`{url}` is not a repository on this machine: write `file:///absolute/path/to/repo.git`"
                )
            return path
        if locations.is_git_url(url):
            return None
        return (self.context.root / url).resolve()

    def _git(
        self,
        arguments: Sequence[str],
        *,
        about: Repository,
        cache: Path | None = None,
        timeout: float = ASK_SECONDS,
        extra: dict[str, str] | None = None,
    ) -> str:
        environ = {**os.environ, **self.context.environ, **(extra or {})}
        environ.update(
            GIT_TERMINAL_PROMPT="0",
            # Only the transports Scoot knows to be safe: never `ext::`, which runs commands.
            GIT_ALLOW_PROTOCOL=":".join(locations.GIT_SCHEMES),
            LC_ALL="C",  # messages in English, to tell a missing repository from the rest
        )
        command = ["git", *(["--git-dir", str(cache)] if cache else []), *arguments]
        try:
            process = subprocess.Popen(
                command,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                # No terminal: ssh cannot ask for a password or a host key; it fails instead.
                # Its own process group, too: a timeout ends git's helpers (ssh, remote-https) with it.
                start_new_session=True,
            )
        except FileNotFoundError:
            raise RepositoryError(
                "the git repository driver needs the `git` program, which is not installed or not on PATH: "
                "install git (https://git-scm.com/downloads)"
            ) from None
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise RepositoryError(
                f"`git {arguments[0]}` of {shown(about.name)} took more than {timeout:g} seconds: check the "
                "network and the URL, then run the command again"
            ) from None
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        if process.returncode != 0:
            raise self._failure(arguments[0], about, stderr)
        return stdout

    def _failure(self, verb: str, repository: Repository, stderr: str) -> RepositoryError:
        said = " ".join(line.strip() for line in stderr.splitlines() if line.strip())
        # git may echo a password written into the URL anywhere (`user:secret@host`): mask each.
        for match in _CREDENTIALS.finditer(repository.name):
            secret = match.group(0)[len(match.group(1)) + 1 : -1]
            if secret:
                said = said.replace(secret, "***")
        said = shown(said)
        lowered = said.lower()
        where = shown(repository.name)
        if any(text in lowered for text in _AUTH):
            return RepositoryError(
                f"git could not get into {where} ({said}): the credentials come from your git setup; "
                "check that `git ls-remote` of it works in a terminal (credential helper, ssh agent)"
            )
        if verb in ("ls-remote", "fetch") and any(text in lowered for text in _MISSING):
            return _Missing(
                f"there is no repository {where} ({said}): create it (`scoot repos create` makes "
                "those on this machine; others on their host)"
            )
        return RepositoryError(f"`git {verb}` of {where} failed: {said or 'no message'}")


class _Missing(RepositoryError):
    """The remote says there is no such repository."""


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One fetch of a repository at a time, across threads and processes (watch beside apply)."""
    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
