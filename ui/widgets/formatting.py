"""The texts and colours of the run tables, identical to the markdown and HTML reports of the same run.

``ui/`` reaches the model only through ``import workstation as ws``, and the report formatters live in model
sub-modules, so the few rules the tables need are restated here. ``tests/ui/test_statistics_widgets.py`` compares
every helper and every statistics row with the report's own output, so the two cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, TypeVar

import workstation as ws

T = TypeVar("T")

#: What a report prints in place of a missing value (and of its unit).
NOT_AVAILABLE = "N/A"

Direction = Literal["higher is better", "lower is better", ""]
HIGHER_IS_BETTER: Final = "higher is better"
LOWER_IS_BETTER: Final = "lower is better"

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


@dataclass(frozen=True, slots=True)
class Measure:
    """How one figure is written: decimals, unit, and whether a gain carries its ``+``."""

    digits: int
    unit: str
    always_signed: bool

    def text(self, value: float) -> str:
        """Return the figure's text, e.g. ``"+1.50%"`` or ``"1.234"``."""
        return (signed if self.always_signed else fixed)(value, self.digits) + self.unit

    def change(self, difference: float) -> str:
        """Return a difference of two figures, always signed; percentages differ by percentage points."""
        return signed(difference, self.digits) + (" pp" if self.unit == "%" else self.unit)


COUNT = Measure(0, "", always_signed=False)
PERCENT = Measure(2, "%", always_signed=False)
SIGNED_PERCENT = Measure(2, "%", always_signed=True)
DEVIATION = Measure(3, "%", always_signed=False)
RATIO = Measure(3, "", always_signed=False)
MONEY = Measure(2, "", always_signed=False)
SIGNED_MONEY = Measure(2, "", always_signed=True)
MINUTES = Measure(1, "", always_signed=False)


@dataclass(frozen=True, slots=True)
class Figure:
    """One row of a statistics table: its label, the number behind it, its text and which way is better."""

    label: str
    value: float | None
    text: str
    direction: Direction
    measure: Measure


def _figure(label: str, value: float | None, measure: Measure, direction: Direction, counts: str = "") -> Figure:
    return Figure(label, value, or_na(value, measure.text) + counts, direction, measure)


def statistics_figures(statistics: ws.BacktestStatistics, series: ws.RunSeries | None) -> list[Figure]:
    """Return every figure of SPEC §11.2 and the report's extra figures, texts as in the HTML report.

    The rows and their order are those of ``statistics_rows`` followed by ``extra_statistics_rows`` of
    ``workstation/reports/html.py``. Without ``series`` the five figures computed from it (net PnL in money,
    buy-and-hold, exposure, holding and flat times) are left out.
    """
    stats = statistics
    figures = [
        _figure("Total signals", stats.total_signals, COUNT, ""),
        _figure("Cancelled signals", stats.total_cancelled, COUNT, ""),
        _figure("Win rate", stats.win_rate, PERCENT, HIGHER_IS_BETTER, f" ({stats.win_count}W / {stats.loss_count}L)"),
        _figure("Average PNL", stats.avg_pnl, SIGNED_PERCENT, HIGHER_IS_BETTER),
        _figure("Total PNL", stats.total_pnl, SIGNED_PERCENT, HIGHER_IS_BETTER),
        _figure("Standard Deviation", stats.std_dev, DEVIATION, LOWER_IS_BETTER),
        _figure("Sharpe Ratio", stats.sharpe_ratio, RATIO, HIGHER_IS_BETTER),
        _figure("Annualized Sharpe Ratio", stats.annualized_sharpe_ratio, RATIO, HIGHER_IS_BETTER),
        _figure("Certainty Ratio", stats.certainty_ratio, RATIO, HIGHER_IS_BETTER),
        _figure("Expected Yearly Returns", stats.expected_yearly_returns, SIGNED_PERCENT, HIGHER_IS_BETTER),
        _figure("Max Drawdown", stats.max_drawdown, PERCENT, LOWER_IS_BETTER),
        _figure("Profit Factor", stats.profit_factor, RATIO, HIGHER_IS_BETTER),
        _figure("Expectancy", stats.expectancy, SIGNED_PERCENT, HIGHER_IS_BETTER),
        _figure("Sortino Ratio", stats.sortino_ratio, RATIO, HIGHER_IS_BETTER),
        _figure("Calmar Ratio", stats.calmar_ratio, RATIO, HIGHER_IS_BETTER),
        _figure("Max Consecutive Wins", stats.max_consecutive_wins, COUNT, ""),
        _figure("Max Consecutive Losses", stats.max_consecutive_losses, COUNT, LOWER_IS_BETTER),
        _figure("Average Win", stats.avg_win, SIGNED_PERCENT, HIGHER_IS_BETTER),
        _figure("Average Loss", stats.avg_loss, SIGNED_PERCENT, HIGHER_IS_BETTER),
        _figure("Best Trade", stats.best_trade, SIGNED_PERCENT, ""),
        _figure("Worst Trade", stats.worst_trade, SIGNED_PERCENT, ""),
        _figure("Total Fees", stats.total_fees, MONEY, LOWER_IS_BETTER),
    ]
    if series is None:
        return figures
    net_money = float(series.equity_money[-1]) if len(series.equity_money) else None
    exposure = series.exposure * 100 if series.exposure is not None else None
    return [
        *figures,
        _figure("Net PNL (money)", net_money, SIGNED_MONEY, HIGHER_IS_BETTER),
        _figure("Buy & Hold Return", series.buy_and_hold, SIGNED_PERCENT, ""),
        _figure("Exposure", exposure, PERCENT, ""),
        _figure("Average Holding (min)", series.average_holding_minutes, MINUTES, ""),
        _figure("Longest Flat Stretch (min)", series.longest_flat_minutes, MINUTES, ""),
    ]


def best_of(values: list[float | None], direction: Direction) -> set[int]:
    """Return the positions of the best values for ``direction``; none when there is nothing to tell apart.

    A figure without a direction, fewer than two known values, or all known values equal, has no winner.
    """
    known = [value for value in values if value is not None]
    if not direction or len(known) < 2 or min(known) == max(known):
        return set()
    best = max(known) if direction == HIGHER_IS_BETTER else min(known)
    return {index for index, value in enumerate(values) if value == best}
