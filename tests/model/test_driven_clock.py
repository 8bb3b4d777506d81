"""ws.DrivenClock: a replay clock whose sleeps end only when its owner moves the present past them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import workstation as ws
from workstation.timeutil import to_ms

START = datetime(2024, 1, 1, tzinfo=UTC)
MINUTE = 60_000


def test_sleepers_wake_only_once_the_present_passed_their_moment_and_settled_counts_them() -> None:
    clock = ws.DrivenClock(START)
    woke: list[tuple[str, int]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now_ms() - to_ms(START)))

    async def scenario() -> None:
        tasks = [asyncio.create_task(sleeper("one minute", 60)), asyncio.create_task(sleeper("two minutes", 120))]
        await asyncio.sleep(0)
        assert clock.settled(2)
        assert not clock.settled(3)
        clock.move_to(to_ms(START) + 30_000)
        await asyncio.sleep(0)
        assert woke == []
        clock.move_to(to_ms(START) + MINUTE)
        await asyncio.sleep(0)
        assert woke == [("one minute", MINUTE)]
        assert clock.settled(1)
        clock.move_to(to_ms(START) + 2 * MINUTE)
        await asyncio.gather(*tasks)
        assert not clock.settled(1)

    asyncio.run(scenario())
    assert woke == [("one minute", MINUTE), ("two minutes", 2 * MINUTE)]


def test_the_present_never_moves_back() -> None:
    clock = ws.DrivenClock(START)
    clock.move_to(to_ms(START) + MINUTE)
    clock.move_to(to_ms(START))
    assert clock.now_ms() == to_ms(START) + MINUTE
