"""An application folder: `scoot.toml`, `scoot.lock`, the architecture, and `.scoots/`.

    [architecture]
    path = "."                        # the .sct files (a folder or a file), or a JSON file
    from = "scheme"                   # or: take it from its repository (what `--from` takes)

    [params]
    env = "prod"                      # values for the architecture's params

    [secrets]
    file = "~/.config/scoot/shop.env" # NAME=value lines, outside the repository

    [repositories]                    # where components' sources are (see docs/runtime.md)
    driver = "git"                    # path (the default), git, github, or a plugin's
    owner = "acme"                    # default: the application's `owner`
    organisation = false              # the application is its own organisation
    drop_prefix = false               # ... and its components' repositories drop `{application}-`
    base_url = "git@github.com:"      # the rest are the repository driver's options

    [targets.staging]                 # `local` needs no table
    cloud = "aws"
    region = "eu-west-1"              # the rest are the cloud driver's options

    [targets.staging.repositories]    # this target's repositories, over [repositories]
    driver = "github"

    [targets.staging.params]          # this target's values, over [params]
    env = "staging"

    [watch]                           # `scoot watch`'s defaults (its options win)
    interval = 30                     # seconds between two looks at the repositories
    webhook = true                    # also take GitHub push webhooks
    listen = "127.0.0.1:8787"
"""

from __future__ import annotations

import json
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scoot_model import names
from scoot_model.reading import MIB, UnreadableFile, file_kind, read_regular_file
from scoot_model.wording import closest, did_you_mean
from scoot_runtime.errors import ScootError

SETTINGS_FILE = "scoot.toml"
ARCHITECTURE_FILE = "architecture.sct"  # what `scoot init` writes
MAX_SETTINGS_BYTES = MIB  # scoot.toml is read whole: a bound on what a hostile one costs
WORKSPACE = ".scoots"
DEFAULT_TARGET = "local"
PARAM_FILE_OPTION = "--param-file"  # how a param file's values are named (messages, plans)
_TARGET_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class SettingsError(ScootError):
    pass


# The keys of an [architecture] table.
ARCHITECTURE_KEYS = ("from", "path")
# `from = "scheme"` (and `--from scheme`): the architecture's repository by the naming scheme.
FROM_SCHEME = "scheme"
# The keys of a [repositories] table that are Scoot's; the others are the driver's options.
REPOSITORY_KEYS = frozenset({"driver", "owner", "organisation", "drop_prefix"})
DEFAULT_REPOSITORY_DRIVER = "path"


@dataclass(frozen=True)
class RepositorySettings:
    """A [repositories] table: the repository driver, the naming scheme's choices, the driver's options."""

    driver: str = DEFAULT_REPOSITORY_DRIVER
    owner: str | None = None  # None: the application's `owner`
    organisation: bool = False
    drop_prefix: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def over(self, table: dict[str, Any], where: str) -> RepositorySettings:
        """These settings with a target's table over them.

        The target's keys win; another `driver` takes none of these driver options
        (they were written for the other driver), only the scheme's choices.
        """
        organisation = table.get("organisation", self.organisation)
        merged = {
            "driver": self.driver,
            "organisation": self.organisation,
            "drop_prefix": self.drop_prefix,
            # An owner the target's own organisation makes useless is not inherited (it cannot
            # be unset here); one written in the target's table is refused, as anywhere.
            **({"owner": self.owner} if self.owner is not None and organisation is not True else {}),
            **(self.options if table.get("driver", self.driver) == self.driver else {}),
            **table,
        }
        return repository_settings(merged, where)


@dataclass(frozen=True)
class WatchSettings:
    """A [watch] table: `scoot watch`'s defaults, which its command-line options override."""

    interval: float = 60.0
    settle: float = 2.0
    webhook: bool = False
    listen: str = "127.0.0.1:8787"
    webhook_path: str = "/webhook"
    webhook_secret_env: str = "SCOOT_WEBHOOK_SECRET"


