"""Walker storage and the markdown comparison report (SPEC §12)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from workstation.errors import WorkstationError
from workstation.models.walker import WalkerContract, WalkerResults, WalkerStatistics, WalkerStrategyResult
from workstation.reports.backtest import POSITION_COLUMNS, is_managed, position_cells
from workstation.reports.formatting import fixed, iso, markdown_table, or_na, signed
from workstation.reports.statistics import opened_at

__all__ = [
    "COMPARISON_NOTE",
    "PNL_COLUMNS",
    "WalkerReportStorage",
    "comparison_columns",
    "ranked_results",
    "walker_key",
    "walker_report",
]

#: Column titles of the table of every closed signal, in order.
PNL_COLUMNS: tuple[str, ...] = (
    "Strategy",
    "Signal ID",
    "Symbol",
    "Position",
    "PNL (net)",
    "Close Reason",
    "Open Time",
    "Close Time",
)

#: The last line of the report.
COMPARISON_NOTE = "**Note:** Higher values are better for all metrics except Standard Deviation (lower is better)."


def walker_key(symbol: str, walker_name: str) -> str:
    """Return the storage key ``symbol:walker_name``."""
    return f"{symbol}:{walker_name}"


def comparison_columns(metric: str) -> tuple[str, ...]:
    """Return the column titles of the comparison table; the third is the walker's metric."""
    return (
        "Rank",
        "Strategy",
        metric,
        "Total Signals",
        "Win Rate",
        "Avg PNL",
        "Total PNL",
        "Sharpe Ratio",
        "Std Dev",
    )


def ranked_results(results: list[WalkerStrategyResult]) -> list[WalkerStrategyResult]:
    """Return ``results`` by metric value, highest first; None values last; ties keep completion order."""
    # sorted() stays stable with reverse=True, so equal values keep their completion order; metric values are
    # finite, so -inf puts the missing ones after every real value.
    return sorted(results, key=_rank_value, reverse=True)


def _rank_value(result: WalkerStrategyResult) -> float:
    return -math.inf if result.metric_value is None else result.metric_value


def _percent(value: float) -> str:
    return fixed(value, 2) + "%"


def _signed_percent(value: float) -> str:
    return signed(value, 2) + "%"


def _comparison_cells(rank: int, result: WalkerStrategyResult) -> list[str]:
    stats = result.stats
    return [
        str(rank),
        result.strategy_name,
        or_na(result.metric_value, lambda value: fixed(value, 2)),
        str(stats.total_signals),
        or_na(stats.win_rate, _percent),
        or_na(stats.avg_pnl, _signed_percent),
        or_na(stats.total_pnl, _signed_percent),
        or_na(stats.sharpe_ratio, lambda value: fixed(value, 3)),
        or_na(stats.std_dev, lambda value: fixed(value, 3) + "%"),
    ]


def _signal_rows(results: list[WalkerStrategyResult], managed: bool) -> list[list[str]]:
    """Return the rows of the PnL table; ``managed`` adds the ``POSITION_COLUMNS`` cells."""
    return [
        [
            result.strategy_name,
            closed.signal.id,
            closed.signal.symbol,
            closed.signal.position.upper(),
            _signed_percent(closed.pnl.pnl_percentage),
            closed.close_reason,
            iso(opened_at(closed)),
            iso(closed.close_timestamp),
            *(position_cells(closed.signal) if managed else ()),
        ]
        for result in results
        for closed in result.stats.signal_list
    ]


