"""An application folder: `scoot.toml`, `scoot.lock`, the architecture, and `.scoots/`.

    [architecture]
    path = "."                        # the .sct files (a folder or a file), or a JSON file

    [params]
    env = "prod"                      # values for the architecture's params

    [secrets]
    file = "~/.config/scoot/shop.env" # NAME=value lines, outside the repository

    [targets.staging]                 # `local` needs no table
    cloud = "aws"
    region = "eu-west-1"              # the rest are the driver's options
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scoot_runtime.errors import ScootError

SETTINGS_FILE = "scoot.toml"
WORKSPACE = ".scoots"
DEFAULT_TARGET = "local"
_TARGET_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class SettingsError(ScootError):
    pass


@dataclass(frozen=True)
class Target:
    name: str
    cloud: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Workspace:
    root: Path
    architecture: Path
    params: dict[str, str]
    secrets_file: Path | None
    targets: dict[str, Target]

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


def load(root: Path) -> Workspace:
    """Read an application folder's settings; a folder with no scoot.toml gets the defaults."""
    root = root.resolve()
    path = root / SETTINGS_FILE
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise SettingsError(f"{path}: {error}") from None
    unknown = set(data) - {"architecture", "params", "secrets", "targets"}
    if unknown:
        raise SettingsError(
            f"{path}: unknown table `{sorted(unknown)[0]}`; the tables are architecture, params, secrets, targets"
        )
    architecture = _table(data, "architecture", path)
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
        options = {k: v for k, v in table.items() if k != "cloud"}
        targets[name] = Target(name, str(table.get("cloud", "local")), options)
    return Workspace(
        root=root,
        architecture=(root / str(architecture.get("path", "."))).resolve(),
        params=params,
        secrets_file=secrets_file,
        targets=targets,
    )


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
