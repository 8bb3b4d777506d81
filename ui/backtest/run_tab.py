"""One run tab: the candle chart with the run's whole signal lifecycle, and beside it what the run produced.

A run tab either drives a backtest (``run``), showing results as they arrive, or shows a stored run from the
history (``show_stored``) without re-running it. While a run works the trade list grows at every flush of the
bridge, the chart's marks twice a second, and statistics, curves, histogram and monthly returns every two seconds;
all of them once more at its end. The status line counts the trades the table shows, and the chart follows the
newest trade until the trader moves it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QSplitter, QTabWidget, QVBoxLayout, QWidget

import workstation as ws
from ui.backtest.monte_carlo_page import MonteCarloPage
from ui.bridge import RunFeed
from ui.charts.candle_chart import CandleChart
from ui.charts.candle_item import ChartPalette
from ui.charts.curves import EquityCurves, PnlHistogram
from ui.charts.marks import SignalMarksBuilder
from ui.widgets.formatting import price_decimals
from ui.widgets.lazy_page import LazyPage
from ui.widgets.monthly_table import MonthlyReturnsTable
from ui.widgets.statistics_table import StatisticsTable
from ui.widgets.status_label import StatusLabel
from ui.widgets.trade_table import TradeTableView

RunState = Literal["Preparing", "Running", "Stopping", "Finished", "Stopped", "Failed"]

#: How long a new run tab waits, so it is drawn before the run starts working.
FIRST_PAINT_SECONDS = 0.05
#: How far before the period the chart's candles are read (see `candles_with_warm_up`).
WARM_UP = timedelta(days=1)
#: While a run works, its results are shown in beats of this length (seconds), each beat doing one kind of update:
#: even beats redraw the chart's marks; every eighth beat from the first recomputes the statistics and curves when
#: trades closed since; the other odd beats show the trades staged in the table. So the chart's, the table's and
#: the figures' repaints never add up in one turn of the event loop, however fast the results come.
VIEW_BEAT_SECONDS = 0.25


async def candles_with_warm_up(exchange_name: str, symbol: str, start: datetime, end: datetime) -> tuple[Any, int]:
    """Return the 1m candles from ``start`` to ``end``, read with a day before them when the data has one, and the
    index of the candle at ``start``.

    The strategy's first windows reach back before the period; reading that day now puts it in the same cached
    block as the period, so the run does not have to prepend it to a year of candles (a copy that would stall
    the GUI) when it starts. The indicators are computed over it too, so they have values from the period's
    first candle on, as the strategy had.
    """
    try:
        candles = await ws.fetch_candles(exchange_name, symbol, start - WARM_UP, end)
    except ws.CandleWindowError:
        return await ws.fetch_candles(exchange_name, symbol, start, end), 0
    return candles, int(np.searchsorted(candles["timestamp"], int(start.timestamp() * 1000)))


@dataclass(frozen=True)
class RunIdentity:
    """What a run tab ran: the pair, where, and the request (None for a tab opened from the history)."""

    symbol: str
    strategy_name: str
    exchange_name: str
    request: ws.BacktestRequest | None


class RunTab(QWidget):
    """Chart, trades, statistics, curves and monthly returns of one backtest run."""

    state_changed = Signal(str)
    progress_changed = Signal(object)
    error_raised = Signal(str)

    def __init__(self, palette: ChartPalette, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state: RunState = "Preparing"
        # The status line's own text for the state, or None: the state with the count of trades shown.
        self._state_message: str | None = "Preparing…"
        self.identity: RunIdentity | None = None
        self.started_at_ms = 0
        self.error_message = ""
        #: Why the request could not be prepared (a period its candles do not fit), for the form to show.
        self.preparation_error: ws.PreparationError | None = None
        #: Whether the engine started working on the run (a run stopped while preparing never does).
        self.engine_started = False
        #: The engine's run this tab drives (None for a tab opened from the history): its own stop and figures,
        #: whatever else runs the same strategy.
        self.backtest_run: ws.BacktestRun | None = None
        self._marks = SignalMarksBuilder()
        #: How many commands of the run's command log the marks have taken in.
        self._commands_marked = 0
        self._stop_requested = False
        #: The errors the engine reported for this tab's run while it ran (its strategy raised, a candle was missing).
        self.error_count = 0
        self._last_beat = -1
        self._summary_stale = False
        # The latest summary refresh, referenced so that the task cannot be collected while it runs.
        self._summary_task: asyncio.Future[None] | None = None
        self._indicators_task: asyncio.Future[None] | None = None

        self.status = StatusLabel("Preparing…", self)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.chart = CandleChart(self)
        self.chart.set_palette(palette)
        self.trades = TradeTableView(self)
        self.statistics = StatisticsTable(self)
        self._palette = palette
        self._palette_pending = False
        self._series: ws.RunSeries | None = None
        #: The run's account in money (None before its first summary, and while a stored run's is being booked).
        self.account: ws.AccountReport | None = None
        #: How the run sized its positions (None until known): a sizing that follows the equity compounds.
        self.account_settings: ws.AccountSettings | None = None
        # The two chart pages are hidden when a tab opens: they are built when first shown (a third of the cost).
        self.curves: EquityCurves | None = None
        self.histogram: PnlHistogram | None = None
        self.curves_page = LazyPage(self._build_curves)
        self.histogram_page = LazyPage(self._build_histogram)
        # The Monte Carlo paths are drawn once the run has ended, and only when the page is first looked at.
        self.monte_carlo: MonteCarloPage | None = None
        self.monte_carlo_page = LazyPage(self._build_monte_carlo)
        self._monte_carlo_account: ws.AccountReport | None = None
        #: The drawing of the paths, referenced so that it cannot be collected while it works.
        self.monte_carlo_task: asyncio.Future[None] | None = None
        self.monthly = MonthlyReturnsTable(self)
        self.details = QTabWidget(self)
        self.details.addTab(self.trades, "Trades")
        self.details.addTab(self.statistics, "Statistics")
        self.details.addTab(self.curves_page, "Equity")
        self.details.addTab(self.histogram_page, "PnL histogram")
        self.details.addTab(self.monthly, "Monthly returns")
        self.details.addTab(self.monte_carlo_page, "Robustness")
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.chart)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([600, 400])  # proportions: the details get room for the equity and drawdown curves
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)
        self.trades.trade_activated.connect(self._centre_on_trade)
        for change in (self.trades.model.rowsInserted, self.trades.model.modelReset):
            change.connect(self._show_status)
        self.trades.error_raised.connect(self.error_raised)

    @property
    def running(self) -> bool:
        """Tell whether the tab's run is still working (a stop may be pending)."""
        return self.state in ("Preparing", "Running", "Stopping")

    def title(self) -> str:
        """Return the tab's caption: strategy · symbol."""
        if self.identity is None:
            return "New run"
        return f"{self.identity.strategy_name} · {self.identity.symbol}"

    async def run(self, request: ws.BacktestRequest) -> None:
        """Run ``request`` to its end, showing results as they arrive.

        Engine and data errors end the run in state ``Failed`` with the message in the status line (they are also
        on ``ws.events.error`` for the Log dock). Cancellation (the window closing) propagates after the engine
        has cleaned up. Full garbage collections wait until the run has ended (``ws.full_collections_deferred``).
        """
        with ws.full_collections_deferred():
            await self._run(request)

    async def _run(self, request: ws.BacktestRequest) -> None:
        self.started_at_ms = int(time.time() * 1000)
        try:
            # The new tab is drawn first (its first paint is the costliest); then the run's work begins.
            await asyncio.sleep(FIRST_PAINT_SECONDS)
            prepared = await ws.prepare_backtest(request)
            self.identity = RunIdentity(prepared.symbol, prepared.strategy_name, prepared.exchange_name, request)
            self._set_state("Preparing", f"Loading candles of {prepared.symbol}…")
            read, first = await candles_with_warm_up(
                prepared.exchange_name, prepared.symbol, request.start, request.end
            )
            candles = read[first:]
            await asyncio.sleep(0)  # the last read and drawing the candles are two stretches of work, not one
            self.trades.set_price_decimals(price_decimals(candles["close"]))
            self.chart.set_candles(candles)
            self.chart.set_following(True)
            # Off the GUI thread, while the run works: a year of 1m candles takes a moment per line.
            self._indicators_task = asyncio.ensure_future(self.show_indicators(prepared.strategy_name, read, first))
            await asyncio.sleep(0.02)  # let the chart paint before the engine's first stretch of work
            if self._stop_requested:
                self._set_state("Stopped", "Stopped before the run started")
                return
            self.backtest_run = prepared.run()
            self.account_settings = self.backtest_run.account.settings
            self.trades.set_command_source(self.backtest_run.commands_of)
            feed = RunFeed(self.backtest_run, self)
            feed.results_flushed.connect(self._add_results)
            feed.progress_changed.connect(self.progress_changed)
            self._set_state("Running")
            self.engine_started = True
            stop_counting = ws.listen_error(self._count_error)
            try:
                await feed.pump()
            finally:
                stop_counting()
                self.trades.commit()  # however the run ended, the table shows every trade it closed
            await self._indicators_task  # the ended run's chart has its indicators
            await self._show_outcome()
        except asyncio.CancelledError:
            self._set_state("Stopped", "Cancelled: the window closed during the run")
            raise
        except Exception as exc:
            if isinstance(exc, ws.PreparationError):
                self.preparation_error = exc
            self.error_message = f"{type(exc).__name__}: {exc}"
            self._set_state("Failed", f"Failed: {self.error_message}")
            return
        self._set_state("Stopped" if self._stop_requested else "Finished")

    async def _show_outcome(self) -> None:
        """Draw the ended run: every mark, the overview of every trade, the statistics and curves."""
        await asyncio.sleep(0)
        self._redraw_marks()
        for _ in self.chart.overview_steps():
            await asyncio.sleep(0)
        if self.chart.is_following():
            self.chart.show_all()  # the trader zooms in from there; a view the trader chose is kept
        self.chart.set_following(False)
        await asyncio.sleep(0)
        await self._show_summary()

    async def show_indicators(
        self, strategy_name: str, candles: Any, first: int = 0, params: dict[str, Any] | None = None
    ) -> None:
        """Draw the indicators ``strategy_name`` declares, computed off the GUI thread over ``candles``.

        ``params`` build a built-in strategy as a request gives them; the chart shows the values from candle
        ``first`` on (the chart's first candle). A bad indicator is left out and said so above the chart (and in the
        log); it never affects the run. So is a strategy that cannot be found (a stored run of a strategy file not
        loaded now).
        """
        try:
            values = await asyncio.to_thread(ws.strategy_indicators, strategy_name, candles, params)
        except Exception as exc:
            values = ws.IndicatorValues(
                problems=(f'strategy "{strategy_name}": indicators not computed: {type(exc).__name__}: {exc}',)
            )
        self.chart.set_indicators(values.from_candle(first))

    def request_stop(self) -> None:
        """Ask the run to stop gracefully: no new signals; an open position is managed to its end (SPEC §15.5)."""
        if not self.running or self._stop_requested:
            return
        self._stop_requested = True
        if self.backtest_run is not None:
            self.backtest_run.stop()
        self._set_state("Stopping")

    def show_stored(self, stored: ws.StoredRun, candles: Any | None) -> None:
        """Show a run from the history: its candles (None when the exchange cannot serve them), trades, figures, each
        trade's command log and managed levels (when the history kept the run's commands), and every limit order it
        placed (the cancelled ones when the history kept them)."""
        summary = stored.summary
        self.identity = RunIdentity(summary.symbol, summary.strategy_name, summary.exchange_name, None)
        if candles is not None:
            self.chart.set_candles(candles)
        prices = candles["close"] if candles is not None else [r.current_price for r in stored.closed_results]
        self.trades.set_price_decimals(price_decimals(np.asarray(prices, dtype=np.float64)))
        self._marks.add_stored(stored)
        self.trades.set_command_source(stored.commands_of)
        self.trades.append(stored.closed_results)
        self.chart.set_marks(self._marks.marks())
        self._apply_summary(stored.statistics, stored.series)
        state: RunState = "Stopped" if summary.state == "stopped" else "Finished"
        self._set_state(state, f"{state} (from the history, run #{summary.id})")

    async def show_stored_account(self, stored: ws.StoredRun) -> None:
        """Book a stored run's trades again under its stored account, then show its money (``show_stored`` first).

        Marking open positions to market reads candles, so this runs after the tab is drawn.
        """
        self.account_settings, _costs = ws.stored_account_settings(stored.parameters)
        account = await stored.get_account()
        self.statistics.set_statistics(stored.statistics, stored.series, account)
        self._apply_series(stored.series, account)
        self._start_monte_carlo()

    def _add_results(self, batch: list[Any]) -> None:
        self._mark_new_commands()
        self._marks.add(batch)
        closed = [result for result in batch if isinstance(result, ws.ClosedResult)]
        if closed:
            self.trades.stage(closed)
            self._summary_stale = True
        beat = int(time.monotonic() / VIEW_BEAT_SECONDS)
        if beat == self._last_beat:
            return
        self._last_beat = beat
        if beat % 2 == 0:
            QTimer.singleShot(0, self._redraw_marks)  # in a turn of its own, after this flush's work
        elif beat % 8 == 1 and self._summary_stale and self.identity is not None:
            self._summary_stale = False
            self._summary_task = asyncio.ensure_future(self._show_summary())
        else:
            self.trades.commit()

    def set_palette(self, palette: ChartPalette) -> None:
        """Draw every chart of the tab in ``palette`` (a theme change); a hidden tab does it when next shown.

        Recolouring a chart's items costs about 10 ms: with a dozen tabs open, a theme switch would stall the
        window for the tabs nobody sees.
        """
        self._palette = palette
        self._palette_pending = not self.isVisible()
        if not self._palette_pending:
            self._apply_palette()

    def showEvent(self, event: QShowEvent) -> None:
        """Catch up with a theme switch made while the tab was hidden."""
        if self._palette_pending:
            self._palette_pending = False
            self._apply_palette()
        super().showEvent(event)

    def _apply_palette(self) -> None:
        palette = self._palette
        self.chart.set_palette(palette)
        if self.curves is not None:
            self.curves.set_palette(palette)
        if self.histogram is not None:
            self.histogram.set_palette(palette)
        if self.monte_carlo is not None:
            self.monte_carlo.set_palette(palette)

    def _build_curves(self) -> EquityCurves:
        self.curves = EquityCurves(palette=self._palette)
        self.curves.set_series(self._series, self.account)
        return self.curves

    def _build_monte_carlo(self) -> MonteCarloPage:
        self.monte_carlo = MonteCarloPage(self._palette)
        if self.running:
            self.monte_carlo.status.setText("The paths are drawn from the run's closed trades once it has ended.")
        self._start_monte_carlo()
        return self.monte_carlo

    def _start_monte_carlo(self) -> None:
        """Draw the Monte Carlo paths of the ended run's account, once per account, when the page exists."""
        page, account, settings = self.monte_carlo, self.account, self.account_settings
        if page is None or account is None or settings is None or self.running or account is self._monte_carlo_account:
            return
        self._monte_carlo_account = account
        # Sizing that follows the equity compounds each trade's return; a fixed cost per trade adds its money.
        compounding = settings.sizing.method != "fixed_cost"
        self.monte_carlo_task = asyncio.ensure_future(
            page.compute(account.trades, account.starting_balance, compounding=compounding)
        )

    def _build_histogram(self) -> PnlHistogram:
        self.histogram = PnlHistogram(palette=self._palette)
        self.histogram.set_series(self._series)
        return self.histogram

    def _mark_new_commands(self) -> None:
        """Take in the commands the run carried out since the last time (they come before their position closes)."""
        run = self.backtest_run
        if run is None or len(run.commands) == self._commands_marked:
            return
        self._marks.add(run.commands[self._commands_marked :])
        self._commands_marked = len(run.commands)

    def _redraw_marks(self) -> None:
        self._mark_new_commands()
        self.chart.set_marks(self._marks.marks())

    async def _show_summary(self) -> None:
        run = self.backtest_run
        if run is None:
            return
        # Each step of a long run's summary takes a few to tens of ms: the GUI gets a turn between them.
        statistics = await run.get_data()
        await asyncio.sleep(0)
        try:
            series = await run.get_series()
        except ValueError:
            series = None
        await asyncio.sleep(0)
        try:
            account: ws.AccountReport | None = await run.get_account()
        except ValueError:
            account = None  # the run stopped before its frame was known
        await asyncio.sleep(0)
        self.statistics.set_statistics(statistics, series, account)
        await asyncio.sleep(0)
        self._apply_series(series, account)

    def _apply_summary(self, statistics: ws.BacktestStatistics, series: ws.RunSeries | None) -> None:
        self.statistics.set_statistics(statistics, series)
        self._apply_series(series, None)

    def _apply_series(self, series: ws.RunSeries | None, account: ws.AccountReport | None) -> None:
        self._series = series
        self.account = account
        if self.curves is not None:
            self.curves.set_series(series, account)
        if self.histogram is not None:
            self.histogram.set_series(series)
        if series is not None:
            self.monthly.set_monthly(series.monthly_returns)

    def _centre_on_trade(self, result: ws.ClosedResult) -> None:
        opened = result.signal.pending_at if result.signal.pending_at is not None else result.close_timestamp
        self.chart.show_span(opened, result.close_timestamp)

    def _set_state(self, state: RunState, message: str | None = None) -> None:
        self.state = state
        self._state_message = message
        self._show_status()
        self.state_changed.emit(state)
        if not self.running:
            self._start_monte_carlo()

    def _count_error(self, event: ws.ErrorEvent) -> None:
        # Another tab may run the same pair at the same time: only this tab's own run counts.
        run = self.backtest_run
        if run is not None and event.run_id == run.run_id:
            self.error_count += 1

    def _show_status(self) -> None:
        # The count is the table's rows: trades staged for the table are not counted until it shows them.
        count = self.trades.model.rowCount()
        # A run whose strategy raised did not do what it was asked: its end says so, in the warning colour.
        ended_with_errors = self.state in ("Finished", "Stopped") and self.error_count > 0
        errors = f" with {self.error_count:,} error{'s' if self.error_count != 1 else ''}" if ended_with_errors else ""
        # A run whose balance could no longer pay for a position stopped opening them: its end says when.
        spent = self.backtest_run.account.equity_spent_at if self.backtest_run is not None else None
        spent_text = "" if spent is None else f" · equity spent on {_minute_text(spent)}: no position opened after it"
        self.status.setText(self._state_message or f"{self.state}{errors} · {count} closed signals{spent_text}")
        self.status.set_warning(ended_with_errors or bool(spent_text))


def _minute_text(timestamp: int) -> str:
    """Return epoch ms as ``YYYY-MM-DD HH:MM UTC``."""
    return datetime.fromtimestamp(timestamp / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
