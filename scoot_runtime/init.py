"""`scoot init`: the files of a new application that runs as it is.

    scoot.toml         the settings, every table explained, all but `[architecture]` commented out
    architecture.sct   one component `app`: a web server, a SQLite database, a connection
    app/server.py      the web server (standard library only)
    .gitignore         `.scoots/` (fetched sources, logs, run files: never checked in)
    .gitattributes     `scoot.lock merge=scoot`: git merges scoot.lock with `scoot merge-lock`

Nothing is overwritten unless asked (`force`); even then a `.gitignore` or a
`.gitattributes` that exists is only given the line it lacks, never replaced.
Inside a git repository, the merge driver is registered in its configuration,
which git does not copy to clones: `scoot init` in a clone of an application
(`prepare_clone`) registers it there, and writes nothing else.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from scoot_model import names
from scoot_runtime.errors import ScootError
from scoot_runtime.files import write_atomic

GITIGNORE = ".gitignore"
IGNORED = ".scoots/"
GITATTRIBUTES = ".gitattributes"
MERGED_BY_SCOOT = "scoot.lock merge=scoot"
# Files `init` gives a line, rather than writing them whole.
LINES = {GITIGNORE: IGNORED, GITATTRIBUTES: MERGED_BY_SCOOT}
MERGE_DRIVER = "scoot merge-lock %O %A %B"
DEFAULT_PORT = 8080

SETTINGS = """\
# Scoot settings of this application. Only [architecture] is needed; the other
# tables are here, commented out, to show what can be set.

[architecture]
path = "."                            # the .sct files: this folder (or one file, or a JSON file)
# from = "scheme"                     # or, instead of `path`: from its repository (as `--from`)

# [params]                            # values of the architecture's params;
# port = 9000                         # `--param port=9000` overrides them for one run

# [secrets]                           # secret("NAME") is read from the environment, then from
# file = "~/.config/scoot/{name}.env"  # this file of NAME=value lines, kept outside the repository

# [repositories]                      # where components without `source` find their code:
# driver = "github"                   # path (the default), git or github; by the naming scheme
# owner = "acme"                      # {{owner}}/{name}-{{component}} (default: the application's owner)

# [targets.staging]                   # where to apply; `local` (this machine) needs no table
# cloud = "aws"                       # the cloud driver; the other keys are the driver's options
# region = "eu-west-1"

# [watch]                             # `scoot watch`: apply again when a repository changes
# interval = 60                       # seconds between two looks
"""

ARCHITECTURE = """\
// {name}: the starter application of `scoot init`.
//
//   scoot plan             what `apply` would change
//   scoot apply            run it, then open http://127.0.0.1:{port}
//   scoot status           what runs, and where
//   scoot logs app.web     what the server printed (-f to follow)
//   scoot destroy          stop it (the database file is kept)

application {name} {{
  // owner = "your-github-user-or-org"
}}

// Set it in scoot.toml's [params], or for one run: scoot apply --param port=9000
param port: number = {port}

component app {{
  source = "./app"

  compute web {{
    command = ["python3", "-u", "server.py"]
    port    = port
    health  = "/healthz"
    env = {{
      PORT = port
    }}
  }}

  storage data {{
    engine = "sqlite"
  }}

  // Gives `web` the database's location as environment variables (DATA_PATH).
  connection web_data {{ from = web, to = data }}
}}
"""

SERVER = '''\
"""The web server of {name}: standard library only.

Scoot runs it with the environment `architecture.sct` gives it:

    PORT       the port to listen on
    DATA_PATH  the SQLite database of the `data` storage (from the `web_data` connection)

    GET /         a greeting, and how many visits the database has counted
    GET /healthz  200 while the server answers (Scoot checks it)
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = int(os.environ.get("PORT", "{port}"))
DATA_PATH = os.environ.get("DATA_PATH", "data.sqlite")


