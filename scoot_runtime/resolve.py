"""Fill references and secrets into a configuration, just before a driver needs it.

`"${api.orders.path}"` becomes the path the storage reported; a string that is
exactly one reference becomes the referenced value with its type; `"${api.web}"`
(an object) becomes what the driver may need of it (address, kind, outputs); `${secret("NAME")}` becomes the secret's value, in memory only. A
reference to an object whose outputs are not known yet (it is still to be
created) resolves to `UNKNOWN`.

A local output (`Output.local`: a local store's path or URL) is recorded relative
to the application folder; it is made absolute here, in what the driver gets,
while the digests are of the recorded (relative) form: a moved application
folder, or a clone of it, has nothing to change.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from scoot_model import template
from scoot_model.objects import placed_outputs
from scoot_runtime.desired import env_name
from scoot_runtime.errors import ScootError
from scoot_runtime.secrets import Secrets


class _Unknown:
    def __repr__(self) -> str:
        return "(known after apply)"


UNKNOWN: Any = _Unknown()


# Slots: no dict an object known (a plan and an apply of 10,000 make one each).
@dataclass(frozen=True, slots=True)
class Known:
    """What the runtime knows of an object another refers to."""

    kind: str
    identity: Mapping[str, Any]
    outputs: Mapping[str, Any]


class ResolveError(ScootError):
    pass


@dataclass
class Resolved:
    config: dict[str, Any]
    digests: dict[str, str]
    unknown: set[str] = field(default_factory=set)  # keys known only after apply
    secrets: set[str] = field(default_factory=set)  # names of the secrets it holds


class Resolver:
    def __init__(self, known: Mapping[str, Known | None], secrets: Secrets, root: Path | None = None) -> None:
        # `known[address]` is None for an object whose outputs are not known yet.
        self.known = known
        self.secrets = secrets
        # The application folder local outputs are relative to (None: they stay relative).
        self.root = root
        self._placed = False  # whether the last build made a local output absolute

    def resolve(
        self,
        config: Mapping[str, Any],
        connected: tuple[str, ...] = (),
        connection: tuple[Mapping[str, Any], str] | None = None,
    ) -> Resolved:
        """Resolve a configuration. `connected`: objects whose outputs a compute gets as
        environment variables; `connection`: a connection's (source env, target), to
        name what it injects."""
        self._placed = False
        if not connected and connection is None and not any(map(template.may_hold_template, config.values())):
            # Plain values only (most objects): resolved as written, each digested (cached).
            return Resolved(dict(config), {key: _digest(value) for key, value in config.items()})
        holding: dict[str, set[str]] = {}
        values = self._build(config, connected, connection, holding, mask=False, place=True)
        result = Resolved(values, {}, secrets=set().union(*holding.values()) if holding else set())
        # Digested: local outputs as recorded (relative), and secrets masked.
        recorded = self._build(config, connected, connection, {}, mask=False, place=False) if self._placed else values
        masked = self._build(config, connected, connection, {}, mask=True, place=False) if holding else recorded
        for key, resolved in values.items():
            if _contains_unknown(resolved):
                result.unknown.add(key)
                continue
            # The secrets aside, a plain digest; the secrets in a keyed one, so that the
            # lock file cannot confirm a guess at them (see `Secrets.digest`).
            digest = _digest(masked[key])
            if key in holding:
                digest += "+" + self.secrets.digest(_canonical(recorded[key]))
            result.digests[key] = digest
        return result

    def _build(
        self,
        config: Mapping[str, Any],
        connected: tuple[str, ...],
        connection: tuple[Mapping[str, Any], str] | None,
        holding: dict[str, set[str]],
        mask: bool,
        place: bool,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, value in config.items():
            found: set[str] = set()
            values[key] = self._value(value, found, mask, place)
            if found:
                holding[key] = found
        if connected:
            env = values.setdefault("env", {})
            for target in connected:
                outputs = self._outputs(target, place)
                if outputs is None:
                    values["env"] = env = UNKNOWN
                    break
                for output, value in outputs.items():
                    env.setdefault(env_name(target.split(".")[1], output), value)
        if connection is not None:
            source_env, target = connection
            outputs = self._outputs(target, place=False)
            values["injected"] = (
                UNKNOWN
                if outputs is None
                else sorted(n for o in outputs if (n := env_name(target.split(".")[1], o)) not in source_env)
            )
        return values

    def _outputs(self, address: str, place: bool) -> Mapping[str, Any] | None:
        if address not in self.known:
            raise ResolveError(f"`{address}` is not in the architecture")
        known = self.known[address]
        return None if known is None else self._placed_outputs(known, place)

    def _placed_outputs(self, known: Known, place: bool) -> Mapping[str, Any]:
        """`known`'s outputs, local ones made absolute when `place` (and the root is known)."""
        if not place or self.root is None:
            return known.outputs
        outputs = placed_outputs(known.kind, known.outputs, self.root)
        if outputs != known.outputs:
            self._placed = True
        return outputs

    def _value(self, value: Any, found: set[str], mask: bool, place: bool) -> Any:
        if isinstance(value, str):
            return self._string(value, found, mask, place)
        if isinstance(value, list):
            return [self._value(item, found, mask, place) for item in value]
        if isinstance(value, dict):
            return {key: self._value(item, found, mask, place) for key, item in value.items()}
        return value

    def _string(self, text: str, found: set[str], mask: bool, place: bool) -> Any:
        if "$" not in text:
            return text
        parts = template.split(text)
        if len(parts) == 1 and parts[0].interpolation:
            return self._interpolation(parts[0].text, found, mask, place)
        out: list[str] = []
        for part in parts:
            if not part.interpolation:
                out.append(part.text)
                continue
            value = self._interpolation(part.text, found, mask, place)
            if value is UNKNOWN:
                return UNKNOWN
            out.append(_text(value))
        return "".join(out)

    def _interpolation(self, source: str, found: set[str], mask: bool, place: bool) -> Any:
        secret = template.secret_name(source)
        if secret is not None:
            found.add(secret)
            return f"\0secret:{secret}\0" if mask else self.secrets.get(secret)
        reference = source.strip()
        address, output = (reference.rsplit(".", 1)) if reference.count(".") == 2 else (reference, "")
        if address not in self.known:
            raise ResolveError(f"`{reference}` refers to `{address}`, which is not in the architecture")
        known = self.known[address]
        if known is None:
            return UNKNOWN
        outputs = self._placed_outputs(known, place)
        if not output:
            # Outputs, not identity: a restarted process is the same object to what refers to it.
            return {"address": address, "kind": known.kind, "outputs": dict(outputs)}
        if output not in outputs:
            raise ResolveError(f"`{address}` has no output `{output}` (it has {', '.join(sorted(outputs)) or 'none'})")
        return outputs[output]


def _digest(value: Any) -> str:
    """The plain digest of a value (its secrets masked already)."""
    if value is None or isinstance(value, str | int | float):
        return _scalar_digest(type(value).__name__, value)
    return "sha256:" + hashlib.sha256(_canonical(value).encode()).hexdigest()


@functools.lru_cache(maxsize=4096)
def _scalar_digest(kind: str, value: Any) -> str:
    # Most objects share their values (`engine = "directory"`): each digested once a run.
    # `kind` keeps 1, 1.0 and True apart, which are equal keys to the cache.
    return "sha256:" + hashlib.sha256(_canonical(value).encode()).hexdigest()


def _canonical(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, list):
        return any(_contains_unknown(v) for v in value)
    if isinstance(value, dict):
        return any(_contains_unknown(v) for v in value.values())
    return False
