"""The texts and colours of the run tables, identical to the markdown and HTML reports of the same run.

The statistics themselves come from the model (``ws.statistics_figures``: label, number, text, direction). The few
one-line formatters the trade and history tables need are restated here, because ``ui/`` reaches the model only
through ``import workstation as ws``; ``tests/ui/test_statistics_widgets.py`` compares them with the report's own
output, so the two cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar

import workstation as ws

T = TypeVar("T")

#: What a report prints in place of a missing value (and of its unit).
NOT_AVAILABLE = "N/A"

#: The direction of a figure whose higher values are better (``ws.StatisticFigure.direction``).
HIGHER_IS_BETTER: Final = "higher is better"

#: The report's colours (workstation/reports/html.py), so a run reads the same in the window and in the page.
GAIN_TEXT = "#17713a"
LOSS_TEXT = "#b02a20"
GAIN_TINT = "#dff3e6"
LOSS_TINT = "#fbe1de"
HINT_TEXT = "#7a818a"

MONTH_NAMES: tuple[str, ...] = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE_MS = 60_000


def fixed(value: float, digits: int) -> str:
    """Format ``value`` with exactly ``digits`` decimals (binary rounding, as the reports do)."""
    return format(value, f".{digits}f")


def signed(value: float, digits: int) -> str:
    """Format like :func:`fixed`, with a leading ``+`` when ``value`` is strictly positive."""
    return ("+" if value > 0 else "") + fixed(value, digits)


def usd(value: float) -> str:
    """Format a price with 8 decimals and the ``USD`` unit, e.g. ``"42000.00000000 USD"``."""
    return fixed(value, 8) + " USD"


def iso(timestamp: int) -> str:
    """Format epoch milliseconds as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC), as the reports do."""
    return (_EPOCH + timedelta(milliseconds=int(timestamp))).isoformat(timespec="milliseconds")[:-6] + "Z"


def minute_time(timestamp: int) -> str:
    """Format epoch milliseconds as ``YYYY-MM-DD HH:MM`` (UTC): the report's time, cut to the minute for a table."""
    return iso(timestamp)[:16].replace("T", " ")


def or_na(value: T | None, render: Callable[[T], str]) -> str:
    """Render ``value``, or return ``"N/A"`` in place of the value and its unit when it is None."""
    if value is None:
        return NOT_AVAILABLE
    return render(value)


def sequential_sum(values: Iterable[float]) -> float:
    """Add ``values`` left to right from ``0.0``: the reports' order, which pins the last bits of a total."""
    total = 0.0
    for value in values:
        total = total + value
    return total


def duration_minutes(result: ws.ClosedResult) -> int | None:
    """Return how long the position was open in whole minutes, rounded half up as the reports do.

    None when the signal has no ``pending_at`` (the engine always sets it on a fill; the row stays readable).
    """
    opened = result.signal.pending_at
    if opened is None:
        return None
    return math.floor((result.close_timestamp - opened) / _MINUTE_MS + 0.5)


def best_of(values: list[float | None], direction: str) -> set[int]:
    """Return the positions of the best values for ``direction``; none when there is nothing to tell apart.

    A figure without a direction, fewer than two known values, or all known values equal, has no winner.
    """
    known = [value for value in values if value is not None]
    if not direction or len(known) < 2 or min(known) == max(known):
        return set()
    best = max(known) if direction == HIGHER_IS_BETTER else min(known)
    return {index for index, value in enumerate(values) if value == best}
