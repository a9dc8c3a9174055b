"""A replacement made create before destroy switches what depends on it over before the old
one goes (Terraform's create_before_destroy order), through the CLI on real processes.

`app.web` is replaced on a new port while `app.api`'s environment holds its URL: the new
web starts, the api is updated to the new URL, and only then does the old web stop. If the
api cannot be updated, its previous version still uses the old web, which is left running;
the next apply, once the api can start, finishes the switch and stops it.

Each server writes to a timeline file when it starts (after checking the web URL it was
given answers) and when it is asked to stop, so the order is the processes' own.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ports import free_port
from tests.runtime.test_cli_runtime import (
    app_processes,
    get,
    recorded,
    scoot,
    scoot_process,
    url_of,
)
from tests.runtime.test_saved_plan import cleaned_up

SERVER = """\
import http.server, os, signal, urllib.request

def note(text):
    with open(os.environ["TIMELINE"], "a") as timeline:
        timeline.write(text + "\\n")

web = os.environ.get("WEB_URL")
if web:  # the web it was given answers, or it does not start
    with urllib.request.urlopen(web + "/healthz", timeout=5) as answer:
        answer.read()

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\\n")
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)

def stop(*_):
    note(f"{os.environ['NAME']} stopped on {os.environ['PORT']}")
    os._exit(0)

signal.signal(signal.SIGTERM, stop)
note(f"{os.environ['NAME']} started on {os.environ['PORT']}" + (f" using {web}" if web else ""))
server.serve_forever()
"""

ARCHITECTURE = """\
application tiny {{
  owner = "acme"
}}

param port: number = 8080

