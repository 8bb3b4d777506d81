"""``ws.Walker``: compare strategies by backtesting them one after the other (SPEC §12, §17 run instances)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from workstation import registry
from workstation.account.metrics import ACCOUNT_METRICS, account_figures_of, ranking_value
from workstation.backtest import Backtest, validate_backtest_names
from workstation.backtest_run import BacktestRun
from workstation.config import Config, get_config
from workstation.engine.instances import Done, RunInstance, RunInstances, TaskStatus, run_in_background
from workstation.engine.walker import WalkerJob, metric_value, run_walker
from workstation.errors import RunAlreadyActiveError
from workstation.events import events
from workstation.models.events import DoneEvent
from workstation.models.walker import WalkerContract, WalkerResults, WalkerStatistics, WalkerStopEvent
from workstation.reports.dump import dump_report
from workstation.reports.statistics import BacktestStatistics
from workstation.reports.walker import WalkerReportStorage, walker_key
from workstation.schemas.walker import WalkerSchema
from workstation.storages import clear_pair

SOURCE = "Walker.run"

walker_storage = WalkerReportStorage()


def _record_contract(contract: Any) -> None:
    if isinstance(contract, WalkerContract):
        walker_storage.add_contract(contract)


def _record_results(results: Any) -> None:
    if isinstance(results, WalkerResults):
        walker_storage.add_results(results)


events.connect_internal("walker", _record_contract)
events.connect_internal("walker_complete", _record_results)


def validate_walker_names(walker_name: str, source: str) -> WalkerSchema:
    """Check that the walker, its exchange, its frame, every strategy and their risks are registered.

    Returns
    -------
    WalkerSchema
        The walker's schema.

    Raises
    ------
    SchemaNotFoundError
        For the first name that is not registered, naming ``source``.
    """
    walker = registry.walkers.get(walker_name, source)
    registry.exchanges.get(walker.exchange_name, source)
    registry.frames.get(walker.frame_name, source)
    for strategy_name in walker.strategies:
        validate_backtest_names(strategy_name, walker.exchange_name, walker.frame_name, source)
    return walker


class WalkerUtils:
    """Walks, one instance per ``symbol:walker_name``."""

    def __init__(self) -> None:
        self._instances = RunInstances()
        self._walkers: dict[str, WalkerSchema] = {}
        #: The backtest each walk is running now, by walker key.
        self._running: dict[str, BacktestRun] = {}

    def run(self, symbol: str, *, walker_name: str) -> AsyncIterator[WalkerContract]:
        """Validate every referenced name, then return the walk's contracts as an async iterator.

        The walk backtests the walker's strategies one after the other on its exchange and frame, each through
        ``Backtest.run`` (so each strategy's backtest data stays available afterwards), with a snapshot of the
        current config taken now. It yields one ``WalkerContract`` per strategy that completed and ends with
        ``walker_complete``.

        Raises
        ------
        SchemaNotFoundError
            If the walker, its exchange, its frame, a strategy or a risk profile is not registered (nothing has
            started, nothing is cleared).
        RunAlreadyActiveError
            If a walk of ``symbol:walker_name`` is active.
        """
        walker = validate_walker_names(walker_name, SOURCE)
        instance = self._instances.get(symbol, walker_name)
        self._refuse_second_run(instance)
        instance.stop_requested = False
        self._walkers[walker_key(symbol, walker_name)] = walker
        return self._run(instance, walker, get_config())

    def background(self, symbol: str, *, walker_name: str) -> Callable[[], Awaitable[None]]:
        """Run on the running loop as a task; return a callable that requests a graceful stop.

        ``done_walker`` is emitted when the task ends, whether it finished or was stopped; a failed task emits an
        ``error`` (source ``Walker.background``) instead. A second call while the task runs returns the same
        callable and starts nothing.

        Raises
        ------
        RuntimeError
            If no asyncio loop is running.
        """
        asyncio.get_running_loop()
        running = self._instances.peek(symbol, walker_name)
        if running is not None and running.task is not None and not running.task.done() and running.stop_callable:
            return running.stop_callable
        contracts = self.run(symbol, walker_name=walker_name)
        instance = self._instances.get(symbol, walker_name)
        walker = self._walkers[walker_key(symbol, walker_name)]
        done = DoneEvent(
            symbol=symbol,
            strategy_name=walker_name,
            exchange_name=walker.exchange_name,
            frame_name=walker.frame_name,
            backtest=True,
            walker_name=walker_name,
        )
        return run_in_background(
            instance,
            contracts,
            source="Walker.background",
            on_done=lambda: events.done_walker.emit(done),
            stop=lambda: self.stop(symbol, walker_name),
        )

    def stop(self, symbol: str, walker_name: str) -> Awaitable[None]:
        """Request a graceful stop: no further strategy starts; the running backtest resolves its current signal.

        Emits ``walker_stop`` for every strategy of the walker and asks the backtest the walk is running to stop;
        that strategy is still reported as completed, then ``walker_complete`` follows. The request takes effect
        at once (before any suspension), so awaiting it inside a callback is deterministic; awaiting the returned
        object is optional.

        Raises
        ------
        SchemaNotFoundError
            If no walk of the pair was started and the walker is not registered.
        """
        key = walker_key(symbol, walker_name)
        walker = self._walkers.get(key) or registry.walkers.get(walker_name, "Walker.stop")
        instance = self._instances.peek(symbol, walker_name)
        if instance is not None:
            instance.stop_requested = True
        for strategy_name in walker.strategies:
            events.walker_stop.emit(
                WalkerStopEvent(symbol=symbol, strategy_name=strategy_name, walker_name=walker_name)
            )
        running = self._running.get(key)
        if running is not None:
            # Only the walk's own backtest: a separate backtest of the same strategy and symbol keeps running.
            running.stop()
        return Done()

    def list(self) -> list[TaskStatus]:
        """Return the status of every walker instance in creation order (``strategy_name`` holds the walker)."""
        return self._instances.list()

    async def get_data(self, symbol: str, walker_name: str) -> WalkerStatistics:
        """Return the results of the last walk of ``symbol:walker_name`` and every strategy it tested.

        Raises
        ------
        WorkstationError
            If no strategy of such a walk has completed yet and no walk of it ended.
        """
        return walker_storage.get_data(symbol, walker_name)

    async def get_report(self, symbol: str, walker_name: str) -> str:
        """Return the markdown comparison report of the last walk of ``symbol:walker_name`` (SPEC §12).

        Raises
        ------
        WorkstationError
            If nothing was recorded for the pair.
        """
        return walker_storage.get_report(symbol, walker_name, top_n=get_config().walker_top_n)

    async def dump(self, symbol: str, walker_name: str, path: str | Path | None = None) -> Path:
        """Write the markdown report to ``path`` and return where it went.

        Parameters
        ----------
        symbol, walker_name
            The walk to report.
        path
            Where to write; None for ``<user data dir>/reports/walker/<symbol>_<walker_name>.md``.

        Raises
        ------
        WorkstationError
            If nothing was recorded for the pair.
        OSError
            If the file cannot be written; the error names the path.
        """
        return await dump_report(await self.get_report(symbol, walker_name), "walker", symbol, walker_name, path)

    def clear(self) -> None:
        """Cancel running background walks, forget every instance and empty the walker storage."""
        self._instances.clear()
        self._walkers.clear()
        self._running.clear()
        walker_storage.clear_all()

    @staticmethod
    def _refuse_second_run(instance: RunInstance) -> None:
        if instance.active:
            raise RunAlreadyActiveError(f"Walker run for {instance.symbol}:{instance.name} is already active")

    async def _run(self, instance: RunInstance, walker: WalkerSchema, config: Config) -> AsyncIterator[WalkerContract]:
        self._refuse_second_run(instance)
        instance.active = True
        symbol = instance.symbol
        key = walker_key(symbol, walker.walker_name)

        # The walk's own runs: a backtest of the same pair running beside the walk is not the walk's.
        finished: dict[str, BacktestRun] = {}

        async def run_backtest(strategy_name: str) -> None:
            results = Backtest.run(
                symbol,
                strategy_name=strategy_name,
                exchange_name=walker.exchange_name,
                frame_name=walker.frame_name,
                config=config,
                account=walker.account,
            )
            self._running[key] = finished[strategy_name] = results
            try:
                async for _ in results:
                    pass
            finally:
                self._running.pop(key, None)

        async def get_statistics(strategy_name: str) -> BacktestStatistics:
            return await finished[strategy_name].get_data()

        async def get_metric(strategy_name: str, stats: BacktestStatistics) -> float | None:
            if walker.metric not in ACCOUNT_METRICS:
                return metric_value(stats, walker.metric)
            account = await finished[strategy_name].get_account()
            return ranking_value(walker.metric, account_figures_of(account)[walker.metric])

        try:
            walker_storage.clear(symbol, walker.walker_name)
            for strategy_name in walker.strategies:
                clear_pair(symbol, strategy_name, True)
            job = WalkerJob(
                symbol=symbol,
                walker=walker,
                run_backtest=run_backtest,
                get_statistics=get_statistics,
                get_metric=get_metric,
                is_stopped=lambda: instance.stop_requested,
            )
            async for contract in run_walker(job):
                yield contract
        finally:
            instance.active = False


Walker = WalkerUtils()
