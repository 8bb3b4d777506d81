"""``ClientFrame``: the tick times of a backtest (SPEC §5)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from workstation.clients.calls import call_maybe_async
from workstation.schemas.frame import FrameSchema
from workstation.timeutil import from_ms, interval_ms, to_ms

logger = logging.getLogger("workstation.frame")

ErrorSink = Callable[[str, BaseException], None]


class ClientFrame:
    """Tick times from ``start_date`` to ``min(end_date, now)``, both inclusive, computed once."""

    def __init__(self, schema: FrameSchema, *, now_ms: Callable[[], int], on_callback_error: ErrorSink) -> None:
        self.schema = schema
        self._now_ms = now_ms
        self._on_callback_error = on_callback_error
        self._timeframes: np.ndarray | None = None

    async def wait_for_init(self) -> None:
        """Nothing to load."""

    async def timeframes(self) -> np.ndarray:
        """Return the tick times in epoch ms (int64), computing them on first use."""
        if self._timeframes is None:
            start = to_ms(self.schema.start_date)
            end = min(to_ms(self.schema.end_date), self._now_ms())
            step = interval_ms(self.schema.interval)
            frames = np.arange(start, end + 1, step, dtype=np.int64) if end >= start else np.empty(0, np.int64)
            self._timeframes = frames
            callback = self.schema.callbacks.on_timeframe
            if callback is not None:
                try:
                    await call_maybe_async(
                        callback,
                        [from_ms(t) for t in frames.tolist()],
                        self.schema.start_date,
                        self.schema.end_date,
                        self.schema.interval,
                    )
                except Exception as exc:
                    self._on_callback_error("on_timeframe", exc)
        return self._timeframes