component app {{
  source = "./app"

  compute web {{
    command = [{python}, "-u", "server.py"]
    port    = port
    health  = "/healthz"
    env = {{
      NAME     = "web"
      TIMELINE = {timeline}
    }}
  }}

  compute api {{
    command = [{api_program}, "-u", "server.py"]
    port    = {api_port}
    health  = "/healthz"
    env = {{
      NAME     = "api"
      WEB_URL  = web.url
      TIMELINE = {timeline}
    }}
  }}
}}
"""


class App:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.timeline = root.parent / "timeline.txt"
        self.api_port = free_port()

    def write(self, web_port: int, api_program: str = sys.executable) -> None:
        (self.root / "architecture.sct").write_text(
            ARCHITECTURE.format(
                python=json.dumps(sys.executable),
                api_program=json.dumps(api_program),
                api_port=self.api_port,
                timeline=json.dumps(str(self.timeline)),
            ),
            encoding="utf-8",
        )
        (self.root / "scoot.toml").write_text(f"[params]\nport = {web_port}\n", encoding="utf-8")

    def lines(self) -> list[str]:
        return self.timeline.read_text(encoding="utf-8").splitlines()


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    root = tmp_path / "tiny"
    (root / "app").mkdir(parents=True)
    (root / "app" / "server.py").write_text(SERVER, encoding="utf-8")
    with contextlib.contextmanager(cleaned_up)(root, monkeypatch) as folder:
        yield App(folder)


def lines_of(output: str, *starts: str) -> list[int]:
    """The index in `output` of the first line starting with each of `starts`."""
    lines = output.splitlines()
    return [next(i for i, line in enumerate(lines) if line.startswith(start)) for start in starts]


@pytest.mark.slow
# With one operation at a time too: the replacement lends its slot to its dependants.
@pytest.mark.parametrize("parallelism", ["64", "1"])
def test_a_replaced_compute_stops_only_after_what_uses_its_url_switched_over(app: App, parallelism: str) -> None:
    old_port, new_port = free_port(), free_port()
    app.write(old_port)
    first = scoot("apply", "--yes", str(app.root))
    assert first.exit_code == 0, first.output
    old_url, new_url = f"http://127.0.0.1:{old_port}", f"http://127.0.0.1:{new_port}"
    assert app.lines() == [f"web started on {old_port}", f"api started on {app.api_port} using {old_url}"]

    app.write(new_port)
    result = scoot("apply", "--yes", "--parallelism", parallelism, "--replace", "app.web", str(app.root))
    assert result.exit_code == 0, result.output
    assert "+/- app.web (compute) must be replaced, the new one first" in result.output
    # The event stream: the api is updated while the web's replacement is under way.
    web_started, api_done, web_done = lines_of(
        result.output, "app.web: replace started", "app.api: update done", "app.web: replace done"
    )
    assert web_started < api_done < web_done, result.output
    # The processes' own order: new web, api on its URL, and only then the old web stops.
    assert app.lines()[2:] == [
        f"web started on {new_port}",
        f"api stopped on {app.api_port}",
        f"api started on {app.api_port} using {new_url}",
        f"web stopped on {old_port}",
    ], app.lines()
    assert url_of(app.root) == new_url and get(new_url + "/healthz") == "ok\n"
    assert recorded(app.root)["app.api"]["identity"] == {"replicas": [0]}
    assert scoot("plan", "--detailed-exitcode", str(app.root)).exit_code == 0


@pytest.mark.slow
def test_when_what_uses_it_cannot_switch_over_the_old_one_keeps_serving_it(app: App) -> None:
    old_port, new_port = free_port(), free_port()
    app.write(old_port)
    assert scoot("apply", "--yes", str(app.root)).exit_code == 0
    old_url, new_url = f"http://127.0.0.1:{old_port}", f"http://127.0.0.1:{new_port}"
    api_url = f"http://127.0.0.1:{app.api_port}"

    # The api's new version cannot start: its previous one, on the old URL, keeps running.
    app.write(new_port, api_program="scoot-no-such-program")
    failed = scoot("apply", "--yes", "--replace", "app.web", str(app.root))
    assert failed.exit_code == 1, failed.output
    assert "app.web: replace done" in failed.output
    assert "app.api: the new version failed to start" in failed.output, failed.output
    assert f"web stopped on {old_port}" not in app.lines()
    assert get(old_url + "/healthz") == "ok\n" and get(new_url + "/healthz") == "ok\n"
    assert get(api_url + "/healthz") == "ok\n"
    assert url_of(app.root) == new_url  # what scoot.lock records is the new one

    # Once the api can start, the next apply switches it over and the old web goes.
    app.write(new_port)
    plan = scoot("plan", str(app.root))
    assert "! app.web (compute) has drifted: it will be repaired" in plan.output, plan.output
    assert "runs twice" in plan.output and "an old version kept for what still used it" in plan.output
    again = scoot("apply", "--yes", str(app.root))
    assert again.exit_code == 0, again.output
    assert f"web stopped on {old_port}" in app.lines()
    assert f"api started on {app.api_port} using {new_url}" in app.lines()
    assert get(new_url + "/healthz") == "ok\n" and get(api_url + "/healthz") == "ok\n"
    assert len(app_processes(app.root)) == 2
    assert scoot("plan", "--detailed-exitcode", str(app.root)).exit_code == 0


CHAIN = 6  # longer than the operations one slot lets resolve ahead (4 a slot)


@pytest.mark.slow
def test_a_chain_of_replacements_each_waiting_for_the_next_finishes_one_slot_at_a_time(app: App) -> None:
    # Each compute reads the one before's url; all are replaced at once, one operation at
    # a time: every replacement waits in its switch-over for the next one, and lends what
    # it holds meanwhile (else the chain would stop, holding every permit).
    ports = [free_port() for _ in range(CHAIN)]
    blocks = [
        f"""  compute c{i} {{
    command = [{json.dumps(sys.executable)}, "-u", "server.py"]
    port    = {port}
    health  = "/healthz"
    env = {{
      NAME     = "c{i}"
      TIMELINE = {json.dumps(str(app.timeline))}{f'''
      WEB_URL  = c{i - 1}.url''' if i else ""}
    }}
  }}
"""
        for i, port in enumerate(ports)
    ]
    (app.root / "architecture.sct").write_text(
        'application tiny {\n  owner = "acme"\n}\n\ncomponent app {\n  source = "./app"\n\n' + "\n".join(blocks) + "}\n",
        encoding="utf-8",
    )
    assert scoot("apply", "--yes", str(app.root)).exit_code == 0
    replaced = [option for i in range(CHAIN) for option in ("--replace", f"app.c{i}")]
    result = scoot_process("apply", "--yes", "--parallelism", "1", *replaced, str(app.root), cwd=app.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("replace done") == CHAIN, result.stdout
    assert len(app_processes(app.root)) == CHAIN
    assert scoot("plan", "--detailed-exitcode", str(app.root)).exit_code == 0
