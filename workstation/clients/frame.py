"""``ClientFrame``: the tick times of a backtest (SPEC §5)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from workstation.clients.calls import ErrorSink, call_callback
from workstation.schemas.frame import FrameSchema
from workstation.timeutil import from_ms, interval_ms, to_ms

logger = logging.getLogger("workstation.frame")


@dataclass(frozen=True, slots=True)
class TickGrid:
    """Evenly spaced tick times in epoch ms: ``first + index * step`` for ``index`` in ``range(count)``.

    Arithmetic instead of an array: a year of 1m ticks costs no memory, and finding a tick is one division
    (bisecting a numpy array from Python boxes a scalar at every comparison).
    """

    first: int
    step: int
    count: int

    def __len__(self) -> int:
        return self.count

    @property
    def last(self) -> int:
        """The last tick (only meaningful when ``count > 0``)."""
        return self.first + (self.count - 1) * self.step

    def at(self, index: int) -> int:
        """Return the tick at ``index`` (``0 <= index < count``)."""
        return self.first + index * self.step

    def index_after(self, timestamp: int) -> int:
        """Return the index of the first tick later than ``timestamp``, or ``count`` if there is none."""
        if timestamp < self.first:
            return 0
        return min(self.count, (timestamp - self.first) // self.step + 1)

    def index_from(self, timestamp: int) -> int:
        """Return the index of the first tick at or after ``timestamp``, or ``count`` if there is none."""
        if timestamp <= self.first:
            return 0
        return min(self.count, -((self.first - timestamp) // self.step))


class ClientFrame:
    """Tick times from ``start_date`` to ``min(end_date, now)``, both inclusive, computed once."""

    def __init__(self, schema: FrameSchema, *, now_ms: Callable[[], int], on_callback_error: ErrorSink) -> None:
        self.schema = schema
        self._now_ms = now_ms
        self._on_callback_error = on_callback_error
        self._timeframes: TickGrid | None = None

    async def wait_for_init(self) -> None:
        """Nothing to load."""

    async def timeframes(self) -> TickGrid:
        """Return the tick times, computing them (and calling ``on_timeframe``) on first use."""
        if self._timeframes is None:
            start = to_ms(self.schema.start_date)
            end = min(to_ms(self.schema.end_date), self._now_ms())
            step = interval_ms(self.schema.interval)
            ticks = TickGrid(start, step, (end - start) // step + 1 if end >= start else 0)
            self._timeframes = ticks
            callback = self.schema.callbacks.on_timeframe
            if callback is not None:
                await call_callback(
                    callback,
                    [from_ms(ticks.at(index)) for index in range(ticks.count)],
                    self.schema.start_date,
                    self.schema.end_date,
                    self.schema.interval,
                    where="on_timeframe",
                    on_error=self._on_callback_error,
                    owner=f'frame "{self.schema.frame_name}"',
                )
        return self._timeframes
