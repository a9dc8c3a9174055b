"""`queue-local`: the local driver, serving `queue` objects too.

A queue is a folder under the target's `.scoots/` folder, `queues/<component>/<object>/`,
with `queue.json` saying what it was made from (its `max_messages`, and the digests, so
that a queue found after a crash is compared with what is wanted). Every other kind is
the local driver's.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, ClassVar

import orjson

from scoot_runtime.drivers.base import Applied, Created, ObjectSpec, Observed, Recorded
from scoot_runtime.drivers.local import LocalDriver
from scoot_runtime.drivers.local.paths import inside, target_folder
from scoot_runtime.files import write_atomic

QUEUE = "queue"
META = "queue.json"


class QueueLocalDriver(LocalDriver):
    name: ClassVar[str] = "queue-local"
    kinds: ClassVar[frozenset[str]] = LocalDriver.kinds | {QUEUE}

    async def create(self, spec: ObjectSpec) -> Created:
        if spec.kind != QUEUE:
            return await super().create(spec)
        folder = self._folder(spec)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "max_messages": spec.config.get("max_messages", 1000),
            "digests": dict(spec.digests),
        }
        write_atomic(folder / META, orjson.dumps(meta).decode())
        return self._created(folder)

    async def read(self, spec: ObjectSpec, recorded: Recorded | None) -> Observed | None:
        if spec.kind != QUEUE:
            return await super().read(spec, recorded)
        folder = self._folder(spec)
        if not (folder / META).is_file():
            return None
        meta: dict[str, Any] = orjson.loads((folder / META).read_bytes())
        created = self._created(folder)
        return Observed(created.identity, created.outputs, applied=Applied(meta.get("digests", {})))

    async def update(self, spec: ObjectSpec, recorded: Recorded) -> Created:
        if spec.kind != QUEUE:
            return await super().update(spec, recorded)
        return await self.create(spec)

    async def delete(self, spec: ObjectSpec, recorded: Recorded, delete_data: bool = False) -> None:
        if spec.kind != QUEUE:
            return await super().delete(spec, recorded, delete_data)
        shutil.rmtree(self._folder(spec), ignore_errors=True)

    def _folder(self, spec: ObjectSpec) -> Path:
        folder = target_folder(self.context.workspace, self.context.target)
        return inside(folder, "queues", spec.address.component, spec.address.object)

    def _created(self, folder: Path) -> Created:
        # Recorded relative to the application folder: scoot.lock holds no path of one machine.
        relative = folder.resolve().relative_to(self.context.root.resolve()).as_posix()
        return Created({"folder": relative}, {"path": relative})
