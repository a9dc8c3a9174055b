"""`scoot watch`: apply again whenever a component's source changes.

Every `--interval` seconds (and, with `--webhook`, whenever GitHub says a watched
repository was pushed to), the repository drivers are asked for each component's newest
revision; where it is not what scoot.lock records for the component's compute objects,
one apply runs, exactly as `scoot apply --yes` would (the same code, the same apply lock),
with the changed components pinned to the revisions seen. Changes that arrive together,
or while an apply runs, are applied once, after it.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from scoot_runtime.cli.application import (
    _application_options,
    _errors,
    _explain,
    _load_application,
    _pins,
    _redact,
)
from scoot_runtime.cli.converge import ApplyLockBusy, _converge
from scoot_runtime.cli.output import _count

if TYPE_CHECKING:
    from scoot_runtime.cli.application import _Application
    from scoot_runtime.sources import Located
    from scoot_runtime.watch.loop import Change, Outcome, Snapshot
    from scoot_runtime.watch.webhook import Push, WebhookServer



class _Output:
    """Lines from the loop and from the webhook thread, whole and timestamped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_complaint: str | None = None

    def say(self, line: str) -> None:
        with self._lock:
            click.echo(f"{time.strftime('%H:%M:%S')} {line}")

    def complain(self, line: str) -> None:
        """On stderr; the same complaint twice in a row is said once."""
        with self._lock:
            if line == self._last_complaint:
                return
            self._last_complaint = line
            click.echo(f"{time.strftime('%H:%M:%S')} {line}", err=True)

    def forget(self) -> None:
        with self._lock:
            self._last_complaint = None


def _listen_address(text: str) -> tuple[str, int]:
    host, colon, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(
            f"{text!r}: write HOST:PORT, such as 127.0.0.1:8787 (or [::1]:8787)", param_hint="--listen"
        )
    return host, int(port)


