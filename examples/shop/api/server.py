"""The shop's order API: a small JSON API over HTTP, backed by SQLite.

Standard library only. Configuration comes from the environment, which
`architecture.sct` sets:

    PORT           the port to listen on (default 8080)
    HOST           the address to listen on (default 127.0.0.1)
    DATABASE_PATH  the SQLite file (the `orders` storage's `path`)
    GREETING       the text `GET /` answers with
    ADMIN_TOKEN    the bearer token `GET /admin/stats` requires (a secret);
                   when it is empty the admin endpoint is disabled

Endpoints:

    GET  /healthz               200 when the database answers
    GET  /                      the greeting
    GET  /orders[?status=S]     orders, newest first
    POST /orders                {"item": "...", "quantity": 1} -> the new order
    GET  /orders/ID             one order
    POST /orders/ID/fulfil      mark an order fulfilled (the worker calls this)
    GET  /admin/stats           order counts by status (Authorization: Bearer TOKEN)
"""

from __future__ import annotations

import hmac
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
from urllib.parse import parse_qs, urlsplit

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = int(os.environ.get("PORT", "8080"))
DATABASE_PATH = os.environ.get("DATABASE_PATH", "orders.sqlite")
GREETING = os.environ.get("GREETING", "hello")
ADMIN_TOKEN = os.environ.get("ADMIN_TOKEN", "")
MAX_BODY = 64 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    item         TEXT    NOT NULL,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    status       TEXT    NOT NULL DEFAULT 'pending',
    created_at   REAL    NOT NULL,
    fulfilled_at REAL
);
CREATE INDEX IF NOT EXISTS orders_status ON orders (status);
"""


def connect() -> sqlite3.Connection:
    db = sqlite3.connect(DATABASE_PATH, timeout=10)
    db.row_factory = sqlite3.Row
    return db


def init_db() -> None:
    folder = os.path.dirname(os.path.abspath(DATABASE_PATH))
    os.makedirs(folder, exist_ok=True)
    with closing(connect()) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(SCHEMA)


def order_json(row: sqlite3.Row) -> dict[str, Any]:
    return dict(row)


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Handler(BaseHTTPRequestHandler):
    server_version = "shop-api/1"

    # --- plumbing ------------------------------------------------------------

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            status, body = self.route(method, parts, query)
        except ApiError as error:
            status, body = error.status, {"error": error.message}
        except sqlite3.Error as error:
            self.log_error("database error: %s", error)
            status, body = HTTPStatus.SERVICE_UNAVAILABLE, {"error": "database unavailable"}
        self.send_json(status, body)

    def send_json(self, status: HTTPStatus, body: Any) -> None:
        data = json.dumps(body).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            raise ApiError(HTTPStatus.BAD_REQUEST, "body is not JSON") from None

    # --- routes --------------------------------------------------------------

    def route(self, method: str, parts: list[str], query: dict[str, str]) -> tuple[HTTPStatus, Any]:
        match method, parts:
            case "GET", ["healthz"]:
                with closing(connect()) as db:
                    db.execute("SELECT 1").fetchone()
                return HTTPStatus.OK, {"status": "ok"}
            case "GET", []:
                return HTTPStatus.OK, {"service": "shop", "message": GREETING}
            case "GET", ["orders"]:
                return HTTPStatus.OK, {"orders": self.list_orders(query.get("status"))}
            case "POST", ["orders"]:
                return HTTPStatus.CREATED, self.create_order(self.read_json())
            case "GET", ["orders", order_id]:
                return HTTPStatus.OK, self.get_order(order_id)
            case "POST", ["orders", order_id, "fulfil"]:
                return HTTPStatus.OK, self.fulfil_order(order_id)
            case "GET", ["admin", "stats"]:
                self.require_admin()
                return HTTPStatus.OK, self.stats()
        raise ApiError(HTTPStatus.NOT_FOUND, f"no route for {method} {self.path}")

    def list_orders(self, status: str | None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM orders", ()
        if status:
            sql, args = sql + " WHERE status = ?", (status,)
        with closing(connect()) as db:
            rows = db.execute(sql + " ORDER BY id DESC LIMIT 100", args).fetchall()
        return [order_json(row) for row in rows]

    def create_order(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(HTTPStatus.BAD_REQUEST, 'send {"item": "...", "quantity": 1}')
        item, quantity = body.get("item"), body.get("quantity", 1)
        if not isinstance(item, str) or not item.strip():
            raise ApiError(HTTPStatus.BAD_REQUEST, "`item` must be a non-empty string")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise ApiError(HTTPStatus.BAD_REQUEST, "`quantity` must be a positive integer")
        with closing(connect()) as db, db:
            cursor = db.execute(
                "INSERT INTO orders (item, quantity, created_at) VALUES (?, ?, ?)",
                (item.strip(), quantity, time.time()),
            )
            row = db.execute("SELECT * FROM orders WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return order_json(row)

    def get_order(self, order_id: str) -> dict[str, Any]:
        with closing(connect()) as db:
            row = db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        if row is None:
            raise ApiError(HTTPStatus.NOT_FOUND, f"no order {order_id}")
        return order_json(row)

    def fulfil_order(self, order_id: str) -> dict[str, Any]:
        with closing(connect()) as db, db:
            db.execute(
                "UPDATE orders SET status = 'fulfilled', fulfilled_at = ? "
                "WHERE id = ? AND status = 'pending'",
                (time.time(), order_id),
            )
        return self.get_order(order_id)

    def require_admin(self) -> None:
        if not ADMIN_TOKEN:
            raise ApiError(
                HTTPStatus.SERVICE_UNAVAILABLE, "admin endpoint disabled: no ADMIN_TOKEN"
            )
        given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), ADMIN_TOKEN.encode()):
            raise ApiError(HTTPStatus.UNAUTHORIZED, "send Authorization: Bearer <admin token>")

    def stats(self) -> dict[str, Any]:
        with closing(connect()) as db:
            rows = db.execute("SELECT status, COUNT(*) AS n FROM orders GROUP BY status").fetchall()
        return {"orders": {row["status"]: row["n"] for row in rows}}

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"api: {self.address_string()} {format % args}\n")


def main() -> None:
    init_db()
    server = ThreadingHTTPServer((HOST, PORT), Handler)
    server.daemon_threads = True

    def stop(signum: int, _frame: object) -> None:
        print(f"api: {signal.Signals(signum).name}, shutting down", flush=True)
        # shutdown() waits for serve_forever() to return: call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"api: listening on http://{HOST}:{PORT}, database {DATABASE_PATH}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    print("api: stopped", flush=True)


if __name__ == "__main__":
    main()
