"""The runtime objects: the one source of truth for what an architecture is.

The `.sct` language lowers to these models, the JSON form is their dump, the
JSON Schema is generated from them, and editors take hover docs and completion
items from their field descriptions. This module imports nothing of Scoot outside
`scoot_model`: the rules of names, templates and sources it validates with live
beside it, and the compiler, the language server and the drivers ask them too.

References to other objects stay symbolic: a string ``"${api.web.url}"``
(component, object, output) or ``"${api.web}"`` (an object itself). A string
that is exactly one reference stands for the referenced value, whatever its
type, so typed fields accept such a string too (see `Ref`).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import quote, unquote

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from scoot_model import locations, names, template
from scoot_model.errors import RuleError
from scoot_model.names import NAME_PATTERN

FORMAT_VERSION = 1
SCHEMA_URI = "https://scoot.dev/schema/architecture-v1.json"

REF_PATTERN = r"^\$\{[^{}]+\}$"
OBJECT_REF_PATTERN = r"^\$\{[A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_-]*\}$"

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Ref = Annotated[
    str,
    StringConstraints(pattern=REF_PATTERN),
    Field(description="A reference resolved at apply time, such as `${api.web.port}`."),
]
ObjectRef = Annotated[
    str,
    StringConstraints(pattern=OBJECT_REF_PATTERN),
    Field(description="A reference to an object, such as `${api.web}`."),
]
EnvValue = str | int | float | bool

# The type of the validation error the compiler reports as SCT404 (a secret in a command line).
SECRET_IN_COMMAND = "secret_in_command"


def _no_secret(text: str) -> str:
    """An argument of a command line, refused if it holds a secret: every user of the machine
    can read a process's arguments (/proc/PID/cmdline, `ps`), whatever the cloud."""
    try:
        parts = template.split(text)
    except template.TemplateError:
        return text  # not a template the runtime could read: reported as such
    for part in parts:
        name = template.secret_name(part.text) if part.interpolation else None
        if name is not None:
            raise PydanticCustomError(
                SECRET_IN_COMMAND,
                f'secret("{name}") would be in the command line, which every user of the machine can '
                f"read (/proc/PID/cmdline): pass it through `env` instead, as `{name} = "
                f'secret("{name}")`, and have the program read ${name} (with `shell = true`, '
                f'write "${name}" in the script)',
            )
    return text


# An element of a command line (`command`, a `health` command): never a secret.
Argument = Annotated[str, AfterValidator(_no_secret)]
# A command line: a program to run, so never empty.
CommandLine = Annotated[list[Argument], Field(min_length=1)]


