"""Saved plans: `scoot plan -o FILE` writes one, `scoot apply FILE` applies exactly it.

    saved = saved_plan.make(application, runtime, plan, options)
    saved_plan.write(path, saved)
    saved = saved_plan.read(path)              # SavedPlanError if damaged or foreign
    reasons = saved.stale(application, runtime)  # what changed since, in words

A plan file holds everything apply needs to do what was shown without recompiling:
the desired objects (configurations as the JSON form writes them: references and
secrets symbolic), the options (destroy, --only, --replace, --delete-data), the changes
shown, and what it is bound to: the target's lineage and serial, digests of the
compiled architecture, of the settings (scoot.toml's target and the params' values)
and of what each driver observed, the source revision of each component, and a salted
digest of each secret's value. No secret value is in it. The file is versioned JSON
with a checksum over its body, written atomically, mode 0600.
"""

from __future__ import annotations

import hashlib
import os
import secrets as random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from scoot_runtime.errors import ScootError

if TYPE_CHECKING:
    from scoot_app.application import Loaded
    from scoot_runtime.desired import DesiredObject
    from scoot_runtime.drivers.base import Observed
    from scoot_runtime.engine import Runtime
    from scoot_runtime.plan import Plan

FORMAT = "scoot-plan"
VERSION = 1
REMEDY = "make the plan again with `scoot plan -o FILE`"


class SavedPlanError(ScootError):
    """A plan file that cannot be used: damaged, truncated, foreign, or of another version."""


@dataclass(frozen=True)
class Options:
    """How the plan was made; apply makes it again the same way to compare."""

    destroy: bool = False
    refresh: bool = True
    delete_data: bool = False
    only: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()


