"""The engine (desired state, plan, reconciler, state) with a small real driver.

`FileDriver` keeps its "resources" in a JSON file, as a third party's driver
for some simple service might: it is a real driver, not a stand-in, and lets
these tests look at the world behind the driver's back (drift) and make it fail.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from scoot_model.objects import Application, Architecture, Component, Compute, Connection, Storage
from scoot_runtime.drivers.base import (
    Applied,
    CloudDriver,
    Created,
    DiffResult,
    ObjectSpec,
    Observed,
    Recorded,
)
from scoot_runtime.engine import Runtime
from scoot_runtime.plan import Action, PlanError
from scoot_runtime.resolve import Known, Resolver
from scoot_runtime.secrets import Secrets
from scoot_runtime.state import read_state_file
from scoot_runtime.workspace import load


class FileDriver(CloudDriver):
    """Resources as entries of `.scoots/world.json`, named `<lineage>/<address>`."""

    name = "file"
    calls: ClassVar[list[tuple[str, str]]] = []
    fail: ClassVar[set[str]] = set()
    # Creates that make the resource, then fail (a cloud call that timed out half way).
    half: ClassVar[set[str]] = set()

    @property
    def world_file(self) -> Path:
        return self.context.workspace / "world.json"

    def world(self) -> dict[str, Any]:
        if not self.world_file.exists():
            return {}
        data: dict[str, Any] = json.loads(self.world_file.read_text())
        return data

    def save(self, world: dict[str, Any]) -> None:
        self.context.workspace.mkdir(parents=True, exist_ok=True)
        self.world_file.write_text(json.dumps(world, sort_keys=True))

    def key(self, spec: ObjectSpec) -> str:
        return f"{self.context.lineage}/{spec.address}"

    def diff(self, spec: ObjectSpec, recorded: Recorded) -> DiffResult:
        result = super().diff(spec, recorded)
        if "port" in result.changed:
            return DiffResult(result.changed, outputs=("port", "url"))
        return result

    @staticmethod
    def outputs(spec: ObjectSpec) -> dict[str, Any]:
        if spec.kind == "storage":
            return {"path": f"/data/{spec.address}"}  # a local store has a path, not a url
        if spec.kind == "compute":
            port = spec.config.get("port") or 80
            return {"url": f"http://127.0.0.1:{port}", "host": "127.0.0.1", "port": port}
        return {"env": ",".join(spec.config.get("injected", []))}

    @staticmethod
    def entry(spec: ObjectSpec) -> dict[str, Any]:
        # What it was made from, as a cloud's tags would say.
        applied = {"digests": dict(spec.digests), "revision": spec.revision}
        return {"config": dict(spec.config), "outputs": FileDriver.outputs(spec), "applied": applied}

    async def create(self, spec: ObjectSpec) -> Created:
        FileDriver.calls.append(("create", str(spec.address)))
        if str(spec.address) in FileDriver.fail:
            raise RuntimeError(f"cannot create {spec.address}")
        world = self.world()
        world[self.key(spec)] = self.entry(spec)
        self.save(world)
        if str(spec.address) in FileDriver.half:
            raise RuntimeError(f"lost the answer of creating {spec.address}")
        return Created({"key": self.key(spec)}, self.outputs(spec))

    async def read(self, spec: ObjectSpec, recorded: Recorded | None) -> Observed | None:
        entry = self.world().get(self.key(spec))
        if entry is None:
            return None
        drift = ("tampered",) if entry.get("tampered") else ()
        applied = Applied(**entry["applied"]) if "applied" in entry else None
        return Observed({"key": self.key(spec)}, entry["outputs"], drift, applied)

    async def update(self, spec: ObjectSpec, recorded: Recorded) -> Created:
        FileDriver.calls.append(("update", str(spec.address)))
        world = self.world()
        world[self.key(spec)] = self.entry(spec)
        self.save(world)
        return Created({"key": self.key(spec)}, self.outputs(spec))

    async def delete(self, spec: ObjectSpec, recorded: Recorded, delete_data: bool = False) -> None:
        FileDriver.calls.append(("delete", str(spec.address)))
        world = self.world()
        world.pop(self.key(spec), None)
        self.save(world)


def shop(port: int = 8080, with_worker: bool = True) -> Architecture:
    api = Component(
        source=".",
        objects={
            "web": Compute(command=["serve"], port=port, env={"DB": "${api.orders.path}"}),
            "orders": Storage(engine="sqlite"),
            "web_orders": Connection.model_validate({"from": "${api.web}", "to": "${api.orders}"}),
        },
    )
    components = {"api": api}
    if with_worker:
        components["worker"] = Component(
            source=".", objects={"jobs": Compute(command=["work"], env={"API": "${api.web.url}"})}
        )
    return Architecture(application=Application(name="shop"), components=components)


@pytest.fixture(autouse=True)
def _reset() -> None:
    FileDriver.calls = []
    FileDriver.fail = set()
    FileDriver.half = set()


def runtime(root: Path, architecture: Architecture | None) -> Runtime:
    return Runtime.open(load(root), architecture, driver_class=FileDriver)


def converge(root: Path, architecture: Architecture) -> tuple[Any, Any]:
    rt = runtime(root, architecture)
    plan = asyncio.run(rt.plan())
    result = asyncio.run(rt.apply(plan))
    return plan, result


def actions(plan: Any) -> dict[str, str]:
    return {c.address: c.action.value for c in plan.changes}


def test_apply_then_nothing_to_do(tmp_path: Path) -> None:
    plan, result = converge(tmp_path, shop())
    assert set(actions(plan).values()) == {"create"}
    assert result.ok and len(result.done) == 4
    # Dependencies first: orders before web, web before jobs.
    order = [address for _, address in FileDriver.calls]
    assert order.index("api.orders") < order.index("api.web") < order.index("worker.jobs")
    FileDriver.calls = []
    plan, result = converge(tmp_path, shop())
    assert not plan.has_changes
    assert FileDriver.calls == []


def test_outputs_flow_into_dependants_and_connections_inject_env(tmp_path: Path) -> None:
    converge(tmp_path, shop())
    world = json.loads((tmp_path / ".scoots" / "world.json").read_text())
    (web,) = [v for k, v in world.items() if k.endswith("/api.web")]
    assert web["config"]["env"]["DB"] == "/data/api.orders"
    assert web["config"]["env"]["ORDERS_PATH"] == "/data/api.orders"  # injected by the connection
    assert "ORDERS_URL" not in web["config"]["env"]  # only the outputs the target reports
    (connection,) = [v for k, v in world.items() if k.endswith("/api.web_orders")]
    assert connection["outputs"] == {"env": "ORDERS_PATH"}
    (jobs,) = [v for k, v in world.items() if k.endswith("/worker.jobs")]
    assert jobs["config"]["env"]["API"] == "http://127.0.0.1:8080"


def test_changing_one_attribute_touches_one_object(tmp_path: Path) -> None:
    converge(tmp_path, shop())
    FileDriver.calls = []
    architecture = shop()
    architecture.components["worker"].objects["jobs"].command = ["work", "--fast"]  # type: ignore[attr-defined]
    plan, _ = converge(tmp_path, architecture)
    changed = {a: c for a, c in actions(plan).items() if c != "no-op"}
    assert changed == {"worker.jobs": "update"}
    assert [c.keys for c in plan.changes if c.address == "worker.jobs"] == [("command",)]
    assert FileDriver.calls == [("update", "worker.jobs")]


def test_an_upstream_output_change_reaches_its_dependants(tmp_path: Path) -> None:
    converge(tmp_path, shop(port=8080))
    FileDriver.calls = []
    plan, result = converge(tmp_path, shop(port=9090))
    assert result.ok
    # The plan says so beforehand: the driver's diff names the outputs a new port changes.
    changes = {c.address: c for c in plan.changes}
    assert changes["worker.jobs"].action.value == "update" and changes["worker.jobs"].unknown == ("env",)
    assert ("update", "api.web") in FileDriver.calls
    assert ("update", "worker.jobs") in FileDriver.calls  # its API url changed
    world = json.loads((tmp_path / ".scoots" / "world.json").read_text())
    (jobs,) = [v for k, v in world.items() if k.endswith("/worker.jobs")]
    assert jobs["config"]["env"]["API"] == "http://127.0.0.1:9090"


def test_drift_is_reported_and_repaired(tmp_path: Path) -> None:
    converge(tmp_path, shop())
    world_file = tmp_path / ".scoots" / "world.json"
    world = json.loads(world_file.read_text())
    gone = next(k for k in world if k.endswith("/api.orders"))
    del world[gone]
    tampered = next(k for k in world if k.endswith("/worker.jobs"))
    world[tampered]["tampered"] = True
    world_file.write_text(json.dumps(world))
    plan, result = converge(tmp_path, shop())
    changes = {c.address: c for c in plan.changes}
    assert changes["api.orders"].action is Action.CREATE and changes["api.orders"].drift == ("not found",)
    assert changes["worker.jobs"].action is Action.UPDATE and changes["worker.jobs"].drift == ("tampered",)
    assert result.ok
    plan, _ = converge(tmp_path, shop())
    assert not plan.has_changes


def test_repairing_drift_shows_its_users_as_known_after_apply(tmp_path: Path) -> None:
    """A repaired object may come back with other outputs (a lost instance, a new address)."""
    converge(tmp_path, shop())
    world_file = tmp_path / ".scoots" / "world.json"
    world = json.loads(world_file.read_text())
    world[next(k for k in world if k.endswith("/api.web"))]["tampered"] = True
    world_file.write_text(json.dumps(world))
    plan = asyncio.run(runtime(tmp_path, shop()).plan())
    changes = {c.address: c for c in plan.changes}
    assert changes["api.web"].drift == ("tampered",)
    assert changes["worker.jobs"].action is Action.UPDATE and changes["worker.jobs"].unknown == ("env",)


def test_removed_objects_are_deleted_dependants_first(tmp_path: Path) -> None:
    converge(tmp_path, shop())
    FileDriver.calls = []
    plan, _ = converge(tmp_path, shop(with_worker=False))
    assert actions(plan)["worker.jobs"] == "delete"
    assert FileDriver.calls == [("delete", "worker.jobs")]
    assert "worker.jobs" not in read_state_file(tmp_path / "scoot.lock").targets["local"].objects


def test_a_failure_stops_its_dependants_only(tmp_path: Path) -> None:
    FileDriver.fail = {"api.orders"}
    _plan, result = converge(tmp_path, shop())
    assert set(result.failed) == {"api.orders"}
    assert "cannot create api.orders" in result.failed["api.orders"]
    # web depends on orders (and jobs on web): skipped; the connection too.
    assert set(result.skipped) == {"api.web", "api.web_orders", "worker.jobs"}
    recorded = read_state_file(tmp_path / "scoot.lock").targets["local"].objects
    assert set(recorded) == set()
    FileDriver.fail = set()
    _, result = converge(tmp_path, shop())
    assert result.ok and len(result.done) == 4


def test_what_a_failed_create_made_is_found_by_the_next_plan_and_by_destroy(tmp_path: Path) -> None:
    """A create that failed half way leaves its intent pending: nothing it made is orphaned."""
    FileDriver.half = {"api.orders"}
    _, result = converge(tmp_path, shop())
    assert set(result.failed) == {"api.orders"}
    assert set(read_state_file(tmp_path / "scoot.lock").targets["local"].pending) == {"api.orders"}
    FileDriver.half = set()
    # destroy looks for it by name and removes it, though nothing was ever recorded.
    rt = runtime(tmp_path, shop())
    plan = asyncio.run(rt.plan(destroy=True))
    assert "api.orders" in plan.adopted
    assert asyncio.run(rt.apply(plan)).ok
    assert json.loads((tmp_path / ".scoots" / "world.json").read_text()) == {}
    # And a plan takes it up instead of making it twice.
    FileDriver.half = {"api.orders"}
    converge(tmp_path, shop())
    FileDriver.half, FileDriver.calls = set(), []
    plan, result = converge(tmp_path, shop())
    assert "api.orders" in plan.adopted and result.ok
    assert ("create", "api.orders") not in FileDriver.calls


def test_destroy_removes_everything(tmp_path: Path) -> None:
    converge(tmp_path, shop())
    rt = runtime(tmp_path, shop())
    plan = asyncio.run(rt.plan(destroy=True))
    assert set(actions(plan).values()) == {"delete"}
    deletes = [c.address for c in plan.changes]
    assert deletes.index("worker.jobs") < deletes.index("api.web") < deletes.index("api.orders")
    result = asyncio.run(rt.apply(plan))
    assert result.ok
    assert read_state_file(tmp_path / "scoot.lock").targets["local"].objects == {}
    assert json.loads((tmp_path / ".scoots" / "world.json").read_text()) == {}


def interrupted_create(tmp_path: Path, engine: str, *, says_what: bool = True) -> None:
    """A run that recorded its intent, made api.orders from `engine`, and died before the result."""
    rt = runtime(tmp_path, shop())
    asyncio.run(rt.plan())
    rt.store.begin()
    rt.store.intent("api.orders", "create", "storage")
    desired = rt.desired["api.orders"]
    config = {**desired.config, "engine": engine}
    resolved = Resolver({}, rt.secrets).resolve(config)
    spec = ObjectSpec(desired.address, "storage", resolved.config, resolved.digests, desired.source, desired.revision)
    asyncio.run(rt.driver.create(spec))
    if not says_what:  # a driver that cannot tell what it was made from
        world = json.loads((tmp_path / ".scoots" / "world.json").read_text())
        for entry in world.values():
            entry.pop("applied")
        (tmp_path / ".scoots" / "world.json").write_text(json.dumps(world))
    rt.store.close()
    FileDriver.calls = []


def test_an_interrupted_create_is_found_and_adopted(tmp_path: Path) -> None:
    interrupted_create(tmp_path, "sqlite")
    rt = runtime(tmp_path, shop())
    assert "api.orders" in rt.store.state.pending
    plan = asyncio.run(rt.plan())
    orders = next(c for c in plan.changes if c.address == "api.orders")
    assert orders.found and orders.action is Action.NOOP
    result = asyncio.run(rt.apply(plan))
    assert result.ok
    assert ("create", "api.orders") not in FileDriver.calls  # found, not made twice
    state = read_state_file(tmp_path / "scoot.lock").targets["local"]
    assert state.pending == {} and "api.orders" in state.objects
    plan = asyncio.run(runtime(tmp_path, shop()).plan())
    assert not plan.has_changes


def test_what_an_interrupted_create_made_from_another_configuration_is_updated(tmp_path: Path) -> None:
    # The configuration changed between the crash and this run: what was found is not
    # what is wanted now, and is made so.
    interrupted_create(tmp_path, "directory")
    plan = asyncio.run(runtime(tmp_path, shop()).plan())
    orders = next(c for c in plan.changes if c.address == "api.orders")
    assert (orders.found, orders.action, orders.keys) == (True, Action.UPDATE, ("engine",))
    assert asyncio.run(runtime(tmp_path, shop()).apply(plan)).ok
    assert FileDriver.calls.count(("update", "api.orders")) == 1
    assert not asyncio.run(runtime(tmp_path, shop()).plan()).has_changes


def test_what_an_interrupted_create_made_is_updated_when_the_driver_cannot_tell_from_what(
    tmp_path: Path,
) -> None:
    interrupted_create(tmp_path, "sqlite", says_what=False)
    plan = asyncio.run(runtime(tmp_path, shop()).plan())
    orders = next(c for c in plan.changes if c.address == "api.orders")
    assert orders.found and orders.action is Action.UPDATE
    assert asyncio.run(runtime(tmp_path, shop()).apply(plan)).ok
    assert not asyncio.run(runtime(tmp_path, shop()).plan()).has_changes


def test_a_missing_secret_is_a_plan_error_before_anything_is_touched(tmp_path: Path) -> None:
    architecture = shop()
    architecture.components["api"].objects["web"].env["TOKEN"] = '${secret("NO_SUCH_SECRET_X")}'  # type: ignore[attr-defined]
    rt = Runtime.open(load(tmp_path), architecture, driver_class=FileDriver, environ={})
    with pytest.raises(PlanError) as error:
        asyncio.run(rt.plan())
    assert "NO_SUCH_SECRET_X" in str(error.value)
    assert FileDriver.calls == []


def test_secrets_reach_the_driver_but_not_the_state(tmp_path: Path) -> None:
    architecture = shop()
    architecture.components["api"].objects["web"].env["TOKEN"] = '${secret("SHOP_TOKEN")}'  # type: ignore[attr-defined]
    value = "s3cr3t-value-4242"
    rt = Runtime.open(load(tmp_path), architecture, driver_class=FileDriver, environ={"SHOP_TOKEN": value})
    result = asyncio.run(rt.apply(asyncio.run(rt.plan())))
    assert result.ok
    lock = (tmp_path / "scoot.lock").read_text()
    assert value not in lock and 'secret(\\"SHOP_TOKEN\\")' in lock
    # The world (the driver's side) got the value: that is the point of a secret.
    assert value in (tmp_path / ".scoots" / "world.json").read_text()
    # A changed secret is noticed (keyed digest), without writing the value anywhere.
    rt = Runtime.open(load(tmp_path), architecture, driver_class=FileDriver, environ={"SHOP_TOKEN": "other"})
    plan = asyncio.run(rt.plan())
    assert actions(plan)["api.web"] == "update"


def test_an_interrupted_create_no_longer_wanted_is_found_and_deleted(tmp_path: Path) -> None:
    rt = runtime(tmp_path, shop())
    rt.store.begin()
    rt.store.intent("api.orders", "create", "storage")
    spec = ObjectSpec(rt.desired["api.orders"].address, "storage", rt.desired["api.orders"].config)
    asyncio.run(rt.driver.create(spec))
    rt.store.close()
    rt = runtime(tmp_path, shop())
    plan = asyncio.run(rt.plan(destroy=True))
    assert [(c.address, c.action, c.found) for c in plan.changes] == [("api.orders", Action.DELETE, True)]
    assert asyncio.run(rt.apply(plan)).ok
    state = read_state_file(tmp_path / "scoot.lock").targets["local"]
    assert state.pending == {} and state.objects == {}
    assert json.loads((tmp_path / ".scoots" / "world.json").read_text()) == {}


def test_an_option_the_driver_does_not_take_is_refused(tmp_path: Path) -> None:
    from scoot_runtime.workspace import SettingsError

    (tmp_path / "scoot.toml").write_text('[targets.local]\ncloud = "local"\nhealth_timout = 5\n')
    with pytest.raises(SettingsError) as error:
        Runtime.open(load(tmp_path), shop())
    assert "`health_timout`" in str(error.value) and "did you mean `health_timeout`?" in str(error.value)


def test_on_another_machine_a_plain_change_beside_a_secret_is_still_seen(tmp_path: Path) -> None:
    def with_token(greeting: str) -> Architecture:
        architecture = shop()
        env = architecture.components["api"].objects["web"].env  # type: ignore[attr-defined]
        env.update({"TOKEN": '${secret("SHOP_TOKEN")}', "GREETING": greeting})
        return architecture

    environ = {"SHOP_TOKEN": "one"}
    rt = Runtime.open(load(tmp_path), with_token("hi"), driver_class=FileDriver, environ=environ)
    assert asyncio.run(rt.apply(asyncio.run(rt.plan()))).ok
    (tmp_path / ".scoots" / "secret.key").unlink()  # a fresh clone: another digest key
    rt = Runtime.open(load(tmp_path), with_token("hi"), driver_class=FileDriver, environ=environ)
    assert not asyncio.run(rt.plan()).has_changes  # the secret cannot be compared: unchanged
    rt = Runtime.open(load(tmp_path), with_token("hello"), driver_class=FileDriver, environ=environ)
    plan = asyncio.run(rt.plan())
    assert actions(plan)["api.web"] == "update"  # the greeting beside it did change


def test_an_interrupted_run_that_left_nothing_is_settled_and_forgotten(tmp_path: Path) -> None:
    converge(tmp_path, shop())
    rt = runtime(tmp_path, shop())
    rt.store.begin()
    rt.store.intent("api.gone", "create", "storage")  # never made
    rt.store.intent("api.orders", "update", "storage")  # made no difference
    rt.store.close()
    rt = runtime(tmp_path, shop())
    assert set(rt.store.state.pending) == {"api.gone", "api.orders"}
    plan = asyncio.run(rt.plan())
    assert plan.has_changes and plan.settle == ["api.gone", "api.orders"]
    assert asyncio.run(rt.apply(plan)).ok
    state = read_state_file(tmp_path / "scoot.lock").targets["local"]
    assert state.pending == {} and "api.orders" in state.objects and "api.gone" not in state.objects
    assert not asyncio.run(runtime(tmp_path, shop()).plan()).has_changes


def test_a_removed_object_already_gone_is_forgotten(tmp_path: Path) -> None:
    converge(tmp_path, shop())
    world_file = tmp_path / ".scoots" / "world.json"
    world = json.loads(world_file.read_text())
    world = {k: v for k, v in world.items() if not k.endswith("/worker.jobs")}
    world_file.write_text(json.dumps(world))
    FileDriver.calls = []
    plan, result = converge(tmp_path, shop(with_worker=False))
    assert plan.forget == ["worker.jobs"] and plan.has_changes and result.ok
    assert FileDriver.calls == []
    assert "worker.jobs" not in read_state_file(tmp_path / "scoot.lock").targets["local"].objects


def test_two_connections_that_would_inject_the_same_names_are_a_plan_error(tmp_path: Path) -> None:
    architecture = shop()
    architecture.components["worker"].objects["orders"] = Storage(engine="sqlite")
    architecture.components["worker"].objects["a"] = Connection.model_validate(
        {"from": "${worker.jobs}", "to": "${worker.orders}"}
    )
    architecture.components["worker"].objects["b"] = Connection.model_validate(
        {"from": "${worker.jobs}", "to": "${api.orders}"}
    )
    with pytest.raises(PlanError) as error:
        asyncio.run(runtime(tmp_path, architecture).plan())
    assert "ORDERS_" in str(error.value) and "api.orders" in str(error.value)


def test_a_local_output_is_handed_on_absolute_and_digested_as_recorded(tmp_path: Path) -> None:
    """A store's path is recorded relative to the application folder: what a driver gets is
    absolute, and the digests (what the next plan compares) do not depend on where the folder is."""
    known = {
        "api.orders": Known("storage", {"engine": "table"}, {"path": ".scoots/data/api/o.sqlite", "url": "sqlite:.scoots/data/api/o.sqlite"}),
        "api.web": Known("compute", {}, {"host": "127.0.0.1", "url": "http://127.0.0.1:8080"}),
    }
    config = {"env": {"DB": "${api.orders.path}", "WEB": "${api.web.url}", "TOKEN": '${secret("T")}'}, "to": "${api.orders}"}
    resolved = {}
    for name in ("here", "there"):
        root = tmp_path / name
        secrets = Secrets(root / ".scoots", root, environ={"T": "s3cret"}, lineage="l")
        resolved[name] = Resolver(known, secrets, root).resolve(config, connected=("api.orders",))
    here, there = resolved["here"], resolved["there"]
    assert here.config["env"]["DB"] == here.config["env"]["ORDERS_PATH"] == str(tmp_path / "here/.scoots/data/api/o.sqlite")
    assert here.config["env"]["ORDERS_URL"] == f"sqlite://{tmp_path}/here/.scoots/data/api/o.sqlite"
    assert here.config["env"]["WEB"] == "http://127.0.0.1:8080"  # not a local output: as it is
    assert here.config["to"]["outputs"]["path"] == str(tmp_path / "here/.scoots/data/api/o.sqlite")
    assert there.config["env"]["DB"] == str(tmp_path / "there/.scoots/data/api/o.sqlite")
    assert here.digests == there.digests
    # Without a root (the editor's plan lens), the recorded form is handed on.
    bare = Resolver(known, Secrets(tmp_path / ".scoots", tmp_path, environ={"T": "s3cret"}, lineage="l"))
    assert bare.resolve(config).config["env"]["DB"] == ".scoots/data/api/o.sqlite"
