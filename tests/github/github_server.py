"""A stand-in for GitHub's REST API on 127.0.0.1, held to GitHub's own description of that API.

It answers the endpoints the `github` repository driver uses, from an in-memory
list of repositories, each backed by a real git repository (so commits have real
shas and tarballs are `git archive`'s, as GitHub's are). Every request it
receives and every response it sends is validated with openapi-core against
GitHub's official REST description (the npm package `@octokit/openapi`, pinned
in package.json next to this file): a request or a response that the real API
would not send or accept is recorded in `violations`, which the `github` fixture
asserts is empty, so this server cannot drift from GitHub.

The archive downloads GitHub redirects to (codeload.github.com, not part of the
REST API) are served under `/_codeload/`, and must come without the token.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

DESCRIPTION = (
    Path(__file__).parent
    / "node_modules"
    / "@octokit"
    / "openapi"
    / "generated"
    / "api.github.com.json"
)
# The server stands in for this host: requests are validated as if sent to it.
PUBLIC_API = "https://api.github.com"
DOCS = "https://docs.github.com/rest"

JSON = dict[str, Any]


@dataclass
class Description:
    """GitHub's REST API description: the raw document (for its examples) and its validator."""

    document: JSON
    api: OpenAPI

    @classmethod
    def load(cls, path: Path = DESCRIPTION) -> Description:
        document = json.loads(path.read_text(encoding="utf-8"))
        # The whole description (13 MB, 800 paths) is used as published. openapi-core's own
        # check that the document is valid OpenAPI takes ~12 s on it and is skipped: the
        # document is GitHub's, checked where it is made. Validating a request or a
        # response against it takes a few milliseconds.
        return cls(document, OpenAPI.from_dict(document, config=Config(spec_validator_cls=None)))

    def example(self, name: str) -> JSON:
        """One of the description's own examples (`components/examples/NAME`), as a fresh copy."""
        value: JSON = json.loads(json.dumps(self.document["components"]["examples"][name]["value"]))
        return value


class _OpenAPIRequest:
    """An HTTP request as openapi-core reads one (its `Request` protocol)."""

    def __init__(self, method: str, target: str, headers: Message, body: bytes) -> None:
        url = urlsplit(target)
        self.host_url = PUBLIC_API
        self.path = url.path
        self.method = method.lower()
        self.body = body or None
        self.content_type = (headers.get("Content-Type") or "").lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(url.query, keep_blank_values=True)),
            header=Headers(list(headers.items())),
            cookie=ImmutableMultiDict(),
        )


class _OpenAPIResponse:
    """An HTTP response as openapi-core reads one (its `Response` protocol)."""

    def __init__(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        self.status_code = status
        self.headers = Headers(list(headers.items()))
        self.content_type = headers.get("Content-Type", "").lower()
        self.data = data or None


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, data: Any, headers: Mapping[str, str] | None = None) -> Answer:
        return cls(
            status,
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
            json.dumps(data).encode(),
        )

    @classmethod
    def error(
        cls, status: int, message: str, headers: Mapping[str, str] | None = None, **more: Any
    ) -> Answer:
        """GitHub's error body (`basic-error`, or `validation-error` with `errors`)."""
        body = {"message": message, "documentation_url": DOCS, "status": str(status), **more}
        return cls.json(status, body, headers)


@dataclass
class Injected:
    """A canned answer for the next `times` requests that match `method` and the `path` pattern."""

    method: str
    path: re.Pattern[str]
    answer: Answer
    times: int


