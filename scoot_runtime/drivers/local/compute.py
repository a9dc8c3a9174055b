"""`compute` objects on this machine: one detached process per replica.

Identity (what `scoot.lock` records): `{"replicas": [0, 1, ...]}`, the replicas
that run. No pid: scoot.lock is shared, and a pid is a fact of one machine. The
processes are found by their marker (`processes.MARKER`, which names this
folder's owner token): one walk of `/proc` serves a whole refresh (`inventory`,
then every `read`), and what this driver starts or stops drops it. Outputs:
`host`, and with a port `port` and `url`. Replica `i` listens on `port + i`
(`PORT` says which); the outputs name replica 0's.

The environment of a process holds secrets: it is built in memory, handed to
the process, and never logged, recorded or put into a message.

A replacement is an update (`replace`): the new processes are started, and healthy,
before the old ones stop, or where they share a port, one replica at a time. Started
beside them, the old ones stop only after the switch-over (`SwitchOver`: what uses the
object has its new outputs), and not at all if something could not take them.

A move (a `moved` block) starts each replica again under its new name, exactly as
it was started (read back from /proc, the marker changed), the way an update
replaces a version: beside the old one when it listens on no port, else one
replica at a time; a replica that fails puts the old ones back.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import logging
import os
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from scoot_model.objects import env_text
from scoot_runtime.drivers.base import (
    Address,
    Applied,
    CheckFailure,
    Created,
    DriverContext,
    ObjectSpec,
    Observed,
    PreviousVersionKept,
    PreviousVersionLost,
    Recorded,
    SwitchOver,
    model_problems,
)
from scoot_runtime.drivers.local import health, processes
from scoot_runtime.drivers.local.paths import LocalDriverError, log_path, owner
from scoot_runtime.drivers.local.processes import Launch, Proc, Running
from scoot_runtime.files import errors_naming

log = logging.getLogger(__name__)

# The part of `scoot`'s own environment a process inherits; the rest (tokens,
# cloud credentials, secrets exported for `secret()`) stays with `scoot`.
INHERITED = ("PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR")
SHELL = "/bin/sh"
TAIL_LINES = 20
TAIL_BYTES = 8192


class NotRestored(PreviousVersionLost, LocalDriverError):
    """A failed update (or replacement, or move) whose previous version did not start
    again either: `identity` names the replicas that still run (none, often)."""


@dataclass(frozen=True)
class Options:
    """The target options the local driver reads (`[targets.NAME]` in scoot.toml)."""

    health_timeout: float = 30.0  # seconds a process has to become healthy
    grace_period: float = 10.0  # seconds between SIGTERM and SIGKILL when stopping
    pass_env: tuple[str, ...] = ()  # more variables of scoot's environment to pass on

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> Options:
        def seconds(key: str, default: float, minimum: float) -> float:
            value = options.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
                raise LocalDriverError(f"option `{key}` must be a number of seconds ≥ {minimum:g}")
            return float(value)

        pass_env = options.get("pass_env", ())
        if not isinstance(pass_env, list | tuple) or not all(isinstance(n, str) for n in pass_env):
            raise LocalDriverError("option `pass_env` must be a list of environment variable names")
        return cls(
            health_timeout=seconds("health_timeout", cls.health_timeout, 0.1),
            grace_period=seconds("grace_period", cls.grace_period, 0.0),
            pass_env=tuple(pass_env),
        )


@dataclass(frozen=True)
class Settings:
    """A compute configuration, checked and typed."""

    command: tuple[str, ...]
    shell: bool
    port: int | None
    replicas: int
    env: Mapping[str, str]
    health: str | tuple[str, ...] | None
    workdir: str | None

    @property
    def argv(self) -> list[str]:
        # `shell = true`: the one element of `command` is a script for /bin/sh.
        return [SHELL, "-c", self.command[0]] if self.shell else list(self.command)

    def replica_port(self, replica: int) -> int | None:
        return None if self.port is None else self.port + replica


def problems(config: Mapping[str, Any]) -> list[CheckFailure]:
    """This driver's own rules for a compute configuration, the model's aside (`model_problems`):
    replica i listens on port + i, and the marker variables are the driver's."""
    failures: list[CheckFailure] = []
    port, replicas = config.get("port"), config.get("replicas", 1)
    if (
        isinstance(port, int)
        and isinstance(replicas, int)
        and not isinstance(port, bool)
        and not isinstance(replicas, bool)
        and port + replicas - 1 > 65535
    ):
        failures.append(
            CheckFailure(f"replica i listens on port + i: {replicas} replicas do not fit above {port}", "port")
        )
    env = config.get("env")
    for name in env if isinstance(env, Mapping) else ():
        if name in (processes.MARKER, processes.CONFIG):
            failures.append(CheckFailure(f"`{name}` is set by the local driver itself", "env"))
    return failures


