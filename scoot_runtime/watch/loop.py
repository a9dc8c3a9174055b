"""The watch loop: look at the sources when it is time or when told to, apply what changed.

    loop = WatchLoop(look, apply, report, interval=60, coalescer=Coalescer(settle=2))
    with loop.signals():
        loop.run()

`look()` returns, per key (a component; or any other input its caller follows, such
as the architecture's own files, with a `kind` of the caller's), its newest revision and
the revisions that ran (for a component, as scoot.lock records them for its compute
objects); `apply(changes)` runs one apply and says how it
went; `report` is told what happens, as typed events (`LoopEvent`: each look, each new
revision, each apply begun and how it ended), for a caller to print or a test to wait
on. Everything runs on the
calling thread (the main one): others only add reasons to the coalescer (the webhook
receiver), so applies never overlap, and changes that arrive during one are looked at
once, after it. A look follows each apply after the settle time; then one every interval.

Signals: while waiting or looking, SIGINT or SIGTERM stops the loop (a second one
interrupts a look that hangs). While applying, both interrupt the apply as Ctrl-C
interrupts `scoot apply` (cancelled safely, what was done recorded) and the loop ends.
"""

from __future__ import annotations

import contextlib
import enum
import signal
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from types import FrameType

from scoot_runtime.watch.coalesce import Coalescer

# The kind of a key that is a component's source (any other is its caller's to name).
COMPONENT = "component"


@dataclass(frozen=True)
class Snapshot:
    """What a look found: per key (a component, or another input), its newest revision and what ran."""

    latest: Mapping[str, str]
    # Per key, the revision each of its runs ran (a component: each compute object; None:
    # never applied). A key that nothing runs is no change.
    recorded: Mapping[str, Collection[str | None]]
    # What each key is, passed on with its changes for whoever tells them (default COMPONENT).
    kinds: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    component: str  # the key: a component, or another input (see `kind`)
    recorded: str | None  # what most of its runs ran
    latest: str
    kind: str = COMPONENT


class Outcome(enum.Enum):
    APPLIED = "applied"
    FAILED = "failed"
    BUSY = "busy"  # another run holds the apply lock: look again later


@dataclass(frozen=True)
class Looked:
    """A look is done (`why`: "start", "poll" or the reasons gathered); `fresh`: the changes
    it found that were not tried yet (applied next, unless the loop is stopping)."""

    why: str
    fresh: tuple[Change, ...]


@dataclass(frozen=True)
class LookFailed:
    why: str
    error: Exception
    interval: float  # when the next look is


@dataclass(frozen=True)
class ApplyBegins:
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class ApplyEnded:
    """An apply for `changes` ended: APPLIED or FAILED (not tried again until they change),
    or BUSY (another run held the apply lock: nothing was tried, looked at again in `interval`)."""

    changes: tuple[Change, ...]
    outcome: Outcome
    interval: float


LoopEvent = Looked | LookFailed | ApplyBegins | ApplyEnded


def changes(snapshot: Snapshot) -> list[Change]:
    """The keys whose newest revision is not what every one of their runs ran."""
    found = []
    for component, latest in sorted(snapshot.latest.items()):
        ran = list(snapshot.recorded.get(component, ()))
        if not ran or all(revision == latest for revision in ran):
            continue  # up to date, or no compute runs this source
        others = Counter(revision for revision in ran if revision != latest)
        kind = snapshot.kinds.get(component, COMPONENT)
        found.append(Change(component, others.most_common(1)[0][0], latest, kind))
    return found


class WatchLoop:
    def __init__(
        self,
        look: Callable[[], Snapshot],
        apply: Callable[[list[Change]], Outcome],
        report: Callable[[LoopEvent], None],
        *,
        interval: float,
        coalescer: Coalescer,
    ) -> None:
        self.look = look
        self.apply = apply
        self.report = report
        self.interval = interval
        self.coalescer = coalescer
        # Per key, the newest revision an apply was run for: not tried again until
        # it changes (an apply that failed is retried on the next change, not every poll).
        self.attempted: dict[str, str] = {}
        self.applies = 0
        self._applying = False
        self._handling = False  # signals() is in effect
        self._signals = 0

    def run(self) -> None:
        """Look now, then at every interval and whenever the coalescer has a batch; until stopped."""
        applied = self.check("start")
        while not self.coalescer.stopped:
            # After an apply, look again soon: what was pushed while it ran is applied next.
            next_look = time.monotonic() + (min(self.coalescer.settle, self.interval) if applied else self.interval)
            reasons = self.coalescer.wait(max(0.0, next_look - time.monotonic()))
            if self.coalescer.stopped:
                break
            applied = self.check(", ".join(reasons) if reasons else "poll")

    def check(self, why: str) -> bool:
        """Look at the sources; apply once if any key's revision changed (True if so)."""
        try:
            snapshot = self.look()
        except Exception as error:
            if not self.coalescer.stopped:
                self.report(LookFailed(why, error, self.interval))
            return False
        found = changes(snapshot)
        fresh = tuple(c for c in found if self.attempted.get(c.component) != c.latest)
        self.report(Looked(why, fresh))
        if not fresh or self.coalescer.stopped:
            return False
        self.report(ApplyBegins(fresh))
        self._applying = True
        try:
            with self._apply_signals() if self._handling else contextlib.nullcontext():
                outcome = self.apply(list(fresh))
        finally:
            self._applying = False
        self.report(ApplyEnded(fresh, outcome, self.interval))
        if outcome is Outcome.BUSY:
            return False
        self.applies += 1
        for change in fresh:
            self.attempted[change.component] = change.latest
        return True

    @contextlib.contextmanager
    def signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM stop the loop (see the module's text); restored on exit."""
        previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
        for number in previous:
            signal.signal(number, self._on_signal)
        self._handling = True
        try:
            yield
        finally:
            self._handling = False
            for number, handler in previous.items():
                signal.signal(number, handler)

    @contextlib.contextmanager
    def _apply_signals(self) -> Iterator[None]:
        """Around an apply: Ctrl-C goes to the apply's own handler (asyncio's, which cancels
        it safely), as in `scoot apply`; SIGTERM is passed on to it."""
        mine = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, mine)

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        # Runs on the main thread between two bytecodes: only sets flags and notifies.
        self._signals += 1
        self.coalescer.stop()
        if self._applying:
            handler = signal.getsignal(signal.SIGINT)
            if callable(handler) and handler != self._on_signal:
                handler(signal.SIGINT, frame)
            return
        if self._signals > 1:
            raise KeyboardInterrupt
