"""The webhook receiver of `scoot watch`, in this process, over real HTTP: what it accepts,
what it refuses and with which status, and that the secret is in nothing it says.
Also the coalescer and the change detection of the watch loop, on their own."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from scoot_runtime.repositories.base import Repository
from scoot_runtime.sources import Located
from scoot_runtime.watch.coalesce import Coalescer
from scoot_runtime.watch.loop import (
    ApplyBegins,
    ApplyEnded,
    Change,
    Looked,
    LookFailed,
    Outcome,
    Snapshot,
    WatchLoop,
    changes,
)
from scoot_runtime.watch.poll import pushed
from scoot_runtime.watch.webhook import Deliveries, Push, WebhookServer, signature, verify

SECRET = b"s3cret-never-shown-0123456789"
T = TypeVar("T")


class Received:
    def __init__(self) -> None:
        self.pushes: list[Push] = []
        self.lines: list[str] = []
        self.lock = threading.Lock()

    def on_push(self, push: Push) -> bool:
        with self.lock:
            self.pushes.append(push)
        return push.full_name == "acme/tiny-app"

    def log(self, line: str) -> None:
        with self.lock:
            self.lines.append(line)


@pytest.fixture
def server() -> Iterator[tuple[WebhookServer, Received]]:
    received = Received()
    receiver = WebhookServer(
        ("127.0.0.1", 0), SECRET, received.on_push, received.log, max_body=4096, timeout=1.0
    )
    receiver.start()
    try:
        yield receiver, received
    finally:
        receiver.stop()


def push_body(full_name: str = "acme/tiny-app", after: str = "0" * 40) -> bytes:
    return json.dumps(
        {
            "ref": "refs/heads/main",
            "after": after,
            "repository": {
                "full_name": full_name,
                "clone_url": f"https://github.com/{full_name}.git",
                "ssh_url": f"git@github.com:{full_name}.git",
            },
        }
    ).encode()


def send(
    receiver: WebhookServer,
    body: bytes,
    *,
    event: str = "push",
    delivery: str | None = None,
    sign: bytes | None = SECRET,
    method: str = "POST",
    path: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", receiver.server_port, timeout=5)
    all_headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
    }
    if sign is not None:
        all_headers["X-Hub-Signature-256"] = signature(sign, body)
    all_headers.update(headers or {})
    try:
        connection.request(method, path or receiver.path, body=body, headers=all_headers)
        response = connection.getresponse()
        text = response.read()
        return response.status, (json.loads(text) if text else {})
    finally:
        connection.close()


# -- the signature ----------------------------------------------------------------------------


def test_signature_is_githubs() -> None:
    # The example of GitHub's documentation ("Validating webhook deliveries").
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature(b"It's a Secret to Everybody", b"Hello, World!") == expected
    assert verify(b"It's a Secret to Everybody", b"Hello, World!", expected)
    assert verify(b"It's a Secret to Everybody", b"Hello, World!", expected + " ")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18",
        "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17x",
        "sha256=\u00e9\u00e9",
    ],
)
def test_a_wrong_signature_is_refused(header: str | None) -> None:
    assert not verify(b"It's a Secret to Everybody", b"Hello, World!", header)


def test_no_secret_verifies_nothing() -> None:
    assert not verify(b"", b"body", signature(b"", b"body"))
    with pytest.raises(ValueError):
        WebhookServer(("127.0.0.1", 0), b"", lambda push: True, lambda line: None)


def test_deliveries_are_remembered_within_a_bound() -> None:
    seen = Deliveries(capacity=3)
    assert all(seen.first_time(d) for d in "abc")
    assert not seen.first_time("a")
    assert seen.first_time("d")  # `b` is forgotten: the oldest
    assert len(seen) == 3
    assert seen.first_time("b")


# -- the server -------------------------------------------------------------------------------


def test_a_signed_push_of_a_watched_repository_is_accepted(server: tuple[WebhookServer, Received]) -> None:
    receiver, received = server
    status, answer = send(receiver, push_body(after="a" * 40), delivery="d-1")
    assert status == 202, answer
    assert "acme/tiny-app" in answer["message"]
    [push] = received.pushes
    assert push == Push(
        "d-1",
        "acme/tiny-app",
        frozenset({"https://github.com/acme/tiny-app.git", "git@github.com:acme/tiny-app.git"}),
        "refs/heads/main",
        "a" * 40,
    )


def test_other_repositories_and_events_are_ignored(server: tuple[WebhookServer, Received]) -> None:
    receiver, received = server
    status, answer = send(receiver, push_body("acme/other"))
    assert status == 200 and "not a watched repository" in answer["message"]
    status, answer = send(receiver, b'{"zen": "Design for failure."}', event="ping")
    assert (status, answer["message"]) == (200, "pong")
    status, answer = send(receiver, b'{"action": "opened"}', event="issues")
    assert status == 200 and "ignored" in answer["message"]
    assert [p.full_name for p in received.pushes] == ["acme/other"]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"sign": None}, 401),
        ({"sign": b"another secret"}, 401),
        ({"headers": {"X-Hub-Signature-256": "sha256=" + "0" * 64}}, 401),
        ({"method": "GET"}, 405),
        ({"method": "PUT"}, 405),
        ({"path": "/elsewhere"}, 404),
        ({"headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415),
        ({"headers": {"X-GitHub-Delivery": ""}}, 400),
    ],
)
def test_refused(server: tuple[WebhookServer, Received], change: dict[str, Any], status: int) -> None:
    receiver, received = server
    got, answer = send(receiver, push_body(), **change)
    assert got == status, answer
    assert received.pushes == []


def test_a_signed_body_that_is_not_json_is_refused(server: tuple[WebhookServer, Received]) -> None:
    receiver, received = server
    assert send(receiver, b"payload=%7B%7D")[0] == 400
    assert send(receiver, b"[1, 2]")[0] == 400
    assert send(receiver, b'{"repository": "acme/tiny-app"}')[0] == 400
    assert received.pushes == []


def test_a_replayed_delivery_is_refused(server: tuple[WebhookServer, Received]) -> None:
    receiver, received = server
    assert send(receiver, push_body(), delivery="same")[0] == 202
    status, answer = send(receiver, push_body(), delivery="same")
    assert status == 409 and "replay" in answer["message"]
    assert len(received.pushes) == 1
    # An unsigned request cannot use up a delivery id: the signed one is still taken.
    assert send(receiver, push_body(after="b" * 40), delivery="fresh", sign=None)[0] == 401
    assert send(receiver, push_body(after="b" * 40), delivery="fresh")[0] == 202


def test_a_replayed_body_under_a_new_delivery_id_is_refused() -> None:
    # The delivery id is not signed: a captured body and signature sent again under
    # another id is a replay all the same.
    received = Received()
    receiver = WebhookServer(("127.0.0.1", 0), SECRET, received.on_push, received.log, remembered=2)
    receiver.start()
    try:
        assert send(receiver, push_body(after="a" * 40), delivery="original")[0] == 202
        for attacker in ("attacker-1", "attacker-2"):
            status, answer = send(receiver, push_body(after="a" * 40), delivery=attacker)
            assert status == 409 and "replay" in answer["message"], answer
        assert len(received.pushes) == 1
        # Another body is another push; memory is bounded (the newest `remembered` bodies).
        assert send(receiver, push_body(after="b" * 40))[0] == 202
        assert send(receiver, push_body(after="c" * 40))[0] == 202
        assert len(receiver.bodies) == 2
    finally:
        receiver.stop()


def test_an_oversized_body_is_refused_before_it_is_read(server: tuple[WebhookServer, Received]) -> None:
    receiver, received = server
    # Only the headers are sent: the answer comes from Content-Length alone.
    with socket.create_connection(("127.0.0.1", receiver.server_port), timeout=5) as raw:
        raw.sendall(
            b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000000\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: big\r\n"
            b"X-Hub-Signature-256: sha256=00\r\n\r\n"
        )
        answer = raw.recv(4096)
    assert answer.startswith(b"HTTP/1.0 413"), answer
    body = push_body() + b" " * 5000
    assert send(receiver, body)[0] == 413
    assert received.pushes == []


def test_no_length_or_a_short_body_is_refused(server: tuple[WebhookServer, Received]) -> None:
    receiver, _ = server
    with socket.create_connection(("127.0.0.1", receiver.server_port), timeout=5) as raw:
        raw.sendall(
            b"POST /webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"X-Hub-Signature-256: sha256=00\r\n\r\n0\r\n\r\n"
        )
        assert raw.recv(4096).startswith(b"HTTP/1.0 411")
    with socket.create_connection(("127.0.0.1", receiver.server_port), timeout=5) as raw:
        raw.sendall(
            b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 50\r\nX-Hub-Signature-256: sha256=00\r\n\r\n{"
        )
        started = time.monotonic()
        assert raw.recv(4096).startswith(b"HTTP/1.0 408")  # after the 1 s timeout
        assert time.monotonic() - started < 4


def test_the_secret_is_in_no_answer_or_log_line(server: tuple[WebhookServer, Received]) -> None:
    receiver, received = server
    for change in ({}, {"sign": None}, {"sign": b"wrong"}, {"method": "GET"}, {"event": "ping"}):
        send(receiver, push_body(), **change)
    assert len(received.lines) == 5
    text = "\n".join(received.lines)
    assert SECRET.decode() not in text
    assert signature(SECRET, push_body()).removeprefix("sha256=") not in text


def test_stop_ends_every_thread(server: tuple[WebhookServer, Received]) -> None:
    receiver, _ = server
    before = threading.active_count()
    # A slow sender holds a request thread: stop waits for it (bounded by the timeout).
    slow = socket.create_connection(("127.0.0.1", receiver.server_port), timeout=5)
    slow.sendall(b"POST /webhook HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n")
    assert receiver.wait_handling(1, timeout=10)
    receiver.stop()
    slow.close()
    assert threading.active_count() < before
    assert not any(t.name == "scoot-webhook" for t in threading.enumerate())
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", receiver.server_port), timeout=1)


# -- the coalescer ----------------------------------------------------------------------------


def test_a_burst_is_one_batch() -> None:
    coalescer = Coalescer(settle=0.3)

    def burst() -> None:
        for number in range(5):
            coalescer.add(f"push {number % 3}")
            time.sleep(0.05)

    thread = threading.Thread(target=burst)
    started = time.monotonic()
    thread.start()
    batch = coalescer.wait(timeout=5)
    thread.join()
    assert batch == ["push 0", "push 1", "push 2"]
    assert time.monotonic() - started >= 0.5  # the last push + the settle window
    assert coalescer.wait(timeout=0.1) == []


def test_a_steady_stream_cannot_put_a_batch_off_for_ever() -> None:
    coalescer = Coalescer(settle=0.2, limit=0.5)
    stop = threading.Event()

    def stream() -> None:
        while not stop.is_set():
            coalescer.add("push")
            time.sleep(0.05)

    thread = threading.Thread(target=stream)
    started = time.monotonic()
    thread.start()
    try:
        assert coalescer.wait(timeout=5) == ["push"]
        assert time.monotonic() - started < 1.5
    finally:
        stop.set()
        thread.join()


def test_stop_wakes_a_waiter() -> None:
    coalescer = Coalescer(settle=0.1)
    threading.Timer(0.2, coalescer.stop).start()
    started = time.monotonic()
    assert coalescer.wait() == []
    assert time.monotonic() - started < 2
    coalescer.add("late")
    assert coalescer.wait() == [] and coalescer.stopped


# -- the loop ---------------------------------------------------------------------------------


class Events:
    """What a watch loop or session reports, kept in order; a test waits on them, never on time."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self._changed = threading.Condition()

    def __call__(self, event: Any) -> None:
        with self._changed:
            self.seen.append(event)
            self._changed.notify_all()

    def of(self, kind: type[T]) -> list[T]:
        with self._changed:
            return [event for event in self.seen if isinstance(event, kind)]

    def wait(self, kind: type[Any], count: int, seconds: float = 30) -> None:
        """Until `count` events of `kind` have come; fail after `seconds`."""
        with self._changed:
            if not self._changed.wait_for(lambda: sum(isinstance(e, kind) for e in self.seen) >= count, seconds):
                raise AssertionError(f"no {count} × {kind.__name__} within {seconds}s: {self.seen}")


