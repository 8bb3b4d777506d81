"""Walk-forward windows over a frame: train on one period, test on the one right after it, slide, repeat."""

from __future__ import annotations

import math
from dataclasses import dataclass

from workstation.schemas.frame import FrameSchema
from workstation.timeutil import DAY_MS, from_ms, interval_ms, iso, to_ms

__all__ = ["WindowBounds", "plan_windows", "span_ms"]


@dataclass(frozen=True)
class WindowBounds:
    """The first and last tick (epoch ms, inclusive) of a window's training and test periods."""

    index: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int

    def train_frame(self, frame: FrameSchema) -> FrameSchema:
        """Return ``frame`` narrowed to the training period."""
        return frame.model_copy(update={"start_date": from_ms(self.train_start), "end_date": from_ms(self.train_end)})

    def test_frame(self, frame: FrameSchema) -> FrameSchema:
        """Return ``frame`` narrowed to the test period."""
        return frame.model_copy(update={"start_date": from_ms(self.test_start), "end_date": from_ms(self.test_end)})


def span_ms(days: float, field: str, step_ms: int, interval: str) -> int:
    """Return ``days`` in milliseconds, refusing a span that is not a positive whole number of frame intervals.

    Raises
    ------
    ValueError
        Naming ``field`` and the value.
    """
    if isinstance(days, bool) or not isinstance(days, int | float) or not math.isfinite(days) or days <= 0:
        raise ValueError(f"{field} must be a positive number of days, got {days!r}")
    milliseconds = round(days * DAY_MS)
    if milliseconds % step_ms:
        raise ValueError(f"{field} must be a whole number of the frame's {interval} intervals, got {days!r}")
    return milliseconds


def plan_windows(frame: FrameSchema, train_days: float, test_days: float, step_days: float) -> list[WindowBounds]:
    """Return the walk-forward windows of ``frame``.

    Window ``k`` trains on the ticks of ``[start + k·step, start + k·step + train)`` and tests on the ``test_days``
    after them; the windows stop before a test period would pass the frame's last tick.

    Raises
    ------
    ValueError
        If a span is not a positive whole number of frame intervals, or the frame is shorter than one training
        plus one test period.
    """
    step_ms = interval_ms(frame.interval)
    train_ms = span_ms(train_days, "train_days", step_ms, frame.interval)
    test_ms = span_ms(test_days, "test_days", step_ms, frame.interval)
    slide_ms = span_ms(step_days, "step_days", step_ms, frame.interval)
    first_tick = to_ms(frame.start_date)
    last_tick = first_tick + (to_ms(frame.end_date) - first_tick) // step_ms * step_ms
    windows: list[WindowBounds] = []
    while True:
        train_start = first_tick + len(windows) * slide_ms
        test_start = train_start + train_ms
        test_end = test_start + test_ms - step_ms
        if test_end > last_tick:
            break
        windows.append(WindowBounds(len(windows), train_start, test_start - step_ms, test_start, test_end))
    if not windows:
        raise ValueError(
            f'frame "{frame.frame_name}" ({iso(first_tick)} to {iso(last_tick)}) is shorter than train_days '
            f"({train_days!r}) + test_days ({test_days!r})"
        )
    return windows
