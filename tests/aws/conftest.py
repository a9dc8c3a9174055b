"""The session's moto server (see `moto_server`), started once, stopped at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from moto_server import CREDENTIALS, Moto, start, stop


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