def env_text(value: Any) -> str:
    """An environment value as text, as every driver hands it to a process: numbers as
    written, booleans `true`/`false`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()

class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        # `.sct` is typed: "8080" is not a port, and 1 is not `true`.
        strict=True,
    )


class Output(BaseModel):
    """What an object kind exposes to references once it is applied."""

    model_config = ConfigDict(frozen=True)

    type: Literal["string", "number"]
    description: str
    # A place on the machine that runs the application (a local store's file, or its
    # `file:`/`sqlite:` URL): recorded relative to the application folder, so that
    # scoot.lock holds no path of one machine; `placed` makes it absolute where it is used.
    local: bool = False


# A URL: its scheme, and its path (relative in `sqlite:.scoots/data/api/products.table.sqlite`).
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(.*)$")


def placed(value: Any, root: Path) -> Any:
    """A local output's value as it is used: relative to the application folder `root` as
    recorded, absolute here. A relative path becomes `root / path`, a URL with a relative
    path (`scheme:path`) `scheme:///root/path`; anything else is returned as it is."""
    if not isinstance(value, str) or not value or value.startswith("/"):
        return value
    url = _URL.match(value)
    if url is None:
        return os.path.join(root, value)
    if url[2].startswith("/"):
        return value
    return f"{url[1]}://{quote(os.path.join(root, unquote(url[2])))}"


def placed_outputs(kind_name: str, outputs: Mapping[str, Any], root: Path) -> Mapping[str, Any]:
    """An object's outputs as they are used: its kind's `local` ones made absolute (`placed`)."""
    model = kinds.get(kind_name)
    local = _local_outputs(model) if model else ()
    if not any(name in outputs for name in local):
        return outputs
    return {name: placed(value, root) if name in local else value for name, value in outputs.items()}


@functools.cache
def _local_outputs(model: type[SctObject]) -> tuple[str, ...]:
    return tuple(name for name, output in model.outputs.items() if output.local)


class SctObject(Model):
    """Base of every object kind. Subclasses set `kind` and `outputs`."""

    kind: str = Field(description="The object kind, such as `compute` or `storage`.")

    kind_name: ClassVar[str] = ""
    kind_description: ClassVar[str] = ""
    outputs: ClassVar[dict[str, Output]] = {}

    @model_serializer(mode="wrap")
    def _always_kind(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # `kind` is a default, yet the dump must name it to be read back.
        return {"kind": self.kind, **handler(self)}


class Compute(SctObject):
    """A process that runs the component's source: one per replica."""

    kind: Literal["compute"] = "compute"
    command: CommandLine | Annotated[Ref, AfterValidator(_no_secret)] = Field(
        description=(
            "The program and its arguments, as a list. It is never run through a shell "
            "unless `shell = true`."
        ),
    )
    shell: bool | Ref = Field(
        default=False,
        description="Run `command` through the system shell (a one-element list holding the script).",
    )
    port: Annotated[int, Field(ge=1, le=65535)] | Ref | None = Field(
        default=None, description="The TCP port the process listens on."
    )
    replicas: Annotated[int, Field(ge=1, le=1000)] | Ref = Field(
        default=1, description="How many copies of the process run."
    )
    max_unavailable: Annotated[int, Field(ge=1, le=1000)] | Ref = Field(
        default=1,
        description=(
            "How many replicas a roll replaces at a time (at most `replicas`): each batch's new "
            "copies are healthy before the old ones stop, so at least `replicas - max_unavailable` "
            "stay healthy."
        ),
    )
    env: dict[str, EnvValue | Ref] = Field(
        default_factory=dict,
        description="Environment variables given to the process; values may be references and secrets.",
    )
    health: str | CommandLine | Ref | None = Field(
        default=None,
        description=(
            "How to tell the process is healthy: an HTTP path such as `/healthz` (checked on "
            "`port`), or a command as a list."
        ),
    )
    workdir: str | None = Field(
        default=None,
        description=(
            "The folder to run in, relative to the component's source (no absolute path, no `..`); "
            "by default, the source's root."
        ),
    )

    kind_name: ClassVar[str] = "compute"
    kind_description: ClassVar[str] = "A process (one per replica) running the component's source."
    outputs: ClassVar[dict[str, Output]] = {
        "url": Output(type="string", description="`http://host:port` of the running process."),
        "host": Output(type="string", description="The host the process listens on."),
        "port": Output(type="number", description="The port the process listens on."),
    }

    # The rules below hold on every cloud. A value that is one reference (`${api.db.port}`)
    # is only known at apply time: the compiler checks its type, and a driver validates
    # the resolved configuration again (`problems`). Each rule is on the key it reports
    # (the later key of a pair, so that the earlier one is validated by then).

    @field_validator("shell")
    @classmethod
    def _one_script(cls, value: bool | str, info: ValidationInfo) -> bool | str:
        command = info.data.get("command")
        if value is True and isinstance(command, list) and len(command) != 1:
            raise ValueError("with `shell = true`, `command` holds one string: the shell script")
        return value

    @field_validator("max_unavailable")
    @classmethod
    def _at_most_replicas(cls, value: int | str, info: ValidationInfo) -> int | str:
        replicas = info.data.get("replicas")
        if isinstance(value, int) and isinstance(replicas, int) and value > replicas:
            raise ValueError(f"`max_unavailable` is at most `replicas` ({replicas}): a roll replaces {replicas} at most")
        return value

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, EnvValue | str]) -> dict[str, EnvValue | str]:
        for name, item in value.items():
            # The message never quotes the value: it may be a secret.
            if not name or "=" in name or "\0" in name:
                raise ValueError(f"`{name}` is not an environment variable name (no `=`, not empty)")
            if "\0" in env_text(item):
                raise ValueError(f"`{name}` holds a NUL character, which no environment can")
        return value

    @field_validator("health")
    @classmethod
    def _health_path(cls, value: str | list[str] | None, info: ValidationInfo) -> str | list[str] | None:
        if isinstance(value, str) and not template.is_one_interpolation(value):
            if not value.startswith("/"):
                raise ValueError("an HTTP path starts with `/` (such as `/healthz`); a command is a list")
            if "port" in info.data and info.data["port"] is None:
                raise ValueError("an HTTP `health` path is checked on `port`: set `port`, or give a command")
        return value

    @field_validator("workdir")
    @classmethod
    def _workdir_inside(cls, value: str | None) -> str | None:
        if value is not None and (value.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", value)):
            raise ValueError("workdir must be a relative path inside the component's source")
        return value


class Storage(SctObject):
    """Somewhere to keep data: a SQLite database, a folder, or a driver's kind of store."""

    kind: Literal["storage"] = "storage"
    engine: str = Field(
        description=(
            "What kind of store. `local` provides `sqlite`, `directory`, `bucket` (a folder) and "
            "`table` (a SQLite file); `aws` provides `bucket` (S3) and `table` (DynamoDB). "
            "A driver refuses, at plan time, an engine it does not provide."
        ),
        json_schema_extra={"examples": ["sqlite", "directory", "bucket", "table"]},
    )
    size: str | None = Field(
        default=None,
        pattern=r"^[0-9]+(\.[0-9]+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description=(
            "The capacity to provision, such as `10GB` (units `B`, `KB`, `MB`, `GB`, `TB`, `KiB`, "
            "`MiB`, `GiB`, `TiB`)."
        ),
    )

    kind_name: ClassVar[str] = "storage"
    kind_description: ClassVar[str] = "A store for data: a SQLite file, a folder, or a driver's store."
    outputs: ClassVar[dict[str, Output]] = {
        "path": Output(
            type="string", description="The file or folder holding the data (local stores).", local=True
        ),
        "url": Output(
            type="string",
            description="The address of the store (`s3://…`; a local store's `file://` or `sqlite://` URL).",
            local=True,
        ),
    }


