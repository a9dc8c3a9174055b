"""A conformance suite that any cloud driver can run against itself.

It checks the contract the runtime relies on (docs/architecture.md, the runtime; `drivers.base`):

- create, then read finds the object with the same identity;
- idempotence: a read right after create reports no drift, and `diff` of the
  same spec against its record is empty;
- update changes the object in place, and a read then reports no drift;
- replace: a key the driver lists in `diff().replace` is applied by delete then create,
  or, for a kind in the driver's `replaceable`, by its `replace` (create before destroy),
  after which read finds the new object and not the old one;
- a failed update keeps the previous version: an update to a version that cannot
  start raises `PreviousVersionKept`, and a read then finds the object as it was
  recorded (same identity and outputs, no drift);
- delete, then read finds nothing (and deleting again is harmless);
- drift: a resource destroyed behind the driver's back reads as None or as drift;
- a crash between intent and result: with no record (`recorded=None`), a new
  driver instance finds what was created, by its deterministic name.

Every check deletes what it made (with `delete_data=True`), even when it fails.

Use it from a third party's tests with pytest: subclass `DriverConformance`
(the name must start with `Test` to be collected) and say how to make the
driver, a few sample objects, and how to break one behind the driver's back::

    from pathlib import Path

    from mycloud import MyCloudDriver
    from scoot_runtime.drivers.base import Address, Created, ObjectSpec
    from scoot_runtime.conformance import DriverConformance, Sample, context_for


    class TestMyCloud(DriverConformance):
        def make_driver(self, root: Path) -> MyCloudDriver:
            return MyCloudDriver(context_for(root, region="eu-west-1"))

        def samples(self, root: Path) -> list[Sample]:
            return [
                Sample(
                    Address("shop", "files"),
                    "storage",
                    {"engine": "bucket"},
                    update={"size": "2GB"},  # a change made in place
                    replace={"engine": "table"},  # a key diff() puts in `replace`
                ),
            ]

        async def break_out_of_band(self, spec: ObjectSpec, created: Created) -> None:
            delete_bucket(created.identity["name"])  # with the cloud's own SDK

A sample without `update` (or `replace`) skips that check; one with `broken`
(configuration keys) or `broken_options` (target options) with which a new version
cannot start (a program that does not exist, an image that does not exist) is
updated to it, and the previous version must be what runs afterwards. Without pytest, the
`check_*` coroutines take a driver and a sample and raise `ConformanceError`.
Kinds that make nothing observable (the local driver's connections) cannot be
told apart from nothing: leave them out of the samples and test them directly.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from scoot_runtime.drivers.base import (
    Address,
    CloudDriver,
    Created,
    DriverContext,
    ObjectSpec,
    Observed,
    PreviousVersionKept,
    Recorded,
)

BreakOutOfBand = Callable[[ObjectSpec, Created], Awaitable[None]]


class ConformanceError(AssertionError):
    """A driver broke the contract; the message says which part, for which sample."""


@dataclass(frozen=True)
class Sample:
    """An object to exercise the driver with, and changes to make to it."""

    address: Address
    kind: str
    config: Mapping[str, Any]
    source: Path | None = None
    # Keys merged into `config` for an update the driver makes in place.
    update: Mapping[str, Any] | None = None
    # Keys merged into `config` that the driver's `diff` must put in `replace`.
    replace: Mapping[str, Any] | None = None
    revision: str | None = None
    # Keys merged into `config`, and target options, with which a new version cannot
    # start or never becomes healthy: the update must keep the previous version.
    broken: Mapping[str, Any] | None = None
    broken_options: Mapping[str, Any] | None = None

    def spec(self, changes: Mapping[str, Any] | None = None) -> ObjectSpec:
        return make_spec(
            self.address, self.kind, {**self.config, **(changes or {})}, self.source, self.revision
        )


def context_for(root: Path, lineage: str | None = None, **options: Any) -> DriverContext:
    """A driver context for an application in `root` (its workspace `root/.scoots`), fresh lineage."""
    return DriverContext(
        application="conformance",
        target="test",
        lineage=lineage or f"test-{uuid.uuid4().hex[:12]}",
        workspace=root / ".scoots",
        root=root,
        options=options,
    )


def make_spec(
    address: Address,
    kind: str,
    config: Mapping[str, Any],
    source: Path | None = None,
    revision: str | None = None,
) -> ObjectSpec:
    """An `ObjectSpec` with a digest per key, as the runtime makes (here unkeyed: tests only)."""
    digests = {
        key: "sha256:" + hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()
        for key, value in config.items()
    }
    return ObjectSpec(address, kind, dict(config), digests, source, revision)


def record(spec: ObjectSpec, created: Created) -> Recorded:
    """What the runtime records after `created`."""
    return Recorded(
        spec.kind,
        dict(spec.config),
        dict(spec.digests),
        dict(created.identity),
        dict(created.outputs),
        spec.revision,
    )


def _expect(condition: object, sample: ObjectSpec, message: str) -> None:
    if not condition:
        raise ConformanceError(f"{sample.kind} {sample.address}: {message}")


def _expect_found(observed: Observed | None, spec: ObjectSpec, created: Created, when: str) -> None:
    """`read` found what `create` made: the same identity and outputs."""
    _expect(observed is not None, spec, f"read found nothing {when}")
    assert observed is not None
    _expect(observed.identity == created.identity, spec, f"{when}, read identity {observed.identity} != {created.identity}")
    _expect(observed.outputs == created.outputs, spec, f"{when}, read outputs {observed.outputs} != {created.outputs}")


class _Applied:
    """An object created for a check, deleted at the end whatever happens."""

    def __init__(self, driver: CloudDriver, spec: ObjectSpec) -> None:
        self.driver = driver
        self.spec = spec
        self.created: Created | None = None
        self.record: Recorded | None = None

    def now(self, spec: ObjectSpec, created: Created) -> Recorded:
        """The object is now `spec`, made as `created`; its record."""
        self.spec, self.created, self.record = spec, created, record(spec, created)
        return self.record

    async def __aenter__(self) -> tuple[Created, Recorded]:
        created = await self.driver.create(self.spec)
        return created, self.now(self.spec, created)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.record is not None:
            await self.driver.delete(self.spec, self.record, delete_data=True)


async def check_accepts(driver: CloudDriver, sample: Sample) -> None:
    """`check` accepts the sample and its changes."""
    for spec in (sample.spec(), sample.spec(sample.update), sample.spec(sample.replace)):
        failures = driver.check(spec)
        _expect(not failures, spec, f"check refused a sample: {[f.message for f in failures]}")


async def check_create_read(driver: CloudDriver, sample: Sample) -> None:
    """Create, then read finds it, with the same identity and outputs."""
    spec = sample.spec()
    async with _Applied(driver, spec) as (created, recorded):
        _expect_found(await driver.read(spec, recorded), spec, created, "right after create")


async def check_idempotent(driver: CloudDriver, sample: Sample) -> None:
    """Right after create: no drift, and nothing to change for the same spec."""
    spec = sample.spec()
    async with _Applied(driver, spec) as (_, recorded):
        for _attempt in range(2):
            observed = await driver.read(spec, recorded)
            _expect(
                observed is not None and not observed.drift,
                spec,
                f"drift right after create: {observed}",
            )
        result = driver.diff(spec, recorded)
        _expect(
            not result.changed and not result.replace,
            spec,
            f"diff of the same spec is not empty: {result}",
        )


async def check_update(driver: CloudDriver, sample: Sample) -> None:
    """A change the driver makes in place: diff says so, update makes it, read sees no drift."""
    if sample.update is None:
        return
    spec, changed = sample.spec(), sample.spec(sample.update)
    applied = _Applied(driver, spec)
    async with applied as (_, recorded):
        result = driver.diff(changed, recorded)
        _expect(result.changed, changed, "diff saw no change after the sample's update")
        _expect(
            not result.replace,
            changed,
            f"the sample's update needs a replacement: {result.replace}",
        )
        updated = applied.now(changed, await driver.update(changed, recorded))
        observed = await driver.read(changed, updated)
        _expect(observed is not None, changed, "read found nothing after update")
        assert observed is not None
        _expect(not observed.drift, changed, f"drift right after update: {observed.drift}")
        _expect(
            observed.identity == updated.identity, changed, "read identity differs from update's"
        )
        result = driver.diff(changed, updated)
        _expect(not result.changed, changed, f"diff after update is not empty: {result}")


async def check_replace(driver: CloudDriver, sample: Sample) -> None:
    """A change that needs a replacement: diff lists it in `replace`; delete then create applies it."""
    if sample.replace is None:
        return
    spec, replacement = sample.spec(), sample.spec(sample.replace)
    applied = _Applied(driver, spec)
    async with applied as (_, recorded):
        result = driver.diff(replacement, recorded)
        _expect(
            result.replace, replacement, "diff lists no key in `replace` for the sample's replace"
        )
        _expect(
            set(result.replace) <= set(result.changed),
            replacement,
            f"`replace` keys not in `changed`: {result}",
        )
        if spec.kind in driver.replaceable:
            # Create before destroy, by the driver: the new one is made, the old one gone.
            created = await driver.replace(replacement, recorded, delete_data=True)
            applied.now(replacement, created)
            _expect_found(await driver.read(replacement, applied.record), replacement, created, "after replace")
            _expect(await driver.read(spec, recorded) is None, spec, "after replace, read still finds the old one")
            return
    # The old one is gone now (deleted by the context); make the new one.
    async with _Applied(driver, replacement) as (created, recorded):
        observed = await driver.read(replacement, recorded)
        _expect(
            observed is not None and not observed.drift,
            replacement,
            f"after replace, read gave {observed}",
        )
        assert observed is not None
        _expect(
            observed.identity == created.identity,
            replacement,
            "read identity differs after replace",
        )


async def check_failed_update_keeps_previous(driver: CloudDriver, sample: Sample) -> None:
    """An update to a version that cannot start raises `PreviousVersionKept`; the previous
    version is then what runs, as recorded: a read finds its identity and outputs, no drift."""
    if sample.broken is None and sample.broken_options is None:
        return
    spec, broken = sample.spec(), sample.spec(sample.broken)
    updater = driver
    if sample.broken_options:
        options = {**driver.context.options, **sample.broken_options}
        updater = type(driver)(replace(driver.context, options=options))
    try:
        async with _Applied(driver, spec) as (created, recorded):
            try:
                await updater.update(broken, recorded)
            except PreviousVersionKept:
                pass
            except Exception as error:
                raise ConformanceError(
                    f"{spec.kind} {spec.address}: a failed update raised {type(error).__name__}, "
                    f"not PreviousVersionKept: {error}"
                ) from error
            else:
                raise ConformanceError(f"{spec.kind} {spec.address}: an update that cannot start succeeded")
            observed = await driver.read(spec, recorded)
            _expect_found(observed, spec, created, "after a failed update")
            _expect(observed is not None and not observed.drift, spec, f"drift after a failed update: {observed}")
    finally:
        if updater is not driver:
            await updater.close()


async def check_delete(driver: CloudDriver, sample: Sample) -> None:
    """Delete, then nothing is found, by record or by name; deleting again is harmless."""
    spec = sample.spec()
    async with _Applied(driver, spec) as (_, recorded):
        await driver.delete(spec, recorded, delete_data=True)
        by_name = await driver.read(spec, None)
        _expect(by_name is None, spec, f"read by name found it after delete: {by_name}")
        by_record = await driver.read(spec, recorded)
        _expect(
            by_record is None or by_record.drift,
            spec,
            f"read by the old record found it: {by_record}",
        )
        await driver.delete(spec, recorded, delete_data=True)


async def check_drift(
    driver: CloudDriver, sample: Sample, break_out_of_band: BreakOutOfBand
) -> None:
    """Destroyed behind the driver's back: read reports it gone (None) or drifted."""
    spec = sample.spec()
    async with _Applied(driver, spec) as (created, recorded):
        await break_out_of_band(spec, created)
        observed = await driver.read(spec, recorded)
        _expect(
            observed is None or observed.drift,
            spec,
            f"read saw nothing wrong after breaking it: {observed}",
        )


