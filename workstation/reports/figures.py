"""The figures of a run, one list for every place that shows them: markdown, HTML and the window.

Each figure carries its number, its text (formatted as SPEC §11.2 prints it), the way that is better and how it is
measured, so a view can write it, compare two runs on it, or tell which is better without restating a format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from workstation.account.report import AccountReport
from workstation.models.series import RunSeries
from workstation.reports.formatting import fixed, signed
from workstation.reports.statistics import (
    MAX_EXPECTED_YEARLY_RETURNS,
    MAX_TRADES_PER_YEAR,
    MIN_CALENDAR_SPAN_DAYS,
    MIN_SIGNALS_FOR_ANNUALIZATION,
    BacktestStatistics,
)
from workstation.timeutil import DAY_MS, iso

__all__ = [
    "CLOSER_TO_ZERO",
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

Direction = Literal["higher is better", "lower is better", "closer to 0 is better", ""]
HIGHER_IS_BETTER: Final = "higher is better"
LOWER_IS_BETTER: Final = "lower is better"
#: Of figures that are never positive (the mean trough of the trades, the mean losing streak): the nearest to 0.
CLOSER_TO_ZERO: Final = "closer to 0 is better"


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
DURATION = Measure(1, " min", always_signed=False)
SIGNED_PERCENT_3 = Measure(3, "%", always_signed=True)
PERCENT_3 = Measure(3, "%", always_signed=False)
SIGNED_RATIO = Measure(3, "", always_signed=True)
SHARE = Measure(1, "%", always_signed=False)
SLOPE = Measure(3, "%/day", always_signed=True)


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


#: Positions in :func:`statistics_figures` of backtest-kit 19.5's figures, in the order its markdown report prints
#: them (win rate to median step size); the markdown summary prints these.
SPEC_FIGURES = slice(1, 30)


def _figure(
    label: str, value: float | None, measure: Measure, direction: Direction, counts: str = "", note: str = ""
) -> StatisticFigure:
    # A None figure prints N/A alone, in place of its value and unit; the win rate's counts follow its value.
    text = "N/A" if value is None else measure.text(value) + counts
    return StatisticFigure(label, value, text, direction, measure, note)


def _percent_of(share: float | None) -> float | None:
    # 19.5 prints a share of moves as a percentage with one decimal.
    return None if share is None else share * 100


def yearly_returns_note(statistics: BacktestStatistics) -> str:
    """Say how to read the expected yearly returns of a run, or why backtest-kit 19.5's rules give none for it.

    The figure compounds the run's equity over a year's worth of its trades (SPEC-statistics §3); it exists only for
    at least 10 trades over at least 14 days, at most 365 trades a year, an equity curve that was never spent and a
    result within ±100 %. "" for a run without closed signals.
    """
    closed = statistics.signal_list
    if not closed:
        return ""
    if statistics.expected_yearly_returns is not None:
        return "Not a forecast: the run's compounded equity carried over a year's worth of its trades."
    count = statistics.total_signals
    first_open = min(result.signal.pending_at or result.close_timestamp for result in closed)
    span_days = (max(result.close_timestamp for result in closed) - first_open) / DAY_MS
    if count < MIN_SIGNALS_FOR_ANNUALIZATION:
        reason = f"{count} trades are fewer than {MIN_SIGNALS_FOR_ANNUALIZATION}"
    elif span_days < MIN_CALENDAR_SPAN_DAYS:
        reason = f"{span_days:.1f} days of trades are fewer than {MIN_CALENDAR_SPAN_DAYS}"
    elif count / span_days * 365 > MAX_TRADES_PER_YEAR:
        reason = f"{count / span_days * 365:,.0f} trades a year are more than {MAX_TRADES_PER_YEAR}"
    else:
        reason = f"the equity was spent, or a year of it is beyond ±{MAX_EXPECTED_YEARLY_RETURNS}%"
    return f"backtest-kit 19.5 gives none for this run: {reason}."


def statistics_figures(statistics: BacktestStatistics, series: RunSeries | None = None) -> list[StatisticFigure]:
    """Return every figure of a run: the count, backtest-kit 19.5's figures, the workstation's, then the series' ones.

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
    trend = stats.trend or "N/A"
    figures = [
        _figure("Total signals", stats.total_signals, COUNT, ""),
        _figure("Win rate", stats.win_rate, PERCENT, HIGHER_IS_BETTER, f" ({stats.win_count}W / {stats.loss_count}L)"),
        _figure("Average PNL", stats.avg_pnl, SIGNED_PERCENT, HIGHER_IS_BETTER),
        _figure("Total PNL", stats.total_pnl, SIGNED_PERCENT, HIGHER_IS_BETTER),
        _figure("Standard Deviation Per Trade", stats.std_dev, DEVIATION, LOWER_IS_BETTER),
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
        _figure("Avg Peak PNL", stats.avg_peak_pnl, SIGNED_PERCENT, HIGHER_IS_BETTER),
        _figure("Avg Max Drawdown PNL", stats.avg_fall_pnl, PERCENT, CLOSER_TO_ZERO),
        _figure("Sortino Ratio", stats.sortino_ratio, RATIO, HIGHER_IS_BETTER),
        _figure("Calmar Ratio", stats.calmar_ratio, RATIO, HIGHER_IS_BETTER),
        _figure("Recovery Factor", stats.recovery_factor, RATIO, HIGHER_IS_BETTER),
        _figure("Expectancy", stats.expectancy, SIGNED_PERCENT_3, HIGHER_IS_BETTER),
        _figure("Median PNL", stats.median_pnl, SIGNED_PERCENT_3, ""),
        _figure("Avg Duration", stats.avg_duration, DURATION, ""),
        _figure("Avg Win Duration", stats.avg_win_duration, DURATION, ""),
        _figure("Avg Loss Duration", stats.avg_loss_duration, DURATION, ""),
        _figure("Avg Consecutive Win PNL", stats.avg_consecutive_win_pnl, SIGNED_PERCENT_3, HIGHER_IS_BETTER),
        _figure("Avg Consecutive Loss PNL", stats.avg_consecutive_loss_pnl, PERCENT_3, CLOSER_TO_ZERO),
        StatisticFigure("Trend", None, trend, "", COUNT),
        _figure("Trend Strength", stats.trend_strength, SLOPE, ""),
        _figure("Trend Confidence (R²)", stats.trend_confidence, RATIO, ""),
        _figure("Buyer Pressure", _percent_of(stats.buyer_pressure), SHARE, ""),
        _figure("Seller Pressure", _percent_of(stats.seller_pressure), SHARE, ""),
        _figure("Buyer Strength", _percent_of(stats.buyer_strength), SHARE, ""),
        _figure("Seller Strength", _percent_of(stats.seller_strength), SHARE, ""),
        _figure("Pressure Imbalance", stats.pressure_imbalance, SIGNED_RATIO, ""),
        _figure("Median Step Size", stats.median_step_size, PERCENT_3, ""),
        _figure("Profit Factor", stats.profit_factor, RATIO, HIGHER_IS_BETTER),
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