class _Watch:
    """The command's state between looks: what is watched, and how to apply."""

    def __init__(
        self,
        application: _Application,
        options: tuple[str, str | None, tuple[str, ...]],
        pins: dict[str, str],
        parallelism: int | None,
        output: _Output,
    ) -> None:
        """`options`: PATH, --target and --param as given, for each look and apply to load
        the application again (the architecture may change while watching)."""
        from scoot_runtime.sources import Sources, computing
        from scoot_runtime.watch.poll import watched

        self.path, self.target, self.params = options
        self.pins = pins
        self.parallelism = parallelism
        self.output = output
        self.state_dir = application.workspace.state_dir
        self.target_name = application.target.name
        architecture = application.compilation.architecture
        assert architecture is not None
        unknown = sorted(set(pins) - set(computing(architecture)))
        if unknown:
            raise click.ClickException(
                f"--revision {unknown[0]}=…: `{unknown[0]}` is not a component with compute objects; "
                f"those are {', '.join(computing(architecture)) or 'none'}"
            )
        components = watched(architecture, pins)
        if not components:
            raise click.ClickException(
                "nothing to watch: no component runs a source" + (" that is not pinned" if pins else "")
            )
        with Sources(application.workspace, application.target, architecture) as sources:
            self.located: dict[str, Located] = {name: sources.located[name] for name in components}
        self._lock = threading.Lock()
        self._problems: dict[str, str] = {}
        self._broken = False  # the last look found errors in the architecture

    def look(self) -> Snapshot:
        """One look; an architecture with errors (being edited?) is a complaint, not the end."""
        from scoot_runtime.errors import ScootError
        from scoot_runtime.watch import poll

        captured = io.StringIO()
        try:
            # Diagnostics were shown at the start; a look shows them only when they stop it.
            with contextlib.redirect_stderr(captured):
                application = _load_application(self.path, self.target, self.params)
        except SystemExit:
            self._broken = True
            raise ScootError("the architecture has errors:\n" + captured.getvalue().rstrip()) from None
        if self._broken:
            self._broken = False
            self.output.say("The architecture compiles again.")
        architecture = application.compilation.architecture
        assert architecture is not None
        found = poll.look(
            application.workspace, application.target, architecture, poll.watched(architecture, self.pins)
        )
        with self._lock:
            before, self.located = self.located, found.located
        if sorted(before) != sorted(found.located):
            self.output.say(f"The architecture changed: watching {', '.join(sorted(found.located)) or 'nothing'}.")
        for component, problem in sorted(found.problems.items()):
            if self._problems.get(component) != problem:
                self.output.complain(f"{component}: cannot tell its newest revision: {_redact(problem)}")
        for component in sorted(set(self._problems) - set(found.problems)):
            self.output.say(f"{component}: its newest revision is known again.")
        self._problems = found.problems
        if not found.problems:
            self.output.forget()  # a complaint that comes back is said again
        return found.snapshot

    def pushed(self, push: Push) -> list[str]:
        """The watched components a push is about (called on the webhook's threads)."""
        from scoot_runtime.watch.poll import pushed

        with self._lock:
            return pushed(push, self.located)

    def apply(self, changes: list[Change]) -> Outcome:
        """One `scoot apply --yes`, the changed components pinned to the revisions seen."""
        from scoot_runtime.applylock import running_holder
        from scoot_runtime.repositories.path import PathDriver
        from scoot_runtime.watch.loop import Outcome

        # A quick check, to skip compiling and fetching while another run applies; not
        # the only one: another run can take the lock between it and _converge's.
        holder = running_holder(self.state_dir, self.target_name)
        if holder is not None and holder.pid != os.getpid():
            return Outcome.BUSY
        with self._lock:
            located = dict(self.located)
        pins = dict(self.pins)
        for change in changes:
            where = located.get(change.component)
            # A folder has only its current contents: it cannot be pinned to what was seen.
            if where is not None and where.driver != PathDriver.name:
                pins[change.component] = change.latest
        try:
            _converge(
                self.path, self.target, self.params, destroy=False, yes=True, parallelism=self.parallelism,
                delete_data=False, refresh=True, revisions=tuple(f"{c}={r}" for c, r in sorted(pins.items())),
            )
        except SystemExit as exit:
            return Outcome.APPLIED if exit.code in (0, None) else Outcome.FAILED
        except ApplyLockBusy:
            # Lost the race for the lock (see above): nothing was tried, so the revision is
            # not given up on; the loop says so and looks again at the next interval.
            return Outcome.BUSY
        except click.ClickException as error:
            self.output.complain(f"Error: {error.format_message()}")
            return Outcome.FAILED
        except Exception as error:
            if os.environ.get("SCOOT_DEBUG"):
                raise
            self.output.complain(f"Error: {_redact(_explain(error))}")
            return Outcome.FAILED
        finally:
            _redact.functions.clear()
            self.output.forget()
        return Outcome.APPLIED


@contextlib.contextmanager
def _serving(server: WebhookServer | None) -> Iterator[None]:
    """Serve for the length of the block; then the server and all its threads are gone."""
    if server is None:
        yield
        return
    try:
        server.start()
        yield
    finally:
        server.stop()