def settings(spec: ObjectSpec) -> Settings:
    # The resolved configuration: a reference's value is judged here, once known.
    failures = model_problems("compute", spec.config) + problems(spec.config)
    if failures:
        raise LocalDriverError(f"{spec.address}: " + "; ".join(f.message for f in failures))
    config = spec.config
    check = config.get("health")
    return Settings(
        command=tuple(config["command"]),
        shell=bool(config.get("shell", False)),
        port=config.get("port"),
        replicas=int(config.get("replicas", 1)),
        env={str(name): env_text(value) for name, value in config.get("env", {}).items()},
        health=tuple(check) if isinstance(check, list) else check,
        workdir=config.get("workdir"),
    )


def outputs(port: int | None) -> dict[str, Any]:
    if port is None:
        return {"host": health.HOST}
    return {"host": health.HOST, "port": port, "url": f"http://{health.HOST}:{port}"}


def identity(replicas: Iterable[int]) -> dict[str, Any]:
    return {"replicas": sorted(replicas)}


def applied_text(spec: ObjectSpec) -> str:
    """What a replica is started from (SCOOT_CONFIG): its configuration's digests and revision."""
    return orjson.dumps(
        {"digests": dict(spec.digests), "revision": spec.revision}, option=orjson.OPT_SORT_KEYS
    ).decode()


