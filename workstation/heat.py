"""``ws.Heat``: the portfolio heatmap of a strategy over every symbol it traded (SPEC §13)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from workstation.backtest_run import BacktestRun
from workstation.reports.dump import dump_report
from workstation.reports.heat import HeatmapStatistics, compute_heatmap_row, compute_heatmap_statistics
from workstation.storages import heat_storage

__all__ = ["Heat", "HeatUtils"]


class HeatUtils:
    """Per-symbol statistics of a strategy's closed signals, one mode at a time."""

    async def get_data(self, strategy_name: str, *, backtest: bool = True) -> HeatmapStatistics:
        """Return the heatmap of ``strategy_name``: one row per symbol, sorted by Sharpe ratio, and the totals.

        Parameters
        ----------
        strategy_name
            The strategy whose closed signals to summarise.
        backtest
            True for backtest results, False for live ones.

        Returns
        -------
        HeatmapStatistics
            The rows and portfolio totals; no rows and None totals when the strategy closed nothing in that mode.
        """
        return heat_storage.get_data(strategy_name, backtest)

    async def get_run_data(self, runs: Sequence[BacktestRun]) -> HeatmapStatistics:
        """Return the heatmap of these backtest runs alone: one row per run that closed a signal, and the totals.

        Unlike :meth:`get_data`, which summarises the latest run of each symbol of a strategy, this reads only the
        given runs (one strategy on several symbols, say), whatever else runs beside them. Each row also has its
        run's account figures (net profit, return, max drawdown of the equity peak).
        """
        rows = []
        for run in runs:
            closed = (await run.get_data()).signal_list
            if closed:
                account = await run.get_account()
                account_figures = {
                    "net_profit": account.net_profit,
                    "return_percent": account.return_percent,
                    "equity_drawdown_percent": account.max_drawdown_percent,
                }
                rows.append(compute_heatmap_row(run.symbol, closed).model_copy(update=account_figures))
        return compute_heatmap_statistics(rows)

    async def get_report(self, strategy_name: str, *, backtest: bool = True) -> str:
        """Return the markdown heatmap of ``strategy_name`` (``# Portfolio Heatmap: ...``).

        Parameters
        ----------
        strategy_name
            The strategy to report on.
        backtest
            True for backtest results, False for live ones.

        Returns
        -------
        str
            The report text.
        """
        return heat_storage.get_report(strategy_name, backtest)

    async def dump(self, strategy_name: str, *, backtest: bool = True, path: str | Path | None = None) -> Path:
        """Write the markdown heatmap to ``path`` and return where it went.

        Parameters
        ----------
        strategy_name
            The strategy to report on.
        backtest
            True for backtest results, False for live ones.
        path
            Where to write; None for ``<user data dir>/reports/heat/<strategy_name>.md``.

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        OSError
            If the file cannot be written.
        """
        report = await self.get_report(strategy_name, backtest=backtest)
        return await dump_report(report, "heat", None, strategy_name, path)


Heat = HeatUtils()
