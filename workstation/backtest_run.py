"""One backtest run: the handle ``Backtest.run`` returns, holding everything that belongs to that run alone.

Runs of the same ``symbol:strategy_name`` may work side by side (two periods in two tabs, a walker beside a run
tab): each has its own stop flag, progress, strategy client, frame and results, so none reads or stops another.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from workstation.account.ledger import RunAccount, candle_closes
from workstation.account.report import AccountReport
from workstation.account.settings import AccountSettings
from workstation.clients.exchange import ClientExchange
from workstation.clients.strategy import ClientStrategy, Result
from workstation.config import get_config
from workstation.context import ContextIterator, MethodContext
from workstation.engine.backtest import RunPosition
from workstation.engine.instances import Done
from workstation.events import ListenerCheck, events
from workstation.models.events import BacktestProgress, CommitEvent
from workstation.models.position import PositionCommand
from workstation.models.results import CancelledResult, ClosedResult, OpenedResult, ScheduledResult
from workstation.models.series import RunSeries
from workstation.reports.backtest import BacktestReportStorage
from workstation.reports.run_frame import RunFrame, close_at
from workstation.reports.series import compute_run_series
from workstation.reports.statistics import BacktestStatistics, compute_backtest_statistics
from workstation.services.connections import emit_event, exchange_connections, publish
from workstation.timeutil import iso

logger = logging.getLogger("workstation.backtest")


class BacktestRun:
    """One backtest run: an async iterator of its results, with its own stop, progress, statistics and series.

    ``async for result in run`` yields the ``scheduled``, ``opened``, ``closed`` and ``cancelled`` results in
    order; the run starts working at the first step. Its figures cover this run only, whatever else runs.

    Attributes
    ----------
    run_id
        Unique in the process, increasing in the order runs are created.
    symbol, strategy_name, exchange_name, frame_name
        What the run trades, where and when.
    config
        The config snapshot the run uses to its end.
    commands
        The run's command log: every command that changed one of its positions (or waiting orders), in the order
        they took effect (:meth:`commands_of` gives one signal's).
    cancelled
        The limit orders that ended without a fill, in order: the chart marks them and the history stores them (a
        year's managed-limit run cancels about a thousand).
    same_minute_fills
        The ids of the limit orders that filled in the minute they were placed, in order: a closed position alone
        does not tell them from market orders (its ``scheduled_at`` equals its ``pending_at`` either way).
    account
        The run's account: it books each trade in money as the run closes it; once its equity is spent
        (``account.equity_spent_at``) the run opens no more positions.
    """

    def __init__(
        self,
        run_id: int,
        symbol: str,
        context: MethodContext,
        work: Callable[[BacktestRun], AsyncIterator[Result]],
        account: AccountSettings | None = None,
    ) -> None:
        self.run_id = run_id
        self.symbol = symbol
        self.strategy_name = context.strategy_name
        self.exchange_name = context.exchange_name
        self.frame_name = context.frame_name
        self.config = context.config
        self.stop_requested = False
        #: False once the run was stopped or its equity spent: the engine reads it before each tick (a plain
        #: attribute, read half a million times in a year's run).
        self.opens_positions = True
        #: Set by the run as it starts: its strategy client, its frame and how far it has got.
        self.strategy: ClientStrategy | None = None
        self.frame: RunFrame | None = None
        self.position: RunPosition | None = None
        self.commands: list[PositionCommand] = []
        self._commands_by_signal: dict[str, list[PositionCommand]] = {}
        self.cancelled: list[CancelledResult] = []
        self.same_minute_fills: list[str] = []
        self.account = RunAccount(account or AccountSettings(), context.config)
        # The limit orders placed and not filled or cancelled yet (one at a time in a backtest).
        self._waiting: set[str] = set()
        self._storage = BacktestReportStorage()
        #: Who listens to the result streams: the strategy client's `ListenerCheck`, taken at the first result.
        self._listened: ListenerCheck | None = None
        self._results = ContextIterator(work(self), context)

    def __aiter__(self) -> BacktestRun:
        return self

    async def __anext__(self) -> Result:
        return await self._results.__anext__()

    async def aclose(self) -> None:
        """End the run where it is (its clean-up runs); a run that never started does nothing."""
        await self._results.aclose()

    def publish(self, result: Result) -> None:
        """Keep what the run's statistics, chart and history need, then emit ``result`` on the event hub."""
        if isinstance(result, ClosedResult):
            self._storage.add_closed(result)
            self._book(result)
        elif isinstance(result, ScheduledResult):
            self._waiting.add(result.signal.id)
        elif isinstance(result, OpenedResult):
            signal = result.signal
            if signal.id in self._waiting:
                self._waiting.discard(signal.id)
                if signal.pending_at == signal.scheduled_at:
                    self.same_minute_fills.append(signal.id)
        elif isinstance(result, CancelledResult):
            self._waiting.discard(result.signal.id)
            self.cancelled.append(result)
        listened = self._listened
        if listened is None:
            listened = self._listened = self._listener_check()
        if not result.backtest or listened("signal_backtest"):
            publish(result)
            return
        # `publish` as the storages alone hear it: no listener on signal_backtest subscribes anything before the
        # signal stream is asked, so the check just renewed answers for it too.
        events.deliver_heard("signal_backtest", result, False)
        events.deliver_heard("signal", result, listened.given("signal"))

    def _listener_check(self) -> ListenerCheck:
        listened = None if self.strategy is None else self.strategy.event_listened
        return listened if isinstance(listened, ListenerCheck) else ListenerCheck(events)

    def open_account(self, first_tick: int) -> None:
        """Open the run's account at its first tick: a starting balance that cannot pay a position stops the run."""
        self.account.open_at(first_tick)
        self._check_spent()

    def _book(self, result: ClosedResult) -> None:
        if not self.account.spent:
            self.account.book(result)
            self._check_spent()

    def _check_spent(self) -> None:
        account = self.account
        if account.equity_spent_at is None or not self.opens_positions:
            return
        # The engine reads `opens_positions` before each tick: the run goes no further.
        self.opens_positions = False
        logger.warning(
            "%s:%s: equity spent at %s: the balance %.2f cannot pay for the next position; "
            "the run opens no more positions",
            self.symbol,
            self.strategy_name,
            iso(account.equity_spent_at),
            account.balance,
        )

    def emit(self, name: str, payload: object) -> None:
        """Keep a commit event in the run's command log, then emit ``payload`` on the hub's stream ``name``."""
        if isinstance(payload, CommitEvent):
            self.log_command(payload.command())
        emit_event(name, payload)

    def log_command(self, command: PositionCommand) -> None:
        """Keep ``command`` in the run's command log (one whose commit event no one receives comes here alone)."""
        self.commands.append(command)
        self._commands_by_signal.setdefault(command.signal_id, []).append(command)

    def commands_of(self, signal_id: str) -> list[PositionCommand]:
        """Return the commands that changed signal ``signal_id`` of this run, in order (empty: none, or not ours)."""
        return list(self._commands_by_signal.get(signal_id, ()))

    def stop(self) -> Awaitable[None]:
        """Request a graceful stop of this run: no new signals; the current signal is resolved first.

        Takes effect at once (before any suspension); awaiting the returned object is optional.
        """
        self.stop_requested = True
        self.opens_positions = False
        if self.strategy is not None:
            self.strategy.stop()
        return Done()

    def get_progress(self) -> BacktestProgress | None:
        """Return how far the run has got (as of its last turn of the event loop), or None before it started."""
        position = self.position
        if position is None:
            return None
        total = position.total_frames
        return BacktestProgress(
            symbol=self.symbol,
            strategy_name=self.strategy_name,
            exchange_name=self.exchange_name,
            frame_name=self.frame_name,
            total_frames=total,
            processed_frames=position.processed_frames,
            progress=position.processed_frames / total if total else 0.0,
            when=position.when,
        )

    async def get_data(self) -> BacktestStatistics:
        """Return the statistics of the signals this run closed so far.

        They are computed in a worker thread from a copy of the closed results taken now: a year's run closes
        thousands of trades, and a window on this event loop asks for them while the run works (tens of ms of
        work that would otherwise stall it).
        """
        closed = self._storage.closed_results(self.symbol, self.strategy_name, True)
        return await asyncio.to_thread(compute_backtest_statistics, closed)

    async def get_report(self) -> str:
        """Return the markdown report of this run (its table cut to the config's ``report_max_rows``)."""
        return self._storage.get_report(self.symbol, self.strategy_name, True, max_rows=get_config().report_max_rows)

    def _started(self) -> tuple[RunFrame, ClientExchange]:
        """Return the run's frame and its exchange client; raise ValueError before the run has started."""
        frame = self.frame
        if frame is None:
            raise ValueError(f"backtest run #{self.run_id} of {self.symbol}:{self.strategy_name} has not started")
        return frame, exchange_connections.client(frame.exchange_name, True)

    async def get_account(self) -> AccountReport:
        """Return this run's account in money (`ws.AccountReport`): its trades, curves and figures so far.

        Open positions are marked to market at each UTC midnight with the close of the run's 1m candle.

        Raises
        ------
        ValueError
            If the run has not started yet (its frame is not known).
        """
        frame, exchange = self._started()
        closes = candle_closes(exchange, self.symbol, frame.config)
        return await self.account.report(frame.frame_start, frame.frame_end, closes)

    async def get_series(self) -> RunSeries:
        """Return the chart series of this run (docs/series.md), computed in a worker thread as `get_data` is.

        Raises
        ------
        ValueError
            If the run has not started yet (its frame is not known).
        """
        frame, exchange = self._started()
        closed = self._storage.closed_results(self.symbol, self.strategy_name, True)
        series = functools.partial(
            compute_run_series,
            closed,
            symbol=self.symbol,
            strategy_name=self.strategy_name,
            exchange_name=frame.exchange_name,
            frame_start=frame.frame_start,
            frame_end=frame.frame_end,
            first_close=await close_at(exchange, self.symbol, frame.frame_start, frame.config),
            last_close=await close_at(exchange, self.symbol, frame.frame_end, frame.config),
        )
        return await asyncio.to_thread(series)
