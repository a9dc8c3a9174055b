"""The session's moto server (see `moto_server`), started once, stopped at the end; an aws
driver on it that must leave nothing behind."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto_server import CREDENTIALS, REGION, Moto, leftovers, start, stop

from scoot_runtime.conformance import context_for
from scoot_runtime.drivers.aws import AwsDriver


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    try:
        server, url = start(tmp_path_factory.mktemp("moto") / "server.log")
        try:
            yield Moto(url)
        finally:
            stop(server)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def driver(tmp_path: Path, moto_server: Moto) -> Iterator[AwsDriver]:
    made = AwsDriver(context_for(tmp_path, region=REGION, endpoint_url=moto_server.endpoint_url))
    yield made
    asyncio.run(made.close())
    assert leftovers(moto_server, made.context.lineage) == []
