"""``ws.Backtest``: run, background, stop, list and report backtests (SPEC §17 run instances)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from workstation import registry
from workstation.clients.strategy import Result
from workstation.config import Config, get_config
from workstation.context import ContextIterator, MethodContext
from workstation.engine.backtest import YIELD_EVERY_SECONDS, BacktestJob, RunPosition, run_backtest
from workstation.engine.instances import Done, RunInstance, RunInstances, TaskStatus, run_in_background
from workstation.engine.signal_call import signal_caller
from workstation.errors import RunAlreadyActiveError
from workstation.events import events
from workstation.models.events import BacktestProgress, DoneEvent
from workstation.models.series import RunSeries
from workstation.reports.dump import dump_report
from workstation.reports.html import render_backtest_html
from workstation.reports.run_frame import RunFrame, close_at
from workstation.reports.series import compute_run_series
from workstation.reports.statistics import BacktestStatistics
from workstation.reports.trades_csv import trade_list_csv
from workstation.services.connections import (
    exchange_connections,
    frame_connections,
    risk_connections,
    risk_members,
    strategy_connections,
)
from workstation.storages import backtest_storage, clear_pair

SOURCE = "Backtest.run"

#: What ``Backtest.dump`` writes: the markdown report, the HTML report, the trade list as CSV.
REPORT_FORMATS: tuple[str, ...] = ("md", "html", "csv")


def validate_backtest_names(strategy_name: str, exchange_name: str, frame_name: str, source: str) -> None:
    """Check that the strategy, exchange, frame and every risk member are registered."""
    schema = registry.strategies.get(strategy_name, source)
    registry.exchanges.get(exchange_name, source)
    registry.frames.get(frame_name, source)
    for risk_name in risk_members(schema.risk_name, schema.risk_list):
        registry.risks.get(risk_name, source)


class BacktestUtils:
    """Backtests, one instance per ``symbol:strategy_name``."""

    def __init__(self) -> None:
        self._instances = RunInstances()
        self._frames: dict[str, RunFrame] = {}
        self._positions: dict[str, tuple[RunPosition, str, str]] = {}
        self._loop_turn_seconds = YIELD_EVERY_SECONDS

    def run(
        self, symbol: str, *, strategy_name: str, exchange_name: str, frame_name: str, config: Config | None = None
    ) -> AsyncIterator[Result]:
        """Validate every referenced name, then return the run's results as an async iterator.

        The iterator yields ``scheduled``, ``opened``, ``closed`` and ``cancelled`` results in order. The run uses
        ``config`` to the end, or a snapshot of the current config when None (SPEC §1): runs with their own
        costs side by side need not touch the application's config.
        """
        validate_backtest_names(strategy_name, exchange_name, frame_name, SOURCE)
        instance = self._instances.get(symbol, strategy_name)
        self._refuse_second_run(instance)
        context = MethodContext(strategy_name, exchange_name, frame_name, config or get_config())
        return ContextIterator(self._run(instance, context), context)

    def background(
        self, symbol: str, *, strategy_name: str, exchange_name: str, frame_name: str
    ) -> Callable[[], Awaitable[None]]:
        """Run on the running loop as a task; return a callable that requests a graceful stop."""
        asyncio.get_running_loop()
        instance = self._instances.get(symbol, strategy_name)
        if instance.task is not None and not instance.task.done() and instance.stop_callable is not None:
            return instance.stop_callable
        results = self.run(symbol, strategy_name=strategy_name, exchange_name=exchange_name, frame_name=frame_name)
        done = DoneEvent(
            symbol=symbol,
            strategy_name=strategy_name,
            exchange_name=exchange_name,
            frame_name=frame_name,
            backtest=True,
        )
        return run_in_background(
            instance,
            results,
            source="Backtest.background",
            on_done=lambda: events.done_backtest.emit(done),
            stop=lambda: self.stop(symbol, strategy_name),
        )

    def stop(self, symbol: str, strategy_name: str) -> Awaitable[None]:
        """Request a graceful stop: no new signals; the current signal is resolved first.

        The request takes effect at once (before any suspension), so awaiting it inside a callback is
        deterministic; awaiting the returned object is optional.
        """
        instance = self._instances.get(symbol, strategy_name)
        instance.stop_requested = True
        client = strategy_connections.peek(strategy_connections.key(symbol, strategy_name, True))
        if client is not None:
            client.stop()
        return Done()

    def list(self) -> list[TaskStatus]:
        """Return the status of every backtest instance in creation order."""
        return self._instances.list()

    async def get_data(self, symbol: str, strategy_name: str) -> BacktestStatistics:
        """Return the statistics of the closed signals of ``symbol:strategy_name``."""
        return backtest_storage.get_data(symbol, strategy_name, True)

    async def get_report(self, symbol: str, strategy_name: str) -> str:
        """Return the markdown report of ``symbol:strategy_name``."""
        return backtest_storage.get_report(symbol, strategy_name, True, max_rows=get_config().report_max_rows)

    async def dump(
        self, symbol: str, strategy_name: str, path: str | Path | None = None, *, format: str = "md"
    ) -> Path:
        """Write a report of ``symbol:strategy_name`` to ``path`` and return where it went.

        Parameters
        ----------
        symbol, strategy_name
            The pair whose last backtest to report.
        path
            Where to write; None for ``<user data dir>/reports/backtest/<symbol>_<strategy_name>.<format>``.
        format
            ``md``: the markdown report (SPEC §11.2); ``html``: the self-contained HTML report with charts (needs
            a run, see :meth:`get_series`); ``csv``: the trade list, every field of each closed result.

        Returns
        -------
        Path
            The file written (atomically: a temporary file, then a rename).

        Raises
        ------
        ValueError
            If ``format`` is not one of :data:`REPORT_FORMATS`, or for ``html`` when no backtest of the pair ran.
        OSError
            If the file cannot be written; the error names the path.
        """
        if format == "md":
            text = await self.get_report(symbol, strategy_name)
        elif format == "html":
            text = render_backtest_html(
                await self.get_data(symbol, strategy_name), await self.get_series(symbol, strategy_name)
            )
        elif format == "csv":
            text = trade_list_csv((await self.get_data(symbol, strategy_name)).signal_list)
        else:
            raise ValueError(f"format must be one of {', '.join(map(repr, REPORT_FORMATS))}, got {format!r}")
        return await dump_report(text, "backtest", symbol, strategy_name, path, extension=format)

    async def get_series(self, symbol: str, strategy_name: str) -> RunSeries:
        """Return the chart series of the last backtest of ``symbol:strategy_name`` (docs/series.md).

        Buy-and-hold compares the closes of the 1m candles opening at the frame's first and last tick, read through
        the run's exchange; it is None when the data lacks either candle.

        Raises
        ------
        ValueError
            If no backtest of ``symbol:strategy_name`` has started since the last reset.
        """
        frame = self._frames.get(f"{symbol}:{strategy_name}")
        if frame is None:
            raise ValueError(f"no backtest run recorded for symbol {symbol!r} and strategy {strategy_name!r}")
        exchange = exchange_connections.client(frame.exchange_name, True)
        return compute_run_series(
            backtest_storage.closed_results(symbol, strategy_name, True),
            symbol=symbol,
            strategy_name=strategy_name,
            exchange_name=frame.exchange_name,
            frame_start=frame.frame_start,
            frame_end=frame.frame_end,
            first_close=await close_at(exchange, symbol, frame.frame_start, frame.config),
            last_close=await close_at(exchange, symbol, frame.frame_end, frame.config),
        )

    @property
    def loop_turn_seconds(self) -> float:
        """How much work (seconds) a run started now does at most between two turns of the event loop."""
        return self._loop_turn_seconds

    def set_loop_turn(self, seconds: float) -> None:
        """Set how much work a run does at most before it gives the event loop a turn (default 0.02 s).

        A window on the same loop wants short turns, so that it repaints smoothly while a run works; a headless
        run wants the default, for throughput. Runs started afterwards use the new value; ``ws.reset()`` restores
        the default.

        Raises
        ------
        ValueError
            Unless ``0 < seconds <= 1``.
        """
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 < seconds <= 1:
            raise ValueError(f"seconds must be a number in (0, 1], got {seconds!r}")
        self._loop_turn_seconds = float(seconds)

    def get_progress(self, symbol: str, strategy_name: str) -> BacktestProgress | None:
        """Return how far the current (or last) backtest of ``symbol:strategy_name`` has got, or None if none ran.

        The figure is the one the run published when it last gave the event loop a turn (at least every 20 ms of
        work), so a view can poll it at any rate for free, unlike ``progress_backtest``, which is one event per
        frame. After the run it stays at its final value (``progress == 1.0``).
        """
        known = self._positions.get(f"{symbol}:{strategy_name}")
        if known is None:
            return None
        position, exchange_name, frame_name = known
        total = position.total_frames
        return BacktestProgress(
            symbol=symbol,
            strategy_name=strategy_name,
            exchange_name=exchange_name,
            frame_name=frame_name,
            total_frames=total,
            processed_frames=position.processed_frames,
            progress=position.processed_frames / total if total else 0.0,
            when=position.when,
        )

    def clear(self) -> None:
        """Cancel running background tasks and forget every instance and recorded run."""
        self._instances.clear()
        self._frames.clear()
        self._positions.clear()
        self._loop_turn_seconds = YIELD_EVERY_SECONDS

    @staticmethod
    def _refuse_second_run(instance: RunInstance) -> None:
        if instance.active:
            raise RunAlreadyActiveError(f"Backtest run for {instance.symbol}:{instance.name} is already active")

    async def _run(self, instance: RunInstance, context: MethodContext) -> AsyncIterator[Result]:
        self._refuse_second_run(instance)
        instance.active = True
        instance.stop_requested = False
        symbol, strategy_name = instance.symbol, context.strategy_name
        schema = registry.strategies.get(strategy_name, SOURCE)
        members = risk_members(schema.risk_name, schema.risk_list)
        try:
            clear_pair(symbol, strategy_name, True)
            strategy_connections.clear(strategy_connections.key(symbol, strategy_name, True))
            await _forget_risk_positions(members, strategy_name, symbol)
            ticks = await frame_connections.client(context.frame_name).timeframes()
            if len(ticks) == 0:
                raise ValueError(f'frame "{context.frame_name}" has no timeframes before now')
            self._frames[f"{symbol}:{strategy_name}"] = RunFrame(
                context.exchange_name, ticks.first, ticks.last, context.config
            )
            strategy = strategy_connections.client(
                symbol,
                strategy_name,
                exchange_name=context.exchange_name,
                frame_name=context.frame_name,
                backtest=True,
                config=context.config,
                get_signal=signal_caller(
                    schema.get_signal,
                    strategy_name=strategy_name,
                    timeout_seconds=context.config.max_signal_generation_seconds,
                ),
            )
            await strategy.wait_for_init()
            position = RunPosition()
            self._positions[f"{symbol}:{strategy_name}"] = (position, context.exchange_name, context.frame_name)
            job = BacktestJob(
                symbol=symbol,
                strategy=strategy,
                ticks=ticks,
                exchange_name=context.exchange_name,
                frame_name=context.frame_name,
                is_stopped=lambda: instance.stop_requested,
                position=position,
                loop_turn_seconds=self._loop_turn_seconds,
            )
            async for result in run_backtest(job):
                yield result
        finally:
            await _forget_risk_positions(members, strategy_name, symbol)
            instance.active = False


async def _forget_risk_positions(members: list[str], strategy_name: str, symbol: str) -> None:
    for risk_name in members:
        await risk_connections.client(risk_name, True).remove_signal(strategy_name, symbol)


Backtest = BacktestUtils()