def walker_report(statistics: WalkerStatistics, *, top_n: int) -> str:
    r"""Render the markdown comparison report of a walk (SPEC §12).

    Parameters
    ----------
    statistics
        What ``Walker.get_data`` returns.
    top_n
        Most rows of the comparison table (``Config.walker_top_n``); the table of closed signals is not capped.

    Returns
    -------
    str
        The report lines joined with ``"\n"``, without a trailing newline.

    Raises
    ------
    ValueError
        If ``top_n`` is less than 1.
    """
    if top_n < 1:
        raise ValueError(f"top_n must be at least 1, got {top_n}")
    metric = statistics.metric
    best_stats = statistics.best_stats
    lines = [
        f"# Walker Comparison Report: {statistics.walker_name}",
        "",
        f"**Symbol:** {statistics.symbol}",
        f"**Exchange:** {statistics.exchange_name}",
        f"**Frame:** {statistics.frame_name}",
        f"**Optimization Metric:** {metric}",
        f"**Strategies Tested:** {statistics.total_strategies}",
        "",
        f"## Best Strategy: {statistics.best_strategy or 'N/A'}",
        "",
        f"**Best {metric}:** {or_na(statistics.best_metric, lambda value: fixed(value, 2))}",
        f"**Total Signals:** {0 if best_stats is None else best_stats.total_signals}",
        "",
        "## Top Strategies Comparison",
        "",
    ]
    ranked = ranked_results(statistics.strategy_results)[:top_n]
    if ranked:
        rows = [_comparison_cells(rank, result) for rank, result in enumerate(ranked, start=1)]
        lines.extend(markdown_table(comparison_columns(metric), rows))
    else:
        lines.append("No strategy results available.")
    lines.extend(["", "## All Signals (PNL Table)", ""])
    managed = any(
        is_managed(closed.signal) for result in statistics.strategy_results for closed in result.stats.signal_list
    )
    signal_rows = _signal_rows(statistics.strategy_results, managed)
    if signal_rows:
        lines.extend(markdown_table(PNL_COLUMNS + POSITION_COLUMNS if managed else PNL_COLUMNS, signal_rows))
    else:
        lines.append("No closed signals available.")
    lines.extend(["", COMPARISON_NOTE])
    return "\n".join(lines)


@dataclass
class _Walk:
    contracts: list[WalkerContract] = field(default_factory=list)
    results: WalkerResults | None = None


class WalkerReportStorage:
    """Hold, per ``symbol:walker_name``, the contracts of the tested strategies and the final results of a walk.

    The storage does not subscribe to anything: the caller feeds it from the event hub (``walker`` and
    ``walker_complete``).
    """

    def __init__(self) -> None:
        self._walks: dict[str, _Walk] = {}

    def _walk(self, symbol: str, walker_name: str) -> _Walk:
        key = walker_key(symbol, walker_name)
        walk = self._walks.get(key)
        if walk is None:
            walk = self._walks[key] = _Walk()
        return walk

    def add_contract(self, contract: WalkerContract) -> None:
        """Record a tested strategy of a walk."""
        self._walk(contract.symbol, contract.walker_name).contracts.append(contract)

    def add_results(self, results: WalkerResults) -> None:
        """Record the results of a walk that ended."""
        self._walk(results.symbol, results.walker_name).results = results

    def clear(self, symbol: str, walker_name: str) -> None:
        """Forget what was recorded for ``symbol:walker_name`` (a new walk starts from nothing)."""
        self._walks.pop(walker_key(symbol, walker_name), None)

    def clear_all(self) -> None:
        """Forget every walk (``ws.reset()``)."""
        self._walks.clear()

    def get_data(self, symbol: str, walker_name: str) -> WalkerStatistics:
        """Return the results of the last walk of ``symbol:walker_name`` and every strategy it tested.

        While the walk runs, the figures cover the strategies tested so far.

        Raises
        ------
        WorkstationError
            If nothing was recorded for the pair: ``no walker data for <symbol>:<walker_name> yet``.
        """
        walk = self._walks.get(walker_key(symbol, walker_name))
        if walk is None:
            raise WorkstationError(f"no walker data for {symbol}:{walker_name} yet")
        strategy_results = [
            WalkerStrategyResult(
                strategy_name=contract.strategy_name, stats=contract.stats, metric_value=contract.metric_value
            )
            for contract in walk.contracts
        ]
        if walk.results is not None:
            return WalkerStatistics(**dict(walk.results), strategy_results=strategy_results)
        last = walk.contracts[-1]
        best_stats = next(
            (result.stats for result in strategy_results if result.strategy_name == last.best_strategy), None
        )
        return WalkerStatistics(
            walker_name=last.walker_name,
            symbol=last.symbol,
            exchange_name=last.exchange_name,
            frame_name=last.frame_name,
            metric=last.metric,
            total_strategies=last.total_strategies,
            strategies_tested=last.strategies_tested,
            best_strategy=last.best_strategy,
            best_metric=last.best_metric,
            best_stats=best_stats,
            strategy_results=strategy_results,
        )

    def get_report(self, symbol: str, walker_name: str, *, top_n: int) -> str:
        """Render the markdown comparison report of ``symbol:walker_name`` (see :func:`walker_report`).

        Raises
        ------
        WorkstationError
            If nothing was recorded for the pair.
        ValueError
            If ``top_n`` is less than 1.
        """
        return walker_report(self.get_data(symbol, walker_name), top_n=top_n)
