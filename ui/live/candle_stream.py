"""The newest candles of the run the chart follows, read on demand with at most one request in flight.

A live run ticks once a minute, a paper run up to ten times a second: asking the engine for the candles at every
tick would queue requests faster than they return. ``LatestCandles`` keeps one request in flight; asks made while it
runs collapse into one more request after it. Following another run cancels the request of the previous one, so
its late answer can never draw the wrong candles.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from ui.live.runs import RunKey

#: Reads the last ``limit`` closed 1m candles of ``symbol:strategy_name`` as its run sees them.
CandleReader = Callable[[str, str, int], Awaitable[np.ndarray]]

#: Candles kept on the chart: half a day of 1m candles, enough to scroll back and to read 15m bars.
CHART_CANDLES = 720


class LatestCandles(QObject):
    """Reads the followed run's newest candles when asked, coalescing the asks.

    Signals
    -------
    candles_loaded(object, object)
        The run's ``RunKey`` and its candles (``ws.CANDLE_DTYPE``, oldest first).
    load_failed(object, str)
        The run's ``RunKey`` and why its candles could not be read.
    """

    candles_loaded = Signal(object, object)
    load_failed = Signal(object, str)

    def __init__(self, read: CandleReader, limit: int = CHART_CANDLES, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self._read = read
        self.limit = limit
        self._key: RunKey | None = None
        self._task: asyncio.Task[None] | None = None
        self._again = False
        #: How many reads were started since this object was made (for tests and diagnostics).
        self.reads_started = 0

    @property
    def key(self) -> RunKey | None:
        """Return the run followed now."""
        return self._key

    def in_flight(self) -> bool:
        """Tell whether a read is running."""
        return self._task is not None and not self._task.done()

    def follow(self, key: RunKey | None) -> None:
        """Follow ``key`` (None: nothing): the previous run's read is cancelled and the new run's starts now."""
        if key == self._key:
            return
        self._key = key
        self._cancel()
        if key is not None:
            self.refresh()

    def refresh(self) -> None:
        """Ask for the followed run's newest candles: now, or right after the read in flight."""
        if self._key is None:
            return
        if self.in_flight():
            self._again = True
            return
        self._again = False
        self._task = asyncio.ensure_future(self._load(self._key))

    async def stop(self) -> None:
        """Cancel the read in flight and wait until it has ended."""
        self._key = None
        task = self._task
        self._cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _cancel(self) -> None:
        self._again = False
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None

    async def _load(self, key: RunKey) -> None:
        while True:
            self.reads_started += 1
            try:
                candles = await self._read(key[0], key[1], self.limit)
            except Exception as exc:
                if key == self._key:
                    self.load_failed.emit(key, f"{type(exc).__name__}: {exc}")
                return
            if key != self._key:
                return
            self.candles_loaded.emit(key, candles)
            if not self._again:
                return
            self._again = False
