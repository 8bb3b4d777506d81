"""The texts and colours of the run tables, identical to the markdown and HTML reports of the same run.

The statistics come from the model (``ws.statistics_figures``: label, number, text, direction) and the formatters
are the reports' own (``ws.formatting``); what is here is the window's: the colours, a minute-precision time, the
choice of the better value.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

import workstation as ws

#: The report's own formatters: the tables write exactly what the markdown and HTML reports write.
fixed = ws.formatting.fixed
signed = ws.formatting.signed
usd = ws.formatting.usd
iso = ws.formatting.iso
or_na = ws.formatting.or_na
NOT_AVAILABLE = ws.formatting.NOT_AVAILABLE
MONTH_NAMES = ws.formatting.MONTH_NAMES

#: The direction of a figure whose higher values are better (``ws.StatisticFigure.direction``).
HIGHER_IS_BETTER: Final = "higher is better"
#: The direction of a figure whose values nearest to 0 are better (a mean trough, a mean losing streak).
CLOSER_TO_ZERO: Final = "closer to 0 is better"
#: What marks a position command the trader issued by hand on a live or paper run (the strategy's are unmarked).
BY_HAND: Final = "by hand"

#: The report's colours (workstation/reports/html.py), so a run reads the same in the window and in the page.
GAIN_TEXT = "#17713a"
LOSS_TEXT = "#b02a20"
GAIN_TINT = "#dff3e6"
LOSS_TINT = "#fbe1de"
HINT_TEXT = "#7a818a"


#: The most decimals a price is shown with (the reports' own precision).
MAX_PRICE_DECIMALS = 8
#: Prices without a tick of their own (synthetic, or computed as TP and SL levels are) show this many significant
#: digits, and at least two decimals.
PRICE_SIGNIFICANT_DIGITS = 5
#: How many prices are looked at to find a symbol's tick.
PRICE_SAMPLE = 2000


def price_decimals(prices: np.ndarray) -> int:
    """Return how many decimals show a symbol's prices, from prices of it (candle prices, best).

    An exchange's prices are multiples of its tick: the fewest decimals (up to :data:`MAX_PRICE_DECIMALS`) that write
    every sampled price exactly are the market's precision (0.01 for most USDT pairs; a downloaded or imported
    candle store keeps the exchange's ticks). Prices without a tick (the demo's synthetic candles) show
    :data:`PRICE_SIGNIFICANT_DIGITS` significant digits of their median, and at least two decimals. No price: two.
    """
    # Sampled first: a year of 1m closes is half a million prices, and this runs on the GUI thread as a run starts.
    every = np.asarray(prices, dtype=np.float64).reshape(-1)  # a view of a candle column, not a copy
    sample = every[:: max(1, len(every) // PRICE_SAMPLE)]
    sample = sample[np.isfinite(sample) & (sample > 0)]
    if len(sample) == 0:
        return 2
    # A price written with d decimals is within a few ulps of that decimal number (binary floats cannot hold 0.01).
    slack = 4 * np.spacing(sample)
    for decimals in range(MAX_PRICE_DECIMALS + 1):
        if np.all(np.abs(np.round(sample, decimals) - sample) <= slack):
            return decimals
    magnitude = math.floor(math.log10(float(np.median(sample))))
    return min(MAX_PRICE_DECIMALS, max(2, PRICE_SIGNIFICANT_DIGITS - 1 - magnitude))


def minute_time(timestamp: int) -> str:
    """Format epoch milliseconds as ``YYYY-MM-DD HH:MM`` (UTC): the report's time, cut to the minute for a table."""
    return iso(timestamp)[:16].replace("T", " ")


def duration_minutes(result: ws.ClosedResult) -> int | None:
    """Return how long the position was open in whole minutes, as the reports round it.

    None when the signal has no ``pending_at`` (the engine always sets it on a fill; the row stays readable).
    """
    if result.signal.pending_at is None:
        return None
    return ws.position_duration_minutes(result)


#: How a position ended, in the trader's words, by close reason ("closed" is a close someone asked for: the
#: strategy's commit_close_pending or the trader's Close now).
CLOSE_OUTCOMES = {
    "take_profit": "took profit",
    "stop_loss": "stopped out",
    "time_expired": "expired",
    "closed": "closed on request",
    "liquidation": "liquidated",
}


def close_outcome(close_reason: str) -> str:
    """Say how a position ended: ``stopped out``, ``closed on request``; an unknown reason as ``closed (reason)``."""
    return CLOSE_OUTCOMES.get(close_reason, f"closed ({close_reason})")


def best_of(values: list[float | None], direction: str) -> set[int]:
    """Return the positions of the best values for ``direction``; none when there is nothing to tell apart.

    A figure without a direction, fewer than two known values, or all known values equal, has no winner.
    """
    known = [value for value in values if value is not None]
    if not direction or len(known) < 2 or min(known) == max(known):
        return set()
    if direction == HIGHER_IS_BETTER:
        best = max(known)
    elif direction == CLOSER_TO_ZERO:
        best = min(known, key=abs)
    else:
        best = min(known)
    return {index for index, value in enumerate(values) if value == best}
