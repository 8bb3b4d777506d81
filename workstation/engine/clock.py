"""Clocks of live runs (SPEC §15.2): the system clock, and a replay clock for accelerated deterministic time."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from workstation.timeutil import from_ms, to_ms


@runtime_checkable
class Clock(Protocol):
    """What a live run reads the time from and sleeps on."""

    def now(self) -> datetime:
        """Return the present as an aware UTC datetime."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """The wall clock: ``now`` is the system time, ``sleep`` is ``asyncio.sleep``."""

    def now(self) -> datetime:
        """Return the system time."""
        return datetime.now(UTC)

    def now_ms(self) -> int:
        """Return the system time in epoch milliseconds."""
        return time.time_ns() // 1_000_000

    async def sleep(self, seconds: float) -> None:
        """Sleep on the event loop."""
        await asyncio.sleep(max(0.0, seconds))


class ReplayClock:
    """Virtual time from ``start``: sleeping advances it, so recorded candles replay in accelerated time.

    Parameters
    ----------
    start
        Aware datetime the clock starts at.
    speed
        ``None``: a sleep only yields to the event loop (as fast as possible, deterministic). A number: a sleep of
        ``s`` virtual seconds also waits ``s / speed`` real seconds (600 plays ten minutes per real second).

    Raises
    ------
    ValueError
        If ``start`` is naive or ``speed`` is not a positive number.
    """

    def __init__(self, start: datetime, speed: float | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError(f"start must be timezone-aware (UTC), got the naive datetime {start.isoformat()}")
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be a positive number or None, got {speed!r}")
        self._now_ms = to_ms(start)
        self.speed = speed

    def now(self) -> datetime:
        """Return the virtual present."""
        return from_ms(self._now_ms)

    def now_ms(self) -> int:
        """Return the virtual present in epoch milliseconds."""
        return self._now_ms

    async def sleep(self, seconds: float) -> None:
        """Advance virtual time by ``seconds``; with a speed, also wait the scaled real time."""
        seconds = max(0.0, seconds)
        if self.speed is None:
            self._now_ms += round(seconds * 1000)
            await asyncio.sleep(0)
            return
        start = self._now_ms
        target = start + round(seconds * 1000)
        began = time.monotonic()
        try:
            await asyncio.sleep(seconds / self.speed)
        except asyncio.CancelledError:
            # Woken early (a trader's command for the run): the time slept so far has passed.
            passed = round((time.monotonic() - began) * self.speed * 1000)
            self._now_ms = max(self._now_ms, min(target, start + passed))
            raise
        self._now_ms = max(self._now_ms, target)

    def skip_to(self, moment_ms: int) -> None:
        """Jump forward to ``moment_ms`` at once (a resumed replay passes the ticks it already evaluated)."""
        self._now_ms = max(self._now_ms, moment_ms)


class DrivenClock(ReplayClock):
    """A replay clock its owner moves: a sleep ends once :meth:`move_to` moved the present past its end.

    For harnesses that drive several live runs minute by minute (benchmarks, the desk's acceptance tests): the owner
    moves the present, then waits until :meth:`settled` says every run finished its tick and sleeps again.
    """

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._moved = asyncio.Event()
        self._waits: dict[int, int] = {}

    async def sleep(self, seconds: float) -> None:
        """Wait until the present was moved ``seconds`` past where it is now."""
        target = self.now_ms() + round(max(0.0, seconds) * 1000)
        key = id(asyncio.current_task())
        self._waits[key] = target
        try:
            while self.now_ms() < target:
                await self._moved.wait()
        finally:
            self._waits.pop(key, None)

    def move_to(self, moment_ms: int) -> None:
        """Move the present to ``moment_ms`` and wake the sleepers whose moment came."""
        self.skip_to(moment_ms)
        # A fresh event per move: a sleeper woken too early waits on the next move, not on a set event forever.
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    def settled(self, runs: int) -> bool:
        """Tell whether ``runs`` runs are asleep until a moment after the present (their tick is over)."""
        now = self.now_ms()
        return len(self._waits) >= runs and all(target > now for target in self._waits.values())


def clock_ms(clock: Clock) -> int:
    """Read ``clock`` in epoch milliseconds (fast path for the built-in clocks)."""
    now_ms = getattr(clock, "now_ms", None)
    if now_ms is not None:
        value: int = now_ms()
        return value
    return to_ms(clock.now())