def test_changes_compare_every_compute_of_a_component() -> None:
    found = changes(
        Snapshot(
            latest={"api": "b", "web": "x", "jobs": "n", "docs": "d"},
            recorded={"api": ["a", "a", "b"], "web": ["x"], "jobs": [None], "docs": []},
        )
    )
    assert found == [Change("api", "a", "b"), Change("jobs", None, "n")]


def test_the_loop_applies_once_per_change_and_goes_on_after_a_failure() -> None:
    state = {"latest": "r1", "ran": "r0"}
    applied: list[list[Change]] = []
    outcomes = [Outcome.FAILED, Outcome.APPLIED]
    coalescer = Coalescer(settle=0.05)
    events = Events()

    def look() -> Snapshot:
        return Snapshot({"api": state["latest"]}, {"api": [state["ran"]]})

    def apply(found: list[Change]) -> Outcome:
        applied.append(found)
        outcome = outcomes.pop(0)
        if outcome is Outcome.APPLIED:
            state["ran"] = state["latest"]
        return outcome

    loop = WatchLoop(look, apply, events, interval=0.05, coalescer=coalescer)
    thread = threading.Thread(target=loop.run)
    thread.start()
    try:
        events.wait(ApplyEnded, 1)
        looks = len(events.of(Looked))
        events.wait(Looked, looks + 4)  # four more looks: the failed revision is not tried again
        assert [[c.latest for c in batch] for batch in applied] == [["r1"]]
        state["latest"] = "r2"
        coalescer.add("push")
        events.wait(ApplyEnded, 2)
        looks = len(events.of(Looked))
        events.wait(Looked, looks + 3)  # three more: r2 is not applied again
    finally:
        coalescer.stop()
        thread.join(5)
    assert not thread.is_alive()
    assert [[c.latest for c in batch] for batch in applied] == [["r1"], ["r2"]]
    assert loop.applies == 2
    assert [(e.changes[0].latest, e.outcome) for e in events.of(ApplyEnded)] == [
        ("r1", Outcome.FAILED), ("r2", Outcome.APPLIED)
    ]
    assert any("push" in e.why for e in events.of(Looked))


