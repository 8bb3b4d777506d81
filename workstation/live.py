"""``ws.Live``: run, background, stop and list live strategies, and report what they did (SPEC §15, §17)."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path

import numpy as np

from workstation import registry
from workstation.brokers.broker import Broker
from workstation.clients.live_strategy import LiveClientStrategy
from workstation.clients.strategy import Result
from workstation.config import get_config
from workstation.context import ContextIterator, MethodContext
from workstation.engine.clock import Clock, SystemClock, clock_ms
from workstation.engine.instances import Done, RunInstance, RunInstances, TaskStatus, run_in_background
from workstation.engine.live import LiveJob, run_live
from workstation.engine.signal_call import signal_caller
from workstation.errors import RunAlreadyActiveError, RunNotFoundError
from workstation.events import events
from workstation.manual_commands import (
    ManualAction,
    ManualCommand,
    ManualOutcome,
    ManualPreview,
    ManualQueue,
    preview_command,
    refusals_of,
)
from workstation.models.events import DoneEvent
from workstation.persist.pair_lock import PairLock, lock_pair
from workstation.reports.dump import dump_report
from workstation.reports.live import LiveStatistics
from workstation.services.connections import risk_members, strategy_connections
from workstation.services.live_records import PersistedLiveSignal, persisted_live_signals
from workstation.storages import live_storage
from workstation.timeutil import to_ms

SOURCE = "Live.run"


def validate_live_names(strategy_name: str, exchange_name: str, source: str) -> None:
    """Check that the strategy, the exchange and every risk member are registered."""
    schema = registry.strategies.get(strategy_name, source)
    registry.exchanges.get(exchange_name, source)
    for risk_name in risk_members(schema.risk_name, schema.risk_list):
        registry.risks.get(risk_name, source)


class LiveUtils:
    """Live strategies, one instance per ``symbol:strategy_name``."""

    def __init__(self) -> None:
        self._instances = RunInstances()
        self._clocks: dict[str, Clock] = {}
        #: The trader's commands waiting for each active run.
        self._manual: dict[str, ManualQueue] = {}

    def run(
        self,
        symbol: str,
        *,
        strategy_name: str,
        exchange_name: str,
        clock: Clock | None = None,
        until: datetime | None = None,
        broker: Broker | None = None,
    ) -> AsyncIterator[Result]:
        """Validate every referenced name, then return the run's results as an async iterator.

        The run first restores what a previous run of the pair persisted (SPEC §15.4), then ticks every
        ``live_tick_seconds`` of ``clock`` (default: the system clock) and yields ``scheduled``, ``opened``,
        ``closed`` and ``cancelled`` results. After ``until`` it stops gracefully: no new signals, an open position
        is still managed to its close.

        With a ``broker`` the run sends its orders through it (19.5's broker contract): it asks the broker before it
        opens, closes or changes a position, and checks the orders on every tick it holds one, within the retry
        budgets of ``Config.order_*_retry_attempts``. Without one, positions are tracked and nothing is sent.

        Raises
        ------
        SchemaNotFoundError
            If the strategy, the exchange or a risk profile is not registered (nothing has started).
        RunAlreadyActiveError
            If a live run of the pair is active.
        ValueError
            If ``until`` is a naive datetime.
        PersistedStateConflictError
            On the first iteration, if a stored position of the pair belongs to another exchange.
        StateInUseError
            On the first iteration, if another process trades the pair from the same state store.
        """
        validate_live_names(strategy_name, exchange_name, SOURCE)
        until_ms = None if until is None else to_ms(until)
        instance = self._instances.get(symbol, strategy_name)
        self._refuse_second_run(instance)
        context = MethodContext(strategy_name, exchange_name, "", get_config())
        return ContextIterator(self._run(instance, context, clock or SystemClock(), until_ms, broker), context)

    def background(
        self,
        symbol: str,
        *,
        strategy_name: str,
        exchange_name: str,
        clock: Clock | None = None,
        until: datetime | None = None,
        broker: Broker | None = None,
    ) -> Callable[[], Awaitable[None]]:
        """Run on the running loop as a task; return a callable that requests a graceful stop.

        ``done_live`` is emitted when the task ends, whether it finished or was stopped; a failed task emits an
        ``error`` (source ``Live.background``) instead. ``broker``: as :meth:`run`.
        """
        asyncio.get_running_loop()
        instance = self._instances.get(symbol, strategy_name)
        if instance.task is not None and not instance.task.done() and instance.stop_callable is not None:
            return instance.stop_callable
        results = self.run(
            symbol, strategy_name=strategy_name, exchange_name=exchange_name, clock=clock, until=until, broker=broker
        )
        done = DoneEvent(
            symbol=symbol, strategy_name=strategy_name, exchange_name=exchange_name, frame_name="", backtest=False
        )
        return run_in_background(
            instance,
            results,
            source="Live.background",
            on_done=lambda: events.done_live.emit(done),
            stop=lambda: self.stop(symbol, strategy_name),
            backtest=False,
        )

    def stop(self, symbol: str, strategy_name: str) -> Awaitable[None]:
        """Request a graceful stop (SPEC §15.5): no new signals; a waiting order is cancelled at the next tick.

        An open position keeps being managed to its close, with its persisted state kept current; then the run
        ends. The request takes effect at once; awaiting the returned object is optional.
        """
        instance = self._instances.get(symbol, strategy_name)
        instance.stop_requested = True
        client = strategy_connections.peek(strategy_connections.key(symbol, strategy_name, False))
        if client is not None:
            client.stop()
        return Done()

    def list(self) -> list[TaskStatus]:
        """Return the status of every live instance in creation order."""
        return self._instances.list()

    async def get_data(self, symbol: str, strategy_name: str) -> LiveStatistics:
        """Return the statistics over every live closed signal of the pair and its most recent blotter rows."""
        return live_storage.get_data(symbol, strategy_name)

    async def get_report(self, symbol: str, strategy_name: str) -> str:
        """Return the markdown live trading report of ``symbol:strategy_name``."""
        return live_storage.get_report(symbol, strategy_name)

    async def dump(self, symbol: str, strategy_name: str, path: str | Path | None = None) -> Path:
        """Write the markdown report to ``path`` (default: the user data dir) and return where it went."""
        return await dump_report(await self.get_report(symbol, strategy_name), "live", symbol, strategy_name, path)

    async def persisted(self) -> builtins.list[PersistedLiveSignal]:
        """Return the open positions and waiting limit orders stored by live runs, running or not."""
        return await persisted_live_signals()

    async def get_candles(self, symbol: str, strategy_name: str, limit: int) -> np.ndarray:
        """Return the last ``limit`` closed 1m candles the live run of the pair sees, oldest first (read-only).

        Fewer are returned when the exchange has fewer before the run's present; none before the run's first tick.

        Raises
        ------
        ValueError
            If ``limit`` is not a positive int, or the pair has no live run since the last reset.
        """
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError(f"limit must be a positive int, got {limit!r}")
        client = strategy_connections.peek(strategy_connections.key(symbol, strategy_name, False))
        clock = self._clocks.get(f"{symbol}:{strategy_name}")
        if not isinstance(client, LiveClientStrategy) or clock is None:
            raise ValueError(f"no live run of strategy {strategy_name!r} on symbol {symbol!r}")
        return await client.exchange.get_recent_candles(symbol, limit, clock_ms(clock), client.config)

    async def preview(self, symbol: str, strategy_name: str, command: ManualCommand) -> ManualPreview:
        """Return what ``command`` would do now to the position of the active live or paper run, changing nothing.

        It is the very command tried on a copy of the run's position, at the price the run would book it at now.

        Raises
        ------
        RunNotFoundError
            If no live or paper run of the pair is active.
        """
        strategy, manual, clock = self._active(symbol, strategy_name)
        return await preview_command(strategy, command, manual.next_moment(clock_ms(clock)))

    async def refusals(self, symbol: str, strategy_name: str) -> dict[ManualAction, str | None]:
        """Tell for each manual action whether it can be asked for now: None, or why not in words.

        Each action is tried with the arguments first offered (close part: 50 %; add: the configured entry cost);
        trailing a level is asked at a price the trader picks, so only the position's state decides it.

        Raises
        ------
        RunNotFoundError
            If no live or paper run of the pair is active.
        """
        strategy, manual, clock = self._active(symbol, strategy_name)
        return await refusals_of(strategy, manual.next_moment(clock_ms(clock)))

    async def command(self, symbol: str, strategy_name: str, command: ManualCommand) -> ManualOutcome:
        """Have the active live or paper run apply the trader's ``command``; return what it did.

        The run applies it between two ticks, at its clock's present, through the position commands its strategy
        uses (``ws.commit_*``), and stores the change with that moment's progress before announcing it. A close,
        cancel or fill takes effect at once. A refused command changes nothing; the outcome says why.

        Raises
        ------
        RunNotFoundError
            If no live or paper run of the pair is active, or the run ended before it could apply the command.
        """
        _, manual, _ = self._active(symbol, strategy_name)
        return await manual.submit(command)

    def _active(self, symbol: str, strategy_name: str) -> tuple[LiveClientStrategy, ManualQueue, Clock]:
        key = f"{symbol}:{strategy_name}"
        instance = self._instances.peek(symbol, strategy_name)
        client = strategy_connections.peek(strategy_connections.key(symbol, strategy_name, False))
        manual, clock = self._manual.get(key), self._clocks.get(key)
        if instance is None or not instance.active or manual is None or clock is None:
            raise RunNotFoundError(f"no active live or paper run of strategy {strategy_name!r} on symbol {symbol!r}")
        assert isinstance(client, LiveClientStrategy)
        return client, manual, clock

    def clear(self) -> None:
        """Cancel running background tasks and forget every instance."""
        self._instances.clear()
        self._clocks.clear()
        self._manual.clear()

    @staticmethod
    def _refuse_second_run(instance: RunInstance) -> None:
        if instance.active:
            raise RunAlreadyActiveError(f"Live run for {instance.symbol}:{instance.name} is already active")

    async def _run(
        self, instance: RunInstance, context: MethodContext, clock: Clock, until: int | None, broker: Broker | None
    ) -> AsyncIterator[Result]:
        self._refuse_second_run(instance)
        instance.active = True
        instance.stop_requested = False
        symbol, strategy_name = instance.symbol, context.strategy_name
        schema = registry.strategies.get(strategy_name, SOURCE)
        pair_lock: PairLock | None = None
        try:
            pair_lock = lock_pair(symbol, strategy_name)
            strategy_connections.clear(strategy_connections.key(symbol, strategy_name, False))
            self._clocks[f"{symbol}:{strategy_name}"] = clock
            bound_now = getattr(clock, "now_ms", None)
            strategy = strategy_connections.client(
                symbol,
                strategy_name,
                exchange_name=context.exchange_name,
                frame_name="",
                backtest=False,
                config=context.config,
                get_signal=signal_caller(
                    schema.get_signal,
                    strategy_name=strategy_name,
                    timeout_seconds=context.config.max_signal_generation_seconds,
                ),
                clock_ms=bound_now if bound_now is not None else (lambda: clock_ms(clock)),
            )
            assert isinstance(strategy, LiveClientStrategy)
            if broker is not None:
                strategy.use_broker(broker)

            manual = self._manual[f"{symbol}:{strategy_name}"] = ManualQueue()

            def request_stop() -> None:
                instance.stop_requested = True
                strategy.stop()

            job = LiveJob(
                symbol=symbol,
                strategy=strategy,
                clock=clock,
                tick_ms=round(context.config.live_tick_seconds * 1000),
                until=until,
                is_stopped=lambda: instance.stop_requested,
                request_stop=request_stop,
                manual=manual,
            )
            async for result in run_live(job):
                yield result
        finally:
            ended = self._manual.pop(f"{symbol}:{strategy_name}", None)
            if ended is not None:
                ended.close(RunNotFoundError(f"the run of strategy {strategy_name!r} on symbol {symbol!r} ended"))
            if pair_lock is not None:
                pair_lock.release()
            instance.active = False


Live = LiveUtils()
