"""Is a process we just started healthy?

`health` is an HTTP path (a GET on the port answers 2xx or 3xx), a command
(it exits 0; run without a shell, in the process's folder, with its
environment), or absent: then a TCP connection to the port, or with no port the
process still running half a second after it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

HOST = "127.0.0.1"
# How long a process with nothing to probe must stay up to count as started.
SETTLE_SECONDS = 0.5
# The longest a single probe may take, so that a hung probe cannot eat the whole timeout.
PROBE_SECONDS = 2.0


class Unhealthy(Exception):
    """The process never became healthy; the message says how it failed."""


def describe(health: str | Sequence[str] | None, port: int | None) -> str:
    """What "healthy" means for this configuration, for messages."""
    if isinstance(health, str):
        return f"GET {health} on port {port} answering 2xx or 3xx"
    if health:
        return f"the health command `{health[0]}` exiting 0"
    if port is not None:
        return f"a TCP connection to port {port}"
    return f"the process running for {SETTLE_SECONDS:g} s"


async def wait_healthy(
    child: subprocess.Popen[bytes],
    *,
    health: str | Sequence[str] | None,
    port: int | None,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
) -> None:
    """Return once `child` is healthy; raise `Unhealthy` when it exits or `timeout` passes."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + timeout
    delay = 0.05
    reason = "no answer yet"
    while True:
        code = child.poll()
        if code is not None:
            raise Unhealthy(f"exited {exit_text(code)} while starting")
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise Unhealthy(
                f"was not healthy within {timeout:g} s ({reason}; "
                f"health_timeout = {timeout:g} s: raise it in the target's [targets.NAME] table of scoot.toml)"
            )
        probe_timeout = min(remaining, PROBE_SECONDS)
        if isinstance(health, str):
            failure = await asyncio.to_thread(_http_get, port or 0, health, probe_timeout)
        elif health:
            failure = await _command(health, cwd, env, probe_timeout)
        elif port is not None:
            failure = await _tcp_connect(port, probe_timeout)
        else:
            settled = loop.time() - started >= SETTLE_SECONDS
            failure = None if settled else "starting"
        # Healthy counts only if the process answering is still ours and alive.
        if failure is None and child.poll() is None:
            return
        reason = failure or reason
        await asyncio.sleep(max(0.0, min(delay, deadline - loop.time())))
        delay = min(delay * 2, 0.5)


def exit_text(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"on {signal.Signals(-code).name}"
    return f"with code {code}"


def _http_get(port: int, path: str, timeout: float) -> str | None:
    # Blocking (run in a thread). http.client does not follow redirects: a 3xx counts.
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path)
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as error:
        return f"GET {path}: {error}"
    finally:
        connection.close()
    return None if 200 <= status < 400 else f"GET {path} answered {status}"


async def _tcp_connect(port: int, timeout: float) -> str | None:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout)
    except (OSError, TimeoutError) as error:
        return f"port {port}: {error or 'timed out'}"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


async def _command(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float
) -> str | None:
    try:
        probe = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # so that a probe that hangs is killed with its children
        )
    except OSError as error:
        # A command that cannot start never will: say so now rather than at the timeout.
        raise Unhealthy(f"cannot run the health command `{argv[0]}`: {error.strerror}") from None
    try:
        code = await asyncio.wait_for(probe.wait(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(probe.pid, signal.SIGKILL)
        await probe.wait()
        return f"the health command `{argv[0]}` took more than {timeout:g} s"
    return None if code == 0 else f"the health command `{argv[0]}` exited {exit_text(code)}"