def count_visit() -> int:
    with closing(sqlite3.connect(DATA_PATH, timeout=10)) as db, db:
        db.execute("CREATE TABLE IF NOT EXISTS visits (at TEXT DEFAULT CURRENT_TIMESTAMP)")
        db.execute("INSERT INTO visits DEFAULT VALUES")
        return int(db.execute("SELECT count(*) FROM visits").fetchone()[0])


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/healthz":
            self.reply(200, "ok\\n")
        elif self.path == "/":
            self.reply(200, f"Hello from {name}! Visit number {{count_visit()}}.\\n")
        else:
            self.reply(404, "not found\\n")

    def reply(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print(f"{{self.address_string()}} {{format % args}}", flush=True)


def main() -> None:
    server = ThreadingHTTPServer((HOST, PORT), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"{name} listening on http://{{HOST}}:{{PORT}}, data in {{DATA_PATH}}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
'''


class InitError(ScootError):
    """`scoot init` cannot go on; the message says why and what to do. Nothing was written."""


@dataclass(frozen=True)
class Written:
    path: Path
    how: str  # "created", "overwritten", "updated"


def name_problem(name: str) -> str | None:
    """Why `name` cannot name an application, or None (the compiler checks the rest)."""
    return names.name_problem(name)


def suggest(name: str) -> str:
    """A valid name close to `name`: `My App!` → `my-app`."""
    text = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-").lower()
    if not text or not re.match(r"[A-Za-z_]", text):
        text = "app-" + text if text else "app"
    return text


def starter_files(name: str, port: int = DEFAULT_PORT) -> dict[str, str]:
    """The files of a new application, by path relative to its folder."""
    return {
        "scoot.toml": SETTINGS.format(name=name),
        "architecture.sct": ARCHITECTURE.format(name=name, port=port),
        "app/server.py": SERVER.format(name=name, port=port),
        GITIGNORE: IGNORED + "\n",
        GITATTRIBUTES: MERGED_BY_SCOOT + "\n",
    }


def existing(root: Path, files: dict[str, str]) -> list[str]:
    return [relative for relative in files if (root / relative).exists()]


def write(root: Path, files: dict[str, str], force: bool = False) -> list[Written]:
    """Write the files under `root`; refuse (writing nothing) if one exists, unless `force`."""
    present = existing(root, files)
    if present and not force:
        raise InitError(
            f"{root} already has {', '.join(present)}; nothing was written. "
            "Run `scoot init --force` to overwrite them (a .gitignore or .gitattributes is only "
            "given its line), or choose an empty folder: `scoot init DIR`."
        )
    for relative in files:
        if (root / relative).is_dir():
            raise InitError(f"{root / relative} is a folder, where `scoot init` writes a file; move it away")
    written: list[Written] = []
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if relative in LINES and path.exists():
            if _add_line(path, LINES[relative]):
                written.append(Written(path, "updated"))
            continue
        how = "overwritten" if path.exists() else "created"
        write_atomic(path, text)
        written.append(Written(path, how))
    return written


def _add_line(path: Path, line: str) -> bool:
    """Give a file a line it lacks (True), keeping everything it has."""
    current = path.read_text(encoding="utf-8")
    present = {existing.strip() for existing in current.splitlines()}
    if line in present or line.rstrip("/") in present:
        return False
    write_atomic(path, current + ("" if current.endswith("\n") or not current else "\n") + line + "\n")
    return True


def prepare_clone(root: Path) -> list[Written]:
    """What an application needs on a machine besides its files: the lines of its
    .gitignore and .gitattributes, and the merge driver registered with git."""
    written: list[Written] = []
    for relative, line in LINES.items():
        path = root / relative
        if not path.exists():
            write_atomic(path, line + "\n")
            written.append(Written(path, "created"))
        elif _add_line(path, line):
            written.append(Written(path, "updated"))
    return written


def register_merge_driver(root: Path) -> bool:
    """Register `scoot merge-lock` as git's `scoot` merge driver, if `root` is in a git
    repository (True); its configuration is the repository's own, never a global one."""
    inside = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--git-dir"], capture_output=True, text=True, check=False
    )
    if inside.returncode != 0:
        return False
    for key, value in (("merge.scoot.name", "scoot.lock, merged object by object"), ("merge.scoot.driver", MERGE_DRIVER)):
        subprocess.run(["git", "-C", str(root), "config", key, value], capture_output=True, text=True, check=True)
    return True
