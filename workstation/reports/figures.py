"""The figures of a run, one list for every place that shows them: markdown, HTML and the window.

Each figure carries its number, its text (formatted as SPEC §11.2 prints it), the way that is better and how it is
measured, so a view can write it, compare two runs on it, or tell which is better without restating a format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from workstation.models.series import RunSeries
from workstation.reports.formatting import fixed, or_na, signed
from workstation.reports.statistics import BacktestStatistics
from workstation.timeutil import DAY_MS

__all__ = [
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
    "SPEC_FIGURES",
    "Direction",
    "Measure",
    "StatisticFigure",
    "statistics_figures",
    "yearly_returns_note",
]

Direction = Literal["higher is better", "lower is better", ""]
HIGHER_IS_BETTER: Final = "higher is better"
LOWER_IS_BETTER: Final = "lower is better"


@dataclass(frozen=True, slots=True)
class Measure:
    """How a figure is written: decimals, unit, and whether a gain carries its ``+``."""

    digits: int
    unit: str
    always_signed: bool

    def text(self, value: float) -> str:
        """Return the figure's text, e.g. ``"+1.50%"`` or ``"1.234"``."""
        return (signed if self.always_signed else fixed)(value, self.digits) + self.unit

    def change(self, difference: float) -> str:
        """Return a difference of two figures, always signed; percentages differ by percentage points (``pp``)."""
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
class StatisticFigure:
    """One figure of a run: label, number (None: not defined), text, which way is better, and a note.

    The note is what a reader should know to read the figure ("" for most figures).
    """

    label: str
    value: float | None
    text: str
    direction: Direction
    measure: Measure
    note: str = ""


#: Positions in :func:`statistics_figures` of the figures SPEC §11.2's markdown summary prints, win rate first.
SPEC_FIGURES = slice(2, 11)


def _figure(
    label: str, value: float | None, measure: Measure, direction: Direction, counts: str = "", note: str = ""
) -> StatisticFigure:
    # A None figure prints N/A in place of its value and unit; the win rate keeps its counts after it (SPEC §11.2).
    return StatisticFigure(label, value, or_na(value, measure.text) + counts, direction, measure, note)


#: backtest-kit 19.5 annualises a run only from this many trades, over at least this many days, and at most this
#: many trades a year (SPEC-statistics §1.6): otherwise its expected yearly returns are null.
_MIN_TRADES_TO_ANNUALISE = 10
_MIN_DAYS_TO_ANNUALISE = 14
_MAX_TRADES_PER_YEAR = 365


def yearly_returns_note(statistics: BacktestStatistics) -> str:
    """Say how to read the expected yearly returns of a run, and why backtest-kit 19.5 gives none when it does not.

    SPEC §11.2's figure is a linear extrapolation: the average trade repeated back to back for a year. A run of many
    short trades reaches thousands of percent that way, which reads as a forecast it is not. backtest-kit 19.5 (the
    peer) compounds the equity over the run's trades a year, and only when the run can be annualised; otherwise its
    figure is null.
    """
    closed = statistics.signal_list
    if statistics.expected_yearly_returns is None or not closed:
        return ""
    linear = "Not a forecast: the average trade repeated back to back for a year (SPEC §11.2)."
    count = len(closed)
    first_open = min(result.signal.pending_at or result.close_timestamp for result in closed)
    span_days = (max(result.close_timestamp for result in closed) - first_open) / DAY_MS
    if count < _MIN_TRADES_TO_ANNUALISE:
        reason = f"{count} trades are fewer than {_MIN_TRADES_TO_ANNUALISE}"
    elif span_days < _MIN_DAYS_TO_ANNUALISE:
        reason = f"{span_days:.1f} days of trades are fewer than {_MIN_DAYS_TO_ANNUALISE}"
    else:
        per_year = count / span_days * 365
        if per_year <= _MAX_TRADES_PER_YEAR:
            return f"{linear} backtest-kit 19.5 compounds the equity over a year's trades instead, so the two differ."
        reason = f"{per_year:,.0f} trades a year are more than {_MAX_TRADES_PER_YEAR}"
    return f"{linear} backtest-kit 19.5 gives none for this run: {reason}."


def statistics_figures(statistics: BacktestStatistics, series: RunSeries | None = None) -> list[StatisticFigure]:
    """Return every figure of a run: the counts, SPEC §11.2's figures, the extra statistics, then the series' ones.

    Parameters
    ----------
    statistics
        ``await ws.Backtest.get_data(...)`` (or a stored run's statistics).
    series
        The run's series; None leaves out the five figures computed from it (net PnL in money, buy-and-hold,
        exposure, average holding and longest flat time).

    Returns
    -------
    list of StatisticFigure
        In the order the reports print them; ``SPEC_FIGURES`` picks the markdown summary's figures.
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
        _figure(
            "Expected Yearly Returns",
            stats.expected_yearly_returns,
            SIGNED_PERCENT,
            HIGHER_IS_BETTER,
            note=yearly_returns_note(stats),
        ),
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