@dataclass
class Repo:
    owner: str
    name: str
    private: bool
    id: int
    git: Path  # a real git repository: its commits are the repository's
    organisation: bool
    archives: dict[str, bytes] = field(default_factory=dict)  # commit → a tarball served instead

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class FakeGitHub:
    """GitHub's REST API for one user (`login`, owner of the token) and the organisations it belongs to."""

    def __init__(
        self,
        description: Description,
        root: Path,
        token: str,
        login: str = "alice",
        organisations: Iterable[str] = ("acme",),
    ) -> None:
        self.description = description
        self.root = root
        self.token = token
        self.login = login
        self.organisations = set(organisations)
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, in order
        self.bodies: list[JSON] = []  # the JSON bodies of POST requests
        self.violations: list[str] = []
        self.injected: list[Injected] = []
        self._codeload_tokens: set[str] = set()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- running -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen on 127.0.0.1 (on the same port again after `stop`)."""
        fake = self

        class Handler(_Handler):
            github = fake

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        # A short poll so that `stop` (which waits for the loop to see it) is quick.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until `start`."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- the store ---------------------------------------------------------------------

    def add_repo(self, full_name: str, *, private: bool = True) -> Repo:
        owner, name = full_name.split("/")
        git = self.root / f"{owner}--{name}"
        git.mkdir(parents=True)
        _git(git, "init", "-q", "-b", "main")
        repo = Repo(owner, name, private, 1000 + len(self.repos), git, owner in self.organisations)
        self.repos[(owner.lower(), name.lower())] = repo
        return repo

    def commit(
        self,
        full_name: str,
        files: Mapping[str, str | bytes],
        *,
        executable: Iterable[str] = (),
        symlinks: Mapping[str, str] | None = None,
        message: str = "A change",
        branch: str = "main",
    ) -> str:
        """Commit files (and symbolic links) to a branch of a repository: the new commit's sha."""
        repo = self.repos[_key(full_name)]
        if _git(repo.git, "rev-parse", "--verify", "-q", "HEAD", check=False):
            exists = _git(
                repo.git, "rev-parse", "--verify", "-q", f"refs/heads/{branch}", check=False
            )
            _git(repo.git, "checkout", "-q", *([branch] if exists else ["-b", branch]))
        for path, content in files.items():
            file = repo.git / path
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(content.encode() if isinstance(content, str) else content)
            file.chmod(0o755 if path in set(executable) else 0o644)
        for path, pointed in (symlinks or {}).items():
            (repo.git / path).unlink(missing_ok=True)
            (repo.git / path).symlink_to(pointed)
        _git(repo.git, "add", "-A")
        _git(repo.git, "commit", "-q", "-m", message)
        return _git(repo.git, "rev-parse", "HEAD")

    def tag(self, full_name: str, tag: str, commit: str) -> None:
        _git(self.repos[_key(full_name)].git, "tag", tag, commit)

    def inject(self, method: str, path: str, answer: Answer, times: int = 1) -> None:
        """Answer the next `times` requests to `path` (a regular expression) with `answer`."""
        with self._lock:
            self.injected.append(Injected(method, re.compile(path), answer, times))

    def calls(self, method: str, path: str) -> int:
        return sum(1 for m, p in self.requests if m == method and p == path)

    # -- serving -----------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Message, body: bytes) -> Answer:
        path = urlsplit(target).path
        with self._lock:
            self.requests.append((method, path))
        if path.startswith("/_codeload/"):
            return self._codeload(target, headers)
        request = _OpenAPIRequest(method, target, headers, body)
        try:
            self.description.api.validate_request(request)
        except Exception as exc:  # every kind of validation error is a violation
            self.violation(f"request {method} {target}: {_explain(exc)}")
        try:
            answer = self._answer(method, path, headers, body)
        except Exception as exc:
            self.violation(f"the test server failed on {method} {target}: {exc!r}")
            answer = Answer.error(500, "the test server failed")
        answer.body = answer.body.replace(PUBLIC_API.encode(), self.url.encode())
        try:
            self.description.api.validate_response(
                request, _OpenAPIResponse(answer.status, answer.headers, answer.body)
            )
        except Exception as exc:
            self.violation(f"response {answer.status} to {method} {target}: {_explain(exc)}")
        return answer

    def violation(self, text: str) -> None:
        with self._lock:
            self.violations.append(text)

    def _answer(self, method: str, path: str, headers: Message, body: bytes) -> Answer:
        with self._lock:
            for injected in self.injected:
                if injected.method == method and injected.path.fullmatch(path):
                    injected.times -= 1
                    if injected.times == 0:
                        self.injected.remove(injected)
                    return injected.answer
        if not self._authorised(headers):
            return Answer.error(401, "Bad credentials")
        routes: list[tuple[str, str, Callable[..., Answer]]] = [
            ("GET", r"/user", self._user),
            ("POST", r"/user/repos", self._create_for_user),
            ("POST", r"/orgs/([^/]+)/repos", self._create_in_org),
            ("GET", r"/repos/([^/]+)/([^/]+)", self._repository),
            ("GET", r"/repos/([^/]+)/([^/]+)/commits/(.+)", self._commit),
            ("GET", r"/repos/([^/]+)/([^/]+)/tarball/(.+)", self._tarball),
        ]
        for verb, pattern, route in routes:
            found = re.fullmatch(pattern, path)
            if verb == method and found:
                arguments = [unquote(group) for group in found.groups()]
                return route(*arguments, body=json.loads(body) if body else None)
        return Answer.error(404, "Not Found")

    def _authorised(self, headers: Message) -> bool:
        scheme, _, credential = (headers.get("Authorization") or "").partition(" ")
        return scheme.lower() in {"token", "bearer"} and secrets.compare_digest(
            credential, self.token
        )

    # -- the endpoints ------------------------------------------------------------------

    def _user(self, body: Any) -> Answer:
        user = self.description.example("private-user")
        user.update(
            login=self.login, id=1, user_view_type="private", url=f"{PUBLIC_API}/users/{self.login}"
        )
        return Answer.json(200, user)

    def _create_for_user(self, body: Any) -> Answer:
        return self._create(self.login, body)

    def _create_in_org(self, org: str, body: Any) -> Answer:
        if org not in self.organisations:
            return Answer.error(404, "Not Found")
        return self._create(org, body)

    def _create(self, owner: str, body: Any) -> Answer:
        with self._lock:
            self.bodies.append(body)
        name = body["name"]
        if _key(f"{owner}/{name}") in self.repos:
            return Answer.error(
                422,
                "Repository creation failed.",
                errors=[
                    {
                        "resource": "Repository",
                        "code": "custom",
                        "field": "name",
                        "message": "name already exists on this account",
                    }
                ],
            )
        repo = self.add_repo(f"{owner}/{name}", private=body.get("private", False))
        return Answer.json(
            201, self._repository_json(repo), {"Location": f"{PUBLIC_API}/repos/{repo.full_name}"}
        )

    def _repository(self, owner: str, name: str, body: Any) -> Answer:
        repo = self.repos.get(_key(f"{owner}/{name}"))
        if repo is None:
            return Answer.error(404, "Not Found")
        return Answer.json(200, self._repository_json(repo))

    def _commit(self, owner: str, name: str, ref: str, body: Any) -> Answer:
        repo = self.repos.get(_key(f"{owner}/{name}"))
        if repo is None:
            return Answer.error(404, "Not Found")
        if not _git(repo.git, "rev-parse", "--verify", "-q", "HEAD", check=False):
            return Answer.error(409, "Git Repository is empty.")
        sha = _resolve(repo, ref)
        if sha is None:
            return Answer.error(422, f"No commit found for SHA: {ref}")
        return Answer.json(200, self._commit_json(repo, sha))

    def _tarball(self, owner: str, name: str, ref: str, body: Any) -> Answer:
        repo = self.repos.get(_key(f"{owner}/{name}"))
        sha = _resolve(repo, ref) if repo is not None else None
        if repo is None or sha is None:
            return Answer.error(404, "Not Found")
        token = secrets.token_hex(16)
        with self._lock:
            self._codeload_tokens.add(token)
        link = f"{self.url}/_codeload/{repo.full_name}/legacy.tar.gz/{sha}?token={token}"
        return Answer(302, {"Location": link})

    def _codeload(self, target: str, headers: Message) -> Answer:
        """codeload.github.com: the archive, for whoever has the link's temporary token."""
        url = urlsplit(target)
        if "Authorization" in headers:
            self.violation(f"the token was sent with the archive download {url.path}")
        found = re.fullmatch(r"/_codeload/([^/]+)/([^/]+)/legacy\.tar\.gz/([0-9a-f]{40})", url.path)
        token = dict(parse_qsl(url.query)).get("token", "")
        repo = self.repos.get(_key(f"{found[1]}/{found[2]}")) if found else None
        if found is None or repo is None or token not in self._codeload_tokens:
            return Answer(404, {"Content-Type": "text/plain"}, b"404: Not Found")
        sha = found[3]
        if sha in repo.archives:
            archive = repo.archives[sha]
        else:
            prefix = f"{repo.owner}-{repo.name}-{sha[:7]}/"
            archive = subprocess.run(
                ["git", "archive", "--format=tar.gz", f"--prefix={prefix}", sha],
                cwd=repo.git,
                capture_output=True,
                check=True,
            ).stdout
        return Answer(200, {"Content-Type": "application/x-gzip"}, archive)

    # -- GitHub's shapes, from the description's own examples --------------------------------

    def _owner_json(self, repo: Repo) -> JSON:
        owner: JSON = self.description.example("full-repository")["owner"]
        owner.update(
            login=repo.owner,
            id=2 if repo.organisation else 1,
            type="Organization" if repo.organisation else "User",
            url=f"{PUBLIC_API}/users/{repo.owner}",
            html_url=f"https://github.com/{repo.owner}",
        )
        return owner

    def _repository_json(self, repo: Repo) -> JSON:
        data = self.description.example("full-repository")
        data.update(
            id=repo.id,
            name=repo.name,
            full_name=repo.full_name,
            owner=self._owner_json(repo),
            private=repo.private,
            visibility="private" if repo.private else "public",
            html_url=f"https://github.com/{repo.full_name}",
            url=f"{PUBLIC_API}/repos/{repo.full_name}",
            clone_url=f"https://github.com/{repo.full_name}.git",
            default_branch="main",
            has_discussions=False,  # required, and missing from the description's own example
        )
        for other in ("template_repository", "parent", "source"):  # the example's: not ours
            data.pop(other, None)
        if not repo.organisation:
            data.pop("organization", None)
        return data

    def _commit_json(self, repo: Repo, sha: str) -> JSON:
        fields = _git(
            repo.git, "show", "-s", "--format=%T%n%P%n%an%n%ae%n%aI%n%cn%n%ce%n%cI%n%B", sha
        )
        tree, parents, an, ae, ad, cn, ce, cd, *message = fields.split("\n")
        data = self.description.example("commit")
        base = f"{PUBLIC_API}/repos/{repo.full_name}"
        data.update(
            url=f"{base}/commits/{sha}",
            sha=sha,
            html_url=f"https://github.com/{repo.full_name}/commit/{sha}",
            comments_url=f"{base}/commits/{sha}/comments",
            parents=[
                {
                    "url": f"{base}/commits/{p}",
                    "sha": p,
                    "html_url": f"https://github.com/{repo.full_name}/commit/{p}",
                }
                for p in parents.split()
            ],
            files=[],
        )
        data["commit"].update(
            url=f"{base}/git/commits/{sha}",
            author={"name": an, "email": ae, "date": ad},
            committer={"name": cn, "email": ce, "date": cd},
            message="\n".join(message).strip(),
            tree={"url": f"{base}/git/trees/{tree}", "sha": tree},
        )
        return data


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.0: one request a connection, so a stopped server really refuses the next one."""

    github: FakeGitHub

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = self.github.handle(method, self.path, self.headers, body)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the requests are recorded
        pass


def _key(full_name: str) -> tuple[str, str]:
    owner, name = full_name.split("/")
    return owner.lower(), name.lower()


def _resolve(repo: Repo, ref: str) -> str | None:
    """The commit a branch, tag or (abbreviated) sha names, as GitHub resolves one."""
    if not re.fullmatch(r"[A-Za-z0-9._/-]+", ref) or ref.startswith("-"):
        return None
    sha = _git(repo.git, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}", check=False)
    return sha or None


def _git(cwd: Path, *args: str, check: bool = True) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Alice",
        "GIT_AUTHOR_EMAIL": "alice@example.com",
        "GIT_COMMITTER_NAME": "Alice",
        "GIT_COMMITTER_EMAIL": "alice@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd),  # no user configuration: the repository's own, made here
        "PATH": os.environ.get("PATH", os.defpath),
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip() if done.returncode == 0 else ""


def _explain(exc: Exception) -> str:
    """A validation error with its causes (openapi-core nests the schema errors)."""
    text = str(exc)
    parts = [f"{type(exc).__name__}: {text[:300]}{' …' if len(text) > 300 else ''}"]
    for nested in getattr(exc, "schema_errors", None) or []:
        parts.append(f"  {nested.message} at {list(nested.absolute_path)}")
    cause = exc.__cause__
    while cause is not None:
        text = str(cause)
        parts.append(
            f"  caused by {type(cause).__name__}: {text[:300]}{' …' if len(text) > 300 else ''}"
        )
        for nested in getattr(cause, "schema_errors", None) or []:
            parts.append(f"    {nested.message} at {list(nested.absolute_path)}")
        cause = cause.__cause__
    return "\n".join(parts)