def test_the_loop_events_are_said_as_scoot_watch_says_them(capsys: pytest.CaptureFixture[str]) -> None:
    from scoot_cli.watch import WatchOutput, WatchPrinter

    change = Change("api", "a" * 40, "b" * 40)
    say = WatchPrinter(WatchOutput())
    say(Looked("poll", (change,)))
    say(ApplyBegins((change,)))
    say(ApplyEnded((change,), Outcome.FAILED, 60))
    say(ApplyEnded((change,), Outcome.FAILED, 60))  # the same complaint twice is said once
    say(ApplyBegins((change,)))
    say(ApplyEnded((change,), Outcome.APPLIED, 60))
    say(ApplyEnded((change,), Outcome.BUSY, 60))
    out, err = capsys.readouterr()
    lines = [line.split(" ", 1)[1] for line in out.splitlines()]
    assert lines == ["api: new revision aaaaaaaaaaaa → bbbbbbbbbbbb", "applying (api)", "applying (api)", "applied (api)"]
    complaints = [line.split(" ", 1)[1] for line in err.splitlines()]
    assert complaints == [
        "apply failed (api bbbbbbbbbbbb); watching goes on: the next change is applied, "
        "and this revision is not tried again until then",
        "not applied now: another run holds the apply lock; looking again in 60s",
    ]