@dataclass(frozen=True)
class SavedPlan:
    folder: str  # the application folder it was made in, absolute (`application_of`)
    target: str
    from_repo: str | None
    params: dict[str, str]  # the values given on the command line (scoot.toml's are bound by `settings`)
    options: Options
    lineage: str
    serial: int
    architecture: str | None  # digest of the compiled JSON (None: a destroy by scoot.lock alone)
    settings: str
    sources: dict[str, dict[str, Any]]  # component → {"revision", "pinned"}
    secret_salt: str
    secrets: dict[str, str]  # name → scrypt digest of its value
    desired: dict[str, dict[str, Any]]
    observed: dict[str, str | None]  # address → digest of what the driver observed
    plan: dict[str, Any] = field(default_factory=dict)  # the changes shown (`Plan.to_dict`)
    moved: list[tuple[str, str]] = field(default_factory=list)  # the `moved` blocks, (from, to)

    def to_body(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "target": self.target,
            "from": self.from_repo,
            "params": self.params,
            "options": {
                "destroy": self.options.destroy,
                "refresh": self.options.refresh,
                "delete_data": self.options.delete_data,
                "only": list(self.options.only),
                "replace": list(self.options.replace),
            },
            "state": {"lineage": self.lineage, "serial": self.serial},
            "architecture": self.architecture,
            "settings": self.settings,
            "sources": self.sources,
            "secrets": {"salt": self.secret_salt, "digests": self.secrets},
            "desired": self.desired,
            "observed": self.observed,
            "plan": self.plan,
            "moved": [list(move) for move in self.moved],
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> SavedPlan:
        options, state, secrets = body["options"], body["state"], body["secrets"]
        return cls(
            folder=str(body["folder"]),
            target=str(body["target"]),
            from_repo=body["from"],
            params={str(k): str(v) for k, v in body["params"].items()},
            options=Options(
                bool(options["destroy"]),
                bool(options["refresh"]),
                bool(options["delete_data"]),
                tuple(options["only"]),
                tuple(options["replace"]),
            ),
            lineage=str(state["lineage"]),
            serial=int(state["serial"]),
            architecture=body["architecture"],
            settings=str(body["settings"]),
            sources=dict(body["sources"]),
            secret_salt=str(secrets["salt"]),
            secrets=dict(secrets["digests"]),
            desired=dict(body["desired"]),
            observed=dict(body["observed"]),
            plan=dict(body["plan"]),
            # Absent from plans saved before moves were applied: they had none.
            moved=[(str(source), str(to)) for source, to in body.get("moved", [])],
        )

    @property
    def pins(self) -> dict[str, str]:
        """The revisions to fetch again (a folder source cannot be pinned: it is compared)."""
        return {name: source["revision"] for name, source in self.sources.items() if source["pinned"]}

    def desired_objects(self, fetched: Mapping[str, DesiredObject]) -> dict[str, DesiredObject]:
        """The plan's desired objects, each compute in the source fetched for it now
        (the same revision: `stale` checked)."""
        from scoot_runtime.desired import DesiredObject
        from scoot_runtime.drivers.base import Address

        objects = {}
        for address, saved in self.desired.items():
            now = fetched.get(address)
            connection = saved["connection"]
            objects[address] = DesiredObject(
                Address.parse(address),
                saved["kind"],
                saved["config"],
                set(saved["depends_on"]),
                now.source if now is not None else None,
                saved["revision"],
                now.source_error if now is not None else None,
                tuple(saved["connected"]),
                (connection[0], connection[1]) if connection is not None else None,
            )
        return objects

    def stale(self, application: Loaded, runtime: Runtime) -> list[str]:
        """What no longer matches what the plan was made from, before any driver is asked:
        the state, the architecture, the settings, the sources, the secrets."""
        reasons: list[str] = []
        state = runtime.store.state
        if self.serial and state.lineage != self.lineage:
            reasons.append(
                f"scoot.lock's target `{self.target}` is another history now (lineage {state.lineage}, "
                f"the plan was made against {self.lineage})"
            )
        elif state.serial != self.serial:
            reasons.append(
                f"scoot.lock changed: target `{self.target}` is at serial {state.serial}, the plan was made "
                f"at serial {self.serial} (another apply ran since)"
            )
        if architecture_digest(application) != self.architecture:
            reasons.append("the architecture changed (its compiled JSON differs from the one planned)")
        if settings_digest(application) != self.settings:
            reasons.append(f"the settings changed (scoot.toml's target `{self.target}`, or the params' values)")
        now = source_revisions(runtime)
        for component in sorted(set(now) | set(self.sources)):
            was = self.sources.get(component, {}).get("revision")
            if now.get(component, {}).get("revision") != was:
                reasons.append(f"the source of component `{component}` changed since the plan")
        for name in sorted(self.secrets):
            try:
                value = runtime.secrets.get(name)
            except ScootError:
                reasons.append(f"secret `{name}` is no longer set")
                continue
            if secret_digest(value, self.secret_salt) != self.secrets[name]:
                reasons.append(f"the value of secret `{name}` changed")
        return reasons

    def drifted(self, plan: Plan) -> list[str]:
        """What the drivers observe now that differs from what the plan saw, and any change
        the plan made again would show differently."""
        reasons = []
        now = observed_digests(plan.observed)
        for address in sorted(set(now) | set(self.observed)):
            if now.get(address, "missing") != self.observed.get(address, "missing"):
                reasons.append(f"{address}: what the driver observes changed since the plan")
        if not reasons and comparable(plan.to_dict()) != comparable(self.plan):
            reasons.append("the plan made again now differs from the one saved")
        return reasons


def comparable(changes: Mapping[str, Any]) -> Any:
    """A plan's dump, as JSON gives it back (tuples as lists), to compare two."""
    return orjson.loads(orjson.dumps(changes))


def digest(data: Any) -> str:
    return "sha256:" + hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def architecture_digest(application: Loaded) -> str | None:
    architecture = application.architecture
    return "sha256:" + hashlib.sha256(architecture.to_json().encode()).hexdigest() if architecture else None


def settings_digest(application: Loaded) -> str:
    target = application.target
    return digest(
        {
            "target": target.name,
            "cloud": target.cloud,
            "options": target.options,
            "repositories": target.repositories,
            "params": {name: given.value for name, given in application.params.items()},
        }
    )


def source_revisions(runtime: Runtime) -> dict[str, dict[str, Any]]:
    return {
        name: {"revision": source.fetched.revision, "pinned": source.located.driver != "path"}
        for name, source in runtime.sources.items()
        if source.fetched is not None
    }


def secret_digest(value: str, salt: str) -> str:
    """Salted and slow, as scoot.lock's (`Secrets.digest`), with the plan's own salt: a
    target never applied has no lineage to salt with yet."""
    from scoot_runtime.secrets import DIGEST_PREFIX, SCRYPT

    return DIGEST_PREFIX + hashlib.scrypt(value.encode(), salt=bytes.fromhex(salt), **SCRYPT).hex()


def observed_digests(observed: Mapping[str, Observed | None]) -> dict[str, str | None]:
    return {
        address: None
        if found is None
        else digest({"identity": found.identity, "outputs": found.outputs, "drift": list(found.drift)})
        for address, found in observed.items()
    }


def make(
    application: Loaded, runtime: Runtime, plan: Plan, options: Options, from_repo: str | None = None
) -> SavedPlan:
    """The saved form of `plan`, made by `runtime` for `application` (`--from from_repo`)."""
    from scoot_runtime.plan import secret_names

    salt = random.token_hex(16)
    names = sorted(set().union(*(secret_names(d.config) for d in runtime.desired.values())))
    given = {
        name: value.value for name, value in application.params.items() if not value.from_settings
    }
    return SavedPlan(
        folder=str(application.workspace.root.resolve()),
        target=application.target.name,
        from_repo=from_repo,
        params=given,
        options=options,
        lineage=runtime.store.state.lineage,
        serial=runtime.store.state.serial,
        architecture=architecture_digest(application),
        settings=settings_digest(application),
        sources=source_revisions(runtime),
        secret_salt=salt,
        secrets={name: secret_digest(runtime.secrets.get(name), salt) for name in names},
        desired={
            address: {
                "kind": d.kind,
                "config": d.config,
                "depends_on": sorted(d.depends_on),
                "revision": d.revision,
                "connected": list(d.connected),
                "connection": list(d.connection) if d.connection is not None else None,
            }
            for address, d in runtime.desired.items()
        },
        observed=observed_digests(plan.observed),
        plan=comparable(plan.to_dict()),
        moved=list(runtime.moved),
    )


def write(path: str | Path, saved: SavedPlan) -> None:
    """Write the plan file atomically, readable by its owner alone (mode 0600)."""
    from scoot_runtime.files import write_atomic

    body = saved.to_body()
    document = {"format": FORMAT, "version": VERSION, "checksum": digest(body), "plan": body}
    text = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
    target = Path(path)
    # write_atomic keeps an existing file's mode: start from one only its owner reads.
    if target.exists() and not target.is_file():
        raise SavedPlanError(f"{path} is not a file: give a path to write the plan to")
    previous = os.umask(0o077)
    try:
        if target.exists():
            os.chmod(target, 0o600)
        write_atomic(target, text)
    finally:
        os.umask(previous)


def read(path: str | Path) -> SavedPlan:
    """The plan file at `path`, refused clearly when it is not one this scoot can apply."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise SavedPlanError(f"cannot read the plan file {path}: {error.strerror or error}") from None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise SavedPlanError(
            f"{path} is not a Scoot plan file, or it is truncated (it is not JSON): {REMEDY}"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SavedPlanError(f"{path} is not a Scoot plan file (no `\"format\": \"{FORMAT}\"`): {REMEDY}")
    if document.get("version") != VERSION:
        raise SavedPlanError(
            f"{path} is a plan file of version {document.get('version')!r}; this scoot applies version "
            f"{VERSION}: {REMEDY}"
        )
    body = document.get("plan")
    if not isinstance(body, dict) or document.get("checksum") != digest(body):
        raise SavedPlanError(f"{path} is damaged: its checksum does not match its contents (edited?): {REMEDY}")
    try:
        return SavedPlan.from_body(body)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise SavedPlanError(f"{path} is not a plan this scoot can apply ({error}): {REMEDY}") from None


def application_of(saved: SavedPlan) -> Path:
    """The application folder a plan applies to: the one it was made in, if it is still
    there; else the one the current folder is in, as a checkout in another place (the apply
    job of a CI run) has it. Either way the plan's lineage and serial must match its
    scoot.lock, so a plan never applies to another application's history."""
    from scoot_app.application import application_folder

    folder = Path(saved.folder)
    return folder if folder.is_dir() else application_folder(None)


def given_params(saved: SavedPlan) -> Sequence[str]:
    """The plan's command-line params as `--param` gives them."""
    return [f"{name}={value}" for name, value in saved.params.items()]
