"""The runtime's front door: one application folder, one target.

    runtime = Runtime.open(root, architecture, "local")
    plan = await runtime.plan()
    result = await runtime.apply(plan)

The caller (the CLI) compiles the architecture and holds the apply lock; this
module ties the workspace, the state, the secrets and the target's driver to
the planner and the reconciler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path

from scoot_runtime import drivers
from scoot_runtime.desired import DesiredObject, desired_objects
from scoot_runtime.drivers.base import CloudDriver, DriverContext
from scoot_runtime.objects import Architecture
from scoot_runtime.plan import Plan, make_plan
from scoot_runtime.reconciler import ApplyResult, Event, Reconciler
from scoot_runtime.secrets import Secrets
from scoot_runtime.state import StateStore
from scoot_runtime.workspace import SettingsError, Target, Workspace

DEFAULT_PARALLELISM = 64


@dataclass
class Runtime:
    workspace: Workspace
    target: Target
    application: str
    desired: dict[str, DesiredObject]
    store: StateStore
    secrets: Secrets
    driver: CloudDriver

    @classmethod
    def open(
        cls,
        workspace: Workspace,
        architecture: Architecture | None,
        target: str | None = None,
        environ: Mapping[str, str] | None = None,
        driver_class: type[CloudDriver] | None = None,
    ) -> Runtime:
        """`architecture` None: only what the state records (destroy, status, logs)."""
        chosen = workspace.target(target)
        store = StateStore(workspace.root, chosen.name, chosen.cloud)
        state = store.load()
        application = architecture.application.name if architecture else workspace.root.name
        desired = desired_objects(architecture, workspace.architecture_root) if architecture else {}
        driver_type = driver_class or drivers.load(chosen.cloud)
        unknown = sorted(set(chosen.options) - driver_type.option_names)
        if unknown:
            hint = get_close_matches(unknown[0], sorted(driver_type.option_names), n=1)
            raise SettingsError(
                f"[targets.{chosen.name}] in scoot.toml sets `{unknown[0]}`, which the {chosen.cloud} driver "
                f"does not take" + (f" (did you mean `{hint[0]}`?)" if hint else "")
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
        secrets = Secrets(workspace.state_dir, workspace.root, workspace.secrets_file, environ)
        return cls(workspace, chosen, application, desired, store, secrets, driver_type(context))

    async def plan(self, *, destroy: bool = False, refresh: bool = True, parallelism: int = DEFAULT_PARALLELISM) -> Plan:
        return await make_plan(
            self.target.name,
            self.desired,
            self.store.state,
            self.driver,
            self.secrets,
            destroy=destroy,
            refresh=refresh,
            parallelism=parallelism,
        )

    async def apply(
        self,
        plan: Plan,
        *,
        parallelism: int = DEFAULT_PARALLELISM,
        delete_data: bool = False,
        on_event: Callable[[Event], None] = lambda event: None,
    ) -> ApplyResult:
        reconciler = Reconciler(
            plan,
            {} if plan.destroy else self.desired,
            self.store,
            self.driver,
            self.secrets,
            parallelism=parallelism,
            delete_data=delete_data,
            on_event=on_event,
        )
        try:
            return await reconciler.run()
        finally:
            await self.driver.close()

    async def close(self) -> None:
        """Release the driver (apply does it itself)."""
        await self.driver.close()

    @property
    def root(self) -> Path:
        return self.workspace.root
