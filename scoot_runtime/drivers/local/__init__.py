"""The `local` cloud driver: compute as detached processes, storage under `.scoots/data/`.

Registered under the entry point `scoot.cloud_drivers` as `local`, like any
third party's driver. Linux only (it reads `/proc`).
"""

from scoot_runtime.drivers.local.driver import LocalDriver
from scoot_runtime.drivers.local.paths import LocalDriverError

__all__ = ["LocalDriver", "LocalDriverError"]
