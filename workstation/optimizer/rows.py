"""Turn job outcomes into ranked rows (SPEC §18.3): the order never depends on which job finished first."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from workstation.account.metrics import ACCOUNT_METRICS, ranking_value
from workstation.optimizer.jobs import OptimizerJobResult
from workstation.optimizer.models import OptimizerRow, OutOfSampleStats
from workstation.schemas.walker import WalkerMetric

__all__ = ["best_params", "job_row", "metric_value", "out_of_sample_stats", "rank_key", "rank_rows"]


def job_row(params: dict[str, Any], outcome: OptimizerJobResult, metric: WalkerMetric) -> OptimizerRow:
    """Return the row of one finished job, ranked 0 until `rank_rows` ranks the sweep."""
    statistics = outcome.statistics
    if statistics is None:
        return OptimizerRow(
            rank=0,
            index=outcome.index,
            params=params,
            metric_value=None,
            total_signals=0,
            win_rate=None,
            total_pnl=None,
            sharpe_ratio=None,
            avg_fall_pnl=None,
            error=outcome.error,
        )
    return OptimizerRow(
        rank=0,
        index=outcome.index,
        params=params,
        metric_value=metric_value(statistics, metric),
        total_signals=statistics["total_signals"],
        win_rate=statistics["win_rate"],
        total_pnl=statistics["total_pnl"],
        sharpe_ratio=statistics["sharpe_ratio"],
        avg_fall_pnl=statistics["avg_fall_pnl"],
        return_percent=statistics.get("return_percent"),
        max_drawdown_percent=statistics.get("max_drawdown_percent"),
    )


def metric_value(statistics: dict[str, Any], metric: WalkerMetric) -> float | None:
    """Return the value a job is ranked by: its statistic, or its account figure (a drawdown negated)."""
    if metric in ACCOUNT_METRICS:
        return ranking_value(metric, statistics[metric])
    value: float | None = statistics[metric]
    return value


def rank_key(row: OptimizerRow) -> tuple[bool, float, int]:
    """Return the sort key of the ranking: ``metric_value`` descending, None last, ties by job index."""
    return (row.metric_value is None, -(row.metric_value or 0.0), row.index)


def rank_rows(rows: Iterable[OptimizerRow]) -> list[OptimizerRow]:
    """Sort by `rank_key` and number the ranks from 1."""
    ordered = sorted(rows, key=rank_key)
    return [row.model_copy(update={"rank": rank}) for rank, row in enumerate(ordered, start=1)]


def best_params(ranked: list[OptimizerRow]) -> dict[str, Any] | None:
    """Return the parameters of the first ranked row, or None when no row has a metric value."""
    if not ranked or ranked[0].metric_value is None:
        return None
    return dict(ranked[0].params)


def out_of_sample_stats(outcome: OptimizerJobResult | None, metric: WalkerMetric) -> OutOfSampleStats:
    """Return the statistics of a walk-forward test run; no run (no parameters chosen) gives zeros and Nones."""
    if outcome is None or outcome.statistics is None:
        return OutOfSampleStats(
            total_signals=0,
            total_pnl=None,
            win_rate=None,
            sharpe_ratio=None,
            return_percent=None,
            max_drawdown_percent=None,
            metric_value=None,
            error=None if outcome is None else outcome.error,
        )
    statistics = outcome.statistics
    return OutOfSampleStats(
        total_signals=statistics["total_signals"],
        total_pnl=statistics["total_pnl"],
        win_rate=statistics["win_rate"],
        sharpe_ratio=statistics["sharpe_ratio"],
        return_percent=statistics.get("return_percent"),
        max_drawdown_percent=statistics.get("max_drawdown_percent"),
        metric_value=metric_value(statistics, metric),
    )
