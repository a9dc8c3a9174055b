"""Waiting for something the test can look at, up to a deadline (never a fixed sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], object], seconds: float = 5.0, what: str = "timed out waiting") -> None:
    """Look at `condition` until it holds; fail with `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)
