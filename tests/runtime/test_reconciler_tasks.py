"""`reconciler._each`: asyncio.gather's behaviour, with each task let go as it ends."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from scoot_runtime.reconciler import _each


def test_each_waits_for_all_and_lets_each_task_go_as_it_ends() -> None:
    ended: list[int] = []
    alive: list[weakref.ref[asyncio.Task[None]]] = []

    async def one(number: int, release: asyncio.Event) -> None:
        task = asyncio.current_task()
        assert task is not None
        alive.append(weakref.ref(task))
        if number:
            await release.wait()
        ended.append(number)

    async def main() -> None:
        release = asyncio.Event()
        running = asyncio.ensure_future(_each(one(n, release) for n in range(3)))
        for _ in range(100):  # a few turns of the loop: the task ends, then its callbacks run
            await asyncio.sleep(0)
            gc.collect()
            if alive and alive[0]() is None:
                break
        # The first task ended and was let go; the others still run, held.
        assert ended == [0] and alive[0]() is None and alive[1]() is not None
        release.set()
        await running

    asyncio.run(main())
    assert sorted(ended) == [0, 1, 2]


def test_each_raises_the_first_error_and_the_others_run_on() -> None:
    finished: list[str] = []

    async def fails() -> None:
        raise ValueError("broken")

    async def slow() -> None:
        await asyncio.sleep(0.01)
        finished.append("slow")

    async def main() -> None:
        with pytest.raises(ValueError, match="broken"):
            await _each([fails(), slow()])
        while not finished:  # not cancelled: it ends on its own
            await asyncio.sleep(0.001)

    asyncio.run(main())
    assert finished == ["slow"]


def test_each_cancelled_cancels_what_still_runs() -> None:
    cancelled: list[bool] = []

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def main() -> None:
        running = asyncio.ensure_future(_each([forever(), forever()]))
        await asyncio.sleep(0)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        await asyncio.sleep(0)

    asyncio.run(main())
    assert cancelled == [True, True]


def test_each_of_nothing_returns() -> None:
    asyncio.run(_each([]))