@dataclass(frozen=True)
class Target:
    name: str
    cloud: str
    options: dict[str, Any] = field(default_factory=dict)
    # Its [targets.NAME.repositories] table, as written (None: the [repositories] table alone).
    repositories: dict[str, Any] | None = None
    # Its [targets.NAME.params] table, as text (over [params]).
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ParamValue:
    """A value given for a param, and where it was given (`source`, in words:
    `scoot.toml [params]`, `--param-file dev.toml`, `--param`)."""

    value: str
    source: str
    # Written in scoot.toml: a plain `scoot plan` uses it again. A value from the
    # command line (--param, --param-file) is for that one command.
    from_settings: bool


@dataclass(frozen=True)
class Workspace:
    root: Path
    architecture: Path
    params: dict[str, str]
    secrets_file: Path | None
    targets: dict[str, Target]
    repositories: RepositorySettings = field(default_factory=RepositorySettings)
    watch: WatchSettings = field(default_factory=WatchSettings)
    # [architecture] `from`: take the architecture from its repository (as `--from` does).
    architecture_from: str | None = None

    def params_for(self, target: Target) -> dict[str, ParamValue]:
        """The values scoot.toml gives `target`: [params], under [targets.NAME.params]."""
        values = {name: ParamValue(value, f"{SETTINGS_FILE} [params]", True) for name, value in self.params.items()}
        where = f"{SETTINGS_FILE} [targets.{target.name}.params]"
        values.update({name: ParamValue(value, where, True) for name, value in target.params.items()})
        return values

    def repositories_for(self, target: Target) -> RepositorySettings:
        """The repository settings a target works with: [repositories], under its own table."""
        if target.repositories is None:
            return self.repositories
        where = f"{self.root / SETTINGS_FILE}: [targets.{target.name}.repositories]"
        return self.repositories.over(target.repositories, where)

    @property
    def state_dir(self) -> Path:
        return self.root / WORKSPACE

    @property
    def architecture_root(self) -> Path:
        """The folder a component's `source` is relative to: the architecture's."""
        return self.architecture if self.architecture.is_dir() else self.architecture.parent

    def target(self, name: str | None) -> Target:
        name = name or DEFAULT_TARGET
        if name not in self.targets:
            known = ", ".join(sorted(self.targets))
            raise SettingsError(
                f"there is no target `{name}`; add a [targets.{name}] table with a `cloud` to "
                f"{self.root / SETTINGS_FILE} (the targets are: {known})"
            )
        return self.targets[name]


