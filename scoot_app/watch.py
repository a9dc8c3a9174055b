"""A watch session: apply again whenever the desired state or a component's source changes.

Every `interval` seconds (and whenever a webhook says a watched repository was pushed
to), the repository drivers are asked for each component's newest revision; where it is
not what scoot.lock records for the component's compute objects, one converge runs, as
`scoot apply --yes` does (`scoot_app.converge`, under the same apply lock), with the
changed components pinned to the revisions seen. The desired state is followed the same
way, as more keys of the loop's look: the architecture's files and scoot.toml (a
digest of their bytes, polled every `file_period` seconds too, so that a save is seen at
once) and, under `--from`, the architecture's repository (the revision fetched). Their
recorded revision is what the last successful apply read (at the start: what the
session started with). Changes that arrive together, or while an apply runs, are
applied once, after it.

The machinery (what changed, coalescing, the loop and its signals, the webhook server)
is the runtime's (`scoot_runtime.watch`); this is what ties it to an application. All
that happens is told to `on_event` as a `WatchEvent`: the loop's own events, the
session's (the architecture broke or compiles again, a revision cannot be told...) and
each converge's. The CLI prints them; tests wait on them.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scoot_app.application import ApplicationError, Failed, Loaded, diagnostics_text, load
from scoot_app.converge import ConvergeEvent, ConvergeOutcome, LockBusy, converge
from scoot_runtime.errors import ScootError
from scoot_runtime.watch.coalesce import Coalescer
from scoot_runtime.watch.desired import ARCHITECTURE_REPOSITORY, FILE, GONE, FilePoller, digests
from scoot_runtime.watch.loop import COMPONENT, LoopEvent, Outcome, Snapshot, WatchLoop
from scoot_runtime.workspace import SETTINGS_FILE

if TYPE_CHECKING:
    from scoot_runtime.repositories.base import Fetched
    from scoot_runtime.sources import Located
    from scoot_runtime.watch.loop import Change
    from scoot_runtime.watch.webhook import Push, WebhookServer


@dataclass(frozen=True)
class CompilesAgain:
    """The architecture had errors at the last look; it compiles again."""


@dataclass(frozen=True)
class WatchedChanged:
    """The architecture changed what is watched."""

    components: tuple[str, ...]


@dataclass(frozen=True)
class RevisionUnknown:
    """A look cannot tell a component's newest revision (said when it starts, or changes)."""

    component: str
    problem: str


@dataclass(frozen=True)
class RevisionKnownAgain:
    component: str


@dataclass(frozen=True)
class Reloaded:
    """The application was loaded again for an apply (its diagnostics, if any, to show)."""

    application: Loaded | Failed


@dataclass(frozen=True)
class ConvergeEnded:
    """An apply's converge ended (a busy lock is the loop's `ApplyEnded` with BUSY)."""

    application: Loaded
    outcome: ConvergeOutcome


@dataclass(frozen=True)
class ApplyError:
    """An apply stopped on an error (nothing of it printed yet)."""

    error: Exception


@dataclass(frozen=True)
class AllClear:
    """A look found nothing wrong, or an apply ended: a complaint that comes back is news again."""


WatchEvent = (
    LoopEvent | ConvergeEvent | CompilesAgain | WatchedChanged | RevisionUnknown | RevisionKnownAgain
    | Reloaded | ConvergeEnded | ApplyError | AllClear
)


