"""The runtime's front door: one application folder, one target.

    runtime = Runtime.open(workspace, architecture, "local", revisions={"api": "v1.2"})
    plan = await runtime.plan()
    result = await runtime.apply(plan)

The caller (the CLI) compiles the architecture and holds the apply lock; this
module ties the workspace, the components' sources (fetched when the runtime
opens: a blocking call, so async code runs it in a thread), the state, the
secrets and the target's driver to the planner and the reconciler.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scoot_model.objects import Architecture
from scoot_model.wording import closest, did_you_mean
from scoot_runtime import applylock, drivers
from scoot_runtime.desired import DesiredObject, desired_objects
from scoot_runtime.drivers.base import CloudDriver, DriverContext
from scoot_runtime.errors import ScootError
from scoot_runtime.files import make_workspace
from scoot_runtime.moves import Move
from scoot_runtime.partial import narrow
from scoot_runtime.plan import Plan, make_plan, resolve, spec_of
from scoot_runtime.reconciler import PROGRESS_SECONDS, ApplyResult, Event, Reconciler
from scoot_runtime.repositories.path import PathDriver
from scoot_runtime.resolve import Known, ResolveError, Resolver
from scoot_runtime.secrets import Secrets
from scoot_runtime.sources import Source, Sources
from scoot_runtime.state import STATE_FILE, ObjectState, StateStore, read_state_file
from scoot_runtime.workspace import SettingsError, Target, Workspace

DEFAULT_PARALLELISM = 64


def application_name(workspace: Workspace, architecture: Architecture | None) -> str:
    """The application's name, as every clone of it has it: the architecture's, else
    (a runtime going by scoot.lock alone) the folder's."""
    return architecture.application.name if architecture else workspace.root.name