def find_root(start: Path) -> Path | None:
    """The application folder `start` is in, found as git finds `.git`: `start` if it
    holds scoot.toml or an `.sct` file, else the nearest of its parents that holds
    scoot.toml or an architecture.sct (the name `scoot init` writes: a stray `notes.sct`
    in /tmp or a home folder makes no application of everything under it). A folder
    of `.sct` files without scoot.toml that the nearest scoot.toml above names as its
    architecture ([architecture] path) belongs to that folder. None: no application
    up to `/`."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / SETTINGS_FILE).is_file():
            return folder
        if (folder / ARCHITECTURE_FILE).is_file() or (folder == start and _holds_sct(folder)):
            return _owner_of_architecture(folder) or folder
    return None


def _holds_sct(folder: Path) -> bool:
    try:
        return any(p.suffix == ".sct" and not p.is_dir() for p in folder.iterdir())
    except OSError:  # a folder we may not list holds no application we can use
        return False


def _owner_of_architecture(folder: Path) -> Path | None:
    """The ancestor whose scoot.toml takes its architecture from `folder` (or a file in it)."""
    for parent in folder.parents:
        if (parent / SETTINGS_FILE).is_file():
            try:
                architecture = load(parent).architecture
            except SettingsError:  # a broken scoot.toml claims nothing; using it says what is wrong
                return None
            return parent if folder in (architecture, architecture.parent) else None
    return None


def load(root: Path) -> Workspace:
    """Read an application folder's settings; a folder with no scoot.toml gets the defaults."""
    root = root.resolve()
    path = root / SETTINGS_FILE
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(read_regular_file(path, MAX_SETTINGS_BYTES).decode("utf-8"))
        except UnreadableFile as error:
            raise SettingsError(f"{path}: cannot read it: {error.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise SettingsError(f"{path}: {error}") from None
        except RecursionError:  # tomllib recurses into arrays and tables: `x = [[[[...]]]]`
            raise SettingsError(f"{path}: arrays or tables nest too deep to read") from None
    unknown = set(data) - {"architecture", "params", "repositories", "secrets", "targets", "watch"}
    if unknown:
        raise SettingsError(
            f"{path}: unknown table `{sorted(unknown)[0]}`; the tables are architecture, params, "
            "repositories, secrets, targets, watch"
        )
    architecture = _table(data, "architecture", path)
    _known_keys(architecture, ARCHITECTURE_KEYS, f"{path}: [architecture]")
    params = {str(k): _param_text(v) for k, v in _table(data, "params", path).items()}
    secrets = _table(data, "secrets", path)
    secrets_file = Path(str(secrets["file"])).expanduser() if "file" in secrets else None
    if secrets_file is not None and not secrets_file.is_absolute():
        secrets_file = (root / secrets_file).resolve()
    targets = {DEFAULT_TARGET: Target(DEFAULT_TARGET, "local")}
    for name, table in _table(data, "targets", path).items():
        if not _TARGET_NAME.fullmatch(name):
            raise SettingsError(
                f"{path}: target name `{name}` is also a file name under .scoots/: use letters, digits, `_`, `-`, `.`"
            )
        if not isinstance(table, dict) or not isinstance(table.get("cloud", "local"), str):
            raise SettingsError(f"{path}: [targets.{name}] must be a table with `cloud = \"DRIVER\"`")
        options = {k: v for k, v in table.items() if k not in ("cloud", "repositories", "params")}
        own = table.get("repositories")
        if own is not None and not isinstance(own, dict):
            raise SettingsError(f"{path}: `repositories` of [targets.{name}] must be a table ([targets.{name}.repositories])")
        values = table.get("params", {})
        if not isinstance(values, dict):
            raise SettingsError(
                f"{path}: `params` of [targets.{name}] must be a table ([targets.{name}.params]) of NAME = value"
            )
        target_params = {str(k): _param_text(v) for k, v in values.items()}
        targets[name] = Target(name, str(table.get("cloud", "local")), options, own, target_params)
    return Workspace(
        root=root,
        architecture=_architecture_path(root, str(architecture.get("path", ".")), path),
        params=params,
        secrets_file=secrets_file,
        targets=targets,
        repositories=repository_settings(_table(data, "repositories", path), f"{path}: [repositories]"),
        watch=watch_settings(_table(data, "watch", path), f"{path}: [watch]"),
        architecture_from=_architecture_from(root, architecture, path),
    )


def _architecture_from(root: Path, table: dict[str, Any], settings: Path) -> str | None:
    """[architecture] `from`, as `--from` takes it; a folder is relative to scoot.toml's folder."""
    if "from" not in table:
        return None
    written = table["from"]
    where = f"{settings}: [architecture] `from`"
    if not isinstance(written, str) or not written.strip():
        raise SettingsError(
            f"{where} must be a string: a git URL, a folder (./shop), an owner/name of the repository "
            f"driver, or \"{FROM_SCHEME}\" (the architecture's repository by the naming scheme)"
        )
    if "path" in table:
        raise SettingsError(
            f"{where} and `path` are both set: `path` is where the architecture is in this folder, `from` "
            "takes it from its repository (whose own scoot.toml says where it is in it); remove one"
        )
    if written.startswith((".", "/", "~")):
        return str((root / Path(written).expanduser()).resolve())
    return written


def _known_keys(table: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise SettingsError(
            f"{where}: unknown key `{unknown[0]}`{did_you_mean(closest(unknown[0], list(keys)))}"
            + f"; the keys are {', '.join(keys)}"
        )


def read_param_file(path: Path, shown: str) -> dict[str, str]:
    """A `--param-file`: TOML, `NAME = value` at the top level (as in scoot.toml's
    [params]), each value as text for the compiler. `shown` is how its messages name it."""
    how = "write one `NAME = value` per line (TOML), as in scoot.toml's [params]"
    try:
        data = tomllib.loads(read_regular_file(path, MAX_SETTINGS_BYTES).decode("utf-8"))
    except UnreadableFile as error:
        raise SettingsError(f"{PARAM_FILE_OPTION} {shown}: cannot read it: {error.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{PARAM_FILE_OPTION} {shown}: it is not UTF-8 text; {how}") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{PARAM_FILE_OPTION} {shown}: {error}; {how}") from None
    except RecursionError:
        raise SettingsError(f"{PARAM_FILE_OPTION} {shown}: arrays or tables nest too deep to read") from None
    if set(data) == {"params"} and isinstance(data["params"], dict):
        raise SettingsError(
            f"{PARAM_FILE_OPTION} {shown}: it holds a [params] table; a param file is the table's contents: "
            "remove the `[params]` line"
        )
    return {str(k): _param_text(v) for k, v in data.items()}


def _architecture_path(root: Path, written: str, settings: Path) -> Path:
    """[architecture] `path`, resolved: a file or a folder, or a path that is not there yet.

    Anything else (`/dev/zero`, a FIFO) is refused here, with the key to fix, before
    anything tries to read it.
    """
    where = f"{settings}: [architecture] `path` = {json.dumps(written, ensure_ascii=False)}"
    try:
        resolved = (root / written).resolve()
        mode = resolved.stat().st_mode
    except FileNotFoundError:
        return (root / written).resolve()  # compiling says that nothing is there
    except (OSError, ValueError) as error:  # a NUL, a name too long, a link loop
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise SettingsError(f"{where}: cannot use it: {reason}") from None
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise SettingsError(
            f"{where} is {file_kind(mode)}, not a file or a folder; give an .sct file, a JSON file, "
            "or the folder holding them"
        )
    return resolved


def watch_settings(table: dict[str, Any], where: str) -> WatchSettings:
    """A [watch] table, each key of the type its option takes."""
    defaults = WatchSettings()
    kinds: dict[str, tuple[type, ...]] = {
        "interval": (int, float),
        "settle": (int, float),
        "webhook": (bool,),
        "listen": (str,),
        "webhook_path": (str,),
        "webhook_secret_env": (str,),
    }
    _known_keys(table, tuple(sorted(kinds)), where)
    for key, value in table.items():
        wanted = kinds[key]
        if not isinstance(value, wanted) or (bool not in wanted and isinstance(value, bool)):
            shown = "a number of seconds" if float in wanted else "true or false" if bool in wanted else "a string"
            raise SettingsError(f"{where}: `{key}` must be {shown}")
    for key in ("interval", "settle"):
        if key in table and table[key] < (0.1 if key == "interval" else 0):
            raise SettingsError(f"{where}: `{key}` must be at least {0.1 if key == 'interval' else 0} seconds")
    values = {**defaults.__dict__, **table}
    values["interval"], values["settle"] = float(values["interval"]), float(values["settle"])
    return WatchSettings(**values)


def repository_settings(table: dict[str, Any], where: str) -> RepositorySettings:
    """A [repositories] table, its own keys checked (the driver checks its options)."""
    driver = table.get("driver", DEFAULT_REPOSITORY_DRIVER)
    if not isinstance(driver, str) or not _TARGET_NAME.fullmatch(driver):
        raise SettingsError(f"{where}: `driver` must be the name of a repository driver, such as \"git\"")
    owner = table.get("owner")
    if owner is not None and not (isinstance(owner, str) and names.owner_problem(owner) is None):
        raise SettingsError(f"{where}: `owner` must be a user or organisation name ({names.OWNER_RULE} characters)")
    flags = {}
    for key in ("organisation", "drop_prefix"):
        value = table.get(key, False)
        if not isinstance(value, bool):
            raise SettingsError(f"{where}: `{key}` must be true or false")
        flags[key] = value
    if flags["drop_prefix"] and not flags["organisation"]:
        raise SettingsError(
            f"{where}: `drop_prefix = true` applies only with `organisation = true` (it drops `{{application}}-` "
            "from the components' repositories in the application's own organisation): set "
            "`organisation = true` too, or `drop_prefix = false`"
        )
    if flags["organisation"] and owner is not None:
        raise SettingsError(
            f"{where}: `owner` does not apply with `organisation = true` (the repositories' owner is then "
            "the application itself, `{application}/…`): remove `owner`, or `organisation`"
        )
    options = {k: v for k, v in table.items() if k not in REPOSITORY_KEYS}
    return RepositorySettings(driver, owner, flags["organisation"], flags["drop_prefix"], options)



def _table(data: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise SettingsError(f"{path}: `{name}` must be a table ([{name}])")
    return value


def _param_text(value: Any) -> str:
    """Params reach the compiler as text, as from `--param`; lists and maps as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)
