"""What a walker reports (SPEC §12, §16): one contract per tested strategy, the final results, progress and stops."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from workstation.reports.statistics import BacktestStatistics
from workstation.schemas.walker import WalkerMetric

__all__ = [
    "WalkerContract",
    "WalkerProgress",
    "WalkerResults",
    "WalkerStatistics",
    "WalkerStopEvent",
    "WalkerStrategyResult",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class WalkerContract(_Frozen):
    """A strategy of a walk finished its backtest: its statistics, its metric and the best one so far.

    ``metric_value`` is the strategy's ``metric`` statistic, None when it is not a finite number (no closed
    signal); ``best_metric`` / ``best_strategy`` are the highest value so far and the strategy that reached it
    first (None while no strategy has a value).
    """

    walker_name: str
    exchange_name: str
    frame_name: str
    symbol: str
    strategy_name: str
    stats: BacktestStatistics
    metric_value: float | None
    metric: WalkerMetric
    best_metric: float | None
    best_strategy: str | None
    strategies_tested: int
    total_strategies: int


class WalkerResults(_Frozen):
    """A walk ended (it finished or was stopped): the best strategy and its statistics.

    ``strategies_tested`` counts the strategies whose backtest completed (a failed one is not counted);
    ``best_stats`` is None when no strategy had a metric value.
    """

    walker_name: str
    symbol: str
    exchange_name: str
    frame_name: str
    metric: WalkerMetric
    total_strategies: int
    strategies_tested: int
    best_strategy: str | None
    best_metric: float | None
    best_stats: BacktestStatistics | None


class WalkerStrategyResult(_Frozen):
    """One tested strategy of a walk: its statistics and its metric value (None when not finite)."""

    strategy_name: str
    stats: BacktestStatistics
    metric_value: float | None


class WalkerStatistics(WalkerResults):
    """What ``Walker.get_data`` returns: the walk's results and every tested strategy in completion order.

    While a walk runs, the results are those of the strategies tested so far.
    """

    strategy_results: list[WalkerStrategyResult]


class WalkerProgress(_Frozen):
    """How many strategies of a walk have been tested (``progress`` = processed / total)."""

    walker_name: str
    exchange_name: str
    frame_name: str
    symbol: str
    total_strategies: int
    processed_strategies: int
    progress: float


class WalkerStopEvent(_Frozen):
    """A stop of a walk was requested; one event per strategy of the walker."""

    symbol: str
    strategy_name: str
    walker_name: str
