"""GitHub push webhooks: an HTTP server that verifies each delivery before believing it.

    POST /webhook                     (the path is configurable)
    Content-Type: application/json
    X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the shared secret, hex>
    X-GitHub-Event: push | ping | ...
    X-GitHub-Delivery: <a unique id>

What is refused, before anything is believed:

    404  another path                       405  another method
    411  no Content-Length (or chunked)     413  a body over the limit (read from
    415  not JSON                                Content-Length, before reading)
    401  unsigned, or a signature that      408  a request (its request line, headers
         does not match (constant time)          and body) not all in within `timeout`
    400  no delivery id, a body that is     409  a delivery id, or a signed body, seen
         not a JSON object                       before (the newest `remembered` kept)
                                            503  too many requests at once

The replay check covers the body too: `X-GitHub-Delivery` is not signed, so a captured
body and signature could otherwise be sent again under a new id. Two genuine pushes never
have the same body (a push's payload carries its `pushed_at` time).

A request has `timeout` seconds in all to arrive, however it trickles in (not per read:
a sender dribbling a byte a second would hold its slot for ever), so slow senders can
hold the `max_requests` slots for that long at most; `stop()` shuts the connections
still open, so it never waits on a sender.

A signed `ping` is answered 200; a signed `push` is handed to `on_push`, which says
whether the repository is one being watched (202) or not (200, ignored); other events
are ignored (200). The secret is only ever used as an HMAC key: it is in no message,
log line or response.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import socket
import socketserver
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 1 << 20  # GitHub caps payloads at 25 MB; a push of a few commits is a few KB
DEFAULT_PATH = "/webhook"
SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="
_LINGER_SECONDS = 2.0
_ANSWER_SECONDS = 2.0  # to write an answer (a few hundred bytes: the socket buffer takes them)
_STOP_SECONDS = 5.0  # stop() waits this long at most for the request threads to end
_MAX_DELIVERY = 100  # GitHub's ids are GUIDs (36 characters)


def signature(secret: bytes, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    return _PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether `header` is the signature of `body` with `secret`, compared in constant time."""
    if not header or not secret:
        return False
    # Header values arrive as latin-1 text; compare bytes, so any value compares (never raises).
    given = header.strip().encode("latin-1", "replace")
    return hmac.compare_digest(signature(secret, body).encode("ascii"), given)


