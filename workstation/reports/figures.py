"""The figures of a run, one list for every place that shows them: markdown, HTML and the window.

Each figure carries its number, its text (formatted as SPEC §11.2 prints it), the way that is better and how it is
measured, so a view can write it, compare two runs on it, or tell which is better without restating a format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from workstation.account.report import AccountReport
from workstation.models.series import RunSeries
from workstation.reports.formatting import fixed, or_na, signed
from workstation.reports.statistics import BacktestStatistics
from workstation.timeutil import DAY_MS, iso

__all__ = [
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
    "SPEC_FIGURES",
    "Direction",
    "FigureGroup",
    "Measure",
    "StatisticFigure",
    "account_figures",
    "run_figures",
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
    #: Whether thousands are separated (``12,345.67``): sums of money are read at a glance that way.
    grouped: bool = False

    def text(self, value: float) -> str:
        """Return the figure's text, e.g. ``"+1.50%"``, ``"1.234"`` or ``"+1,234.50"``."""
        return self._number(value, self.always_signed) + self.unit

    def change(self, difference: float) -> str:
        """Return a difference of two figures, always signed; percentages differ by percentage points (``pp``)."""
        return self._number(difference, always_signed=True) + (" pp" if self.unit == "%" else self.unit)

    def _number(self, value: float, always_signed: bool) -> str:
        if not self.grouped:
            return (signed if always_signed else fixed)(value, self.digits)
        return ("+" if always_signed and value > 0 else "") + format(value, f",.{self.digits}f")


COUNT = Measure(0, "", always_signed=False)
PERCENT = Measure(2, "%", always_signed=False)
SIGNED_PERCENT = Measure(2, "%", always_signed=True)
DEVIATION = Measure(3, "%", always_signed=False)
RATIO = Measure(3, "", always_signed=False)
MONEY = Measure(2, "", always_signed=False)
SIGNED_MONEY = Measure(2, "", always_signed=True)
MINUTES = Measure(1, "", always_signed=False)
DAYS = Measure(1, "", always_signed=False)
BALANCE = Measure(2, "", always_signed=False, grouped=True)
SIGNED_BALANCE = Measure(2, "", always_signed=True, grouped=True)


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


def account_figures(account: AccountReport) -> list[StatisticFigure]:
    """Return the account figures of a run, in money and % of the equity, in the order a trader reads them.

    Net profit, return and max drawdown (of the equity peak) come first; then CAGR, exposure, fees, the daily Sharpe
    and Sortino ratios, the longest drawdown, the starting balance with the final equity, and when the equity was
    spent ("never" for a run that could always open its next position).
    """
    spent = account.equity_spent_at
    balance_text = f"{BALANCE.text(account.starting_balance)} → {BALANCE.text(account.final_equity)}"
    spent_text = "never" if spent is None else iso(spent)[:16].replace("T", " ") + " UTC"
    spent_note = "" if spent is None else "The balance could not pay for another position: the run opened none after."
    return [
        _figure("Net profit", account.net_profit, SIGNED_BALANCE, HIGHER_IS_BETTER),
        _figure("Return", account.return_percent, SIGNED_PERCENT, HIGHER_IS_BETTER),
        _figure(
            "Max drawdown",
            account.max_drawdown_percent,
            PERCENT,
            LOWER_IS_BETTER,
            note="The deepest fall of the equity (marked to market daily and at each trade) below its peak, in % "
            "of that peak.",
        ),
        _figure("Max drawdown (money)", account.max_drawdown_money, BALANCE, LOWER_IS_BETTER),
        _figure("CAGR", account.cagr_percent, SIGNED_PERCENT, HIGHER_IS_BETTER),
        _figure("Exposure", account.exposure_percent, PERCENT, ""),
        _figure("Fees paid", account.fees_paid, BALANCE, LOWER_IS_BETTER),
        _figure("Sharpe ratio (daily)", account.sharpe_ratio, RATIO, HIGHER_IS_BETTER),
        _figure("Sortino ratio (daily)", account.sortino_ratio, RATIO, HIGHER_IS_BETTER),
        _figure("Longest drawdown (days)", account.longest_drawdown_days, DAYS, LOWER_IS_BETTER),
        StatisticFigure(
            "Starting balance → final equity", account.final_equity, balance_text, HIGHER_IS_BETTER, BALANCE
        ),
        # No number to compare: when a run ran out of money is read, not ranked.
        StatisticFigure("Equity spent", None, spent_text, "", COUNT, spent_note),
    ]


@dataclass(frozen=True, slots=True)
class FigureGroup:
    """Figures shown together under one title: the account's, or the per-trade statistics."""

    title: str
    figures: list[StatisticFigure]


#: Titles of the two groups of :func:`run_figures`.
ACCOUNT_TITLE = "Account"
PER_TRADE_TITLE = "Per trade (% of each position)"
#: Figures of the series that the account gives in its own terms: the account's net profit and exposure replace them.
_SHOWN_BY_THE_ACCOUNT = frozenset({"Net PNL (money)", "Exposure"})


def run_figures(
    statistics: BacktestStatistics, series: RunSeries | None, account: AccountReport | None
) -> list[FigureGroup]:
    """Return a run's figures as a trader reads them: the account first, then the per-trade statistics.

    Without an account (a run stored before runs had one) there is only the per-trade group.
    """
    per_trade = statistics_figures(statistics, series)
    if account is None:
        return [FigureGroup(PER_TRADE_TITLE, per_trade)]
    per_trade = [figure for figure in per_trade if figure.label not in _SHOWN_BY_THE_ACCOUNT]
    return [FigureGroup(ACCOUNT_TITLE, account_figures(account)), FigureGroup(PER_TRADE_TITLE, per_trade)]
