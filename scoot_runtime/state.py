"""The recorded state: `scoot.lock`, and the journal that makes it crash-safe.

`scoot.lock` sits beside `scoot.toml`, is checked into source control, and holds
per target what was last applied: for each object its configuration as written
(references and secrets symbolic), a digest per key of what that resolved to
(secrets keyed, never plain), the driver's identity of what it made, the
outputs, and the source revision it ran. It is deterministic JSON (sorted keys,
one object per key) so that a change to one object is a small diff, and it
carries a checksum that every read verifies.

While an apply runs, each driver call is recorded in a journal under
`.scoots/journal/` before it starts (intent) and after it ends (result): one
appended line each, so recording costs grow linearly. At the end, the journal
is compacted into `scoot.lock`. After a crash, the next run replays the journal
first; an intent with no result is a pending operation whose resource the
driver looks for by its deterministic name.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

STATE_VERSION = 1
LOCK_FILE = "scoot.lock"

Operation = Literal["create", "update", "replace", "delete"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ObjectState(_Model):
    """What was applied for one object."""

    kind: str
    config: dict[str, Any] = Field(description="The configuration as written: references and secrets symbolic.")
    digests: dict[str, str] = Field(
        default_factory=dict, description="Per key, a digest of the resolved value applied (secrets keyed)."
    )
    identity: dict[str, Any] = Field(default_factory=dict, description="The driver's identity of what it made.")
    outputs: dict[str, Any] = Field(default_factory=dict, description="The object's outputs.")
    revision: str | None = Field(default=None, description="The source revision it ran.")
    depends_on: list[str] = Field(default_factory=list, description="Addresses it was applied after.")


class PendingOperation(_Model):
    """A driver call that started and has no recorded result: the run was interrupted."""

    operation: Operation
    kind: str
    started: str = Field(description="When it started (ISO 8601, UTC).")


class TargetState(_Model):
    """The state of one target."""

    lineage: str = Field(description="Identifies this state's history; resources are tagged with it.")
    serial: int = Field(default=0, description="Incremented at every write.")
    cloud: str = Field(description="The cloud driver of the target.")
    objects: dict[str, ObjectState] = Field(default_factory=dict, description="By address, `component.object`.")
    pending: dict[str, PendingOperation] = Field(default_factory=dict)


class LockFileModel(_Model):
    """The whole `scoot.lock`."""

    version: Literal[1] = 1
    targets: dict[str, TargetState] = Field(default_factory=dict)
    checksum: str = Field(default="", description="sha256 of the file's content without this field.")