class Deliveries:
    """The delivery ids (or body digests) seen, the newest `capacity` of them, so that a
    replay is refused.

    Memory stays bounded; an id older than the newest `capacity` would be taken again,
    which costs one more check, never a wrong apply (a check is idempotent).
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, delivery: str) -> bool:
        """Record `delivery`; False if it was seen before."""
        with self._lock:
            if delivery in self._seen:
                self._seen.move_to_end(delivery)
                return False
            self._seen[delivery] = None
            while len(self._seen) > self.capacity:
                self._seen.popitem(last=False)
            return True

    def __len__(self) -> int:
        return len(self._seen)


@dataclass(frozen=True)
class Push:
    """A verified push: which repository (its full name and URLs), which ref, which commit."""

    delivery: str
    full_name: str
    urls: frozenset[str]
    ref: str | None
    after: str | None


def parse_push(delivery: str, payload: dict[str, Any]) -> Push | None:
    """The push a payload describes, or None if it names no repository."""
    repository = payload.get("repository")
    if not isinstance(repository, dict):
        return None
    full_name = repository.get("full_name")
    if not isinstance(full_name, str) or not full_name:
        return None
    urls = frozenset(
        value
        for key in ("clone_url", "ssh_url", "git_url", "html_url", "svn_url", "url")
        if isinstance(value := repository.get(key), str) and value
    )
    ref = payload.get("ref")
    after = payload.get("after")
    return Push(
        delivery,
        full_name,
        urls,
        ref if isinstance(ref, str) else None,
        after if isinstance(after, str) else None,
    )


class WebhookServer(ThreadingHTTPServer):
    """The receiver. `start()` serves on a thread of its own; `stop()` ends it and every
    request thread (their connections shut, so at once), so nothing is left behind.

    `on_push(push)` runs on a request thread: it must be quick and thread-safe, and
    returns whether the push is for a watched repository. `log(line)` gets one line per
    request, with nothing a sender chose but a verified repository name.
    """

    # stop() joins the request threads itself, with a bound, after shutting their
    # connections (ThreadingMixIn's join has none: a thread stuck in a sender's read would
    # hang it). Daemon threads, so that one still stuck after the bound cannot keep the
    # process alive.
    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        secret: bytes,
        on_push: Callable[[Push], bool],
        log: Callable[[str], None],
        *,
        path: str = DEFAULT_PATH,
        max_body: int = MAX_BODY,
        timeout: float = 5.0,
        max_requests: int = 32,
        remembered: int = 10_000,
    ) -> None:
        if not secret:
            raise ValueError("a webhook server needs a secret")
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)
        self.secret = secret
        self.on_push = on_push
        self.log = log
        self.path = path
        self.max_body = max_body
        self.request_timeout = timeout
        self.deliveries = Deliveries(remembered)
        self.bodies = Deliveries(remembered)  # SHA-256 digests of the signed bodies taken
        self._slots = threading.BoundedSemaphore(max_requests)
        self._thread: threading.Thread | None = None
        # The connections being handled; a condition, for stop() to wait until none is.
        self._open: set[socket.socket] = set()
        self._open_changed = threading.Condition()
        self.stopping = False

    @property
    def url(self) -> str:
        host, port = self.server_name, self.server_port
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}{self.path}"

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host's name up (a reverse DNS query): not needed.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host if isinstance(host, str) else bytes(host).decode()
        self.server_port = int(port)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="scoot-webhook", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, end the requests in progress, close the socket; promptly.

        Accepting stops first (shutdown() returns once serve_forever has, so no connection
        is added after); then every open connection is shut down, which wakes a thread
        blocked reading a (slow) sender at once: it sees the end of the request and ends.
        """
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        with self._open_changed:
            self.stopping = True
            for connection in self._open:
                with contextlib.suppress(OSError):  # already closed by its sender
                    connection.shutdown(socket.SHUT_RDWR)
            self._open_changed.wait_for(lambda: not self._open, timeout=_STOP_SECONDS)
        self.server_close()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        # Registered here, on the serving thread, before its thread starts: once
        # shutdown() has returned, every connection in progress is in the set.
        with self._open_changed:
            self._open.add(request)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._forget(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._forget(request)

    def _forget(self, request: socket.socket) -> None:
        with self._open_changed:
            self._open.discard(request)
            self._open_changed.notify_all()
        self._slots.release()


def _refuse_busy(request: socket.socket) -> None:
    body = b'{"message": "too many requests at once; try again"}'
    head = (
        f"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    try:
        request.settimeout(1.0)
        request.sendall(head + body)
        # Let the sender finish its request for a moment (else it may see a reset, not
        # the answer): on the accepting thread, so briefly, and a bounded amount.
        request.shutdown(socket.SHUT_WR)
        _drain(request, seconds=0.2, limit=65536)
    except OSError:
        pass


def _drain(connection: socket.socket, *, seconds: float, limit: int) -> None:
    """Read and drop what a sender still sends, until it stops, `limit` bytes or `seconds`."""
    deadline = time.monotonic() + seconds
    while limit > 0 and (remaining := deadline - time.monotonic()) > 0:
        connection.settimeout(remaining)
        try:
            chunk = connection.recv(min(limit, 65536))
        except OSError:  # the timeout too
            return
        if not chunk:
            return
        limit -= len(chunk)


class _Refused(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Late(Exception):
    """The request's deadline passed before all of it arrived.

    Not a TimeoutError on purpose: BaseHTTPRequestHandler.handle_one_request catches
    those and closes without an answer; this one reaches our handler, which answers 408.
    """


class _DeadlineReader(io.RawIOBase):
    """The connection read against one deadline for the whole request: each read waits
    only for the time that is left, so a sender trickling bytes cannot stretch it."""

    def __init__(self, connection: socket.socket, deadline: float) -> None:
        super().__init__()
        self._connection = connection
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _Late
        self._connection.settimeout(remaining)
        try:
            return self._connection.recv_into(buffer)
        except TimeoutError:
            raise _Late from None


class _Handler(BaseHTTPRequestHandler):
    server: WebhookServer
    server_version = "scoot-watch"
    sys_version = ""

    _body_read = False

    def setup(self) -> None:
        super().setup()
        # One deadline for all of the request, from the moment it is accepted: the request
        # line, the headers (both read by http.server) and the body all come through it.
        self.rfile.close()
        self.rfile = io.BufferedReader(
            _DeadlineReader(self.connection, time.monotonic() + self.server.request_timeout)
        )

    def handle_one_request(self) -> None:
        # What _answer needs, should the deadline pass before the request line is parsed.
        self.command, self.requestline, self.request_version = "", "", "HTTP/1.0"
        try:
            super().handle_one_request()
        except _Late:
            self._answer(HTTPStatus.REQUEST_TIMEOUT, "the request did not arrive in time", linger=False)

    def do_POST(self) -> None:
        try:
            status, message = self._receive()
        except _Refused as refused:
            status, message = refused.status, refused.message
        self._answer(status, message)

    def _refuse_method(self) -> None:
        self._answer(HTTPStatus.METHOD_NOT_ALLOWED, "only POST is accepted", allow=True)

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method

    def _receive(self) -> tuple[HTTPStatus, str]:
        if self.path.split("?", 1)[0] != self.server.path:
            raise _Refused(HTTPStatus.NOT_FOUND, "not the webhook path")
        if self.headers.get(SIGNATURE_HEADER) is None:
            raise _Refused(HTTPStatus.UNAUTHORIZED, f"no {SIGNATURE_HEADER} header: the delivery is unsigned")
        body = self._read_body()
        if not verify(self.server.secret, body, self.headers.get(SIGNATURE_HEADER)):
            raise _Refused(HTTPStatus.UNAUTHORIZED, f"{SIGNATURE_HEADER} does not match the body")
        delivery = self.headers.get("X-GitHub-Delivery", "").strip()
        if not delivery or len(delivery) > _MAX_DELIVERY:
            raise _Refused(HTTPStatus.BAD_REQUEST, "no X-GitHub-Delivery header, or not an id (a GUID)")
        if not self.server.deliveries.first_time(delivery):
            raise _Refused(HTTPStatus.CONFLICT, "this delivery was received before (a replay)")
        # The delivery id is not signed: a captured body and signature sent again under a
        # new id is a replay too. The body is (its signature was just checked).
        if not self.server.bodies.first_time(hashlib.sha256(body).hexdigest()):
            raise _Refused(HTTPStatus.CONFLICT, "this body was received before (a replay under a new id)")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise _Refused(HTTPStatus.BAD_REQUEST, "the body is not JSON") from None
        if not isinstance(payload, dict):
            raise _Refused(HTTPStatus.BAD_REQUEST, "the body is not a JSON object")
        event = self.headers.get("X-GitHub-Event", "")
        if event == "ping":
            return HTTPStatus.OK, "pong"
        if event != "push":
            return HTTPStatus.OK, f"ignored: scoot watches push events, not {_printable(event) or 'this one'}"
        push = parse_push(delivery, payload)
        if push is None:
            raise _Refused(HTTPStatus.BAD_REQUEST, "a push that names no repository")
        try:
            watched = self.server.on_push(push)
        except Exception as error:
            self.server.log(f"webhook: could not take a push ({type(error).__name__}: {error})")
            raise _Refused(HTTPStatus.INTERNAL_SERVER_ERROR, "the push could not be taken") from None
        if watched:
            return HTTPStatus.ACCEPTED, f"push to {_printable(push.full_name)}: a check is scheduled"
        return HTTPStatus.OK, f"ignored: {_printable(push.full_name)} is not a watched repository"

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding") is not None:
            raise _Refused(HTTPStatus.LENGTH_REQUIRED, "chunked bodies are not accepted: send a Content-Length")
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            raise _Refused(HTTPStatus.LENGTH_REQUIRED, "no Content-Length")
        try:
            length = int(length_text)
        except ValueError:
            raise _Refused(HTTPStatus.BAD_REQUEST, "Content-Length is not a number") from None
        if length < 0:
            raise _Refused(HTTPStatus.BAD_REQUEST, "Content-Length is negative")
        if length > self.server.max_body:
            raise _Refused(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body is over {self.server.max_body} bytes"
            )
        content_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if content_type != "application/json":
            raise _Refused(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                "the body must be application/json (set the webhook's content type to application/json)",
            )
        chunks: list[bytes] = []
        left = length
        self._body_read = True  # from here on, or as far as it came
        try:
            while left > 0:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    raise _Refused(HTTPStatus.BAD_REQUEST, "the body is shorter than its Content-Length")
                chunks.append(chunk)
                left -= len(chunk)
        except _Late:
            raise _Refused(HTTPStatus.REQUEST_TIMEOUT, "the request did not arrive in time") from None
        return b"".join(chunks)

    def _answer(self, status: HTTPStatus, message: str, allow: bool = False, linger: bool = True) -> None:
        # The request is not read to its end when refused early: close the connection.
        self.close_connection = True
        if self.server.stopping:
            return  # stop() shut the connection (what was read was cut short): no one to answer
        self.server.log(f"webhook: {status.value} {status.phrase} from {self.client_address[0]}: {message}")
        body = json.dumps({"message": message}).encode() + b"\n"
        try:
            # The reads left the socket with what remained of the deadline (maybe nothing).
            self.connection.settimeout(_ANSWER_SECONDS)
            self.send_response(status)
            if allow:
                self.send_header("Allow", "POST")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
            # A sender too slow for the deadline is not waited for any longer.
            if linger and not self._body_read:
                self._linger()
        except OSError:
            pass  # the sender went away: nothing to tell it

    def _linger(self) -> None:
        """After refusing a body unread (too large, unsigned...), let the sender finish
        sending, for a moment, before closing: closing at once would reset the connection
        under a sender still writing, which would see an error instead of the answer.
        What arrives is dropped as it comes, a bounded amount for a bounded time."""
        self.connection.shutdown(socket.SHUT_WR)
        _drain(self.connection, seconds=_LINGER_SECONDS, limit=4 * self.server.max_body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: `_answer` logs one line per request, with only what may be shown."""

    def log_error(self, format: str, *args: Any) -> None:
        """Malformed requests are answered by http.server itself; say only that one was."""
        self.server.log(f"webhook: a malformed request from {self.client_address[0]} was refused")


def _printable(text: str, limit: int = 200) -> str:
    """A sender's text made safe to print: no control characters, bounded length."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "…"
