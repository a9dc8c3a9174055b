"""The shop's worker: every few seconds, fulfils the orders the API holds as pending.

Standard library only. Configuration comes from the environment, which
`architecture.sct` sets:

    API_URL       the API's address (`api.web.url`), such as http://127.0.0.1:8080
    POLL_SECONDS  how long to wait between rounds (default 5)

It stops cleanly on SIGTERM or SIGINT, finishing the order in hand.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import urllib.error
import urllib.request
from typing import Any

API_URL = os.environ.get("API_URL", "http://127.0.0.1:8080").rstrip("/")
POLL_SECONDS = float(os.environ.get("POLL_SECONDS", "5"))
TIMEOUT = 10

stopping = threading.Event()


def call(method: str, path: str) -> Any:
    request = urllib.request.Request(
        API_URL + path, method=method, headers={"Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.load(response)


def fulfil_pending() -> int:
    """One round: fulfil every pending order; return how many."""
    done = 0
    for order in call("GET", "/orders?status=pending")["orders"]:
        if stopping.is_set():
            break
        call("POST", f"/orders/{order['id']}/fulfil")
        print(
            f"worker: fulfilled order {order['id']} ({order['quantity']} x {order['item']})",
            flush=True,
        )
        done += 1
    return done


def main() -> None:
    def stop(signum: int, _frame: object) -> None:
        print(f"worker: {signal.Signals(signum).name}, stopping", flush=True)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"worker: polling {API_URL} every {POLL_SECONDS:g}s", flush=True)
    while not stopping.is_set():
        try:
            fulfil_pending()
        except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
            # The API may be starting or restarting: try again next round.
            print(f"worker: cannot reach the API ({error}); retrying", flush=True)
        stopping.wait(POLL_SECONDS)
    print("worker: stopped", flush=True)


if __name__ == "__main__":
    main()
