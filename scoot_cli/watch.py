"""`scoot watch`: apply again whenever the desired state or a component's source changes.

Every `--interval` seconds (and, with `--webhook`, whenever GitHub says a watched
repository was pushed to), the repository drivers are asked for each component's newest
revision; where it is not what scoot.lock records for the component's compute objects,
one apply runs, exactly as `scoot apply --yes` would (the same code, the same apply lock),
with the changed components pinned to the revisions seen. The architecture's files and
scoot.toml (at once on a save), and the architecture's repository under `--from`, are
followed too. Changes that arrive together, or while an apply runs, are applied once,
after it.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

import click

from scoot_cli.application import (
    ParamOptions,
    application_options,
    exits_on_error,
    explain,
    from_option,
    load_application,
    lock_timeout_option,
    redact,
    revision_pins,
)
from scoot_cli.converge import ConvergePrinter, report_outcome
from scoot_cli.language import parse_params
from scoot_cli.output import counted, show_diagnostics, use_color

if TYPE_CHECKING:
    from scoot_app.watch import WatchEvent
    from scoot_runtime.watch.loop import Change
    from scoot_runtime.watch.webhook import WebhookServer


class WatchOutput:
    """Lines from the loop and from the webhook thread, whole and timestamped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_complaint: str | None = None

    def say(self, line: str) -> None:
        with self._lock:
            click.echo(f"{time.strftime('%H:%M:%S')} {line}")

    def complain(self, line: str, same: str | None = None) -> None:
        """On stderr; the same complaint twice in a row is said once (`same`: what makes
        it the same, when not the whole line)."""
        with self._lock:
            if (same or line) == self._last_complaint:
                return
            self._last_complaint = same or line
            click.echo(f"{time.strftime('%H:%M:%S')} {line}", err=True)

    def warn(self, line: str) -> None:
        """On stderr, every time."""
        with self._lock:
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


class WatchPrinter:
    """A watch session's events, on the terminal: the loop's and the session's as
    timestamped lines, each apply as `scoot apply` prints it."""

    def __init__(self, output: WatchOutput) -> None:
        self.output = output
        self.converging: ConvergePrinter | None = None

    def __call__(self, event: WatchEvent) -> None:
        from scoot_app import converge as c
        from scoot_app import watch as w
        from scoot_runtime.watch import loop

        say, complain = self.output.say, self.output.complain
        if isinstance(event, loop.Looked):
            if os.environ.get(_TRACE):
                say(f"looked ({event.why}): {len(event.fresh)} new")
            for change in event.fresh:
                say(_describe(change))
        elif isinstance(event, loop.LookFailed):
            if os.environ.get(_TRACE):
                say(f"looked ({event.why}): failed")
            # Said once whatever made it look (a poll, a save): the same error is no news.
            # The files are followed on every save, so a fix is looked at at once, not
            # only when the interval is up (with --webhook, at a push too).
            complain(
                f"cannot look at the sources ({event.why}): {event.error}\n"
                f"  looking again at the next save of a watched file, else in {event.interval:g}s",
                same=str(event.error),
            )
        elif isinstance(event, loop.ApplyBegins):
            say(f"applying ({_names(event.changes)})")
        elif isinstance(event, loop.ApplyEnded):
            redact.functions.clear()
            self.converging = None
            if event.outcome is loop.Outcome.BUSY:
                complain(f"not applied now: another run holds the apply lock; looking again in {event.interval:g}s")
            elif event.outcome is loop.Outcome.APPLIED:
                say(f"applied ({_names(event.changes)})")
            else:
                tried = ", ".join(_tried(c) for c in event.changes)
                complain(
                    f"apply failed ({tried}); watching goes on: the next change is applied, "
                    "and this revision is not tried again until then"
                )
        elif isinstance(event, w.CompilesAgain):
            say("The architecture compiles again.")
        elif isinstance(event, w.WatchedChanged):
            say(f"The architecture changed: watching {', '.join(event.components) or 'nothing'}.")
        elif isinstance(event, w.RevisionUnknown):
            complain(f"{event.component}: cannot tell its newest revision: {redact(event.problem)}")
        elif isinstance(event, w.RevisionKnownAgain):
            say(f"{event.component}: its newest revision is known again.")
        elif isinstance(event, w.AllClear):
            self.output.forget()
        elif isinstance(event, w.Reloaded):
            compilation = event.application.compilation
            if compilation.diagnostics:
                show_diagnostics(compilation.diagnostics, compilation.sources, "text")
            self.converging = ConvergePrinter(compilation, False, False, event.application.params)
        elif isinstance(event, w.ConvergeEnded):
            report_outcome(event.outcome, event.application.compilation, destroy=False, delete_data=False)
        elif isinstance(event, w.ApplyError):
            complain(f"Error: {redact(explain(event.error))}")
        elif isinstance(event, c.LockLeft):
            # Every time: a lock left behind stops every other run until it is broken.
            self.output.warn(f"warning: {redact(event.message)}")
        elif (
            isinstance(event, c.WaitingForLock | c.TookOver | c.RuntimeOpened | c.PlanMade | c.ApplyStarted | c.Applying)
            and self.converging is not None
        ):
            self.converging(event)


