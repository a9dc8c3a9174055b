"""The console's HTTP server: the standard library's, bound to 127.0.0.1 alone.

Every request carries the token the command printed: the first page load in its query
(`/?token=…`, as Jupyter's), every later one in the `X-Scoot-Token` header, which
another site's page cannot set on a request to here; there are no cookies. What changes
anything is a POST. A request for another Host (a DNS rebinding) is refused as well.

    GET  /?token=T                   the page (its CSS and script inlined, under a nonce)
    GET  /api/picture?since=V        the picture, once its version is past V (long poll)
    GET  /api/object?address=A       one object's details
    GET  /api/logs?address=A[&replica=N]   a compute's log, followed (text/event-stream)
    GET  /api/job                    how the console's apply goes
    POST /api/plan   {"destroy": B}  a plan (of destruction), saved; its id and changes
    POST /api/apply  {"id": ID, "confirm": NAME}
                                     apply exactly that saved plan (a destruction only
                                     when NAME is the application's)
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import secrets as random
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from scoot_app.console.session import Session
from scoot_runtime.errors import ScootError

HOST = "127.0.0.1"
HEADER = "X-Scoot-Token"
LONG_POLL_SECONDS = 20.0
KEEPALIVE_SECONDS = 5.0
MAX_BODY = 4096


class ConsoleError(ScootError):
    """The console cannot serve (the port is taken, say)."""


class ConsoleServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, session: Session, port: int = 0, token: str | None = None) -> None:
        self.session = session
        self.token = token or random.token_urlsafe(32)
        self.streams = 0  # log streams open now
        self.streams_lock = threading.Lock()
        try:
            super().__init__((HOST, port), Handler)
        except OSError as error:
            raise ConsoleError(
                f"cannot listen on {HOST}:{port}: {error.strerror or error}; give another port with --port "
                "(0: any free one)"
            ) from None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/?token={self.token}"

    def start(self) -> threading.Thread:
        """Serve in a thread (the tests' way); `serve_forever` serves in this one."""
        thread = threading.Thread(target=self.serve_forever, name="scoot-console", daemon=True)
        thread.start()
        return thread


def _page(nonce: str) -> bytes:
    static = resources.files("scoot_app.console") / "static"
    html = (static / "index.html").read_text(encoding="utf-8")
    html = html.replace("/*STYLE*/", (static / "console.css").read_text(encoding="utf-8"))
    html = html.replace("//SCRIPT", (static / "console.js").read_text(encoding="utf-8"))
    return html.replace("NONCE", nonce).encode()


class Handler(BaseHTTPRequestHandler):
    server: ConsoleServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the page is the console's output; requests are not

    # -- checks ---------------------------------------------------------------------------

    def _allowed(self, query: dict[str, list[str]], page: bool) -> bool:
        port = self.server.port
        if self.headers.get("Host") not in (f"{HOST}:{port}", f"localhost:{port}"):
            self._send(HTTPStatus.FORBIDDEN, b"wrong Host: open the address `scoot console` printed\n")
            return False
        given = self.headers.get(HEADER) or (query.get("token", [""])[0] if page else "")
        if not hmac.compare_digest(given.encode(), self.server.token.encode()):
            self._send(HTTPStatus.UNAUTHORIZED, b"no or wrong token: open the address `scoot console` printed\n")
            return False
        return True

    def _send(self, status: HTTPStatus, body: bytes, kind: str = "text/plain; charset=utf-8", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, text: str | None, status: HTTPStatus = HTTPStatus.OK) -> None:
        if text is None:
            self._send(HTTPStatus.NOT_FOUND, b'{"error": "no such object"}', "application/json")
            return
        self._send(status, text.encode(), "application/json")

    # -- requests -------------------------------------------------------------------------

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if not self._allowed(query, page=url.path == "/"):
            return
        session = self.server.session
        try:
            if url.path == "/":
                nonce = random.token_urlsafe(16)
                policy = (
                    f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
                    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                    "frame-ancestors 'none'"
                )
                self._send(HTTPStatus.OK, _page(nonce), "text/html; charset=utf-8", Content_Security_Policy=policy)
            elif url.path == "/api/picture":
                since = int(query.get("since", ["-1"])[0] or -1)
                version, text = session.wait_for_change(since, LONG_POLL_SECONDS)
                self._json(f'{{"version": {version}, "picture": {text}}}')
            elif url.path == "/api/object":
                self._json(session.object(query.get("address", [""])[0]))
            elif url.path == "/api/job":
                self._json(session.job())
            elif url.path == "/api/logs":
                replica = query.get("replica", [""])[0]
                self._stream_logs(query.get("address", [""])[0], int(replica) if replica.isdigit() else None)
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n")
        except ScootError as error:
            self._json(session.json({"error": str(error)}), HTTPStatus.BAD_REQUEST)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        # The token in the header only: a form another site posts here cannot carry one.
        if not self._allowed({}, page=False):
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"too large\n")
            return
        raw = self.rfile.read(length) if length else b"{}"
        session = self.server.session
        try:
            body = orjson.loads(raw)
            if not isinstance(body, dict):
                self._send(HTTPStatus.BAD_REQUEST, b"the body is not a JSON object\n")
            elif url.path == "/api/plan":
                self._json(session.make_plan(destroy=body.get("destroy") is True))
            elif url.path == "/api/apply":
                self._json(session.apply(str(body.get("id", "")), str(body.get("confirm", ""))))
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n")
        except orjson.JSONDecodeError:
            self._send(HTTPStatus.BAD_REQUEST, b"the body is not JSON\n")
        except ScootError as error:
            self._json(session.json({"error": str(error)}), HTTPStatus.BAD_REQUEST)

    def _stream_logs(self, address: str, replica: int | None) -> None:
        """Server-sent events (read by the page with fetch, which can send the token's
        header): one `data:` line per log line, a comment every few seconds. A reader
        that leaves closes the connection: seen at once (the socket turns readable, and
        reads nothing), and the stream ends then, not at the next write."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True

        async def stream() -> None:
            lines: asyncio.Queue[str | None] = asyncio.Queue()
            gone = asyncio.Event()

            async def read() -> None:
                try:
                    async for line in self.server.session.logs(address, replica):
                        await lines.put(line)
                except ScootError as error:
                    await lines.put(self.server.session.json({"source": "console", "text": str(error)}))
                finally:
                    await lines.put(None)

            def readable() -> None:
                try:
                    peeked = self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                except BlockingIOError:
                    return
                except OSError:
                    peeked = b""
                # Nothing to read: the reader closed. Anything else (a request it should not
                # send here) is left to the keepalive, as before.
                loop.remove_reader(self.connection.fileno())
                if not peeked:
                    gone.set()

            loop = asyncio.get_running_loop()
            loop.add_reader(self.connection.fileno(), readable)
            reader = asyncio.create_task(read())
            leaving = asyncio.create_task(gone.wait())
            try:
                while True:
                    getting = asyncio.create_task(lines.get())
                    done, _ = await asyncio.wait({getting, leaving}, timeout=KEEPALIVE_SECONDS,
                                                 return_when=asyncio.FIRST_COMPLETED)
                    if leaving in done:
                        getting.cancel()
                        return
                    if not done:
                        getting.cancel()
                        self.wfile.write(b": keepalive\n\n")
                        self.wfile.flush()
                        continue
                    line = getting.result()
                    if line is None:
                        return
                    self.wfile.write(b"data: " + line.encode() + b"\n\n")
                    self.wfile.flush()
            finally:
                with contextlib.suppress(Exception):
                    loop.remove_reader(self.connection.fileno())
                leaving.cancel()
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader

        with self.server.streams_lock:
            self.server.streams += 1
        try:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                asyncio.run(stream())
        finally:
            with self.server.streams_lock:
                self.server.streams -= 1
