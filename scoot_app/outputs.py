"""What `scoot output` reads: the outputs scoot.lock records for a target, each named
`component.object.output` (`api.web.url`), local paths made absolute, secrets masked.

It goes by scoot.lock alone: no compile (the architecture may be elsewhere, or
broken), no driver call. What runs now, read through the driver, is `scoot status`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoot_app.application import existing_folder
from scoot_runtime.errors import ScootError


class UnknownOutput(ScootError):
    """A name no recorded output has; the message names the closest."""


@dataclass(frozen=True)
class RecordedOutputs:
    target: str
    cloud: str
    # By name, sorted; no secret value (`***` where one was).
    values: dict[str, Any]

    def get(self, name: str) -> Any:
        """The value of output `name`; `UnknownOutput` saying what there is if none."""
        from scoot_model.wording import closest, did_you_mean

        if name in self.values:
            return self.values[name]
        if not self.values:
            raise UnknownOutput(
                f"there is no output `{name}`: nothing is applied on target `{self.target}` yet; run `scoot apply`"
            )
        raise UnknownOutput(
            f"there is no output `{name}` on target `{self.target}`"
            f"{did_you_mean(closest(name, list(self.values)))}; `scoot output` lists them"
        )


def recorded_outputs(path: str | Path, target: str | None = None) -> RecordedOutputs:
    """Every output scoot.lock records for `target` of the application at `path`.

    A secret is masked wherever it shows in a value: those the recorded configurations
    name, looked up as apply would (the environment, the secrets file); a value that is
    not text is masked whole when its text shows one."""
    from scoot_model.objects import placed_outputs
    from scoot_runtime import workspace
    from scoot_runtime.plan import secret_names
    from scoot_runtime.secrets import MASK, Secrets
    from scoot_runtime.state import StateStore

    folder = workspace.load(existing_folder(path))
    chosen = folder.target(target)
    state = StateStore(folder.root, chosen.name, chosen.cloud).load()
    secrets = Secrets(folder.state_dir, folder.root, folder.secrets_file, lineage=state.lineage)
    secrets.hide(sorted(set().union(*(secret_names(o.config) for o in state.objects.values()))))

    def masked(value: Any) -> Any:
        if isinstance(value, str):
            return secrets.redact(value)
        return MASK if secrets.redact(str(value)) != str(value) else value

    values = {
        f"{address}.{key}": masked(value)
        for address, record in sorted(state.objects.items())
        for key, value in sorted(placed_outputs(record.kind, record.outputs, folder.root).items())
    }
    return RecordedOutputs(chosen.name, chosen.cloud, values)
