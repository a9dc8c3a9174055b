"""The notes API: notes, their attachments, and search, as JSON over HTTP.

Standard library only. Besides the settings of `store.py`, it reads:

    PORT               the port to listen on (default 8090; the local driver gives replica i port + i)
    HOST               the address to listen on (default 127.0.0.1)
    WELCOME            the text `GET /` answers with
    MAX_ATTACHMENT_MB  the largest attachment accepted, in megabytes (default 5)

Endpoints:

    GET  /healthz                      200 when the database and the folder answer
    GET  /                             the welcome text
    GET  /notes[?q=word]               notes, newest first; with q, those holding the word
    POST /notes                        {"title": "...", "body": "..."} -> the new note
    GET  /notes/ID                     one note and the names of its attachments
    PUT  /notes/ID/attachments/NAME    store the request body as an attachment
    GET  /notes/ID/attachments/NAME    an attachment's bytes
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import threading
import time
from contextlib import closing
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import store

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = int(os.environ.get("PORT", "8090"))
WELCOME = os.environ.get("WELCOME", "Notes\n")
MAX_ATTACHMENT = int(float(os.environ.get("MAX_ATTACHMENT_MB", "5")) * 1024 * 1024)
MAX_JSON = 256 * 1024
REPLICA = f"web[{os.getpid()}]"


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Handler(BaseHTTPRequestHandler):
    server_version = "notes/1"

    # --- plumbing ------------------------------------------------------------

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            self.route(method, parts, query)
        except ApiError as error:
            self.send(error.status, {"error": error.message})
        except sqlite3.Error as error:
            self.log_error("database error: %s", error)
            self.send(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "database unavailable"})

    def send(self, status: HTTPStatus, body: Any, content_type: str = "application/json") -> None:
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data, content_type = body.encode(), "text/plain; charset=utf-8"
        else:
            data = json.dumps(body).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Replica", REPLICA)
        self.end_headers()
        self.wfile.write(data)

    def body(self, limit: int) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"at most {limit} bytes")
        return self.rfile.read(length)

    # --- routes --------------------------------------------------------------

    def route(self, method: str, parts: list[str], query: dict[str, str]) -> None:
        match method, parts:
            case "GET", ["healthz"]:
                with closing(store.connect()) as db:
                    db.execute("SELECT 1").fetchone()
                if not store.ATTACHMENTS_DIR.is_dir():
                    raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "no attachments folder")
                self.send(HTTPStatus.OK, {"status": "ok", "replica": REPLICA})
            case "GET", []:
                self.send(HTTPStatus.OK, WELCOME)
            case "GET", ["notes"]:
                self.send(HTTPStatus.OK, {"notes": list_notes(query.get("q", ""))})
            case "POST", ["notes"]:
                self.send(HTTPStatus.CREATED, create_note(self.body(MAX_JSON)))
            case "GET", ["notes", note_id]:
                self.send(HTTPStatus.OK, get_note(note_id))
            case "PUT", ["notes", note_id, "attachments", name]:
                self.send(
                    HTTPStatus.CREATED, put_attachment(note_id, name, self.body(MAX_ATTACHMENT))
                )
            case "GET", ["notes", note_id, "attachments", name]:
                self.send(HTTPStatus.OK, get_attachment(note_id, name), "application/octet-stream")
            case _:
                raise ApiError(HTTPStatus.NOT_FOUND, f"no route for {method} {self.path}")

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{REPLICA}: {self.address_string()} {format % args}\n")


def note_id_of(text: str) -> int:
    if not text.isdigit():
        raise ApiError(HTTPStatus.NOT_FOUND, f"no note {text}")
    return int(text)


def list_notes(q: str) -> list[dict[str, Any]]:
    sql = "SELECT id, title, created_at FROM notes"
    args: tuple[Any, ...] = ()
    if q:
        sql += " WHERE id IN (SELECT note_id FROM words WHERE word = ?)"
        args = (q.lower(),)
    with closing(store.connect()) as db:
        return [dict(row) for row in db.execute(sql + " ORDER BY id DESC LIMIT 100", args)]


def create_note(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw or b"null")
    except ValueError:
        raise ApiError(HTTPStatus.BAD_REQUEST, "body is not JSON") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("title"), str)
        or not data["title"].strip()
    ):
        raise ApiError(HTTPStatus.BAD_REQUEST, 'send {"title": "...", "body": "..."}')
    body = data.get("body", "")
    if not isinstance(body, str):
        raise ApiError(HTTPStatus.BAD_REQUEST, "`body` must be a string")
    with closing(store.connect()) as db, db:
        cursor = db.execute(
            "INSERT INTO notes (title, body, created_at) VALUES (?, ?, ?)",
            (data["title"].strip(), body, time.time()),
        )
    return get_note(str(cursor.lastrowid))


def get_note(text: str) -> dict[str, Any]:
    note_id = note_id_of(text)
    with closing(store.connect()) as db:
        row = db.execute(
            "SELECT id, title, body, created_at, indexed_revision = revision AS indexed "
            "FROM notes WHERE id = ?",
            (note_id,),
        ).fetchone()
        if row is None:
            raise ApiError(HTTPStatus.NOT_FOUND, f"no note {note_id}")
        names = db.execute(
            "SELECT name, size FROM attachments WHERE note_id = ? ORDER BY name", (note_id,)
        ).fetchall()
    note = dict(row)
    note["indexed"] = bool(note["indexed"])
    note["attachments"] = [dict(name) for name in names]
    return note


def put_attachment(text: str, name: str, data: bytes) -> dict[str, Any]:
    note_id = note_id_of(text)
    if not store.safe_name(name):
        raise ApiError(
            HTTPStatus.BAD_REQUEST, "name an attachment with letters, digits, `.`, `_` and `-`"
        )
    get_note(text)  # 404 for a note that does not exist
    path = store.attachment_path(note_id, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}.part")
    partial.write_bytes(data)
    os.replace(partial, path)  # atomic: readers see the old file or the new one
    with closing(store.connect()) as db, db:
        db.execute(
            "INSERT INTO attachments (note_id, name, size) VALUES (?, ?, ?) "
            "ON CONFLICT (note_id, name) DO UPDATE SET size = excluded.size",
            (note_id, name, len(data)),
        )
        db.execute("UPDATE notes SET revision = revision + 1 WHERE id = ?", (note_id,))
    return {"note": note_id, "name": name, "size": len(data)}


def get_attachment(text: str, name: str) -> bytes:
    note_id = note_id_of(text)
    path = store.attachment_path(note_id, name)
    if not store.safe_name(name) or not path.is_file():
        raise ApiError(HTTPStatus.NOT_FOUND, f"note {note_id} has no attachment {name!r}")
    return path.read_bytes()


class Server(ThreadingHTTPServer):
    daemon_threads = True


def main() -> None:
    store.init()
    server = Server((HOST, PORT), Handler)

    def stop(signum: int, _frame: object) -> None:
        print(f"{REPLICA}: {signal.Signals(signum).name}, shutting down", flush=True)
        # shutdown() waits for serve_forever() to return: call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"{REPLICA}: listening on http://{HOST}:{PORT}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    print(f"{REPLICA}: stopped", flush=True)


if __name__ == "__main__":
    main()
