"""The catalog API: products (a table) with pictures (a bucket), over HTTP.

Configuration comes from the environment, which `architecture.sct` and the
connections set:

    PORT          the port to listen on (default 8080)
    HOST          the address to listen on (default 127.0.0.1; the aws driver sets 0.0.0.0)
    PRODUCTS_URL  the `products` storage (see stores.py)
    PICTURES_URL  the `pictures` storage
    TITLE         the text `GET /` answers with
    ADMIN_TOKEN   the bearer token that changes need (a secret); empty: read-only

Endpoints:

    GET /healthz                        200
    GET /                               the title
    GET /products                       every product
    GET /products/ID                    one product
    PUT /products/ID                    {"name": "...", "price": 12.5} (Authorization: Bearer TOKEN)
    GET /products/ID/picture            its picture
    PUT /products/ID/picture            the picture's bytes (Authorization: Bearer TOKEN)
"""

from __future__ import annotations

import hmac
import json
import os
import re
import signal
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import stores

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = int(os.environ.get("PORT", "8080"))
TITLE = os.environ.get("TITLE", "catalog")
ADMIN_TOKEN = os.environ.get("ADMIN_TOKEN", "")
MAX_BODY = 5 * 1024 * 1024
PRODUCT = re.compile(r"^/products/([A-Za-z0-9_-]{1,64})(/picture)?$")

PRODUCTS = stores.products(os.environ.get("PRODUCTS_URL", "sqlite:///products.sqlite"))
PICTURES = stores.pictures(os.environ.get("PICTURES_URL", "file:///tmp/catalog-pictures"))


class Handler(BaseHTTPRequestHandler):
    server_version = "catalog/1"

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(HTTPStatus.OK, {"ok": True})
        elif self.path == "/":
            self._send(HTTPStatus.OK, {"title": TITLE})
        elif self.path == "/products":
            self._send(HTTPStatus.OK, PRODUCTS.all())
        elif match := PRODUCT.match(self.path):
            product_id, picture = match.groups()
            if picture:
                data = PICTURES.get(product_id)
                if data is None:
                    self._send(HTTPStatus.NOT_FOUND, {"error": "no picture"})
                else:
                    self._raw(HTTPStatus.OK, data, "application/octet-stream")
            else:
                product = PRODUCTS.get(product_id)
                if product is None:
                    self._send(HTTPStatus.NOT_FOUND, {"error": "no such product"})
                else:
                    self._send(HTTPStatus.OK, product)
        else:
            self._send(HTTPStatus.NOT_FOUND, {"error": "no such path"})

    def do_PUT(self) -> None:
        match = PRODUCT.match(self.path)
        if match is None:
            self._send(HTTPStatus.NOT_FOUND, {"error": "no such path"})
            return
        if not ADMIN_TOKEN or not hmac.compare_digest(
            self.headers.get("Authorization", ""), f"Bearer {ADMIN_TOKEN}"
        ):
            self._send(HTTPStatus.UNAUTHORIZED, {"error": "changes need Authorization: Bearer <ADMIN_TOKEN>"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"at most {MAX_BODY} bytes"})
            return
        body = self.rfile.read(length)
        product_id, picture = match.groups()
        if picture:
            PICTURES.put(product_id, body)
            self._send(HTTPStatus.OK, {"id": product_id, "picture": len(body)})
            return
        try:
            product = json.loads(body)
            if not isinstance(product, dict):
                raise ValueError("a JSON object")
        except ValueError:
            self._send(HTTPStatus.BAD_REQUEST, {"error": "the body must be a JSON object"})
            return
        product["id"] = product_id
        PRODUCTS.put(product_id, product)
        self._send(HTTPStatus.OK, product)

    def _send(self, status: HTTPStatus, data: Any) -> None:
        self._raw(status, json.dumps(data).encode(), "application/json")

    def _raw(self, status: HTTPStatus, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main() -> None:
    server = ThreadingHTTPServer((HOST, PORT), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"catalog listening on {HOST}:{PORT}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
