"""`scoot logs` on the local driver: the replicas' log files, read as `tail -F` reads them."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from scoot_runtime.conformance import context_for
from scoot_runtime.drivers.base import Address, LogLine
from scoot_runtime.drivers.local import LocalDriver
from scoot_runtime.drivers.local.paths import LocalDriverError, log_path

WEB = Address("api", "web")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


async def collect(driver: LocalDriver, wanted: int, act: list[tuple[int, object]]) -> list[tuple[str, str]]:
    """Follow the logs until `wanted` lines came; `act[i]` runs once `i` lines came."""
    seen: list[tuple[str, str]] = []
    steps = dict(act)

    async def follow() -> None:
        stream = driver.logs(WEB, None, follow=True)
        async for line in stream:
            assert isinstance(line, LogLine)
            seen.append((line.source, line.text))
            step = steps.pop(len(seen), None)
            if callable(step):
                step()
            if len(seen) >= wanted:
                return

    await asyncio.wait_for(follow(), timeout=10)
    return seen


def test_printing_reads_every_replica_in_order(tmp_path: Path) -> None:
    driver = LocalDriver(context_for(tmp_path))
    workspace = driver.context.workspace
    write(log_path(workspace, driver.context.target, WEB, 1), "one a\none b\n")
    write(log_path(workspace, driver.context.target, WEB, 0), "zero a\nzero unfinished")

    async def read(replica: int | None) -> list[tuple[str, str]]:
        return [(line.source, line.text) async for line in driver.logs(WEB, None, replica=replica)]

    assert asyncio.run(read(None)) == [("0", "zero a"), ("0", "zero unfinished"), ("1", "one a"), ("1", "one b")]
    assert asyncio.run(read(1)) == [("1", "one a"), ("1", "one b")]
    with pytest.raises(LocalDriverError, match=r"no logs of `api.web` yet \(.scoots/targets/test/logs/api.web.5.log"):
        asyncio.run(read(5))


def test_following_picks_up_new_replicas_and_replaced_files(tmp_path: Path) -> None:
    """A replica started later is followed too; a replaced file's unfinished line stays its own."""
    driver = LocalDriver(context_for(tmp_path))
    workspace = driver.context.workspace
    zero, one = log_path(workspace, driver.context.target, WEB, 0), log_path(workspace, driver.context.target, WEB, 1)
    write(zero, "r0 first\n")

    def rotate() -> None:
        write(zero, "r0 partial")
        os.replace(zero, zero.with_suffix(".log.1"))
        write(zero, "r0 after rotation\n")
        write(one, "r1 hello\n")

    seen = asyncio.run(collect(driver, 4, [(1, rotate)]))
    assert sorted(seen) == [("0", "r0 after rotation"), ("0", "r0 first"), ("0", "r0 partial"), ("1", "r1 hello")]


def test_following_waits_for_a_first_log(tmp_path: Path) -> None:
    driver = LocalDriver(context_for(tmp_path))
    zero = log_path(driver.context.workspace, driver.context.target, WEB, 0)

    async def later() -> list[tuple[str, str]]:
        asyncio.get_running_loop().call_later(0.3, write, zero, "started\n")
        return await collect(driver, 1, [])

    assert asyncio.run(later()) == [("0", "started")]
