"""Portfolio heatmap: per-symbol statistics of one strategy in one mode and the markdown report (SPEC §13)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from workstation.models.results import ClosedResult
from workstation.reports.formatting import fixed, markdown_table, or_na, safe, signed
from workstation.reports.statistics import (
    average_loss,
    average_win,
    curve_drawdown,
    equity_steps,
    expectancy,
    max_streaks,
    population_std,
    profit_factor,
    sequential_sum,
)

__all__ = [
    "HEATMAP_COLUMNS",
    "HeatReportStorage",
    "HeatmapRow",
    "HeatmapStatistics",
    "compute_heatmap_row",
    "compute_heatmap_statistics",
    "heatmap_row_cells",
]

#: Column titles of the heatmap table, in order.
HEATMAP_COLUMNS: tuple[str, ...] = (
    "Symbol",
    "Total PNL",
    "Sharpe",
    "PF",
    "Expect",
    "WR",
    "Avg Win",
    "Avg Loss",
    "Max DD",
    "W Streak",
    "L Streak",
    "Trades",
)


class HeatmapRow(BaseModel):
    """Statistics of the closed signals of one symbol (SPEC §13); a value that is NaN or ±inf is None.

    With ``pnl`` the net PnL percentages of the symbol's closed signals in arrival order and ``n`` their number:
    ``win_rate = win_count / n * 100``; ``std_dev`` is the population deviation, None for a single trade;
    ``sharpe_ratio = avg_pnl / std_dev``, None when the deviation is None or 0; ``max_drawdown`` is measured on the
    cumulative PnL from 0, stepped at each partial close too (as in ``BacktestStatistics``); ``profit_factor =
    Σwins / abs(Σlosses)``, None unless there are wins and losses; ``avg_win`` / ``avg_loss`` are None without
    wins / losses; the streaks are the longest runs of ``pnl > 0`` / ``pnl < 0`` (a zero breaks neither);
    ``expectancy = win_rate/100 * avg_win + (100 − win_rate)/100 * avg_loss``, None unless both means exist.
    """

    model_config = ConfigDict(frozen=True)

    symbol: str
    total_pnl: float | None
    sharpe_ratio: float | None
    max_drawdown: float | None
    total_trades: int
    win_count: int
    loss_count: int
    win_rate: float
    avg_pnl: float | None
    std_dev: float | None
    profit_factor: float | None
    avg_win: float | None
    avg_loss: float | None
    max_win_streak: int
    max_loss_streak: int
    expectancy: float | None
    #: The account of the row's run in money (``Heat.get_run_data``): net profit, return and max drawdown of the
    #: equity peak in %; None in a strategy's heatmap of stored results, which has no run.
    net_profit: float | None = None
    return_percent: float | None = None
    equity_drawdown_percent: float | None = None


class HeatmapStatistics(BaseModel):
    """The heatmap of one strategy in one mode (SPEC §13).

    ``symbols`` are sorted by Sharpe ratio, highest first, rows without one last, ties in arrival order.
    ``portfolio_total_pnl`` is the sequential sum of the rows' totals (None without rows);
    ``portfolio_sharpe_ratio`` is ``Σ sharpe_i * trades_i`` over the rows with a Sharpe ratio divided by
    ``portfolio_total_trades`` (None when no row has one); ``portfolio_total_trades`` counts every row's trades.
    """

    model_config = ConfigDict(frozen=True)

    symbols: list[HeatmapRow]
    total_symbols: int
    portfolio_total_pnl: float | None
    portfolio_sharpe_ratio: float | None
    portfolio_total_trades: int


def compute_heatmap_row(symbol: str, closed: Sequence[ClosedResult]) -> HeatmapRow:
    """Compute the heatmap row of one symbol from its closed results (see :class:`HeatmapRow`).

    Parameters
    ----------
    symbol
        The row's symbol.
    closed
        Its closed results, in arrival order.

    Returns
    -------
    HeatmapRow
        The row's statistics.

    Raises
    ------
    ValueError
        If ``closed`` is empty (a symbol without a closed signal has no row).
    """
    pnls = [result.pnl.pnl_percentage for result in closed]
    count = len(pnls)
    if count == 0:
        raise ValueError(f"symbol {symbol!r} has no closed signal, so it has no heatmap row")
    win_count = sum(1 for pnl in pnls if pnl > 0)
    loss_count = sum(1 for pnl in pnls if pnl < 0)
    win_rate = win_count / count * 100
    total_pnl = sequential_sum(pnls)
    average_pnl = total_pnl / count
    std_dev = population_std(pnls, average_pnl) if count > 1 else None
    sharpe = average_pnl / std_dev if std_dev is not None and std_dev != 0 else None
    mean_win = average_win(pnls)
    mean_loss = average_loss(pnls)
    win_streak, loss_streak = max_streaks(pnls)
    return HeatmapRow(
        symbol=symbol,
        total_pnl=safe(total_pnl),
        sharpe_ratio=safe(sharpe),
        max_drawdown=safe(curve_drawdown(equity_steps(closed).percent)),
        total_trades=count,
        win_count=win_count,
        loss_count=loss_count,
        win_rate=win_rate,
        avg_pnl=safe(average_pnl),
        std_dev=safe(std_dev),
        profit_factor=safe(profit_factor(pnls)) if win_count > 0 else None,
        avg_win=safe(mean_win),
        avg_loss=safe(mean_loss),
        max_win_streak=win_streak,
        max_loss_streak=loss_streak,
        expectancy=safe(expectancy(win_rate, mean_win, mean_loss)),
    )


def compute_heatmap_statistics(rows: Sequence[HeatmapRow]) -> HeatmapStatistics:
    """Sort the rows and compute the portfolio totals (see :class:`HeatmapStatistics`).

    Parameters
    ----------
    rows
        One row per symbol, in the arrival order of each symbol's first closed signal.

    Returns
    -------
    HeatmapStatistics
        The sorted rows and the portfolio totals.
    """
    # sorted() is stable, so rows with equal Sharpe ratios (or none) keep their arrival order.
    ordered = sorted(rows, key=lambda row: (row.sharpe_ratio is None, -(row.sharpe_ratio or 0.0)))
    total_trades = sum(row.total_trades for row in ordered)
    totals = [row.total_pnl for row in ordered if row.total_pnl is not None]
    # A row whose total overflowed makes the portfolio total unreportable too, rather than silently smaller.
    total_pnl = sequential_sum(totals) if ordered and len(totals) == len(ordered) else None
    weights = [(row.sharpe_ratio, row.total_trades) for row in ordered if row.sharpe_ratio is not None]
    weighted = sequential_sum(sharpe * trades for sharpe, trades in weights)
    return HeatmapStatistics(
        symbols=ordered,
        total_symbols=len(ordered),
        portfolio_total_pnl=safe(total_pnl),
        portfolio_sharpe_ratio=safe(weighted / total_trades) if weights else None,
        portfolio_total_trades=total_trades,
    )


def _drawdown_cell(drawdown: float) -> str:
    # A drawdown is shown as a fall; a zero one as 0.00%, not the -0.00% that fixed(-0.0) gives.
    return "0.00%" if drawdown == 0 else fixed(-drawdown, 2) + "%"


def heatmap_row_cells(row: HeatmapRow) -> list[str]:
    """Return the raw (unescaped) cells of one heatmap row, in :data:`HEATMAP_COLUMNS` order."""

    def signed_percent(value: float) -> str:
        return signed(value, 2) + "%"

    def ratio(value: float) -> str:
        return fixed(value, 2)

    return [
        row.symbol,
        or_na(row.total_pnl, signed_percent),
        or_na(row.sharpe_ratio, ratio),
        or_na(row.profit_factor, ratio),
        or_na(row.expectancy, signed_percent),
        fixed(row.win_rate, 1) + "%",
        or_na(row.avg_win, signed_percent),
        or_na(row.avg_loss, signed_percent),
        or_na(row.max_drawdown, _drawdown_cell),
        str(row.max_win_streak),
        str(row.max_loss_streak),
        str(row.total_trades),
    ]


def _mode_key(strategy_name: str, backtest: bool) -> str:
    return f"{strategy_name}:{'backtest' if backtest else 'live'}"


class HeatReportStorage:
    """Hold the closed results of each ``strategy_name:mode``, per symbol, in arrival order.

    The storage does not subscribe to anything: the caller feeds it from the event hub.
    """

    def __init__(self) -> None:
        self._closed: dict[str, dict[str, list[ClosedResult]]] = {}

    def add_closed(self, result: ClosedResult) -> None:
        """Append a closed result to its symbol's row of its strategy and mode."""
        symbols = self._closed.setdefault(_mode_key(result.strategy_name, result.backtest), {})
        symbols.setdefault(result.symbol, []).append(result)

    def clear(self, symbol: str, strategy_name: str, backtest: bool = True) -> None:
        """Forget one symbol's row of a strategy and mode (a new run of that pair starts from nothing)."""
        symbols = self._closed.get(_mode_key(strategy_name, backtest))
        if symbols is not None:
            symbols.pop(symbol, None)

    def clear_all(self) -> None:
        """Forget every row (``ws.reset()``)."""
        self._closed.clear()

    def get_data(self, strategy_name: str, backtest: bool = True) -> HeatmapStatistics:
        """Return the heatmap of one strategy in one mode; an unknown strategy gives no rows and None totals.

        Parameters
        ----------
        strategy_name
            The strategy whose symbols to summarise.
        backtest
            True for backtest results, False for live ones.

        Returns
        -------
        HeatmapStatistics
            One row per symbol with a closed signal, sorted, and the portfolio totals.
        """
        symbols = self._closed.get(_mode_key(strategy_name, backtest), {})
        return compute_heatmap_statistics([compute_heatmap_row(symbol, closed) for symbol, closed in symbols.items()])

    def get_report(self, strategy_name: str, backtest: bool = True) -> str:
        r"""Render the markdown heatmap of one strategy in one mode (SPEC §13).

        Parameters
        ----------
        strategy_name
            The strategy to report on.
        backtest
            True for backtest results, False for live ones.

        Returns
        -------
        str
            The report lines joined with ``"\n"``, without a trailing newline.
        """
        title = f"# Portfolio Heatmap: {strategy_name}"
        statistics = self.get_data(strategy_name, backtest)
        if statistics.total_symbols == 0:
            return f"{title}\n\n*No data available*"
        total_pnl = or_na(statistics.portfolio_total_pnl, lambda value: signed(value, 2) + "%")
        sharpe = or_na(statistics.portfolio_sharpe_ratio, lambda value: fixed(value, 2))
        summary = (
            f"**Total Symbols:** {statistics.total_symbols} | **Portfolio PNL:** {total_pnl} | "
            f"**Portfolio Sharpe:** {sharpe} | **Total Trades:** {statistics.portfolio_total_trades}"
        )
        lines = [title, "", summary, ""]
        lines.extend(markdown_table(HEATMAP_COLUMNS, [heatmap_row_cells(row) for row in statistics.symbols]))
        return "\n".join(lines)
