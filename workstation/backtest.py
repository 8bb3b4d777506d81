"""``ws.Backtest``: run, background, stop, list and report backtests (SPEC §17 run instances)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from workstation import registry
from workstation.account.report import AccountReport
from workstation.account.settings import AccountSettings
from workstation.backtest_run import BacktestRun
from workstation.clients.risk import position_key
from workstation.clients.strategy import Result
from workstation.config import Config, get_config
from workstation.context import MethodContext
from workstation.engine.backtest import YIELD_EVERY_SECONDS, BacktestJob, RunPosition, run_backtest
from workstation.engine.instances import Done, RunInstances, TaskStatus, run_in_background
from workstation.engine.signal_call import signal_caller
from workstation.events import events
from workstation.gc_pacing import full_collections_deferred
from workstation.models.events import BacktestProgress, DoneEvent
from workstation.models.series import RunSeries
from workstation.reports.backtest import BacktestReportStorage, backtest_report
from workstation.reports.dump import dump_report
from workstation.reports.html import render_backtest_html
from workstation.reports.run_frame import RunFrame
from workstation.reports.statistics import BacktestStatistics, compute_backtest_statistics
from workstation.reports.trades_csv import trade_list_csv
from workstation.services.connections import (
    frame_connections,
    risk_connections,
    risk_members,
    strategy_connections,
)
from workstation.storages import clear_pair

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
    """Backtests: each ``run`` is a :class:`BacktestRun` of its own; the pair methods speak of the latest run.

    Runs of one ``symbol:strategy_name`` may work side by side. ``get_data``, ``get_report``, ``get_series``,
    ``get_progress`` and ``dump`` of a pair answer for the latest run of that pair started (SPEC §17); ``stop`` of a
    pair stops each of its runs working now. ``background`` keeps one task per pair for ``list``.
    """

    def __init__(self) -> None:
        self._instances = RunInstances()
        self._latest: dict[str, BacktestRun] = {}
        self._working: list[BacktestRun] = []
        self._run_count = 0
        self._loop_turn_seconds = YIELD_EVERY_SECONDS

    def run(
        self,
        symbol: str,
        *,
        strategy_name: str,
        exchange_name: str,
        frame_name: str,
        config: Config | None = None,
        account: AccountSettings | None = None,
    ) -> BacktestRun:
        """Validate every referenced name, then return the run: an async iterator of its results.

        The run yields ``scheduled``, ``opened``, ``closed`` and ``cancelled`` results in order, from its first
        step. It uses ``config`` to the end, or a snapshot of the current config when None (SPEC §1): runs with
        their own costs side by side need not touch the application's config. The returned
        :class:`BacktestRun` also stops the run and answers for it alone (``get_progress``, ``get_data``,
        ``get_report``, ``get_series``, ``get_account``), whatever else runs. ``account`` is the run's starting
        balance and sizing (10,000 at the config's fixed cost when None): a run whose equity is spent opens no more
        positions.
        """
        validate_backtest_names(strategy_name, exchange_name, frame_name, SOURCE)
        self._run_count += 1
        context = MethodContext(strategy_name, exchange_name, frame_name, config or get_config())
        return BacktestRun(self._run_count, symbol, context, self._work, account)

    def background(
        self, symbol: str, *, strategy_name: str, exchange_name: str, frame_name: str
    ) -> Callable[[], Awaitable[None]]:
        """Run on the running loop as a task; return a callable that requests a graceful stop."""
        asyncio.get_running_loop()
        instance = self._instances.get(symbol, strategy_name)
        if instance.task is not None and not instance.task.done() and instance.stop_callable is not None:
            return instance.stop_callable
        run = self.run(symbol, strategy_name=strategy_name, exchange_name=exchange_name, frame_name=frame_name)
        done = DoneEvent(
            symbol=symbol,
            strategy_name=strategy_name,
            exchange_name=exchange_name,
            frame_name=frame_name,
            backtest=True,
        )
        return run_in_background(
            instance,
            run,
            source="Backtest.background",
            on_done=lambda: events.done_backtest.emit(done),
            stop=run.stop,
        )

    def stop(self, symbol: str, strategy_name: str) -> Awaitable[None]:
        """Request a graceful stop of every run of the pair working now (:meth:`BacktestRun.stop` stops one).

        The request takes effect at once (before any suspension), so awaiting it inside a callback is
        deterministic; awaiting the returned object is optional.
        """
        for run in self._working:
            if (run.symbol, run.strategy_name) == (symbol, strategy_name):
                run.stop()
        return Done()

    def list(self) -> list[TaskStatus]:
        """Return the status of every background backtest in creation order."""
        return self._instances.list()

    def latest(self, symbol: str, strategy_name: str) -> BacktestRun | None:
        """Return the latest run of ``symbol:strategy_name`` started since the last reset, or None."""
        return self._latest.get(f"{symbol}:{strategy_name}")

    async def get_data(self, symbol: str, strategy_name: str) -> BacktestStatistics:
        """Return the statistics of the closed signals of the latest run of ``symbol:strategy_name``."""
        run = self.latest(symbol, strategy_name)
        return compute_backtest_statistics([]) if run is None else await run.get_data()

    def _started(self, symbol: str, strategy_name: str) -> BacktestRun:
        """Return the latest run of ``symbol:strategy_name`` that has started; raise ValueError when there is none."""
        run = self.latest(symbol, strategy_name)
        if run is None or run.frame is None:
            raise ValueError(f"no backtest run recorded for symbol {symbol!r} and strategy {strategy_name!r}")
        return run

    async def get_account(self, symbol: str, strategy_name: str) -> AccountReport:
        """Return the account in money (`ws.AccountReport`) of the latest run of ``symbol:strategy_name``.

        Raises
        ------
        ValueError
            If no backtest of ``symbol:strategy_name`` has started since the last reset.
        """
        run = self._started(symbol, strategy_name)
        return await run.get_account()

    async def get_report(self, symbol: str, strategy_name: str, *, with_account: bool = False) -> str:
        """Return the markdown report of the latest run of ``symbol:strategy_name``.

        By default SPEC §11.2's per-trade report; ``with_account`` puts the run's account in money first (the report
        a trader reads: the CLI prints it and ``dump`` writes it).
        """
        run = self.latest(symbol, strategy_name)
        if run is None:
            return BacktestReportStorage().get_report(symbol, strategy_name, True, max_rows=1)
        if not with_account or run.frame is None:
            return await run.get_report()
        return backtest_report(
            await run.get_data(),
            symbol,
            strategy_name,
            max_rows=get_config().report_max_rows,
            account=await run.get_account(),
        )

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
            ``md``: the markdown report (the account, then SPEC §11.2); ``html``: the self-contained HTML report (needs
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
            text = await self.get_report(symbol, strategy_name, with_account=True)
        elif format == "html":
            text = render_backtest_html(
                await self.get_data(symbol, strategy_name),
                await self.get_series(symbol, strategy_name),
                await self.get_account(symbol, strategy_name),
            )
        elif format == "csv":
            text = trade_list_csv((await self.get_data(symbol, strategy_name)).signal_list)
        else:
            raise ValueError(f"format must be one of {', '.join(map(repr, REPORT_FORMATS))}, got {format!r}")
        return await dump_report(text, "backtest", symbol, strategy_name, path, extension=format)

    async def get_series(self, symbol: str, strategy_name: str) -> RunSeries:
        """Return the chart series of the latest run of ``symbol:strategy_name`` (docs/series.md).

        Buy-and-hold compares the closes of the 1m candles opening at the frame's first and last tick, read through
        the run's exchange; it is None when the data lacks either candle.

        Raises
        ------
        ValueError
            If no backtest of ``symbol:strategy_name`` has started since the last reset.
        """
        run = self._started(symbol, strategy_name)
        return await run.get_series()

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
        """Return how far the latest run of ``symbol:strategy_name`` has got, or None if none ran.

        The figure is the one the run published when it last gave the event loop a turn (at least every 20 ms of
        work), so a view can poll it at any rate for free, unlike ``progress_backtest``, which is one event per
        frame. After the run it stays at its final value (``progress == 1.0``).
        """
        run = self.latest(symbol, strategy_name)
        return None if run is None else run.get_progress()

    def clear(self) -> None:
        """Cancel running background tasks and forget every run."""
        self._instances.clear()
        self._latest.clear()
        self._working.clear()
        self._loop_turn_seconds = YIELD_EVERY_SECONDS

    async def _work(self, run: BacktestRun) -> AsyncIterator[Result]:
        symbol, strategy_name = run.symbol, run.strategy_name
        schema = registry.strategies.get(strategy_name, SOURCE)
        members = risk_members(schema.risk_name, schema.risk_list)
        risk_key = position_key(strategy_name, symbol, run.run_id)
        self._latest[f"{symbol}:{strategy_name}"] = run
        self._working.append(run)
        # The records a run keeps for its reports would make each full collection walk them all (gc_pacing).
        with full_collections_deferred():
            try:
                clear_pair(symbol, strategy_name, True)
                ticks = await frame_connections.client(run.frame_name).timeframes()
                if len(ticks) == 0:
                    raise ValueError(f'frame "{run.frame_name}" has no timeframes before now')
                run.frame = RunFrame(run.exchange_name, ticks.first, ticks.last, run.config)
                run.open_account(ticks.first)
                strategy = strategy_connections.create(
                    symbol,
                    strategy_name,
                    exchange_name=run.exchange_name,
                    frame_name=run.frame_name,
                    backtest=True,
                    config=run.config,
                    get_signal=signal_caller(
                        schema.get_signal,
                        strategy_name=strategy_name,
                        timeout_seconds=run.config.max_signal_generation_seconds,
                    ),
                    publish=run.publish,
                    emit=run.emit,
                    run_id=run.run_id,
                )
                # A commit event no one would receive is not built: the run logs its command alone.
                strategy.manager.log_command = run.log_command
                strategy.manager.commit_heard = functools.partial(events.delivers, "commit")
                if run.stop_requested:
                    strategy.stop()
                run.strategy = strategy
                await strategy.wait_for_init()
                run.position = RunPosition()
                job = BacktestJob(
                    symbol=symbol,
                    strategy=strategy,
                    ticks=ticks,
                    exchange_name=run.exchange_name,
                    frame_name=run.frame_name,
                    is_stopped=lambda: not run.opens_positions,
                    position=run.position,
                    run_id=run.run_id,
                    loop_turn_seconds=self._loop_turn_seconds,
                )
                async for result in run_backtest(job):
                    yield result
            finally:
                for risk_name in members:
                    await risk_connections.client(risk_name, True).remove_signal(risk_key)
                if run in self._working:
                    self._working.remove(run)


Backtest = BacktestUtils()