async def check_crash_recovery(
    driver: CloudDriver, sample: Sample, fresh: CloudDriver | None = None
) -> None:
    """Created, then a crash before the result was recorded: a new run finds it by name."""
    spec = sample.spec()
    reader = fresh or driver
    async with _Applied(driver, spec) as (created, _):
        observed = await reader.read(spec, None)
        _expect(observed is not None, spec, "read with no record did not find what create made")
        assert observed is not None
        _expect(
            observed.identity == created.identity,
            spec,
            f"found by name with identity {observed.identity}, created as {created.identity}",
        )


async def check_move(driver: CloudDriver, sample: Sample) -> None:
    """Of a kind the driver says it moves: moved, it is found under its new address (by
    its record, with the identity `move` returned) and no longer under the old one; moving
    again (a retry after a crash) finds it moved and changes nothing."""
    if sample.kind not in driver.movable:
        return
    spec = sample.spec()
    to = Address(sample.address.component, f"{sample.address.object}-moved")
    applied = _Applied(driver, spec)
    async with applied as (_, recorded):
        moved_spec = replace(spec, address=to)
        moved = await driver.move(moved_spec, recorded, spec.address)
        moved_record = applied.now(moved_spec, moved)  # what is deleted at the end
        _expect_found(await driver.read(moved_spec, moved_record), moved_spec, moved, "after move")
        _expect(await driver.read(spec, None) is None, spec, "read by the old name still finds it after move")
        again = await driver.move(moved_spec, recorded, spec.address)
        _expect(again.identity == moved.identity, moved_spec, f"moving again gave {again.identity}, not {moved.identity}")


