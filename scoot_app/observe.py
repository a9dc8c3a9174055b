"""What the drivers observe of the recorded objects, as `scoot status` and `scoot console` show it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scoot_runtime.engine import Runtime


async def read_recorded(
    runtime: Runtime, addresses: list[str], redact: Callable[[str], str] = lambda text: text
) -> dict[str, Any]:
    """Read each recorded object through the driver: an Observed, None (gone), or an
    error's text (passed through `redact`)."""
    import asyncio

    from scoot_runtime.plan import recorded, recorded_spec

    objects = runtime.store.state.objects
    limit = asyncio.Semaphore(runtime.driver.parallelism or 64)
    found: dict[str, Any] = {}

    async def read(address: str) -> None:
        async with limit:
            try:
                found[address] = await runtime.driver.read(
                    recorded_spec(address, objects[address]), recorded(objects[address])
                )
            except Exception as error:
                found[address] = redact(str(error) or type(error).__name__)

    await asyncio.gather(*(read(address) for address in addresses))
    return found