# Set, `scoot watch` also says each look (on stdout, in order with what it applies): for
# tests to wait on looks, not on the clock.
_TRACE = "SCOOT_WATCH_TRACE"


def _describe(change: Change) -> str:
    """What changed, in words: a component's new revision, a file saved, the architecture's new commit."""
    from scoot_cli.views.written import short_revision
    from scoot_runtime.watch.desired import ARCHITECTURE_REPOSITORY, FILE

    if change.kind == FILE:
        return f"{change.component} changed"
    revisions = f"{short_revision(change.recorded)} → {short_revision(change.latest)}"
    if change.kind == ARCHITECTURE_REPOSITORY:
        return f"{_name(change)}: {revisions}"
    return f"{change.component}: new revision {revisions}"


def _name(change: Change) -> str:
    from scoot_runtime.repositories.git import shown
    from scoot_runtime.watch.desired import ARCHITECTURE_REPOSITORY

    if change.kind == ARCHITECTURE_REPOSITORY:
        return f"architecture repository {shown(change.component)}"
    return change.component


def _tried(change: Change) -> str:
    from scoot_cli.views.written import short_revision
    from scoot_runtime.watch.desired import FILE

    return _name(change) if change.kind == FILE else f"{_name(change)} {short_revision(change.latest)}"


def _names(changes: tuple[Change, ...]) -> str:
    return ", ".join(_name(c) for c in changes)


@click.command(short_help="Apply again whenever the architecture or a component's source changes.")
@application_options
@from_option
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
@lock_timeout_option
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
@exits_on_error
def watch(
    path: str,
    target: str | None,
    params: ParamOptions,
    from_repo: str | None,
    revisions: tuple[str, ...],
    interval: float | None,
    settle: float | None,
    parallelism: int | None,
    lock_timeout: float,
    webhook: bool | None,
    listen: str | None,
    webhook_path: str | None,
    webhook_secret_env: str | None,
) -> None:
    """Watch the architecture and the components' sources; apply whenever one changes, until Ctrl-C or SIGTERM.

    Each look compares every component's newest revision (through its repository
    driver) with the revision scoot.lock records for its compute objects, and the
    architecture's files and scoot.toml (their contents; a save is seen within half a
    second) or, with --from, the architecture's repository with what the last apply
    read; when any differ, one apply runs, as `scoot apply --yes` does. A failed apply
    is reported and watching goes on: that revision is not tried again, the next change
    is applied.

    With --webhook, GitHub push webhooks (content type application/json, a secret set)
    also trigger a look: each delivery must carry a valid X-Hub-Signature-256 made
    with the secret in the environment variable --webhook-secret-env names.
    """
    from scoot_app.watch import WatchSession
    from scoot_cli.views.params import params_lines
    from scoot_runtime.repositories.git import shown
    from scoot_runtime.watch.webhook import WebhookServer

    pins = revision_pins(revisions)
    application = load_application(path, target, params, from_repo)
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
    output = WatchOutput()
    session = WatchSession(
        application, path, target=target, params=parse_params(params.given), param_file=params.file, pins=pins,
        from_repo=from_repo, parallelism=parallelism, lock_timeout=lock_timeout,
        interval=interval, settle=settle, on_event=WatchPrinter(output), debug=bool(os.environ.get("SCOOT_DEBUG")),
    )
    for line in params_lines(application.params, use_color()):
        click.echo(line, color=use_color())
    components = sorted(session.located)
    output.say(
        f"Watching {counted(len(components), 'component')} of `{session.name}` (target {application.target.name}), "
        f"looking every {interval:g}s:"
    )
    if session.origin is not None:
        output.say(f"  the architecture: {shown(session.origin.repository.name)} (its newest revision)")
    output.say(f"  {', '.join(sorted(session.files()))}: on every save")
    for component in components:
        # A password written into a source URL is masked, as in git's own messages.
        output.say(f"  {component}: {shown(session.located[component].described)}")
    for component, revision in sorted(pins.items()):
        output.say(f"  {component}: kept at {revision} (--revision)")
    server: WebhookServer | None = None
    if secret is not None and address is not None:
        try:
            server = WebhookServer(address, secret, session.on_push, output.say, path=webhook_path)
        except OSError as error:
            raise click.ClickException(
                f"cannot listen on {listen}: {error.strerror or error}; choose another with --listen HOST:PORT"
            ) from None
        output.say(f"Listening for GitHub push webhooks on {server.url} (secret from ${webhook_secret_env}).")
    session.run(server)
    output.say(f"Stopped watching ({counted(session.applies, 'apply', 'applies')} run).")
