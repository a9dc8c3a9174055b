"""The driver conformance suite (`scoot_runtime.conformance`), run against the local driver.

Real processes: a small HTTP server (http.server) on a free port, a pair of
sleeping replicas; SQLite and directory storage.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from scoot_runtime.conformance import DriverConformance, Sample, context_for
from scoot_runtime.drivers.base import Address, Created, ObjectSpec
from scoot_runtime.drivers.local import LocalDriver
from scoot_runtime.drivers.local import processes as local_processes
from tests.ports import free_port

SERVER = """
import http.server, os

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = os.environ.get("GREETING", "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""
SLEEPER = "import time; time.sleep(600)"


class TestLocalConformance(DriverConformance):
    owner: str | None = None
    root: Path | None = None

    def make_driver(self, root: Path) -> LocalDriver:
        driver = LocalDriver(context_for(root, grace_period=2))
        self.owner, self.root = driver.owner, root
        return driver

    def samples(self, root: Path) -> Sequence[Sample]:
        source = root / "src"
        source.mkdir(exist_ok=True)
        return [
            Sample(
                Address("api", "web"),
                "compute",
                {
                    "command": [sys.executable, "-c", SERVER],
                    "port": free_port(),
                    "health": "/",
                    "env": {"GREETING": "hi"},
                },
                source=source,
                update={"env": {"GREETING": "bonjour"}},
                # Same port: the old one stops, the new one cannot start, the old one starts again.
                broken={"command": ["/nonexistent/scoot-no-such-program"]},
            ),
            Sample(
                Address("api", "workers"),
                "compute",
                {"command": [sys.executable, "-c", SLEEPER], "replicas": 2},
                source=source,
                update={"replicas": 3},
                # No port: the new replicas start beside the old ones, and exit.
                broken={"command": [sys.executable, "-c", "raise SystemExit(3)"]},
            ),
            Sample(
                Address("api", "orders"),
                "storage",
                {"engine": "sqlite"},
                update={"size": "1GB"},
                replace={"engine": "directory"},
            ),
            Sample(
                Address("api", "files"),
                "storage",
                {"engine": "directory"},
                replace={"engine": "sqlite"},
            ),
            # The local stand-ins of a cloud's stores: a folder and a SQLite file.
            Sample(
                Address("api", "pictures"),
                "storage",
                {"engine": "bucket"},
                update={"size": "1GB"},
                replace={"engine": "table"},
            ),
            Sample(
                Address("api", "products"),
                "storage",
                {"engine": "table"},
                replace={"engine": "bucket"},
            ),
        ]

    async def break_out_of_band(self, spec: ObjectSpec, created: Created) -> None:
        if spec.kind == "compute":
            assert self.owner is not None
            # scoot.lock records no pid: the processes are those carrying the object's marker.
            killed = [p.proc for p in local_processes.scan(self.owner, str(spec.address))]
            for proc in killed:
                os.kill(proc.pid, signal.SIGKILL)
            # A signal is delivered, not waited for: return once they are gone.
            while any(local_processes.is_running(proc) for proc in killed):
                local_processes.reap()
                await asyncio.sleep(0.01)
            return
        assert self.root is not None
        path = self.root / created.outputs["path"]
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()

    @pytest.mark.slow  # three replicas restarted one by one, each settling for 0.5 s
    def test_update_in_place(self, tmp_path: Path) -> None:
        super().test_update_in_place(tmp_path)

    @pytest.fixture(autouse=True)
    def _no_process_left(self) -> Iterator[None]:
        yield
        if self.owner is None:
            return
        # Kill whatever a failed test left, then fail if there was anything.
        left = local_processes.scan(self.owner)
        asyncio.run(local_processes.terminate(left, grace=0))
        assert not left, f"processes left running: {[p.pid for p in left]}"