class DriverConformance:
    """The suite as pytest tests: subclass it as `TestSomething` (see the module's docstring)."""

    def make_driver(self, root: Path) -> CloudDriver:
        """A driver for an application in `root` (use `context_for(root, **options)`).

        The crash check makes a second one, `type(driver)(driver.context)`, to stand for
        the next run.
        """
        raise NotImplementedError

    def samples(self, root: Path) -> Sequence[Sample]:
        """The objects to exercise the driver with (valid configurations)."""
        raise NotImplementedError

    async def break_out_of_band(self, spec: ObjectSpec, created: Created) -> None:
        """Destroy the resource `created` behind the driver's back, with the platform's own tools.

        Return once it is gone (a signal sent or a deletion requested is not enough).
        """
        raise NotImplementedError

    def test_check_accepts_samples(self, tmp_path: Path) -> None:
        self._run(tmp_path, check_accepts)

    def test_create_then_read(self, tmp_path: Path) -> None:
        self._run(tmp_path, check_create_read)

    def test_idempotent(self, tmp_path: Path) -> None:
        self._run(tmp_path, check_idempotent)

    def test_update_in_place(self, tmp_path: Path) -> None:
        self._run(tmp_path, check_update)

    def test_replace(self, tmp_path: Path) -> None:
        self._run(tmp_path, check_replace)

    def test_failed_update_keeps_previous(self, tmp_path: Path) -> None:
        self._run(tmp_path, check_failed_update_keeps_previous)

    def test_move(self, tmp_path: Path) -> None:
        self._run(tmp_path, check_move)

    def test_delete(self, tmp_path: Path) -> None:
        self._run(tmp_path, check_delete)

    def test_drift(self, tmp_path: Path) -> None:
        self._run(
            tmp_path, lambda driver, sample: check_drift(driver, sample, self.break_out_of_band)
        )

    def test_crash_between_intent_and_result(self, tmp_path: Path) -> None:
        async def check(driver: CloudDriver, sample: Sample) -> None:
            # The next run: a new driver with the same context (application, lineage).
            fresh = type(driver)(driver.context)
            try:
                await check_crash_recovery(driver, sample, fresh)
            finally:
                await fresh.close()

        self._run(tmp_path, check)

    def _run(self, root: Path, check: Callable[[CloudDriver, Sample], Awaitable[None]]) -> None:
        async def run() -> None:
            driver = self.make_driver(root)
            try:
                for sample in self.samples(root):
                    await check(driver, sample)
            finally:
                await driver.close()

        asyncio.run(run())