class Connection(SctObject):
    """Makes the target's outputs reachable from the source."""

    kind: Literal["connection"] = "connection"
    from_: ObjectRef = Field(
        alias="from",
        description="The object that uses the target (it receives the target's outputs).",
    )
    to: ObjectRef = Field(description="The object being used.")

    kind_name: ClassVar[str] = "connection"
    kind_description: ClassVar[str] = (
        "Makes the target's outputs reachable from the source (environment variables, permissions)."
    )
    outputs: ClassVar[dict[str, Output]] = {
        "env": Output(type="string", description="The names of the environment variables it injected."),
    }


BUILTIN_KINDS: tuple[type[SctObject], ...] = (Compute, Storage, Connection)

# The entry-point group of the kinds a package adds: `queue = "scoot_queue.kind:Queue"`.
KIND_GROUP = "scoot.object_kinds"


@dataclass(frozen=True)
class KindPluginProblem:
    """An entry point of `scoot.object_kinds` that gives no kind, and why."""

    name: str  # the entry point's name: the kind it was to add
    entry_point: str  # as written: `queue = scoot_queue.kind:Queue`
    distribution: str | None  # the package that declares it
    reason: str

    def __str__(self) -> str:
        package = f"the package `{self.distribution}`" if self.distribution else "an installed package"
        return (
            f"the kind plugin `{self.entry_point}` (entry-point group `{KIND_GROUP}`) of {package} "
            f"is not loaded: {self.reason}"
        )