class WatchSession:
    """What is watched, and how to apply: one per `scoot watch`.

    `path`, `target`, `params`, `from_repo` and `param_file` are those the application
    was loaded with: each look and each apply loads it again (the architecture may
    change while watching). `pins` keep components at a revision: they are not watched."""

    def __init__(
        self,
        application: Loaded,
        path: str | Path,
        *,
        target: str | None = None,
        params: Mapping[str, str] | None = None,
        pins: Mapping[str, str] | None = None,
        param_file: str | Path | None = None,
        from_repo: str | None = None,
        parallelism: int | None = None,
        lock_timeout: float = 0.0,
        interval: float = 60.0,
        settle: float = 2.0,
        file_period: float = 0.5,
        on_event: Callable[[WatchEvent], None] = lambda event: None,
        debug: bool = False,
    ) -> None:
        """`lock_timeout`: how long an apply waits for a held apply lock (0: it is looked at
        again at the next interval). `debug`: an unexpected error in an apply ends the
        session (SCOOT_DEBUG) rather than being reported."""
        from scoot_runtime.sources import Sources, computing
        from scoot_runtime.watch.poll import watched

        self.path, self.target, self.params = path, target, dict(params or {})
        self.param_file, self.from_repo, self.lock_timeout = param_file, from_repo, lock_timeout
        self.pins = dict(pins or {})
        self.parallelism = parallelism
        self.on_event = on_event
        self.debug = debug
        self.state_dir = application.workspace.state_dir
        self.target_name = application.target.name
        architecture = application.architecture
        if architecture is None:
            raise ApplicationError("the architecture has errors: fix them to watch it")
        self.name = architecture.application.name
        unknown = sorted(set(self.pins) - set(computing(architecture)))
        if unknown:
            raise ApplicationError(
                f"--revision {unknown[0]}=…: `{unknown[0]}` is not a component with compute objects; "
                f"those are {', '.join(computing(architecture)) or 'none'}"
            )
        components = watched(architecture, self.pins)
        with Sources(application.workspace, application.target, architecture) as sources:
            self.located: dict[str, Located] = {name: sources.located[name] for name in components}
        self.coalescer = Coalescer(settle)
        self.loop = WatchLoop(self.look, self.apply, on_event, interval=interval, coalescer=self.coalescer)
        self._lock = threading.Lock()
        self._problems: dict[str, str] = {}
        self._broken = False  # the last look found errors in the architecture
        # What the desired state is read from (see `_follow`), and the revision of each of
        # its keys that the last successful apply read: at the start, what is there now.
        self._settings: Path
        self._architecture: Path | None
        self.origin: Fetched | None
        self._follow(application)
        self._applied, self._kinds = self._desired(digests(self.files()), application.origin)
        self._poller = FilePoller(self.files, lambda key: self.coalescer.add(f"{key} changed"), file_period)

    @property
    def applies(self) -> int:
        """Applies run so far (failed ones too; not those a busy lock kept from starting)."""
        return self.loop.applies

    def run(self, server: WebhookServer | None = None) -> None:
        """Look and apply until stopped (SIGINT, SIGTERM or `stop()`), serving `server`'s
        webhooks meanwhile; it and all its threads are gone when this returns."""
        with self.loop.signals(), _serving(server), _polling(self._poller):
            self.loop.run()

    def stop(self) -> None:
        """End `run()` (from any thread); an apply that runs is not interrupted."""
        self.coalescer.stop()

    def files(self) -> dict[str, Path]:
        """The files of the desired state, each by its path from the application folder:
        scoot.toml, the architecture's files (not under `--from`: its repository is
        followed), the param file. Called on the poller's thread too."""
        from scoot_lang.compiler import unit_files

        with self._lock:
            settings, architecture = self._settings, self._architecture
        root = settings.parent
        followed = {SETTINGS_FILE: settings}
        if architecture is not None:
            try:
                unit = unit_files(architecture)
            except OSError:  # a folder that cannot be listed: the look's compile says why
                unit = [architecture]
            followed.update({_key(path, root): path for path in unit})
        if self.param_file is not None:
            followed[str(self.param_file)] = Path(self.param_file)
        return followed

    def _follow(self, application: Loaded | Failed) -> None:
        """Follow what `application` was read from (scoot.toml may have moved the architecture)."""
        workspace = application.workspace
        with self._lock:
            self._settings = workspace.root / SETTINGS_FILE
            self._architecture = workspace.architecture if application.origin is None else None
            self.origin = application.origin

    @staticmethod
    def _desired(files: Mapping[str, str], origin: Fetched | None) -> tuple[dict[str, str], dict[str, str]]:
        """The desired state's revision per key (its files' digests, the architecture's
        repository's revision), and the kind of each key."""
        latest = dict(files)
        kinds = dict.fromkeys(files, FILE)
        if origin is not None:
            latest[origin.repository.name] = origin.revision
            kinds[origin.repository.name] = ARCHITECTURE_REPOSITORY
        return latest, kinds

    def look(self) -> Snapshot:
        """One look; an architecture with errors (being edited?) is a complaint, not the end."""
        from scoot_runtime.watch import poll

        application = load(self.path, self.target, self.params, self.from_repo, self.param_file)
        self._follow(application)
        if isinstance(application, Failed):
            self._broken = True
            compilation = application.compilation
            raise ScootError(
                "the architecture has errors:\n" + diagnostics_text(compilation.diagnostics, compilation.sources)
            )
        if self._broken:
            self._broken = False
            self.on_event(CompilesAgain())
        architecture = application.architecture
        assert architecture is not None
        found = poll.look(
            application.workspace, application.target, architecture, poll.watched(architecture, self.pins)
        )
        with self._lock:
            before, self.located = self.located, found.located
        if sorted(before) != sorted(found.located):
            self.on_event(WatchedChanged(tuple(sorted(found.located))))
        for component, problem in sorted(found.problems.items()):
            if self._problems.get(component) != problem:
                self.on_event(RevisionUnknown(component, problem))
        for component in sorted(set(self._problems) - set(found.problems)):
            self.on_event(RevisionKnownAgain(component))
        self._problems = found.problems
        if not found.problems:
            self.on_event(AllClear())
        desired, kinds = self._desired(digests(self.files()), application.origin)
        for key in set(self._applied) - set(desired):  # a file removed: a change too
            desired[key], kinds[key] = GONE, self._kinds[key]
        snapshot = found.snapshot
        return Snapshot(
            {**snapshot.latest, **desired},
            {**snapshot.recorded, **{key: [self._applied.get(key)] for key in desired}},
            {**snapshot.kinds, **kinds},
        )

    def pushed(self, push: Push) -> list[str]:
        """The watched components a push is about, and the architecture's repository
        (`ARCHITECTURE`) under `--from` (called on the webhook's threads)."""
        from scoot_runtime.sources import ARCHITECTURE, Located
        from scoot_runtime.watch.poll import pushed

        with self._lock:
            located = dict(self.located)
            if self.origin is not None:
                repository = self.origin.repository
                located[ARCHITECTURE] = Located(ARCHITECTURE, repository.driver, repository, "from")
        return pushed(push, located)

    def on_push(self, push: Push) -> bool:
        """A webhook's push: a reason to look, if it is about a watched repository."""
        from scoot_runtime.sources import ARCHITECTURE

        hit = self.pushed(push)
        for component in hit:
            self.coalescer.add("push to the architecture" if component == ARCHITECTURE else f"push to {component}")
        return bool(hit)

    def apply(self, changes: list[Change]) -> Outcome:
        """One converge, as `scoot apply --yes`, the changed components pinned to the revisions seen."""
        from scoot_runtime.applylock import running_holder
        from scoot_runtime.repositories.path import PathDriver

        # A quick check, to skip compiling and fetching while another run applies; not
        # the only one: another run can take the lock between it and converge's. With a
        # lock timeout, converge waits for the lock instead.
        holder = running_holder(self.state_dir, self.target_name) if self.lock_timeout <= 0 else None
        if holder is not None and holder.pid != os.getpid():
            return Outcome.BUSY
        with self._lock:
            located = dict(self.located)
        pins = dict(self.pins)
        for change in changes:
            where = located.get(change.component) if change.kind == COMPONENT else None
            # A folder has only its current contents: it cannot be pinned to what was seen.
            if where is not None and where.driver != PathDriver.name:
                pins[change.component] = change.latest
        try:
            # Read before the application is: an edit made meanwhile is newer than what is
            # recorded as applied, so it is applied again rather than lost.
            files = digests(self.files())
            application = load(self.path, self.target, self.params, self.from_repo, self.param_file)
            self.on_event(Reloaded(application))
            if isinstance(application, Failed):
                return Outcome.FAILED
            outcome = converge(
                application, revisions=pins, parallelism=self.parallelism, lock_timeout=self.lock_timeout,
                on_event=self.on_event,
            )
            if isinstance(outcome, LockBusy):
                # Lost the race for the lock (see above): nothing was tried, so the revision is
                # not given up on; the loop says so and looks again at the next interval.
                return Outcome.BUSY
            self.on_event(ConvergeEnded(application, outcome))
            if not _succeeded(outcome):
                return Outcome.FAILED
            self._applied, self._kinds = self._desired(files, application.origin)
            return Outcome.APPLIED
        except Exception as error:
            if self.debug:
                raise
            self.on_event(ApplyError(error))
            return Outcome.FAILED
        finally:
            self.on_event(AllClear())


def _succeeded(outcome: ConvergeOutcome) -> bool:
    from scoot_app.application import PlanFailed
    from scoot_app.converge import Converged, Declined

    if isinstance(outcome, Converged):
        return outcome.ok
    return not isinstance(outcome, PlanFailed | Declined)


def _key(path: Path, root: Path) -> str:
    """A followed file as its key: relative to the application folder when inside it."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


@contextlib.contextmanager
def _polling(poller: FilePoller) -> Iterator[None]:
    poller.start()
    try:
        yield
    finally:
        poller.stop()


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