def applied_of(text: str | None) -> Applied | None:
    """The inverse of `applied_text`; None for a process that does not say (or garbles it)."""
    try:
        data = orjson.loads(text or "")
        digests, revision = data["digests"], data["revision"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    if not (
        isinstance(digests, dict)
        and all(isinstance(v, str) for v in digests.values())
        and (revision is None or isinstance(revision, str))
    ):
        return None
    return Applied(digests, revision)


def recorded_replicas(identity: Mapping[str, Any]) -> set[int]:
    """The replicas an identity records; also read from the identity of earlier versions,
    `{"processes": [{"replica": 0, "pid": ..., "start_time": ...}]}` (its pids are ignored)."""
    replicas = identity.get("replicas")
    if not isinstance(replicas, list):
        entries = identity.get("processes")
        replicas = [e.get("replica") for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else []
    return {r for r in replicas if isinstance(r, int) and not isinstance(r, bool)}


class ComputeObjects:
    """Create, read, update and delete compute objects."""

    def __init__(self, context: DriverContext, options: Options) -> None:
        self.context = context
        self.options = options
        # The last walk of /proc for this folder's processes: shared by the reads of a
        # refresh, dropped by whatever starts or stops a process (see `_scan`).
        self._scanned: asyncio.Future[list[Running]] | None = None

    @functools.cached_property
    def owner(self) -> str:
        """The marker prefix of this folder's processes for this target: `<token>/<target>`."""
        return f"{owner(self.context.workspace)}/{self.context.target}"

    # --- the driver's operations ------------------------------------------------

    async def create(self, spec: ObjectSpec) -> Created:
        wanted = settings(spec)
        cwd = self._cwd(spec, wanted)
        # Whatever already runs under this object's name (a create interrupted by a
        # crash) is replaced: creating twice converges on one set of processes.
        await self._stop(spec.address, _every)
        results = await asyncio.gather(
            *(self._start(spec, wanted, cwd, replica) for replica in range(wanted.replicas)),
            return_exceptions=True,
        )
        started = {i: r for i, r in enumerate(results) if isinstance(r, Proc)}
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            await self._stop(spec.address, _every)
            if all(isinstance(f, LocalDriverError) for f in failures):
                raise LocalDriverError("\n".join(str(f) for f in failures))
            raise failures[0]
        return Created(identity(started), outputs(wanted.port))

    async def read(self, spec: ObjectSpec, recorded: Recorded | None) -> Observed | None:
        """What runs: the processes carrying this object's marker (this folder's, this target's).

        None when nothing of this folder runs under the object's name. A replica the
        record names that does not run, or one that runs and is not recorded, is drift;
        so is a replica started from another configuration than the recorded one (an
        interrupted update). Without a record, the replicas wanted that do not run are
        named.
        """
        processes.reap()
        running: dict[int, Running] = {}
        twice: dict[int, list[int]] = {}
        for found in await self._leaders(str(spec.address)):
            if found.replica is not None:
                if found.replica in running:
                    twice.setdefault(found.replica, [running[found.replica].pid]).append(found.pid)
                running.setdefault(found.replica, found)
        if not running:
            return None
        if recorded is not None:
            wanted = recorded_replicas(recorded.identity)
            drift = [
                f"replica {r} runs as pid {p.pid}, which the state does not record"
                for r, p in sorted(running.items())
                if r not in wanted
            ]
        else:
            wanted = set(range(_replicas(spec.config)))
            drift = []
        drift += [f"replica {r} is not running" for r in sorted(wanted) if r not in running]
        # An update that starts the new version beside the old one, interrupted before the
        # old one stopped (or a replacement whose old version was kept for a dependant that
        # could not switch over), leaves two processes for a replica: the next update stops both.
        drift += [
            f"replica {r} runs twice (pids {', '.join(map(str, pids))}: an interrupted update, "
            "or an old version kept for what still used it)"
            for r, pids in sorted(twice.items())
        ]
        applied = {replica: applied_of(found.config) for replica, found in running.items()}
        if recorded is not None:
            drift += [
                f"replica {r} runs another configuration than the one recorded (an interrupted update)"
                for r, made in sorted(applied.items())
                if made is None or made.changed(recorded.digests, recorded.revision)
            ]
        # One configuration for every replica, or none that can be told.
        made = list(applied.values())
        made_from = made[0] if all(m == made[0] for m in made) else None
        observed = dict(recorded.outputs) if recorded is not None else outputs(_port(spec.config))
        return Observed(identity(running), observed, tuple(drift), made_from)

    async def running(self) -> set[str]:
        """The addresses of the objects with a process of this folder's running for this target.

        A refresh begins here: a new walk of /proc, which its reads then share.
        """
        self._scanned = None
        return {p.address for p in await self._scan() if p.address is not None}

    async def update(self, spec: ObjectSpec, recorded: Recorded, switch_over: SwitchOver | None = None) -> Created:
        """Replace the processes, keeping the previous version if the new one fails.

        Where the ports allow (no port, or none of the new ports is one the old
        processes were given), the new replicas start beside the old ones, which
        stop only once every new one is healthy. Otherwise each old replica stops,
        its new one starts, one replica at a time; if a new replica fails, the new
        ones already started stop and the old ones start again exactly as they were
        started (argv, environment, folder, read back from /proc before they were
        stopped: scoot.lock holds no secret value, the processes do). Either way a
        failure leaves the previous version running, and `PreviousVersionKept` says
        so when that version is the recorded one. With `switch_over`, the old processes
        stop only once it answers True.
        """
        wanted = settings(spec)
        previous = await self._previous(spec.address)
        # An old version left beside a new one (a switch-over answered False) holds a port too.
        taken = await self._ports(spec.address)
        # Every process of the object now, children included (the same walk of /proc).
        before = {p.proc for p in await self._scan() if p.address == str(spec.address)}
        kept = self._recorded_runs(previous, recorded)
        try:
            cwd = self._cwd(spec, wanted)
        except LocalDriverError as error:
            raise (PreviousVersionKept(spec.address, str(error)) if kept else error) from None
        ports = {wanted.replica_port(r) for r in range(wanted.replicas)} - {None}
        start = functools.partial(self._start, spec, wanted, cwd)
        try:
            started = await self._switch(
                spec.address, spec.address, range(wanted.replicas), start, ports, previous, recorded, taken
            )
        except LocalDriverError as error:
            restored = kept and not isinstance(error, NotRestored)
            raise (PreviousVersionKept(spec.address, str(error)) if restored else error) from None
        made = Created(identity(started), outputs(wanted.port))
        if switch_over is not None and not await switch_over(made):
            return made  # what could not take the new outputs still uses the old processes
        # Every new replica is healthy: the old processes (with any replica no longer wanted) stop.
        await self._stop(spec.address, lambda p: p.proc in before)
        return made

    async def replace(self, spec: ObjectSpec, recorded: Recorded, switch_over: SwitchOver | None = None) -> Created:
        """A replacement (`--replace`): new processes, started as `update` starts them,
        beside the old ones where the ports allow (create before destroy), else one
        replica at a time; the old ones stop once every new one is healthy, and come
        back if one fails. Nothing of a local process outlives it but its log and what
        it wrote, so a replacement is an update that starts anew whatever changed."""
        return await self.update(spec, recorded, switch_over)

    async def move(self, spec: ObjectSpec, recorded: Recorded, source: Address) -> Created:
        """Start each replica of `source` again under `spec.address`, as it was started,
        then stop the old ones (the way `update` replaces a version). Nothing of `source`
        running while `spec.address` runs: moved already."""
        previous = await self._previous(source)
        if not previous:
            running = await self._previous(spec.address)
            if running:
                return Created(identity(running), dict(recorded.outputs))
            raise LocalDriverError(
                f"{source}: none of its processes runs, so there is nothing to move to {spec.address}; "
                "run `scoot apply` again: it is created under its new name"
            )
        # What an interrupted move started under the new name goes: the old version serves.
        await self._stop(spec.address, _every)
        before = {p.proc for p in await self._scan() if p.address == str(source)}
        ports = {_env_port(launch) for _, launch in previous.values()} - {None}

        async def start(replica: int) -> Proc:
            launch = previous[replica][1]
            env = {**launch.env, processes.MARKER: processes.marker(self.owner, str(spec.address), replica)}
            return await self._restart(spec.address, replica, replace(launch, env=env), recorded, f"moved from {source}")

        try:
            started = await self._switch(spec.address, source, sorted(previous), start, ports, previous, recorded)
        except NotRestored:
            raise
        except LocalDriverError as error:
            raise LocalDriverError(f"{error}\n{source} still runs under its old name") from None
        await self._stop(source, lambda p: p.proc in before)
        return Created(identity(started), dict(recorded.outputs))

    async def _switch(
        self,
        address: Address,
        source: Address,
        replicas: Iterable[int],
        start: Callable[[int], Awaitable[Proc]],
        ports: set[int | None],
        previous: Mapping[int, tuple[Running, Launch]],
        recorded: Recorded,
        taken: set[int | None] | None = None,
    ) -> dict[int, Proc]:
        """Start the replicas of `address` in place of those of `source` (the same object,
        or the one it moves from): beside them where the ports allow (none of the new
        ports is one the old processes were given: `taken`, by default `previous`'s),
        else one at a time. The old ones are left for the caller to stop; on failure,
        they run as before."""
        if taken is None:
            taken = {_env_port(launch) for _, launch in previous.values()}
        if not ports & taken:
            return await self._start_beside(address, replicas, start)
        return await self._roll(address, source, replicas, start, previous, recorded)

    async def _start_beside(
        self, address: Address, replicas: Iterable[int], start: Callable[[int], Awaitable[Proc]]
    ) -> dict[int, Proc]:
        """Start every new replica while the old ones run; if one fails, stop the others."""
        wanted = list(replicas)
        results = await asyncio.gather(*(start(replica) for replica in wanted), return_exceptions=True)
        started = {i: r for i, r in zip(wanted, results, strict=True) if isinstance(r, Proc)}
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            await self._stop(address, _within({p.pid for p in started.values()}), grace=0)
            if all(isinstance(f, LocalDriverError) for f in failures):
                raise LocalDriverError("\n".join(str(f) for f in failures))
            raise failures[0]
        return started

    async def _roll(
        self,
        address: Address,
        source: Address,
        replicas: Iterable[int],
        start: Callable[[int], Awaitable[Proc]],
        previous: Mapping[int, tuple[Running, Launch]],
        recorded: Recorded,
    ) -> dict[int, Proc]:
        """Replace one replica at a time (the new one listens on the old one's port); on a
        failure, put every replaced one back as it was started, then raise."""
        started: dict[int, Proc] = {}
        for replica in replicas:
            await self._stop(source, _replica(replica))
            try:
                started[replica] = await start(replica)
            except Exception as error:
                await self._stop(address, _within({p.pid for p in started.values()}), grace=0)
                back = [r for r in previous if r <= replica]
                results = await asyncio.gather(
                    *(self._restart(source, r, previous[r][1], recorded) for r in back),
                    return_exceptions=True,
                )
                lost = {r: str(f) for r, f in zip(back, results, strict=True) if isinstance(f, BaseException)}
                if lost and isinstance(error, LocalDriverError):
                    raise _not_restored(source, error, lost, set(previous) - set(lost)) from None
                raise
        return started

    async def _previous(self, address: Address) -> dict[int, tuple[Running, Launch]]:
        """What runs for the object now, by replica: each replica's process and how it was started."""
        self._scanned = None
        found: dict[int, tuple[Running, Launch]] = {}
        for leader in await self._leaders(str(address)):
            launch = await asyncio.to_thread(processes.launch_of, leader.proc)
            if leader.replica is not None and launch is not None:
                found.setdefault(leader.replica, (leader, launch))
        return found

    async def _ports(self, address: Address) -> set[int | None]:
        """The ports every process started for the object was given, however many run for a replica."""
        leaders = await self._leaders(str(address))
        launches = await asyncio.gather(*(asyncio.to_thread(processes.launch_of, p.proc) for p in leaders))
        return {_env_port(launch) for launch in launches if launch is not None}

    @staticmethod
    def _recorded_runs(previous: Mapping[int, tuple[Running, Launch]], recorded: Recorded) -> bool:
        """Whether what runs is the recorded version: its replicas, from its configuration."""
        return bool(previous) and set(previous) == recorded_replicas(recorded.identity) and all(
            (made := applied_of(running.config)) is not None and not made.changed(recorded.digests, recorded.revision)
            for running, _ in previous.values()
        )

    async def _restart(
        self, address: Address, replica: int, launch: Launch, recorded: Recorded, why: str = "the previous version, again"
    ) -> Proc:
        """Start a replica of the previous version again as it was started; wait until healthy."""
        name = f"{address} replica {replica}"
        port = _env_port(launch)
        log_file = log_path(self.context.workspace, self.context.target, address, replica)
        offset = _log_header(log_file, f"{name} ({why})")
        check = _literal_health(recorded.config.get("health"))
        return await self._run(address, name, launch.argv, launch.cwd, launch.env, check, port, log_file, offset)

    async def delete(self, spec: ObjectSpec, recorded: Recorded) -> None:
        await self._stop(spec.address, _every)

    # --- helpers -----------------------------------------------------------------

    def _cwd(self, spec: ObjectSpec, wanted: Settings) -> Path:
        if spec.source is None:
            raise LocalDriverError(f"{spec.address}: the component has no source folder to run in")
        source = spec.source.resolve()
        cwd = (source / wanted.workdir).resolve() if wanted.workdir else source
        # Resolved, so that neither `..` nor a symbolic link leads out of the source.
        if not cwd.is_relative_to(source):
            raise LocalDriverError(
                f"{spec.address}: workdir `{wanted.workdir}` leaves the component's source"
            )
        if not cwd.is_dir():
            raise LocalDriverError(f"{spec.address}: {cwd} is not a folder")
        return cwd

    def _env(self, spec: ObjectSpec, wanted: Settings, replica: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in INHERITED or k.startswith("LC_")}
        env.update({k: os.environ[k] for k in self.options.pass_env if k in os.environ})
        env.setdefault("PATH", os.defpath)
        env.update(wanted.env)
        port = wanted.replica_port(replica)
        if port is not None:
            # Set last: replica i listens on port + i whatever `env` says.
            env["PORT"] = str(port)
        env[processes.MARKER] = processes.marker(self.owner, str(spec.address), replica)
        env[processes.CONFIG] = applied_text(spec)
        return env

    async def _start(self, spec: ObjectSpec, wanted: Settings, cwd: Path, replica: int) -> Proc:
        """Start one replica and wait until it is healthy; on failure stop it and raise."""
        name = f"{spec.address} replica {replica}"
        port = wanted.replica_port(replica)
        if port is not None and await _listening(port):
            raise LocalDriverError(
                f"{name}: port {port} is already in use by another process; stop it or choose another port"
            )
        log_file = log_path(self.context.workspace, self.context.target, spec.address, replica)
        offset = _log_header(log_file, name)
        env = self._env(spec, wanted, replica)
        return await self._run(spec.address, name, wanted.argv, cwd, env, wanted.health, port, log_file, offset)

    async def _run(
        self,
        address: Address,
        name: str,
        argv: Sequence[str],
        cwd: Path,
        env: Mapping[str, str],
        check: str | tuple[str, ...] | None,
        port: int | None,
        log_file: Path,
        offset: int,
    ) -> Proc:
        """Spawn a replica's process and wait until it is healthy; on failure stop it and raise."""
        try:
            child = processes.spawn(argv, cwd, env, log_file)
            self._scanned = None  # a walk from before it does not see it
        except OSError as error:
            # The message names the program, never the environment.
            raise LocalDriverError(f"{name}: cannot start `{argv[0]}`: {error.strerror}") from None
        proc = processes.inspect(child.pid)
        try:
            if proc is None:  # ended already
                raise health.Unhealthy(f"exited {health.exit_text(child.wait())} while starting")
            await health.wait_healthy(
                child, health=check, port=port, cwd=cwd, env=env, timeout=self.options.health_timeout
            )
        except (health.Unhealthy, asyncio.CancelledError) as error:
            # Killed at once, with whatever it started (its session; the old version is not in it).
            await self._stop(address, _within({child.pid}), grace=0)
            processes.reap()
            if isinstance(error, asyncio.CancelledError):
                raise
            raise LocalDriverError(
                f"{name} {error} (healthy means {health.describe(check, port)}).\n"
                f"Last lines of {self._shown(log_file)}:\n{_tail(log_file, offset)}"
            ) from None
        log.info("started %s as pid %d", name, proc.pid)
        return proc.proc

    async def _stop(self, address: Address, which: Callable[[Running], bool], grace: float | None = None) -> None:
        """Stop every process whose marker names this object (in this folder, for this
        target) and that `which` selects, and what they started (SIGKILL after `grace`
        seconds, by default the `grace_period` option). A process of another copy of
        the application carries another owner token: it is left alone."""
        self._scanned = None
        try:
            found = await asyncio.to_thread(processes.scan, self.owner, str(address))
            targets = [p for p in found if p.replica is not None and which(p)]
            await processes.terminate(targets, self.options.grace_period if grace is None else grace)
        finally:
            self._scanned = None

    async def _scan(self) -> list[Running]:
        """This folder's processes for this target: the last walk of /proc, or a new one.

        Reads running at once share one walk. A walk is dropped when this driver
        starts or stops a process, and when a refresh begins (`running`).
        """
        scanned = self._scanned
        if scanned is None or scanned.get_loop() is not asyncio.get_running_loop() or (
            scanned.done() and (scanned.cancelled() or scanned.exception() is not None)
        ):
            scanned = self._scanned = asyncio.ensure_future(asyncio.to_thread(processes.scan, self.owner))
        # Shielded: a read cancelled while it waits does not cancel the walk the others wait for.
        return await asyncio.shield(scanned)

    async def _leaders(self, address: str) -> list[Running]:
        """The live processes started for this object (not their children), by their marker."""
        found = [p for p in await self._scan() if p.address == address]
        # A child may have started a session of its own: it still has a parent that
        # carries the marker (or, orphaned, it started after the replica did).
        marked = {p.pid for p in found}
        leaders = [p for p in found if p.leader and p.ppid not in marked]
        # The walk may be older than this read: what ended since is not counted.
        leaders = [p for p in leaders if processes.is_running(p.proc)]
        return sorted(leaders, key=lambda p: (p.replica or 0, p.start_time, p.pid))

    def _shown(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.context.root.resolve()))
        except ValueError:
            return str(path)


def _not_restored(address: Address, error: LocalDriverError, lost: Mapping[int, str], runs: set[int]) -> NotRestored:
    """The error of a roll that failed and could not put every replaced replica back."""
    replicas = ", ".join(map(str, sorted(lost)))
    serving = (
        f"only replica {', '.join(map(str, sorted(runs)))} of the previous version runs"
        if runs
        else f"nothing of {address} runs now"
    )
    why = "\n".join(lost.values())
    return NotRestored(
        f"the new version failed to start, and the previous version's replica {replicas} did not start "
        f"again either: {serving}. Fix what failed, then `scoot apply` starts it.\n"
        f"The new version: {error}\nThe previous version: {why}",
        identity(runs),
    )


def _every(_: Running) -> bool:
    return True


def _replica(replica: int) -> Callable[[Running], bool]:
    return lambda p: p.replica == replica


def _within(sessions: Collection[int]) -> Callable[[Running], bool]:
    """The processes of the sessions the replicas `sessions` lead (each replica leads its own)."""
    return lambda p: p.session in sessions


def _env_port(launch: Launch) -> int | None:
    port = launch.env.get("PORT", "")
    return int(port) if port.isdigit() else None


def _literal_health(check: Any) -> str | tuple[str, ...] | None:
    """A recorded `health` as written, if it holds no reference (else the port is probed)."""
    if isinstance(check, str) and "${" not in check:
        return check
    if isinstance(check, list) and check and all(isinstance(a, str) and "${" not in a for a in check):
        return tuple(check)
    return None


def _replicas(config: Mapping[str, Any]) -> int:
    replicas = config.get("replicas", 1)
    return replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1


def _port(config: Mapping[str, Any]) -> int | None:
    port = config.get("port")
    return port if isinstance(port, int) and not isinstance(port, bool) else None


async def _listening(port: int) -> bool:
    """Whether something accepts connections on the port already."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(health.HOST, port), 1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


def _log_header(path: Path, name: str) -> int:
    """Mark in the log where this start begins; the offset after the mark."""
    path.parent.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    # 0600: what an application prints may be private.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        with errors_naming(path):
            os.write(fd, f"--- scoot: starting {name} at {now} ---\n".encode())
        return os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)


def _tail(path: Path, offset: int) -> str:
    """The last lines the process wrote (after `offset`), indented."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(offset, size - TAIL_BYTES))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return "    (no log)"
    lines = text.splitlines()[-TAIL_LINES:]
    return "\n".join(f"    {line}" for line in lines) if lines else "    (nothing)"