@click.command(short_help="Apply again whenever a component's source changes.")
@_application_options
@click.option(
    "--revision", "revisions", multiple=True, metavar="COMPONENT=REV",
    help="Keep a component at this branch, tag or commit: it is not watched (repeatable).",
)
@click.option(
    "--interval", metavar="SECONDS", type=click.FloatRange(min=0.1), default=None,
    help="Seconds between two looks at the repositories (default: [watch] interval, else 60).",
)
@click.option(
    "--settle", metavar="SECONDS", type=click.FloatRange(min=0.0), default=None,
    help="After a push, seconds to wait for more: changes that arrive together are applied once "
    "(default: [watch] settle, else 2).",
)
@click.option("--parallelism", type=click.IntRange(1, 10_000), default=None, help="As for apply (default 64).")
@click.option(
    "--webhook/--no-webhook", default=None,
    help="Also listen for GitHub push webhooks (signed; see --listen). Default: [watch] webhook, else no.",
)
@click.option(
    "--listen", metavar="HOST:PORT", default=None,
    help="Where --webhook listens; port 0 picks a free one (default: [watch] listen, else 127.0.0.1:8787).",
)
@click.option(
    "--webhook-path", metavar="PATH", default=None,
    help="The webhook's URL path (default: [watch] webhook_path, else /webhook).",
)
@click.option(
    "--webhook-secret-env", metavar="NAME", default=None,
    help="The environment variable holding the webhook's secret, required with --webhook "
    "(default: [watch] webhook_secret_env, else SCOOT_WEBHOOK_SECRET).",
)
@_errors
def watch(
    path: str,
    target: str | None,
    params: tuple[str, ...],
    revisions: tuple[str, ...],
    interval: float | None,
    settle: float | None,
    parallelism: int | None,
    webhook: bool | None,
    listen: str | None,
    webhook_path: str | None,
    webhook_secret_env: str | None,
) -> None:
    """Watch the components' sources and apply whenever one changes, until Ctrl-C or SIGTERM.

    Each look compares every component's newest revision (through its repository
    driver) with the revision scoot.lock records for its compute objects; when any
    differ, one apply runs, as `scoot apply --yes` does. A failed apply is reported and
    watching goes on: that revision is not tried again, the next change is applied.

    With --webhook, GitHub push webhooks (content type application/json, a secret set)
    also trigger a look: each delivery must carry a valid X-Hub-Signature-256 made
    with the secret in the environment variable --webhook-secret-env names.
    """
    from scoot_runtime.repositories.git import shown
    from scoot_runtime.watch.coalesce import Coalescer
    from scoot_runtime.watch.loop import WatchLoop
    from scoot_runtime.watch.webhook import WebhookServer

    pins = _pins(revisions)
    application = _load_application(path, target, params)
    settings = application.workspace.watch
    interval = settings.interval if interval is None else interval
    settle = settings.settle if settle is None else settle
    webhook = settings.webhook if webhook is None else webhook
    listen = listen or settings.listen
    webhook_path = webhook_path or settings.webhook_path
    webhook_secret_env = webhook_secret_env or settings.webhook_secret_env
    secret: bytes | None = None
    address: tuple[str, int] | None = None
    if webhook:
        address = _listen_address(listen)
        if not webhook_path.startswith("/"):
            raise click.BadParameter(f"{webhook_path!r}: a URL path starts with `/`", param_hint="--webhook-path")
        value = os.environ.get(webhook_secret_env, "")
        if not value:
            raise click.UsageError(
                f"--webhook needs the webhook's secret: set the environment variable {webhook_secret_env} "
                "to the secret configured on GitHub's webhook (deliveries are verified with it; unsigned "
                "ones are never accepted)"
            )
        secret = value.encode()
        # Nothing started from here on (git, the compute processes) needs to inherit it.
        os.environ.pop(webhook_secret_env, None)
    output = _Output()
    state = _Watch(application, (path, target, params), pins, parallelism, output)
    components = sorted(state.located)
    name = application.compilation.architecture.application.name if application.compilation.architecture else "?"
    output.say(
        f"Watching {_count(len(components), 'component')} of `{name}` (target {application.target.name}), "
        f"looking every {interval:g}s:"
    )
    for component in components:
        # A password written into a source URL is masked, as in git's own messages.
        output.say(f"  {component}: {shown(state.located[component].described)}")
    for component, revision in sorted(pins.items()):
        output.say(f"  {component}: kept at {revision} (--revision)")
    coalescer = Coalescer(settle)
    server: WebhookServer | None = None
    if secret is not None and address is not None:

        def on_push(push: Push) -> bool:
            hit = state.pushed(push)
            for component in hit:
                coalescer.add(f"push to {component}")
            return bool(hit)

        try:
            server = WebhookServer(address, secret, on_push, output.say, path=webhook_path)
        except OSError as error:
            raise click.ClickException(
                f"cannot listen on {listen}: {error.strerror or error}; choose another with --listen HOST:PORT"
            ) from None
    loop = WatchLoop(state.look, state.apply, output.say, output.complain, interval=interval, coalescer=coalescer)
    with loop.signals(), _serving(server):
        if server is not None:
            output.say(f"Listening for GitHub push webhooks on {server.url} (secret from ${webhook_secret_env}).")
        loop.run()
    output.say(f"Stopped watching ({_count(loop.applies, 'apply', 'applies')} run).")