@dataclass
class Runtime:
    workspace: Workspace
    target: Target
    application: str
    desired: dict[str, DesiredObject]
    store: StateStore
    secrets: Secrets
    driver: CloudDriver
    # Each component with compute objects: its fetched source, or why it could not be fetched.
    sources: dict[str, Source] = field(default_factory=dict)
    repositories: Sources | None = None
    # The architecture's `moved` blocks, (from, to).
    moved: list[Move] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        workspace: Workspace,
        architecture: Architecture | None,
        target: str | None = None,
        environ: Mapping[str, str] | None = None,
        driver_class: type[CloudDriver] | None = None,
        *,
        revisions: Mapping[str, str] | None = None,
        fetch: bool = True,
    ) -> Runtime:
        """`architecture` None: only what the state records (destroy, status, logs).

        With `fetch`, the sources of the components with compute objects are
        fetched now, each at `revisions[component]` (a branch, tag or commit) when
        pinned, else the newest. `fetch=False` touches no repository (status,
        destroy): its compute objects have no source, so it cannot apply them.
        """
        chosen = workspace.target(target)
        make_workspace(workspace.state_dir)
        store = StateStore(workspace.root, chosen.name, chosen.cloud)
        state = store.load()
        application = application_name(workspace, architecture)
        repositories: Sources | None = None
        sources: dict[str, Source] = {}
        if architecture is not None and fetch:
            repositories = Sources(workspace, chosen, architecture, environ)
            sources = repositories.fetch(revisions)
        desired = desired_objects(architecture, sources) if architecture else {}
        driver_type = driver_class or drivers.load(chosen.cloud)
        unknown = sorted(set(chosen.options) - driver_type.option_names)
        if unknown:
            raise SettingsError(
                f"[targets.{chosen.name}] in scoot.toml sets `{unknown[0]}`, which the {chosen.cloud} driver "
                f"does not take{did_you_mean(closest(unknown[0], sorted(driver_type.option_names)))}"
                + f"; its options are {', '.join(sorted(driver_type.option_names)) or 'none'}"
            )
        context = DriverContext(
            application=application,
            target=chosen.name,
            lineage=state.lineage,
            workspace=workspace.state_dir,
            root=workspace.root,
            options=dict(chosen.options),
        )
        secrets = Secrets(workspace.state_dir, workspace.root, workspace.secrets_file, environ, state.lineage)
        moved = [(m.from_, m.to) for m in architecture.moved] if architecture else []
        return cls(
            workspace, chosen, application, desired, store, secrets, driver_type(context), sources, repositories, moved
        )

    async def plan(
        self,
        *,
        destroy: bool = False,
        refresh: bool = True,
        parallelism: int = DEFAULT_PARALLELISM,
        only: Sequence[str] = (),
        replace: Sequence[str] = (),
    ) -> Plan:
        """The plan; with `only` or `replace`, narrowed (`scoot_runtime.partial`)."""
        made = await make_plan(
            self.target.name,
            self.desired,
            self.store.state,
            self.driver,
            self.secrets,
            destroy=destroy,
            refresh=refresh,
            parallelism=parallelism,
            moved=self.moved,
        )
        if only or replace:
            made = narrow(made, self.desired, self.store.state, only=only, replace=replace)
        return made

    async def apply(
        self,
        plan: Plan,
        *,
        parallelism: int = DEFAULT_PARALLELISM,
        delete_data: bool = False,
        on_event: Callable[[Event], None] = lambda event: None,
        progress_every: float = PROGRESS_SECONDS,
    ) -> ApplyResult:
        """Apply `plan`, telling `on_event` each operation's start and end, and every
        `progress_every` seconds while one is still in flight."""
        # A partial plan (`--only`) applies only the objects it has a change for.
        planned = {change.address for change in plan.changes}
        reconciler = Reconciler(
            plan,
            {} if plan.destroy else {a: d for a, d in self.desired.items() if a in planned},
            self.store,
            self.driver,
            self.secrets,
            parallelism=parallelism,
            delete_data=delete_data,
            on_event=on_event,
            progress_every=progress_every,
        )
        try:
            return await reconciler.run()
        finally:
            await self.driver.close()
            self._prune()

    async def adopt(self, address: str, resource_id: str) -> ObjectState:
        """`scoot import`: record the existing resource `resource_id` (the cloud's own id)
        as the object `address` of the architecture, as the driver reads it.

        Recorded as made from what is wanted now (its resolved configuration's digests),
        so the next plan compares what the driver observes of it, as for any object.
        Interrupted before the record, nothing is recorded: a local store, moved into
        place already, is found by its name at the next plan; a cloud's resource is
        untouched, and is imported again."""
        state = self.store.state
        desired = self.desired.get(address)
        if desired is None:
            hint = did_you_mean(closest(address, sorted(self.desired)))
            raise ScootError(
                f"`{address}` is not an object of the architecture{hint}: declare it in the "
                "architecture first, then import the resource as it"
            )
        if address in state.objects:
            raise ScootError(
                f"`{address}` is recorded in scoot.lock already (target `{self.target.name}`): scoot manages it. "
                f"To record another resource as it, take it out of the architecture, `scoot forget {address}`, "
                "put it back, and import again"
            )
        made = await self.driver.adopt(spec_of(desired, desired.config), resource_id)
        known: dict[str, Known | None] = {a: Known(s.kind, s.identity, s.outputs) for a, s in state.objects.items()}
        try:
            resolved = resolve(Resolver(known, self.secrets, self.root.resolve()), desired)
            digests = {} if resolved.unknown else dict(resolved.digests)
        except ResolveError:  # what it needs is not made yet: compared key by key at the next plan
            digests = {}
        record = ObjectState(
            kind=desired.kind,
            config=desired.config,
            digests=digests,
            identity=dict(made.identity),
            outputs=dict(made.outputs),
            revision=desired.revision,
            depends_on=sorted(desired.depends_on),
        )
        self.store.begin()
        self.store.result(address, record)
        self.store.commit()
        return record

    def forget(self, address: str) -> ObjectState | None:
        """`scoot forget`: drop `address` from scoot.lock; what it names is not touched.

        Refused while the architecture declares it: the next plan would take it up
        again by its name (or make it anew)."""
        state = self.store.state
        if address in self.desired:
            raise ScootError(
                f"`{address}` is still in the architecture: while it is, the next plan takes it up again "
                "(or creates it). Take it out of the architecture first, then forget it"
            )
        if address not in state.objects and address not in state.pending:
            hint = did_you_mean(closest(address, sorted(state.objects)))
            raise ScootError(f"scoot.lock records no `{address}` for target `{self.target.name}`{hint}")
        record = state.objects.get(address)
        self.store.begin()
        self.store.result(address, None)
        self.store.commit()
        return record

    async def close(self) -> None:
        """Release the drivers (apply does it itself)."""
        await self.driver.close()
        if self.repositories is not None:
            self.repositories.close()

    def _prune(self) -> None:
        """Remove the fetched revisions nothing uses any more, then let the repository drivers go.

        Kept: every revision scoot.lock records for any target (a process may run
        it) and those this run fetched. Skipped while another target's apply runs:
        it may be about to start what it has just fetched.
        """
        if self.repositories is None:
            return
        located = self.repositories.located.values()
        if all(where.repository is None or where.driver == PathDriver.name for where in located):
            # Nothing kept under `.scoots/repos/` (the `path` driver uses the folder in
            # place), so nothing to prune: scoot.lock is not read again (0.5 s and 30 MiB
            # at 10,000 objects).
            self.repositories.close()
            return
        try:
            # Best effort: a folder left behind costs disk, never correctness.
            with contextlib.suppress(Exception):
                recorded = read_state_file(self.workspace.root / STATE_FILE)
                others = (set(recorded.targets) | set(self.workspace.targets)) - {self.target.name}
                if not any(applylock.running_holder(self.workspace.state_dir, name) for name in others):
                    keep = {o.revision for t in recorded.targets.values() for o in t.objects.values() if o.revision}
                    keep |= {s.fetched.revision for s in self.sources.values() if s.fetched is not None}
                    self.repositories.prune(keep)
        finally:
            self.repositories.close()

    @property
    def root(self) -> Path:
        return self.workspace.root
