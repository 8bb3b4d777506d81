"""The walker runner (SPEC §12): the strategies of a walker backtested one after the other, as an async generator."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from workstation.clients.calls import call_callback
from workstation.events import events, report_error
from workstation.models.walker import WalkerContract, WalkerProgress, WalkerResults, WalkerStopEvent
from workstation.reports.statistics import BacktestStatistics
from workstation.schemas.walker import WalkerSchema

#: ``source`` of the ``error`` event reporting a strategy whose backtest failed.
SOURCE = "Walker.run"


@dataclass(frozen=True, slots=True)
class WalkerJob:
    """What one walk works on: values and the two backtest operations, no context lookups.

    ``run_backtest(strategy_name)`` backtests one strategy to its end on the walker's exchange and frame;
    ``get_statistics(strategy_name)`` returns its statistics afterwards and ``get_metric(strategy_name, stats)`` the
    value it is ranked by; ``is_stopped()`` tells whether a stop of the whole walk was requested before the walk
    could hear ``walker_stop``.
    """

    symbol: str
    walker: WalkerSchema
    run_backtest: Callable[[str], Awaitable[None]]
    get_statistics: Callable[[str], Awaitable[BacktestStatistics]]
    get_metric: Callable[[str, BacktestStatistics], Awaitable[float | None]]
    is_stopped: Callable[[], bool]


def metric_value(stats: BacktestStatistics, metric: str) -> float | None:
    """Return the ``metric`` statistic of ``stats``, or None when it is not a finite number."""
    value = getattr(stats, metric)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


class _Callbacks:
    """The walker's user callbacks: a failing one never ends the application.

    An ``Exception`` is reported on ``error`` and the walk goes on; beyond that (``sys.exit()``) the walk ends with
    a ``StrategyAbortedError``.
    """

    def __init__(self, walker: WalkerSchema, symbol: str) -> None:
        self._callbacks = walker.callbacks
        self._symbol = symbol
        self._owner = f'walker "{walker.walker_name}"'

    async def call(self, name: str, strategy_name: str, *args: Any) -> None:
        callback = getattr(self._callbacks, name)
        if callback is None:
            return
        await call_callback(
            callback,
            *args,
            where=name,
            on_error=lambda source, exc: report_error(source, exc, symbol=self._symbol, strategy_name=strategy_name),
            strategy_name=strategy_name,
            owner=self._owner,
        )


async def run_walker(job: WalkerJob) -> AsyncIterator[WalkerContract]:
    """Backtest every strategy of the walker in schema order and yield one contract per completed strategy.

    A strategy whose backtest raises is reported on ``error`` (source ``Walker.run``), passed to
    ``on_strategy_error`` and not counted. A ``walker_stop`` for a strategy that has not started ends the walk
    there. ``on_complete`` and ``walker_complete`` follow in every case, a stop included.
    """
    symbol, walker = job.symbol, job.walker
    total = len(walker.strategies)
    callbacks = _Callbacks(walker, symbol)
    stopped: set[str] = set()

    def on_stop(event: Any) -> None:
        if isinstance(event, WalkerStopEvent) and (event.symbol, event.walker_name) == (symbol, walker.walker_name):
            stopped.add(event.strategy_name)

    best_metric: float | None = None
    best_strategy: str | None = None
    stats_by_strategy: dict[str, BacktestStatistics] = {}
    tested = 0
    events.walker_stop.connect(on_stop)
    try:
        for strategy_name in walker.strategies:
            if strategy_name in stopped or job.is_stopped():
                break
            await callbacks.call("on_strategy_start", strategy_name, strategy_name, symbol)
            try:
                await job.run_backtest(strategy_name)
            except Exception as exc:
                report_error(SOURCE, exc, symbol=symbol, strategy_name=strategy_name)
                await callbacks.call("on_strategy_error", strategy_name, strategy_name, symbol, exc)
                continue
            stats = stats_by_strategy[strategy_name] = await job.get_statistics(strategy_name)
            value = await job.get_metric(strategy_name, stats)
            if value is not None and (best_metric is None or value > best_metric):
                best_metric, best_strategy = value, strategy_name
            tested += 1
            events.progress_walker.emit(
                WalkerProgress(
                    walker_name=walker.walker_name,
                    exchange_name=walker.exchange_name,
                    frame_name=walker.frame_name,
                    symbol=symbol,
                    total_strategies=total,
                    processed_strategies=tested,
                    progress=tested / total,
                )
            )
            await callbacks.call("on_strategy_complete", strategy_name, strategy_name, symbol, stats, value)
            contract = WalkerContract(
                walker_name=walker.walker_name,
                exchange_name=walker.exchange_name,
                frame_name=walker.frame_name,
                symbol=symbol,
                strategy_name=strategy_name,
                stats=stats,
                metric_value=value,
                metric=walker.metric,
                best_metric=best_metric,
                best_strategy=best_strategy,
                strategies_tested=tested,
                total_strategies=total,
            )
            events.walker.emit(contract)
            yield contract
    finally:
        events.walker_stop.disconnect(on_stop)
    results = WalkerResults(
        walker_name=walker.walker_name,
        symbol=symbol,
        exchange_name=walker.exchange_name,
        frame_name=walker.frame_name,
        metric=walker.metric,
        total_strategies=total,
        strategies_tested=tested,
        best_strategy=best_strategy,
        best_metric=best_metric,
        best_stats=None if best_strategy is None else stats_by_strategy[best_strategy],
    )
    await callbacks.call("on_complete", walker.walker_name, results)
    events.walker_complete.emit(results)
