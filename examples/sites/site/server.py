"""A site: answers `GET /` with its greeting, `GET /links` with the sites it links to.

Standard library only. Configuration comes from the environment, which
`architecture.sct` (and its module, `modules/site`) sets:

    PORT      the port to listen on
    HOST      the address to listen on (default 127.0.0.1)
    SITE      the site's name
    GREETING  the text `GET /` answers with
    LINK_*    other sites' URLs, answered by `GET /links` as {"en": URL, ...}
"""

from __future__ import annotations

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = int(os.environ.get("PORT", "8090"))
SITE = os.environ.get("SITE", "site")
GREETING = os.environ.get("GREETING", "hello")
LINKS = {
    key.removeprefix("LINK_").lower(): value
    for key, value in os.environ.items()
    if key.startswith("LINK_")
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/healthz":
            self.answer(200, {"ok": True})
        elif self.path == "/":
            self.answer(200, {"site": SITE, "greeting": GREETING})
        elif self.path == "/links":
            self.answer(200, dict(sorted(LINKS.items())))
        else:
            self.answer(404, {"error": f"no such path: {self.path}"})

    def answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{SITE}: {format % args}\n")


def main() -> None:
    server = ThreadingHTTPServer((HOST, PORT), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"{SITE} listening on http://{HOST}:{PORT}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