class KindRegistry:
    """The object kinds a schema defines: the built-ins, and those plugins add.

    Plugins are the entry points of `group`, read on the first question asked and only
    then (so that `scoot --help` imports none of them), once. A plugin that cannot be
    loaded, or gives no valid kind, is recorded in `problems` and left out: the built-in
    kinds and the other plugins' stay.
    """

    def __init__(self, kinds: tuple[type[SctObject], ...] = BUILTIN_KINDS, group: str | None = KIND_GROUP) -> None:
        self._kinds: dict[str, type[SctObject]] = {}
        self._builtin = frozenset(kind.kind_name for kind in kinds)
        self._origins: dict[str, str | None] = {}
        self._problems: list[KindPluginProblem] = []
        self._group = group
        self._loaded = group is None
        # Re-entrant: a plugin's module may ask the registry while it is being imported.
        self._loading = threading.RLock()
        for kind in kinds:
            self.register(kind)

    def register(self, kind: type[SctObject]) -> None:
        if not kind.kind_name:
            raise ValueError(f"{kind.__name__} sets no kind_name")
        self._kinds[kind.kind_name] = kind

    def get(self, name: str) -> type[SctObject] | None:
        self._load()
        return self._kinds.get(name)

    def names(self) -> list[str]:
        self._load()
        return sorted(self._kinds)

    def __iter__(self) -> Iterator[type[SctObject]]:
        return iter(self._kinds[name] for name in self.names())

    def builtin(self, name: str) -> bool:
        return name in self._builtin

    def origin(self, name: str) -> str | None:
        """The package (distribution) a plugin kind comes from; None for a built-in one."""
        self._load()
        return self._origins.get(name)

    def problems(self) -> list[KindPluginProblem]:
        """The plugins that were found and give no kind, and why."""
        self._load()
        return list(self._problems)

    def unknown(self, name: str) -> str:
        """What to say of a kind no model describes, after `unknown object kind NAME`: the
        plugin meant to add it and why it failed, or where kinds come from."""
        failed = [problem for problem in self.problems() if problem.name == name]
        if failed:
            return "; ".join(str(problem) for problem in failed)
        return (
            f"a package may add `{name}` (it registers the kind under the entry-point group "
            f"`{KIND_GROUP}`): install it into the environment Scoot runs in"
        )

    def _load(self) -> None:
        if self._loaded:
            return
        with self._loading:
            # `_group` is None here only while this very thread loads (a plugin asking):
            # it gets the kinds so far. Any other thread waits for the lock, then for nothing.
            group, self._group = self._group, None
            if self._loaded or group is None:
                return
            try:
                for entry_point in sorted(entry_points(group=group), key=lambda ep: ep.name):
                    self._plug(entry_point)
            finally:
                self._loaded = True

    def _plug(self, entry_point: EntryPoint) -> None:
        distribution = entry_point.dist.name if entry_point.dist is not None else None

        def refuse(reason: str) -> None:
            written = f"{entry_point.name} = {entry_point.value}"
            self._problems.append(KindPluginProblem(entry_point.name, written, distribution, reason))

        try:
            kind = entry_point.load()
        except Exception as error:  # whatever a third party's import raises: reported, not fatal
            refuse(f"importing `{entry_point.value}` failed: {type(error).__name__}: {error}")
            return
        if not (isinstance(kind, type) and issubclass(kind, SctObject)):
            refuse(f"`{entry_point.value}` is not a subclass of scoot_model.objects.SctObject")
            return
        name = kind.kind_name
        wrong_name = names.name_problem(name) if name else "it sets no `kind_name`"
        field = kind.model_fields.get("kind")
        if wrong_name:
            refuse(f"its kind_name `{name}` is not a name of the language: {wrong_name}")
        elif name != entry_point.name:
            refuse(f"the entry point is named `{entry_point.name}`, the kind `{name}`: name it after the kind")
        elif name in self._builtin:
            refuse(f"`{name}` is a built-in kind: choose another name")
        elif name in self._kinds:
            refuse(f"`{name}` is added already by the package `{self._origins.get(name)}`: uninstall one of them")
        elif field is None or field.default != name:
            refuse(f'its `kind` field is not `kind: Literal["{name}"] = "{name}"`')
        elif not all(isinstance(output, Output) for output in kind.outputs.values()):
            refuse("its `outputs` are not all scoot_model.objects.Output")
        else:
            self.register(kind)
            self._origins[name] = distribution


kinds = KindRegistry()


