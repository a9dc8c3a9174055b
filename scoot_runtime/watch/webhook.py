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

Every connection gets an answer, a burst too: the listen backlog queues a burst rather
than drop it, and a connection that finds every slot taken is answered 503 (with
Retry-After) as soon as it is accepted, then read to its sender's end, for `timeout` at
most, before it is closed, so that the sender sees the answer, not a reset (closing
under a sender still writing resets the connection). That waiting is done by one
thread for all of them (`_Busy`), so the accepting thread only hands them over. Busy
refusals are logged counted: the first of a spell at once, the rest in one line a
second at most, so that a burst is a few lines, not a line each.

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
import selectors
import socket
import socketserver
import threading
import time
from collections import OrderedDict, deque
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
_BACKLOG = 1024  # connections the kernel queues before accepting (socketserver's default: 5)
_MAX_BUSY = 1024  # refused connections read to their end at once; beyond, closed at once
_BUSY_LOG_SECONDS = 1.0  # busy refusals are logged, counted, once a second at most
_BUSY_BODY = b'{"message": "too many requests at once; try again"}\n'
_BUSY_ANSWER = (
    b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\n"
    b"Content-Length: " + str(len(_BUSY_BODY)).encode() + b"\r\nConnection: close\r\n\r\n" + _BUSY_BODY
)


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
    request_queue_size = _BACKLOG

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
        self._busy = _Busy(log, max_requests, timeout)
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
        self._busy.start()
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
        self._busy.stop()
        with self._open_changed:
            self.stopping = True
            for connection in self._open:
                with contextlib.suppress(OSError):  # already closed by its sender
                    connection.shutdown(socket.SHUT_RDWR)
            self._open_changed.wait_for(lambda: not self._open, timeout=_STOP_SECONDS)
        self.server_close()

    def wait_handling(self, count: int, timeout: float) -> bool:
        """Wait until `count` connections are being handled (each holding a slot); False
        after `timeout` seconds. For a caller that must know its connections are in."""
        with self._open_changed:
            return self._open_changed.wait_for(lambda: len(self._open) >= count, timeout=timeout)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._busy.refuse(request, client_address[0])
            return
        # Registered here, on the serving thread, before its thread starts: once
        # shutdown() has returned, every connection in progress is in the set.
        with self._open_changed:
            self._open.add(request)
            self._open_changed.notify_all()
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


class _Busy:
    """The connections refused because every slot is taken, answered and read to their end.

    `refuse` (on the accepting thread) answers 503 at once, without blocking, and hands the
    connection to this object's thread, which reads and drops what its sender still sends
    until it closes its side, `linger` seconds or `max_body` bytes, whichever first, and
    only then closes it: so the close is not a reset, which would lose the answer. One
    thread and a selector for all of them; at most `_MAX_BUSY` held, the rest closed
    after their answer (the file descriptors are the limit).

    Refusals are counted and logged as `webhook: 503 Service Unavailable to N requests
    from ADDRESSES: ...`: the first of a spell at once, then at most one line each
    `_BUSY_LOG_SECONDS`, and the rest when stopping.
    """

    def __init__(self, log: Callable[[str], None], max_requests: int, linger: float) -> None:
        self.log = log
        self.max_requests = max_requests
        self.linger = linger
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self._handed: deque[socket.socket] = deque()  # from the accepting thread
        self._held: dict[socket.socket, tuple[float, int]] = {}  # deadline, bytes still taken
        self._lock = threading.Lock()
        self._count = 0  # refusals not logged yet
        self._addresses: set[str] = set()
        self._logged_at = -_BUSY_LOG_SECONDS
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="scoot-webhook-busy", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close what is held (their senders have their answer), log what is counted."""
        with self._lock:
            self._stopping = True
        self._wake()
        if self._thread is not None:
            self._thread.join(_STOP_SECONDS)
            self._thread = None
        else:
            self._close_all()
        self._flush(force=True)

    def refuse(self, connection: socket.socket, address: str) -> None:
        try:
            connection.setblocking(False)
            # A new connection's send buffer is empty: the answer fits, whole, at once.
            answered = connection.send(_BUSY_ANSWER) == len(_BUSY_ANSWER)
            connection.shutdown(socket.SHUT_WR)
        except OSError:  # the sender is gone already
            answered = False
        with self._lock:
            if answered:
                self._count += 1
                self._addresses.add(address)
            hold = answered and not self._stopping and len(self._handed) + len(self._held) < _MAX_BUSY
            if hold:
                self._handed.append(connection)
        if not hold:
            connection.close()
        self._flush()
        self._wake()  # to take it, or to log the count in time

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full: a wake-up is pending anyway
            self._wake_write.send(b"\0")

    def _run(self) -> None:
        try:
            while True:
                now = time.monotonic()
                with self._lock:
                    stopping = self._stopping
                    handed = list(self._handed)
                    self._handed.clear()
                if stopping:
                    for connection in handed:
                        connection.close()
                    return
                for connection in handed:
                    self._held[connection] = (now + self.linger, 4 * MAX_BODY)
                    self._selector.register(connection, selectors.EVENT_READ, connection)
                for connection, (deadline, _) in list(self._held.items()):
                    if deadline <= now:
                        self._drop(connection)
                self._flush()
                waits = [deadline - now for deadline, _ in self._held.values()]
                if self._count:
                    waits.append(self._logged_at + _BUSY_LOG_SECONDS - now)
                for key, _ in self._selector.select(max(0.0, min(waits)) if waits else None):
                    if key.data is None:  # woken
                        with contextlib.suppress(OSError):
                            self._wake_read.recv(4096)
                    else:
                        self._read(key.data)
        finally:
            self._close_all()

    def _read(self, connection: socket.socket) -> None:
        """Drop what arrived; at the sender's end (or past the bound) close the connection."""
        deadline, left = self._held[connection]
        try:
            data = connection.recv(min(left, 65536))
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data or len(data) >= left:
            self._drop(connection)
        else:
            self._held[connection] = (deadline, left - len(data))

    def _drop(self, connection: socket.socket) -> None:
        self._selector.unregister(connection)
        del self._held[connection]
        connection.close()

    def _close_all(self) -> None:
        for connection in list(self._held):
            self._drop(connection)
        self._selector.close()
        self._wake_read.close()
        self._wake_write.close()

    def _flush(self, force: bool = False) -> None:
        """Log the refusals counted, if the last such line is a while ago (or `force`)."""
        with self._lock:
            now = time.monotonic()
            if not self._count or (not force and now - self._logged_at < _BUSY_LOG_SECONDS):
                return
            count, addresses = self._count, sorted(self._addresses)
            self._count, self._addresses, self._logged_at = 0, set(), now
        shown = ", ".join(addresses[:3]) + (f" and {len(addresses) - 3} more" if len(addresses) > 3 else "")
        requests = "request" if count == 1 else "requests"
        self.log(
            f"webhook: 503 Service Unavailable to {count} {requests} from {shown}: "
            f"more than {self.max_requests} at once"
        )


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