def test_a_failed_look_says_a_save_is_looked_at_at_once_and_a_lock_left_is_always_said(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from scoot_app.converge import LockLeft
    from scoot_cli.watch import WatchOutput, WatchPrinter
    from scoot_runtime.errors import ScootError

    say = WatchPrinter(WatchOutput())
    broken = ScootError("the architecture has errors:\narchitecture.sct:3:5: error SCT101: ...")
    say(LookFailed("architecture.sct changed", broken, 600))
    say(LookFailed("poll", broken, 600))  # the same error again: said once
    left = "the shared lock s3://b/k could not be released: run `scoot force-unlock`"
    say(LockLeft(left))
    say(LockLeft(left))  # every time: it stops every other run
    _, err = capsys.readouterr()
    complaints = [line.split(" ", 1)[1] if line[:1].isdigit() else line for line in err.splitlines()]
    assert complaints == [
        "cannot look at the sources (architecture.sct changed): the architecture has errors:",
        "architecture.sct:3:5: error SCT101: ...",
        "  looking again at the next save of a watched file, else in 600s",
        f"warning: {left}",
        f"warning: {left}",
    ]


def test_a_push_is_matched_to_the_components_of_its_repository() -> None:
    def located(component: str, driver: str, name: str) -> Located:
        return Located(component, driver, Repository(driver, name), "source")

    watched = {
        "api": located("api", "github", "Acme/Shop-API"),
        "web": located("web", "git", "git@github.com:acme/shop-web.git"),
        "jobs": located("jobs", "git", "ssh://git@github.com:22/acme/shop-web"),
        "docs": located("docs", "git", "file:///srv/git/acme/shop-docs.git"),
        "local": located("local", "path", "../acme/shop-api"),
        "none": Located("none", "github", None, "scheme", "no owner"),
    }

    def push(full_name: str, *urls: str) -> Push:
        return Push("d", full_name, frozenset(urls), "refs/heads/main", None)

    assert pushed(push("acme/shop-api"), watched) == ["api"]
    assert pushed(push("acme/shop-web", "https://github.com/acme/shop-web.git"), watched) == ["jobs", "web"]
    assert pushed(push("mirror/x", "https://github.com/acme/shop-web"), watched) == ["jobs", "web"]
    assert pushed(push("acme/shop-docs"), watched) == ["docs"]
    assert pushed(push("acme/shop"), watched) == []
    assert pushed(push("other/shop-api", "https://github.com/other/shop-api.git"), watched) == []


def test_an_unsigned_request_is_refused_before_its_body_is_read(
    server: tuple[WebhookServer, Received],
) -> None:
    receiver, _ = server
    with socket.create_connection(("127.0.0.1", receiver.server_port), timeout=5) as raw:
        raw.sendall(
            b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n"
        )
        started = time.monotonic()
        assert raw.recv(4096).startswith(b"HTTP/1.0 401")
        assert time.monotonic() - started < 0.5  # not after the read timeout


def test_too_many_requests_at_once_are_refused() -> None:
    received = Received()
    receiver = WebhookServer(("127.0.0.1", 0), SECRET, received.on_push, received.log, max_requests=2, timeout=2.0)
    receiver.start()
    held = []
    try:
        for _ in range(2):  # two slow senders hold both slots
            slow = socket.create_connection(("127.0.0.1", receiver.server_port), timeout=5)
            slow.sendall(b"POST /webhook HTTP/1.1\r\n")
            held.append(slow)
        assert receiver.wait_handling(2, timeout=10)
        status, _ = send(receiver, push_body())
        assert status == 503
    finally:
        for slow in held:
            slow.close()
        receiver.stop()
    assert received.pushes == []


class Dribbler:
    """A sender that sends `head`, then one byte every `every` seconds, for ever, until
    it is answered (what it got is kept) or its connection is closed."""

    def __init__(self, port: int, head: bytes, every: float = 0.2) -> None:
        self.answer = b""
        self.connection = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.connection.sendall(head)
        self.every = every
        self.thread = threading.Thread(target=self._dribble, daemon=True)
        self.thread.start()

    def _dribble(self) -> None:
        self.connection.settimeout(self.every)
        try:
            while True:
                try:
                    self.answer = self.connection.recv(4096)
                    return  # answered (or closed: b"")
                except TimeoutError:
                    self.connection.send(b"a")  # each byte well within any read timeout
        except OSError:
            return

    def close(self) -> None:
        self.connection.close()
        self.thread.join(5)


# What slow senders send before they trickle: headers that never end; headers that pass
# every check made before the body is read, then a body that never ends.
SLOW_HEADERS = b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-Pad: "
SLOW_BODY = (
    b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"X-Hub-Signature-256: sha256=00\r\nContent-Length: 4000\r\n\r\n"
)


def test_slow_senders_hold_the_server_no_longer_than_the_timeout() -> None:
    """The timeout is for all of a request, not for each read: two senders trickling a
    byte every 0.2 s (the headers, the body) hold the two slots 1 s, not for ever."""
    received = Received()
    receiver = WebhookServer(("127.0.0.1", 0), SECRET, received.on_push, received.log, timeout=1.0, max_requests=2)
    receiver.start()
    slow = [Dribbler(receiver.server_port, head) for head in (SLOW_HEADERS, SLOW_BODY)]
    try:
        assert receiver.wait_handling(2, timeout=10)
        started = time.monotonic()
        assert send(receiver, push_body())[0] == 503  # both slots are held
        while (status := send(receiver, push_body())[0]) == 503 and time.monotonic() - started < 6:
            time.sleep(0.1)
        assert status == 202
        assert time.monotonic() - started < 2.5  # the 1 s timeout, and some leeway
        for sender in slow:
            sender.thread.join(5)
            assert sender.answer.startswith(b"HTTP/1.0 408"), sender.answer
    finally:
        for sender in slow:
            sender.close()
        receiver.stop()
    assert [p.full_name for p in received.pushes] == ["acme/tiny-app"]
    assert sum("408 Request Timeout" in line for line in received.lines) == 2


def test_stop_does_not_wait_for_slow_senders() -> None:
    """`scoot watch` stops the server on Ctrl-C: senders still sending (within a long
    timeout) must not hold it up; their connections are shut."""
    received = Received()
    receiver = WebhookServer(("127.0.0.1", 0), SECRET, received.on_push, received.log, timeout=60.0)
    receiver.start()
    slow = [Dribbler(receiver.server_port, head) for head in (SLOW_HEADERS, SLOW_BODY)]
    silent = socket.create_connection(("127.0.0.1", receiver.server_port), timeout=5)  # sends nothing at all
    stopping = threading.Thread(target=receiver.stop, daemon=True)
    try:
        assert receiver.wait_handling(3, timeout=10)
        started = time.monotonic()
        stopping.start()
        stopping.join(10)
        assert not stopping.is_alive(), "stop() is waiting for the slow senders"
        assert time.monotonic() - started < 3
        assert not any(t.name == "scoot-webhook" for t in threading.enumerate())
        # Their connections were closed under them, without an answer or a log line.
        assert silent.recv(4096) == b""
        for sender in slow:
            sender.thread.join(5)
            assert sender.answer == b""
        assert received.lines == []
    finally:
        silent.close()
        for sender in slow:
            sender.close()
        if stopping.is_alive():  # before the fix: let the server go as the senders go
            stopping.join(10)


def test_a_failing_receiver_answers_500_and_keeps_serving() -> None:
    lines: list[str] = []

    def broken(push: Push) -> bool:
        raise RuntimeError("boom")

    receiver = WebhookServer(("127.0.0.1", 0), SECRET, broken, lines.append)
    receiver.start()
    try:
        assert send(receiver, push_body())[0] == 500
        assert send(receiver, b"{}", event="ping")[0] == 200
    finally:
        receiver.stop()
    assert any("RuntimeError: boom" in line for line in lines)


async def _burst(port: int, count: int, seconds: float, answered: Callable[[bytes], None]) -> list[bytes | str]:
    """`count` signed pushes at once: each connection sends the start of its request, waits
    until every one is open, then the rest, and reads the answer to its end (`answered` is
    told). Each is the answer, or what went wrong (a reset, a refused connection, no
    answer in time)."""
    opened = 0
    all_open = asyncio.Event()

    def one_more() -> None:
        nonlocal opened
        opened += 1
        if opened == count:
            all_open.set()

    async def push(number: int) -> bytes | str:
        body = push_body(after=f"{number:040x}")  # no two bodies alike: none is a replay
        request = (
            f"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-GitHub-Event: push\r\nX-GitHub-Delivery: {uuid.uuid4()}\r\n"
            f"X-Hub-Signature-256: {signature(SECRET, body)}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        try:
            async with asyncio.timeout(seconds):
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                finally:
                    one_more()
                try:
                    writer.write(request[:20])
                    await writer.drain()
                    with contextlib.suppress(TimeoutError):  # then go on: what is answered is seen
                        await asyncio.wait_for(all_open.wait(), seconds / 2)
                    writer.write(request[20:])
                    await writer.drain()
                    answer = await reader.read()
                    answered(answer)
                    return answer
                finally:
                    writer.close()
        except TimeoutError:
            return "no answer in time"
        except OSError as error:
            return type(error).__name__

    return await asyncio.gather(*(push(number) for number in range(count)))


def test_a_burst_gets_an_answer_on_every_connection() -> None:
    """500 connections at once, 32 served at a time (held until the rest are answered):
    each gets a status line, 202 or 503 with Retry-After; none is reset, refused or left
    unanswered; the 503s are logged, counted, in a few lines rather than one each."""
    count, slots = 500, 32
    received = Received()
    refused = 0
    served = threading.Event()  # the pushes that got a slot wait for the others' answers

    def answered(answer: bytes) -> None:
        nonlocal refused
        refused += answer.startswith(b"HTTP/1.0 503 ")
        if refused == count - slots:
            served.set()

    def on_push(push: Push) -> bool:
        served.wait(30)
        return received.on_push(push)

    receiver = WebhookServer(("127.0.0.1", 0), SECRET, on_push, received.log, timeout=10.0, max_requests=slots)
    receiver.start()
    try:
        answers = asyncio.run(_burst(receiver.server_port, count, 30.0, answered))
    finally:
        served.set()
        receiver.stop()
    failed = [answer for answer in answers if isinstance(answer, str) or not answer.startswith(b"HTTP/1.0 ")]
    assert not failed, (len(failed), sorted({str(f)[:40] for f in failed}))
    statuses = [int(answer.split(b" ")[1]) for answer in answers if isinstance(answer, bytes)]
    assert (statuses.count(202), statuses.count(503)) == (slots, count - slots)
    busy = [a for a in answers if isinstance(a, bytes) and a.startswith(b"HTTP/1.0 503")]
    assert all(b"\r\nRetry-After: 1\r\n" in answer for answer in busy)
    logged = [line for line in received.lines if "503" in line]
    counted = [re.search(r"^webhook: 503 Service Unavailable to (\d+) requests? from 127\.0\.0\.1: ", line) for line in logged]
    assert all(counted), logged
    assert sum(int(match.group(1)) for match in counted if match) == count - slots, logged
    assert len(logged) <= 10, logged
