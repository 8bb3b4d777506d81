"""The live view: every live and paper run, the chart of the one in front, its levels, the blotter, the restore banner.

All engine events come through one ``LiveFeed`` and reach the parts in the same batch, at most twenty times a
second. Start, Stop and Stop all are actions, so the window can put them in its toolbar and menus. Stop is graceful
(SPEC §15.5): a run shows ``stopping`` from the press until the engine reports it ended, which for an open position
is when that position closes.

The trader's manual commands on the current run (close now, close part, breakeven, trail, add, cancel, fill, pause,
resume) are actions too (``manual``), in the run row's and the chart's context menus and the toolbar: each opens a
confirmation that previews the command (``ws.Live.preview``) and sends it on Confirm (``ws.Live.command``). An action
the run would refuse is disabled with the reason as its tooltip (``ws.Live.refusals``, asked again whenever a batch
of the feed touches the current run).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QLabel, QMenu, QSplitter, QToolBar, QToolButton, QVBoxLayout, QWidget

import workstation as ws
from ui.charts.candle_item import DARK_PALETTE, ChartPalette
from ui.charts.marks import SignalMarksBuilder
from ui.live.blotter import LiveBlotter
from ui.live.candle_stream import CandleReader, LatestCandles
from ui.live.chart import LiveChart
from ui.live.feed import LiveFeed
from ui.live.live_dialog import LiveStartDialog
from ui.live.manual_actions import SPECS, ManualActions
from ui.live.manual_dialog import ManualCommandDialog
from ui.live.paper_dialog import PaperTradingDialog
from ui.live.partial_levels import PartialLevelsArea
from ui.live.restore_banner import RestoreBanner
from ui.live.runs import RunCommand, RunCommanded, RunKey, StoredLiveSignal, TradingMode, key_of
from ui.live.session_question import PaperSessionQuestion
from ui.live.strategies_table import TICK_RESULTS, LiveStrategiesModel, LiveStrategiesTable
from ui.live.tones import tones_for

#: How long :meth:`LivePanel.shutdown` waits for stopped runs to end before it cancels them.
SHUTDOWN_GRACE_SECONDS = 3.0
#: How often :meth:`LivePanel.shutdown` looks whether the runs ended.
SHUTDOWN_POLL_SECONDS = 0.05


def _now_ms() -> int:
    return int(time.time() * 1000)


#: Shows a run's order desk in the window; returns the typed confirmation a real-money desk waits for (None: shown).
DeskShower = Callable[[ws.OrderDesk], QDialog | None]


class LivePanel(QWidget):
    """Live and paper trading: the runs, the chart of the current one, partial levels, blotter, restore banner.

    Parameters
    ----------
    palette
        The chart palette of the current theme (see :meth:`set_palette`).
    read_candles
        How the chart reads a run's newest candles; ``ws.Live.get_candles`` by default.
    parent
        The parent widget.

    Signals
    -------
    error_raised(str, str)
        Something the trader asked for failed (a start refused, a request that could not be prepared, a command the
        run refused): a one-line title and the details. Failures of running runs come on ``ws.events.error`` as well.
    status_reported(str)
        A command the trader confirmed was applied: one line for the window's status bar.
    """

    error_raised = Signal(str, str)
    status_reported = Signal(str)

    def __init__(
        self,
        palette: ChartPalette = DARK_PALETTE,
        read_candles: CandleReader | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._tasks: set[asyncio.Future[Any]] = set()
        self._marks: dict[RunKey, SignalMarksBuilder] = {}
        #: The paper trading dialog, built when Start is first pressed and kept, with its values, afterwards.
        self.paper_dialog: PaperTradingDialog | None = None
        #: The question a paper start asks while it is open (a session with the same settings is stored).
        self.session_question: PaperSessionQuestion | None = None
        self.live_dialog: LiveStartDialog | None = None
        #: The confirmation of a manual command while it is open.
        self.command_dialog: ManualCommandDialog | None = None
        #: The run the manual actions' states were last asked for, and whether it changed since the question left.
        self._refusals_key: RunKey | None = None
        self._refusals_task: asyncio.Future[Any] | None = None
        self._refusals_stale = False
        #: How to start each run again (Start on a stopped row): the same request, which resumes stored progress.
        self._restarts: dict[RunKey, Callable[[], Coroutine[Any, Any, bool]]] = {}
        #: Shows the desk a run's orders go through (the window's ``attach_desk``); None: no desk is shown.
        self.desk_shower: DeskShower | None = None
        #: The desk each run started here sends its orders through: shown when the run is selected.
        self._desks: dict[RunKey, ws.OrderDesk] = {}
        #: Why the last start was refused, for the restore banner's line of a run that did not resume.
        self._last_refusal = ""

        self.feed = LiveFeed(self)
        self.strategies = LiveStrategiesModel(self)
        self.table = LiveStrategiesTable(self.strategies, self)
        self.chart = LiveChart(palette, self)
        self.levels_area = PartialLevelsArea(self)
        self.levels = self.levels_area.levels
        self.blotter = LiveBlotter(parent=self)
        self.banner = RestoreBanner(parent=self)
        self.candles = LatestCandles(read_candles or ws.Live.get_candles, parent=self)

        self.start_action = QAction("Start", self)
        self.start_action.setToolTip(
            "Start the selected stopped runs again where they stopped; with none selected, start paper trading"
        )
        self.paper_action = QAction("Start paper trading…", self)
        self.paper_action.setToolTip("Replay a strategy over recorded candles on a replay clock")
        self.live_action = QAction("Start live…", self)
        self.live_action.setToolTip("Run a strategy on an exchange's live candles, on the system clock")
        self.stop_action = QAction("Stop", self)
        self.stop_action.setToolTip(
            "Stop the selected runs gracefully: a waiting order is cancelled, an open position runs to its close"
        )
        self.stop_all_action = QAction("Stop all", self)
        self.stop_all_action.setToolTip("Stop every live and paper run gracefully")
        self.start_action.triggered.connect(self.start_selected)
        self.paper_action.triggered.connect(self.open_paper_dialog)
        self.live_action.triggered.connect(self.open_live_dialog)
        self.stop_action.triggered.connect(self.stop_selected)
        self.stop_all_action.triggered.connect(self.stop_all)
        self.manual = ManualActions(self)
        self.manual.requested.connect(self.open_command)
        # Their shortcuts work anywhere in the panel's window, also where no menu or toolbar shows them.
        self.addActions(list(self.manual.actions.values()))
        self.toolbar = QToolBar("Live", self)
        self.toolbar.setObjectName("toolbar_live")
        for action in (self.start_action, self.stop_action, self.stop_all_action):
            self.toolbar.addAction(action)
        self.toolbar.addSeparator()
        for action in (self.paper_action, self.live_action):
            self.toolbar.addAction(action)
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.manual["close"])
        self.position_menu = self.manual.menu(self, "Position")
        self.position_button = QToolButton(self)
        self.position_button.setText("Position")
        self.position_button.setToolTip("Manage the selected run's position, its waiting order or its strategy")
        self.position_button.setMenu(self.position_menu)
        self.position_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.toolbar.addWidget(self.position_button)
        self.toolbar.addAction(self.manual["pause"])
        self.toolbar.addAction(self.manual["resume"])
        self.summary = QLabel(self)
        self.toolbar.addSeparator()
        self.toolbar.addWidget(self.summary)

        # The list of runs and its toolbar are one piece, so a window can dock them apart from the chart.
        self.strategies_view = QWidget(self)
        strategies_layout = QVBoxLayout(self.strategies_view)
        strategies_layout.setContentsMargins(0, 0, 0, 0)
        strategies_layout.setSpacing(2)
        strategies_layout.addWidget(self.toolbar)
        strategies_layout.addWidget(self.table, 1)
        # The toolbar, the header and four runs, wherever the list is placed.
        self.strategies_view.setMinimumHeight(
            self.toolbar.sizeHint().height() + 5 * self.table.verticalHeader().defaultSectionSize() + 8
        )

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setChildrenCollapsible(False)
        for widget, stretch in ((self.strategies_view, 1), (self.chart, 4), (self.levels_area, 1), (self.blotter, 2)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setSizes([180, 440, 150, 200])
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)

        self.feed.events_flushed.connect(self._apply)
        self.table.current_run_changed.connect(self._follow)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._row_menu)
        self.chart.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.chart.customContextMenuRequested.connect(self._chart_menu)
        self.table.selection_changed.connect(self._update_actions)
        self.candles.candles_loaded.connect(self._show_candles)
        self.candles.load_failed.connect(self._candles_failed)
        self.banner.resume_requested.connect(lambda records: self._spawn(self.resume(records)))
        self.set_palette(palette)
        self._update_actions()

    # -- starting -----------------------------------------------------------------------------------------

    def open_paper_dialog(self) -> PaperTradingDialog:
        """Open the paper trading dialog (non-modal); its Start starts the run. Return the dialog."""
        if self.paper_dialog is None:
            self.paper_dialog = PaperTradingDialog(ws.PaperTradingRequest, self)
            self.paper_dialog.request_accepted.connect(lambda request: self._spawn(self.start_chosen_paper(request)))
        self.paper_dialog.open()
        return self.paper_dialog

    def open_live_dialog(self) -> LiveStartDialog:
        """Open the live start dialog (non-modal); its Start starts the run. Return the dialog."""
        if self.live_dialog is None:
            self.live_dialog = LiveStartDialog(self)
            self.live_dialog.request_accepted.connect(lambda request: self._spawn(self.start_live_request(request)))
        self.live_dialog.open()
        return self.live_dialog

    async def start_live_request(self, request: ws.LiveStartRequest, command: RunCommand = "started") -> bool:
        """Prepare ``request`` (its exchange, its desk reconciled, its broker), show its desk and start it.

        A start the desk refuses (its venue and the engine disagree) shows the desk, whose Account dock says on what,
        and is reported on ``error_raised``; a desk trading real money starts nothing until the trader confirmed it.
        """
        try:
            run = await ws.prepare_live_start(request)
        except Exception as exc:
            if isinstance(exc, ws.DeskDisagreesError):
                await self.show_desk(exc.desk)
            return self._refused(request, exc)
        if not await self.show_desk(run.desk):
            return self._refused(request, RuntimeError(f"trading real money on {run.desk.name} was not confirmed"))
        key = (run.symbol, run.strategy_name)
        started = self._start(
            run.symbol, run.strategy_name, run.exchange_name, "live", run.clock, None, run.where, command, run.broker
        )
        if started:
            self._restarts[key] = lambda: self.start_live_request(request)
            self._desks[key] = run.desk
        return started

    async def show_desk(self, desk: ws.OrderDesk) -> bool:
        """Show ``desk`` in the window; return whether it is shown (a real-money desk once the trader confirmed)."""
        if self.desk_shower is None:
            return True
        confirmation = self.desk_shower(desk)
        if confirmation is None:
            return True
        answered: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def finished(result: int) -> None:
            if not answered.done():
                answered.set_result(result)

        confirmation.finished.connect(finished)
        return await answered == QDialog.DialogCode.Accepted.value

    def start_selected(self) -> list[RunKey]:
        """Start the selected stopped or failed runs again; with none of them selected, open the paper dialog."""
        restartable = self._restartable_selection()
        if not restartable:
            self.open_paper_dialog()
            return []
        for key in restartable:
            self._spawn(self._restarts[key]())
        return restartable

    def _restartable_selection(self) -> list[RunKey]:
        selected = set(self.table.selected_keys())
        return [
            run.key
            for run in self.strategies.runs()
            if run.key in selected and run.status in ("stopped", "failed") and run.key in self._restarts
        ]

    async def start_chosen_paper(self, request: ws.PaperTradingRequest) -> bool:
        """Start a session from the dialog: when one with the same settings is stored, ask whether to resume it."""
        try:
            stored = await ws.stored_paper_session(request)
        except Exception as exc:
            return self._refused(request, exc)
        if stored is not None:
            self.session_question = PaperSessionQuestion(request, stored.describe(), self)
            chosen = await self.session_question.answer()
            self.session_question = None
            if chosen is None:
                return False
            request = chosen
        return await self.start_paper(request)

    async def start_paper(self, request: ws.PaperTradingRequest) -> bool:
        """Prepare ``request`` (its replay exchange, strategy and clock) and start it; return whether it started.

        A request that cannot be prepared (no candles for its period, an unknown strategy) is refused on
        ``error_raised`` and starts nothing.
        """
        try:
            paper = await ws.prepare_paper_trading(request)
        except Exception as exc:
            if isinstance(exc, ws.DeskDisagreesError):
                await self.show_desk(exc.desk)
            return self._refused(request, exc)
        await self.show_desk(paper.desk)
        started = self.start_live(
            paper.symbol,
            paper.strategy_name,
            paper.exchange_name,
            mode="paper",
            clock=paper.clock,
            until=paper.until,
            note=f"{request.source} candles from {request.start:%Y-%m-%d %H:%M} UTC, {request.days} d at "
            f"{request.speed:g}×" + (f"; {paper.notice}" if paper.notice else ""),
            broker=paper.broker,
        )
        if started:
            self._desks[(paper.symbol, paper.strategy_name)] = paper.desk
            # Start on the stopped run resumes this session where it stopped.
            resumed = request.model_copy(update={"session": "resume"})
            self._restarts[(paper.symbol, paper.strategy_name)] = lambda: self.start_paper(resumed)
        return started

    def start_live(
        self,
        symbol: str,
        strategy_name: str,
        exchange_name: str,
        *,
        mode: TradingMode = "live",
        clock: ws.Clock | None = None,
        until: datetime | None = None,
        note: str = "",
        broker: ws.Broker | None = None,
    ) -> bool:
        """Start ``strategy_name`` on ``symbol`` in the background and list it as running; return whether it did.

        A run of the same pair that is still running or stopping is not started twice; a refused start (unknown
        names, a run already active) is reported on ``error_raised`` and in the blotter. With a ``broker`` the run
        sends its orders through it (``ws.prepare_live_start`` and ``ws.prepare_paper_trading`` give one).
        """
        started = self._start(symbol, strategy_name, exchange_name, mode, clock, until, note, "started", broker)
        if started and mode == "live":

            async def again() -> bool:
                return self.start_live(symbol, strategy_name, exchange_name, until=until, note=note, broker=broker)

            self._restarts[(symbol, strategy_name)] = again
        return started

    def _start(
        self,
        symbol: str,
        strategy_name: str,
        exchange_name: str,
        mode: TradingMode,
        clock: ws.Clock | None,
        until: datetime | None,
        note: str,
        command: RunCommand,
        broker: ws.Broker | None = None,
    ) -> bool:
        key = (symbol, strategy_name)
        now = int(clock.now().timestamp() * 1000) if clock is not None else _now_ms()
        current = self.strategies.run(key)
        try:
            if current is not None and current.status in ("running", "stopping"):
                raise RuntimeError(f"it is already {current.status}")
            ws.ensure_strategy(strategy_name)
            ws.Live.background(
                symbol,
                strategy_name=strategy_name,
                exchange_name=exchange_name,
                clock=clock,
                until=until,
                broker=broker,
            )
        except Exception as exc:
            self._refuse(f"{strategy_name} · {symbol}", exc)
            self.feed.push(RunCommanded(symbol, strategy_name, "start refused", now, f"{type(exc).__name__}: {exc}"))
            return False
        self._marks[key] = SignalMarksBuilder()
        self.strategies.add_run(symbol, strategy_name, exchange_name, mode)
        self.feed.push(RunCommanded(symbol, strategy_name, command, now, note or f"{mode} on {exchange_name}"))
        if self.table.current_key() in (None, key):
            self.table.select_run(key)
            self._follow(key)
        self._update_actions()
        return True

    async def resume(self, records: Sequence[StoredLiveSignal]) -> list[RunKey]:
        """Restart the strategies of stored positions and orders where their orders went; return the runs started.

        Each run starts as it was last started (``ws.live_start_of``: paper orders, or the exchange account), so its
        position is reconciled with, and managed on, the desk that holds it; a position stored by a run that sent no
        orders resumes tracked without orders, as it ran. The banner then keeps only the lines that could not
        resume, each with its reason.
        """
        started: list[RunKey] = []
        failed: list[tuple[StoredLiveSignal, str]] = []
        for record in records:
            signal = record.signal
            key = (signal.symbol, signal.strategy_name)
            if key in started:
                continue
            try:
                if signal.exchange_name.startswith("paper-"):
                    raise LookupError(
                        f"{signal.exchange_name} is a paper session: start paper trading again with the same "
                        "settings to resume it where it stopped"
                    )
                if signal.strategy_name not in ws.strategy_choices():
                    raise LookupError(
                        f'strategy "{signal.strategy_name}" is not loaded: open its strategy file, then resume'
                    )
                request = ws.live_start_of(signal.symbol, signal.strategy_name)
                exchange_name = "" if request else ws.ensure_exchange(signal.exchange_name, source="resume")
            except Exception as exc:
                self._refuse(f"{signal.strategy_name} · {signal.symbol}", exc)
                failed.append((record, str(exc)))
                continue
            self._last_refusal = "it could not start (see the log)"
            if request is not None:
                resumed = await self.start_live_request(request, "resumed")
            else:
                kind = "open position" if record.kind == "open_position" else "limit order"
                note = f"{kind} {signal.id}, tracked without orders as it ran"
                resumed = self._start(
                    signal.symbol, signal.strategy_name, exchange_name, "live", None, None, note, "resumed"
                )
            if resumed:
                started.append(key)
            else:
                failed.append((record, self._last_refusal))
        self.banner.resumed(records, failed)
        return started

    async def show_restored(self) -> list[StoredLiveSignal]:
        """Read what live runs stored and offer it in the restore banner (the runs going on here left out)."""
        try:
            records: list[StoredLiveSignal] = list(await ws.Live.persisted())
        except Exception as exc:
            self._refuse("stored live state", exc, action="read")
            return []
        active = set(self.active_runs())
        offered = [record for record in records if (record.signal.symbol, record.signal.strategy_name) not in active]
        self.banner.show_records(offered)
        return offered

    # -- stopping -----------------------------------------------------------------------------------------

    def stop_selected(self) -> list[RunKey]:
        """Ask the selected running runs to stop gracefully; return the runs asked."""
        return self._stop(self.table.selected_keys())

    def stop_all(self) -> list[RunKey]:
        """Ask every running run to stop gracefully; return the runs asked."""
        return self._stop([run.key for run in self.strategies.runs()])

    async def shutdown(self, grace_seconds: float = SHUTDOWN_GRACE_SECONDS) -> list[RunKey]:
        """Stop everything before the window closes; return the runs that had to be cancelled.

        Every run is asked to stop gracefully. Those without an open position get ``grace_seconds`` to end at their
        next tick (a waiting limit order is cancelled there); a run still working then, or holding an open position
        (which only its TP, SL or expiry would end), is cancelled: its position and partial levels stay stored, and
        the next start offers them in the restore banner. Cancelling goes through ``ws.Live.clear()``, which ends
        every live run of the process: this is for the window's last moments only.
        """
        self.stop_all()
        keys = {run.key for run in self.strategies.runs()}
        may_end = {run.key for run in self.strategies.runs() if run.signal is None or run.waiting}
        deadline = time.monotonic() + grace_seconds
        while self._pending(may_end) and time.monotonic() < deadline:
            await asyncio.sleep(SHUTDOWN_POLL_SECONDS)
        cancelled = sorted(self._pending(keys))
        if cancelled:
            ws.Live.clear()
            # The cancelled tasks unwind at their next turn of the loop.
            await asyncio.sleep(0)
            for key in cancelled:
                self.strategies.set_status(key, "stopped")
        await self.candles.stop()
        tasks = list(self._tasks)
        self.detach()
        await asyncio.gather(*tasks, return_exceptions=True)
        return cancelled

    def active_runs(self) -> list[RunKey]:
        """Return the runs still running or stopping (a window about to close must :meth:`shutdown` first)."""
        return [run.key for run in self.strategies.runs() if run.status in ("running", "stopping")]

    def detach(self) -> None:
        """Stop listening to the engine and cancel the panel's own reads (the window closes with no run active)."""
        self.candles.follow(None)
        for task in list(self._tasks):
            task.cancel()
        self.feed.disconnect_engine()

    # -- the trader's commands -----------------------------------------------------------------------------

    def context_menu(self) -> QMenu:
        """Return a new menu of the manual commands on the current run (the row's and the chart's context menu)."""
        menu = self.manual.menu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        return menu

    def open_command(self, action: ws.ManualAction) -> ManualCommandDialog | None:
        """Open the confirmation of ``action`` on the current run (None: no run is current); Confirm sends it."""
        key = self.table.current_key()
        run = self.strategies.run(key) if key is not None else None
        if key is None or run is None:
            return None
        if self.command_dialog is not None:
            self.command_dialog.reject()
        symbol, strategy_name = key
        dialog = ManualCommandDialog(
            SPECS[action], run, lambda command: ws.Live.preview(symbol, strategy_name, command), self
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.confirmed.connect(lambda command: self._spawn(self.send_command(key, command)))
        dialog.finished.connect(lambda _result: self._forget_dialog(dialog))
        self.command_dialog = dialog
        dialog.open()
        return dialog

    async def send_command(self, key: RunKey, command: ws.ManualCommand) -> ws.ManualOutcome | None:
        """Have the run of ``key`` carry out ``command``; report the outcome; return it (None: it failed)."""
        symbol, strategy_name = key
        what = f"{SPECS[command.action].text.removesuffix('…')} on {strategy_name} · {symbol}"
        try:
            outcome = await ws.Live.command(symbol, strategy_name, command)
        except Exception as exc:
            self.error_raised.emit(f"Could not {what[0].lower()}{what[1:]}: {exc}", f"{type(exc).__name__}: {exc}")
            self.refresh_refusals()
            return None
        if outcome.applied:
            self.status_reported.emit(f"{what}: applied")
        else:
            self.error_raised.emit(f"{what}: refused, {outcome.reason}", outcome.reason or "")
            note = f"{what}: {outcome.reason}"
            self.feed.push(RunCommanded(symbol, strategy_name, "command refused", outcome.timestamp, note))
        self.refresh_refusals()
        return outcome

    def refresh_refusals(self) -> None:
        """Ask the current run which commands it would take now; the actions follow its answer."""
        key = self.table.current_key()
        run = self.strategies.run(key) if key is not None else None
        if key is None or run is None:
            self._refusals_key = None
            self.manual.set_refusals(None)
            return
        if run.status not in ("running", "stopping"):
            self._refusals_key = key
            self.manual.set_refusals(None, f"the run has {run.status}" if run.status == "failed" else "the run stopped")
            return
        if self._refusals_task is not None and not self._refusals_task.done():
            self._refusals_stale = True  # one question at a time: asked again when this one is answered
            return
        self._refusals_key = key
        self._refusals_task = self._spawn(self._read_refusals(key))

    async def _read_refusals(self, key: RunKey) -> None:
        try:
            refusals = await ws.Live.refusals(*key)
        except Exception as exc:
            answer: dict[ws.ManualAction, str | None] | None = None
            reason = str(exc)
        else:
            answer, reason = refusals, ""
        self._refusals_task = None
        if self._refusals_stale:
            self._refusals_stale = False
            self.refresh_refusals()
        elif self.table.current_key() == key:
            self.manual.set_refusals(answer, reason)

    def _forget_dialog(self, dialog: ManualCommandDialog) -> None:
        if self.command_dialog is dialog:
            self.command_dialog = None

    def _row_menu(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        if not index.isValid():
            return
        key = self.strategies.run_at(index.row()).key
        if self.table.current_key() != key:
            self.table.select_run(key)
        self.context_menu().popup(self.table.viewport().mapToGlobal(position))

    def _chart_menu(self, position: QPoint) -> None:
        if self.chart.key is not None:
            self.context_menu().popup(self.chart.mapToGlobal(position))

    # -- theme --------------------------------------------------------------------------------------------

    def set_palette(self, palette: ChartPalette) -> None:
        """Draw the chart in ``palette`` and colour the tables and levels to match (a theme change)."""
        self.chart.set_palette(palette)
        tones = tones_for(palette)
        self.strategies.set_tones(tones)
        self.blotter.model.set_tones(tones)
        self.levels.set_tones(tones)

    # -- internals ----------------------------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _stop(self, keys: Sequence[RunKey]) -> list[RunKey]:
        asked = []
        for key in keys:
            run = self.strategies.run(key)
            if run is None or run.status != "running":
                continue
            self.strategies.set_status(key, "stopping")
            self.feed.push(RunCommanded(key[0], key[1], "stop requested", None))
            self._spawn(_settle(ws.Live.stop(key[0], key[1])))
            asked.append(key)
        self._update_actions()
        return asked

    @staticmethod
    def _pending(keys: set[RunKey]) -> set[RunKey]:
        return {(status.symbol, status.strategy_name) for status in ws.Live.list() if status.status == "pending"} & keys

    def _refuse(self, what: str, exc: BaseException, action: str = "start") -> None:
        title = f"Could not {action} {what}: {exc}"
        self.error_raised.emit(title, f"{type(exc).__name__}: {exc}")

    def _refused(self, request: ws.LiveStartRequest | ws.PaperTradingRequest, exc: BaseException) -> bool:
        """Report that the run ``request`` asks for could not start; return False (it did not)."""
        self._last_refusal = str(exc)
        self._refuse(f"{request.strategy_name} · {request.symbol}", exc)
        return False

    def _apply(self, batch: list[Any]) -> None:
        self.strategies.apply(batch)
        self.blotter.apply(batch)
        self.levels.apply(batch)
        followed = self.chart.key
        ticked = False
        touched: set[RunKey] = set()
        for event in batch:
            key = key_of(event)
            touched.add(key)
            if isinstance(event, ws.CommitEvent):
                marked: object = event.command()
            elif isinstance(event, TICK_RESULTS):
                marked = event
            else:
                continue
            builder = self._marks.get(key)
            if builder is None:
                builder = self._marks[key] = SignalMarksBuilder()
            builder.add((marked,))
            ticked = ticked or key == followed
        if followed is not None and ticked:
            self._show_run_state(followed)
            self.candles.refresh()
        self._update_actions()
        current = self.table.current_key()
        if current is not None and current in touched:
            self.refresh_refusals()
            dialog = self.command_dialog
            run = self.strategies.run(current)
            if dialog is not None and run is not None and (dialog.run.symbol, dialog.run.strategy_name) == current:
                dialog.set_run(run)

    def _follow(self, key: RunKey | None) -> None:
        if key != self._refusals_key:
            self.refresh_refusals()
        # The desk docks and the kill switch follow the run in front: its orders, its account.
        desk = self._desks.get(key) if key is not None else None
        if desk is not None:
            self._spawn(self.show_desk(desk))
        if key == self.chart.key:
            return
        self.chart.show_run(key)
        self.levels.set_selected(key)
        self.candles.follow(key)
        if key is not None:
            self._show_run_state(key)

    def _show_run_state(self, key: RunKey) -> None:
        run = self.strategies.run(key)
        self.chart.set_signal(run.signal if run is not None else None)
        self.chart.set_price(run.current_price if run is not None else None)
        builder = self._marks.get(key)
        if builder is not None:
            self.chart.set_marks(builder.marks())

    def _show_candles(self, key: RunKey, candles: Any) -> None:
        if key == self.chart.key:
            self.chart.set_candles(candles)

    def _candles_failed(self, key: RunKey, message: str) -> None:
        if key == self.chart.key:
            self.chart.show_failure(message)

    def _update_actions(self) -> None:
        runs = self.strategies.runs()
        running = [run for run in runs if run.status == "running"]
        selected = set(self.table.selected_keys())
        self.stop_action.setEnabled(any(run.key in selected for run in running))
        restartable = self._restartable_selection()
        self.start_action.setText("Start again" if restartable else "Start")
        self.stop_all_action.setEnabled(bool(running))
        stopping = sum(1 for run in runs if run.status == "stopping")
        parts = [f"{len(running)} running"] + ([f"{stopping} stopping"] if stopping else [])
        self.summary.setText("  " + " · ".join(parts) if runs else "  No live run")


async def _settle(awaitable: Awaitable[None]) -> None:
    await awaitable