def problems(kind_name: str, config: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    """What breaks the model's rules in one object's configuration, as (key, message), one per
    key; none for a kind no model describes. Drivers ask this (at plan time of the configuration
    as written, at apply time of the resolved one); messages never quote a value."""
    model = kinds.get(kind_name)
    if model is None:
        return []
    try:
        # Many objects share a configuration (`engine = "directory"`): each validated once a
        # run. Only plain JSON values are keyed (the rest, a dataclass, a date, is not cached).
        key = orjson.dumps(config, option=_PLAIN_JSON)
    except TypeError:
        return _problems(model, kind_name, config)
    cache = _problem_cache.setdefault(model, {})
    found = cache.get(key)
    if found is None:
        if len(cache) >= 4096:  # a bound: a long-lived language server sees many configurations
            cache.clear()
        found = cache[key] = tuple(_problems(model, kind_name, config))
    return list(found)


_PLAIN_JSON = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
_problem_cache: dict[type[SctObject], dict[bytes, tuple[tuple[str | None, str], ...]]] = {}


def _problems(model: type[SctObject], kind_name: str, config: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    try:
        model.model_validate({**config, "kind": kind_name})
    except ValidationError as error:
        found: dict[str | None, str] = {}
        for item in error.errors(include_url=False, include_input=False):
            key = str(item["loc"][0]) if item["loc"] else None
            message = str(item["msg"]).removeprefix("Value error, ")
            found.setdefault(key, f"`{key}`: {message}" if key else message)
        return list(found.items())
    return []


def validate_object(data: Any) -> SctObject:
    """Validate one object's dump against the model its `kind` names."""
    if isinstance(data, SctObject):
        return data
    if not isinstance(data, dict):
        raise ValueError("an object must be a map with a `kind`")
    kind_name = data.get("kind")
    model = kinds.get(kind_name) if isinstance(kind_name, str) else None
    if model is None:
        known = ", ".join(kinds.names())
        hint = f": {kinds.unknown(kind_name)}" if isinstance(kind_name, str) else ""
        raise ValueError(f"unknown object kind {kind_name!r}; known kinds: {known}{hint}")
    return model.model_validate(data)


class Application(Model):
    """The application this architecture describes."""

    name: Name = Field(description="The application's name; repositories are named after it.")
    owner: str | None = Field(
        default=None,
        pattern=names.OWNER_PATTERN,
        max_length=names.MAX_OWNER,
        description=(
            "The GitHub user or organisation that owns the application's repositories: "
            f"{names.OWNER_RULE} characters."
        ),
    )


class Component(Model):
    """A unit of source code with its own repository, holding objects."""

    source: str | None = Field(
        default=None,
        description=(
            "Where the component's source is, when not in the repository the naming scheme gives "
            "(`{owner}/{application}-{component}`): a folder relative to the architecture's folder "
            "(`./api`, run in place), or a git URL (`https://`, `ssh://`, `git://`, `file://` or "
            "`git@host:path`) with an optional `#branch`, `#tag` or `#commit` (default: the "
            "default branch). Compute objects run in the fetched source."
        ),
        json_schema_extra={"examples": ["./api", "https://github.com/acme/shop-api.git#main"]},
    )
    repository: str | None = Field(
        default=None,
        description=(
            "The repository holding the component's source, as `owner/name`, found through the "
            "target's repository driver ([repositories] in scoot.toml), instead of the name the "
            "scheme gives. Not together with `source`."
        ),
        json_schema_extra={"examples": ["acme/shop-api"]},
    )
    objects: dict[Name, SerializeAsAny[SctObject]] = Field(
        default_factory=dict, description="The component's objects, by name."
    )

    @field_validator("source")
    @classmethod
    def _source_readable(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                locations.parse(value)
            except RuleError as error:
                raise ValueError(str(error)) from None
        return value

    @field_validator("repository")
    @classmethod
    def _repository_named(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        if info.data.get("source") is not None:
            raise ValueError(
                "set `source` or `repository`, not both: `source` is a folder or git URL, "
                "`repository` an `owner/name` of the target's repository driver"
            )
        try:
            names.split_repository(value)
        except RuleError as error:
            raise ValueError(str(error)) from None
        return value

    @field_validator("objects", mode="before")
    @classmethod
    def _objects_by_kind(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {name: validate_object(item) for name, item in value.items()}
        return value


ADDRESS_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)?$"
Address = Annotated[str, StringConstraints(pattern=ADDRESS_PATTERN)]


class Moved(Model):
    """A rename: what was applied as `from` is now `to`, the same thing (identity and data kept)."""

    from_: Address = Field(
        alias="from",
        description=(
            "The old address: `component.object`, or `component` for a whole component. It may stay "
            "after the move was applied: a `moved` that matches nothing recorded is a warning."
        ),
        json_schema_extra={"examples": ["api.orders", "billing"]},
    )
    to: Address = Field(
        description="The new address, of the same shape: an object (of the same kind) or a component of the architecture.",
        json_schema_extra={"examples": ["api.store", "payments"]},
    )

    @model_validator(mode="after")
    def _same_shape(self) -> Moved:
        if self.from_ == self.to:
            raise ValueError(f"`from` and `to` are both `{self.to}`: a move names two addresses")
        if self.from_.count(".") != self.to.count("."):
            raise ValueError(
                f"`{self.from_}` and `{self.to}`: a move is from an object to an object "
                "(`component.object`), or from a component to a component"
            )
        return self


MoveRule = Literal["still_declared", "moved_twice", "circle", "not_declared"]


@dataclass(frozen=True)
class MoveProblem:
    """What is wrong with the move at `index` of a list, and which of its addresses says it."""

    index: int
    address: Literal["from", "to"]
    rule: MoveRule
    message: str


def move_problems(moved: list[Moved], declared: set[str]) -> list[MoveProblem]:
    """Each move's `to` is declared and its `from` is not; no address is moved twice
    (a chain, `a` to `b` then `b` to `c`, is fine: `b` is then only a `to` and a `from`).

    `declared`: the addresses of the architecture (`api`, `api.web`). Every problem, in
    the order the moves are checked (the compiler reports each on its text, the model
    raises the first).
    """
    problems: list[MoveProblem] = []
    sources: set[str] = set()
    for index, move in enumerate(moved):
        if move.from_ in declared:
            message = f"moved from `{move.from_}`: it is still declared; remove it, or the `moved` block"
            problems.append(MoveProblem(index, "from", "still_declared", message))
        if move.from_ in sources:
            message = f"`{move.from_}` is moved twice: keep one `moved` block for it"
            problems.append(MoveProblem(index, "from", "moved_twice", message))
        sources.add(move.from_)
    ends = {move.from_: move.to for move in moved}
    for index, move in enumerate(moved):
        seen, at = {move.from_}, move.to
        while at in ends:
            if at in seen:
                message = f"the moves from `{move.from_}` go round in a circle"
                problems.append(MoveProblem(index, "to", "circle", message))
                break
            seen.add(at)
            at = ends[at]
        else:
            if at not in declared:
                message = f"moved to `{move.to}`: nothing of that name is declared"
                problems.append(MoveProblem(index, "to", "not_declared", message))
    return problems


class Architecture(Model):
    """A whole architecture: the application and its components."""

    schema_: str = Field(default=SCHEMA_URI, alias="$schema", description="The JSON Schema of this file.")
    version: Literal[1] = Field(default=1, description="The format version of this file.")
    application: Application
    components: dict[Name, Component] = Field(default_factory=dict, description="The components, by name.")
    moved: list[Moved] = Field(
        default_factory=list,
        description="Renames of objects and components applied before: each keeps its identity and data.",
    )

    @model_validator(mode="after")
    def _moves_agree(self) -> Architecture:
        declared = set(self.components) | {
            f"{component}.{name}" for component, held in self.components.items() for name in held.objects
        }
        problems = move_problems(self.moved, declared)
        if problems:
            raise ValueError(problems[0].message)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The canonical dump: aliases, no defaults, `$schema` and `version` always present."""
        data = self.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        data["$schema"] = self.schema_
        data["version"] = self.version
        return data

    def to_json(self) -> str:
        """Deterministic JSON: sorted keys, two-space indent, a trailing newline."""
        return dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Architecture:
        return cls.model_validate_json(text)


def dumps(data: Any) -> str:
    """Deterministic JSON: sorted keys, two-space indent, UTF-8 text, a trailing newline."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
