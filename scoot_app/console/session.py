"""One application's console: the picture kept fresh, plans made and applied, logs followed.

    session = Session(folder, target, params)
    session.start_polling()              # a look every POLL_SECONDS, in a thread
    session.latest()                     # (version, the picture as JSON text)
    session.make_plan(destroy=False)     # a saved plan (`scoot_app.saved_plan`), its changes
    session.apply(plan_id, confirm)      # that plan exactly, in a thread; `session.job()`

Every text a session hands out has been through the target's secret redaction
(`Secrets.redact`, which knows every secret the architecture names): JSON answers and
log lines alike. Every value a secret had while the console ran stays hidden: a process
started before a secret changed may still print the old one.

A look (the poller's, every POLL_SECONDS) fetches no source: it runs what the last
fetch brought (each component pinned to the commit fetched then, which the repository
driver finds on disk without asking the remote). Sources are fetched again when the
user plans, and when the architecture, the settings or scoot.lock's serial changed
since the last fetch (an edit of the `.sct`, an apply).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets as random
import threading
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from scoot_app.application import (
    ApplicationError,
    Failed,
    Loaded,
    PlanFailed,
    diagnostics_text,
    load,
    make_plan,
)
from scoot_app.console.editor import DEFAULT, EDITORS
from scoot_app.console.picture import changes, details, picture
from scoot_runtime.errors import ScootError

if TYPE_CHECKING:
    from scoot_app.converge import ConvergeEvent
    from scoot_runtime.engine import Runtime
    from scoot_runtime.secrets import Secrets

POLL_SECONDS = 1.0


class Session:
    def __init__(
        self,
        path: str | Path,
        target: str | None = None,
        params: Mapping[str, str] | None = None,
        param_file: str | Path | None = None,
        editor: str = EDITORS[DEFAULT],
    ) -> None:
        self.path, self.target, self.params, self.param_file = Path(path), target, dict(params or {}), param_file
        self.editor = editor  # the URL template of `.sct` links (`scoot_app.console.editor`)
        self._memory: Secrets | None = None
        self._redacting = threading.Lock()
        # What the last fetch was for and brought: (architecture and settings digests,
        # scoot.lock's serial), and each fetched component's revision.
        self._fetched_for: tuple[Any, ...] | None = None
        self._pins: dict[str, str] = {}
        self._lock = threading.Lock()
        self._version = 0
        self._picture = "{}"
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._plans: dict[str, tuple[Path, bool]] = {}  # id → (file, a destroy?)
        self._job: dict[str, Any] | None = None
        self._applying = threading.Lock()
        first = self.load()  # a folder that is not an application fails here, before serving
        self.root = first.workspace.root.resolve()
        self.plans_dir = first.workspace.state_dir / "console"
        from scoot_runtime.engine import application_name

        self.application = application_name(first.workspace, first.compilation.architecture)

    # -- redaction ------------------------------------------------------------------------

    def _opened(self, runtime: Runtime) -> None:
        with self._redacting:
            # One memory of every value a secret had while the console runs: the first
            # runtime's, taught each later runtime's values.
            if self._memory is None:
                self._memory = runtime.secrets
            elif runtime.secrets is not self._memory:
                self._memory.remember(runtime.secrets)

    def redact(self, text: str) -> str:
        with self._redacting:  # not while `remember` adds to what it looks for
            return text if self._memory is None else self._memory.redact(text)

    def json(self, data: Any) -> str:
        return self.redact(orjson.dumps(data, default=str).decode())

    # -- looking --------------------------------------------------------------------------

    def load(self) -> Loaded:
        loaded = load(self.path, self.target, self.params, param_file=self.param_file)
        if isinstance(loaded, Failed):
            problem = loaded.unfetched or diagnostics_text(loaded.compilation.errors, loaded.compilation.sources)
            raise ApplicationError(f"the architecture does not compile:\n{problem}")
        return loaded

    def _runtime(self, application: Loaded, fetch: bool = True) -> Runtime:
        """The application's runtime; `fetch` False: by the last fetch's revisions, unless
        what it was for changed since (then fetched)."""
        from scoot_app.application import open_runtime
        from scoot_app.saved_plan import architecture_digest, settings_digest

        made_for = (architecture_digest(application), settings_digest(application))
        with self._lock:
            fetched_for, pins = self._fetched_for, dict(self._pins)
        if not fetch and fetched_for is not None and fetched_for[:2] == made_for:
            try:
                runtime = open_runtime(application, pins)
            except ScootError:
                pass  # a checkout gone, say: fetched below
            else:
                if runtime.store.state.serial == fetched_for[2]:
                    self._opened(runtime)
                    return runtime
                _close(runtime)  # an apply since: its revisions may be newer
        runtime = open_runtime(application)
        self._opened(runtime)
        with self._lock:
            self._fetched_for = (*made_for, runtime.store.state.serial)
            # A folder (the path driver) is read as it is now at each look: never pinned.
            self._pins = {
                component: source.fetched.revision
                for component, source in runtime.sources.items()
                if source.fetched is not None and source.located.driver != "path"
            }
        return runtime

    def look(self) -> dict[str, Any]:
        """The picture now: the application loaded again, planned with a refresh."""
        from scoot_app.observe import read_recorded

        try:
            application = self.load()
            runtime = self._runtime(application, fetch=False)
        except ScootError as error:
            return {"error": str(error), "objects": [], "components": [], "edges": []}
        with asyncio.Runner() as runner:
            try:
                made = runner.run(make_plan(runtime))
                if isinstance(made, PlanFailed):
                    observed = runner.run(read_recorded(runtime, sorted(runtime.store.state.objects)))
                    return picture(
                        runtime, application.compilation, self.root, None, observed, str(made.error), self.editor
                    )
                return picture(runtime, application.compilation, self.root, made, made.observed, editor=self.editor)
            finally:
                with contextlib.suppress(Exception):
                    runner.run(runtime.close())

    def refresh(self) -> None:
        text = self.json(self.look())
        with self._changed:
            if text != self._picture:
                self._picture = text
                self._version += 1
                self._changed.notify_all()

    def latest(self) -> tuple[int, str]:
        with self._lock:
            return self._version, self._picture

    def wait_for_change(self, version: int, timeout: float) -> tuple[int, str]:
        """The picture once its version is past `version` (and there is one), or as it is
        after `timeout`."""
        with self._changed:
            self._changed.wait_for(lambda: 0 != self._version != version or self._stop.is_set(), timeout)
            return self._version, self._picture

    def start_polling(self, every: float = POLL_SECONDS) -> threading.Thread:
        def poll() -> None:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    self.refresh()
                except Exception as error:  # a look that fails is shown, and tried again
                    with self._changed:
                        self._picture = self.json({"error": f"{type(error).__name__}: {error}"})
                        self._version += 1
                        self._changed.notify_all()
                self._stop.wait(max(0.2, every - (time.monotonic() - started)))

        thread = threading.Thread(target=poll, name="scoot-console-poll", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()

    def object(self, address: str) -> str | None:
        application = self.load()
        runtime = self._runtime(application, fetch=False)
        try:
            found = details(runtime, application.compilation, self.root, address, self.editor)
        finally:
            _close(runtime)
        return None if found is None else self.json(found)

    async def logs(self, address: str, replica: int | None) -> AsyncIterator[str]:
        """What compute `address` writes, line by line as JSON (`{"source", "text"}`),
        following new lines, replaced files and new replicas, until the caller stops."""
        from scoot_runtime.drivers.base import Address
        from scoot_runtime.plan import recorded

        runtime = self._runtime(self.load(), fetch=False)
        state = runtime.store.state.objects.get(address)
        try:
            async for line in runtime.driver.logs(
                Address.parse(address), recorded(state) if state else None, replica=replica, follow=True
            ):
                yield self.json({"source": line.source, "text": line.text})
        finally:
            with contextlib.suppress(Exception):
                await runtime.close()

    # -- plan and apply -------------------------------------------------------------------

    def make_plan(self, destroy: bool = False) -> str:
        """A plan, saved as `scoot plan -o FILE` saves one (`--destroy`: as `scoot plan
        --destroy -o FILE`), under `.scoots/console/`: its id and changes, each with its
        `.sct` line. Apply applies exactly it, or refuses it as stale."""
        from scoot_app import saved_plan
        from scoot_app.application import open_runtime

        application = self.load()
        if destroy:
            # As `scoot plan --destroy`: what goes is what scoot.lock records; nothing is fetched.
            runtime = open_runtime(application, fetch=False)
            self._opened(runtime)
        else:
            runtime = self._runtime(application)
        with asyncio.Runner() as runner:
            try:
                made = runner.run(make_plan(runtime, destroy=destroy))
            finally:
                with contextlib.suppress(Exception):
                    runner.run(runtime.close())
        if isinstance(made, PlanFailed):
            return self.json({"error": str(made.error)})
        saved = saved_plan.make(application, runtime, made, saved_plan.Options(destroy=destroy))
        plan_id = random.token_hex(8)
        self.plans_dir.mkdir(parents=True, exist_ok=True)
        path = self.plans_dir / f"{plan_id}.plan"
        saved_plan.write(path, saved)
        with self._lock:
            self._plans[plan_id] = (path, destroy)
        return self.json(
            {
                "id": plan_id,
                "target": made.target,
                "destroy": destroy,
                "application": self.application,
                "changes": changes(made, application.compilation, self.root, self.editor),
            }
        )

    def apply(self, plan_id: str, confirm: str = "") -> str:
        """Start applying the saved plan `plan_id` in a thread; `job()` tells how it goes.
        A plan of destruction is applied only when `confirm` is the application's name."""
        from scoot_app import saved_plan

        with self._lock:
            destroying = self._plans.get(plan_id, (None, False))[1]
            if destroying and confirm != self.application:
                return self.json(
                    {"error": f"to destroy, type the application's name, `{self.application}`, to confirm"}
                )
            path = self._plans.pop(plan_id, (None, False))[0]
        if path is None:
            return self.json({"error": "no such plan (each plan is applied once): make the plan again"})
        if not self._applying.acquire(blocking=False):
            with self._lock:
                self._plans[plan_id] = (path, destroying)
            return self.json({"error": "an apply from this console is running: wait for it to end"})
        saved = saved_plan.read(path)
        job: dict[str, Any] = {
            "plan": plan_id, "destroy": destroying, "state": "running", "objects": {}, "message": "",
        }
        with self._lock:
            self._job = job

        def run() -> None:
            from scoot_app.converge import Applying, converge

            def told(event: ConvergeEvent) -> None:
                if isinstance(event, Applying):
                    with self._lock:
                        job["objects"][event.event.address] = {
                            "action": event.event.action.value,
                            "status": event.event.status,
                            "message": event.event.message,
                        }

            try:
                outcome = converge(self.load(), saved=saved, command="scoot console", on_event=told)
                ok, message = _outcome(outcome)
            except Exception as error:
                ok, message = False, f"{type(error).__name__}: {error}"
            finally:
                path.unlink(missing_ok=True)
                self._applying.release()
            with self._lock:
                job["state"] = "done" if ok else "failed"
                job["message"] = message
            self.refresh()

        threading.Thread(target=run, name="scoot-console-apply", daemon=True).start()
        return self.json({"started": plan_id})

    def job(self) -> str:
        with self._lock:
            return self.json(self._job or {})


def _close(runtime: Runtime) -> None:
    with contextlib.suppress(Exception):  # best effort: the answer is already decided
        asyncio.run(runtime.close())


def _outcome(outcome: object) -> tuple[bool, str]:
    """Whether it went well, and how, in words."""
    from scoot_app.converge import (
        Converged,
        Declined,
        LockBusy,
        NothingToDestroy,
        NothingToDo,
        Stale,
    )

    if isinstance(outcome, Stale):
        return False, "the plan is stale; nothing was changed: " + "; ".join(outcome.reasons)
    if isinstance(outcome, LockBusy):
        return False, outcome.message
    if isinstance(outcome, NothingToDo | Declined | NothingToDestroy):
        return True, "nothing to do"
    if isinstance(outcome, Converged):
        if outcome.ok:
            return True, f"done in {outcome.seconds:.1f} s"
        return False, "failed: " + "; ".join(f"{a}: {m}" for a, m in outcome.result.failed.items())
    if isinstance(outcome, PlanFailed):
        return False, f"the plan failed: {outcome.error}"
    return False, type(outcome).__name__
