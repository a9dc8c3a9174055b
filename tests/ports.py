"""Free TCP ports on 127.0.0.1, for the servers the tests start."""

from __future__ import annotations

import socket


def free_port(count: int = 1) -> int:
    """A port P such that P .. P + count - 1 are all free now (a replica listens on port + replica)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port + count <= 65536 and all(_free(port + i) for i in range(count)):
            return port


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
