"""Changes that arrive together are handled once.

Whoever notices a possible change (the poll timer, a webhook) calls `add(reason)`; the
loop calls `wait()`, which returns the reasons gathered once the newest of them is
`settle` seconds old (a burst of pushes is one batch), or once the oldest is `limit`
seconds old (a steady stream cannot put the batch off for ever). Reasons that arrive
while the loop is busy (an apply running) wait for the next `wait()`: they become one
batch, handled after it.

Thread-safe. `stop()` may be called from a signal handler on the thread that waits: the
lock is re-entrant, and what the handler does under it is set a flag and notify.
"""

from __future__ import annotations

import threading
import time


class Coalescer:
    def __init__(self, settle: float, limit: float | None = None) -> None:
        if settle < 0:
            raise ValueError("settle must be 0 or more seconds")
        self.settle = settle
        self.limit = max(settle, limit if limit is not None else 10 * settle)
        self._condition = threading.Condition(threading.RLock())
        self._reasons: list[str] = []
        self._first = 0.0
        self._last = 0.0
        self._stopped = False

    def add(self, reason: str) -> None:
        """Note a possible change; the same reason twice in a batch counts once."""
        with self._condition:
            now = time.monotonic()
            if not self._reasons:
                self._first = now
            self._last = now
            if reason not in self._reasons:
                self._reasons.append(reason)
            self._condition.notify_all()

    def stop(self) -> None:
        """Make every `wait()`, current and future, return at once with nothing."""
        with self._condition:
            self._stopped = True
            self._condition.notify_all()

    @property
    def stopped(self) -> bool:
        return self._stopped

    def wait(self, timeout: float | None = None) -> list[str]:
        """The next batch of reasons, once settled; [] after `timeout` seconds or on `stop()`.

        A batch that is settling when the timeout comes is still waited for: the caller
        gets it whole rather than a part of it.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            while not self._stopped:
                now = time.monotonic()
                if self._reasons:
                    ready_at = min(self._last + self.settle, self._first + self.limit)
                    if now >= ready_at:
                        batch, self._reasons = self._reasons, []
                        return batch
                    self._condition.wait(ready_at - now)
                elif deadline is not None and now >= deadline:
                    return []
                else:
                    self._condition.wait(None if deadline is None else deadline - now)
            return []
