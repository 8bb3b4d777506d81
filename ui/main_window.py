"""The main window: docks (Strategies, Backtest, History, Log), one tab per run, Run / Stop / Stop all.

Every long operation has a task handle: each run tab's task is kept, Stop asks the engine to stop gracefully, and
closing the window cancels what still runs and waits for it before the window really closes. Exceptions from
slots, tasks and strategies land in the Log dock and the error panel; the window never dies of them.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QTabBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

import workstation as ws
from ui.backtest.form import BacktestForm
from ui.backtest.run_tab import RunTab
from ui.bridge import EngineErrors
from ui.charts.candle_item import DARK_PALETTE, LIGHT_PALETTE, ChartPalette
from ui.compare import HeatView, OptimizerView, WalkerView
from ui.data import DownloadHistoryDialog, ImportCsvDialog, StoredDataDialog
from ui.error_panel import ErrorPanel
from ui.history.history_dock import HistoryPanel
from ui.live import LivePanel
from ui.log_panel import LogPanel
from ui.settings_dialog import SettingsDialog
from ui.strategies_panel import StrategiesPanel
from ui.themes import ThemeName
from ui.widgets.comparison import ComparisonView

#: Organisation and application names of the QSettings store (layout, theme, form values).
SETTINGS_ORGANISATION = "workstation"
SETTINGS_APPLICATION = "workstation"
#: A run in the window gives the event loop a turn after this much work, so the window repaints between turns.
LOOP_TURN_SECONDS = 0.01


class MainWindow(QMainWindow):
    """The workstation's window; ``app.py`` builds it with the settings, history and theme to use."""

    run_finished = Signal(object)  # the RunTab whose run ended, in any state

    def __init__(
        self,
        *,
        settings: QSettings,
        history: ws.RunHistory,
        theme: ThemeName = "dark",
        apply_app_theme: Callable[[ThemeName], None] | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Workstation")
        self.settings = settings
        self.history = history
        self.theme: ThemeName = theme
        self._apply_app_theme = apply_app_theme
        self._tasks: dict[RunTab, asyncio.Task[None]] = {}
        self._closing = False
        # Fire-and-forget work (candle loading, shutdown) is kept referenced until done, so it cannot be collected.
        self._background: set[asyncio.Task[None]] = set()
        self._progress_started: dict[RunTab, tuple[float, float]] = {}
        ws.Backtest.set_loop_turn(LOOP_TURN_SECONDS)

        self.error_panel = ErrorPanel(self)
        self.tabs = QTabWidget(self)
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setDocumentMode(True)
        # The live chart, milestones and blotter are the first tab and stay: live runs outlive any backtest tab.
        self.live_panel = LivePanel(DARK_PALETTE if theme == "dark" else LIGHT_PALETTE, parent=self.tabs)
        self.live_panel.error_raised.connect(self.report_error)
        live_index = self.tabs.addTab(self.live_panel, "Live")
        for side in (QTabBar.ButtonPosition.LeftSide, QTabBar.ButtonPosition.RightSide):
            self.tabs.tabBar().setTabButton(live_index, side, None)
        self.tabs.tabCloseRequested.connect(self._close_tab_at)
        # The comparisons open as tabs from the Compare menu; closing one only takes it out of the tabs, so its
        # settings, results and any run going on stay for the next time it is opened.
        self.walker_view = WalkerView(self.start_run)
        self.optimizer_view = OptimizerView(self.start_run)
        self.heat_view = HeatView(self.start_run)
        self.compare_views: dict[str, WalkerView | OptimizerView | HeatView] = {
            "Walker": self.walker_view,
            "Optimizer": self.optimizer_view,
            "Heat": self.heat_view,
        }
        for view in self.compare_views.values():
            view.error_raised.connect(self.report_error)
        self.tabs.currentChanged.connect(self._update_actions)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.error_panel)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.candle_store = ws.CandleStore()
        self.download_dialog: DownloadHistoryDialog | None = None
        self.stored_data_dialog: StoredDataDialog | None = None
        self.import_dialog: ImportCsvDialog | None = None

        self.strategy_files = ws.StrategyFiles()
        self.strategies = StrategiesPanel(self.strategy_files, self)
        self.backtest_form = BacktestForm(settings=settings, parent=self)
        self.history_panel = HistoryPanel(history, self)
        self.log = LogPanel(self)
        self.docks = {
            "strategies": self._dock("Strategies", self.strategies, Qt.DockWidgetArea.LeftDockWidgetArea),
            "backtest": self._dock("Backtest", self.backtest_form, Qt.DockWidgetArea.LeftDockWidgetArea),
            "history": self._dock("History", self.history_panel, Qt.DockWidgetArea.RightDockWidgetArea),
            "log": self._dock("Log", self.log, Qt.DockWidgetArea.BottomDockWidgetArea),
            # The live strategies with Start / Stop / Stop all: docked, so they stay in sight from any tab.
            "live": self._dock("Live", self.live_panel.strategies_view, Qt.DockWidgetArea.BottomDockWidgetArea),
        }
        self.tabifyDockWidget(self.docks["log"], self.docks["live"])
        self.docks["live"].raise_()

        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(240)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.eta = QLabel(self)
        self.statusBar().addPermanentWidget(self.eta)
        self.statusBar().addPermanentWidget(self.progress)

        self._build_actions()
        self.engine_errors = EngineErrors(self)
        self.engine_errors.error_reported.connect(self._engine_error)
        self.strategies.load_failed.connect(self.report_error)
        self.strategies.strategies_changed.connect(self.backtest_form.refresh_choices)
        for view in self.compare_views.values():
            self.strategies.strategies_changed.connect(view.refresh_choices)
        self.backtest_form.run_requested.connect(self.start_run)
        self.history_panel.open_requested.connect(self.open_stored_run)
        self.history_panel.compare_requested.connect(self.compare_stored_runs)
        self.error_panel.details_requested.connect(self.docks["log"].raise_)
        self.apply_theme(theme)
        self._restore_layout()
        self._update_actions()

    # ---------------------------------------------------------------------------------------------------------
    # Building

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")  # saveState needs a stable name per dock
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_actions(self) -> None:
        self.run_action = QAction("Run", self)
        self.run_action.setShortcut(QKeySequence(Qt.Key.Key_F5))
        self.run_action.setToolTip("Run the backtest of the form (F5)")
        self.run_action.triggered.connect(self._run_from_form)
        self.stop_action = QAction("Stop", self)
        self.stop_action.setShortcut(QKeySequence(Qt.Modifier.SHIFT | Qt.Key.Key_F5))
        self.stop_action.setToolTip("Stop the run of this tab gracefully (Shift+F5)")
        self.stop_action.triggered.connect(self.stop_current)
        self.stop_all_action = QAction("Stop all", self)
        self.stop_all_action.setToolTip("Stop every run")
        self.stop_all_action.triggered.connect(self.stop_all)
        toolbar = self.addToolBar("Runs")
        toolbar.setObjectName("toolbar_runs")
        for action in (self.run_action, self.stop_action, self.stop_all_action):
            toolbar.addAction(action)

        open_file = QAction("Open strategy file…", self)
        open_file.setShortcut(QKeySequence.StandardKey.Open)
        open_file.triggered.connect(self._open_strategy_file)
        reload_files = QAction("Reload strategy files", self)
        reload_files.triggered.connect(self.strategies.reload_all)
        quit_action = QAction("Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu = self.menuBar().addMenu("&File")
        for action in (open_file, reload_files, quit_action):
            file_menu.addAction(action)

        run_menu = self.menuBar().addMenu("&Run")
        for action in (self.run_action, self.stop_action, self.stop_all_action):
            run_menu.addAction(action)
        next_tab = QAction("Next run tab", self)
        next_tab.setShortcut(QKeySequence(Qt.Modifier.CTRL | Qt.Key.Key_Tab))
        next_tab.triggered.connect(lambda: self._step_tab(1))
        previous_tab = QAction("Previous run tab", self)
        previous_tab.setShortcut(QKeySequence(Qt.Modifier.CTRL | Qt.Modifier.SHIFT | Qt.Key.Key_Backtab))
        previous_tab.triggered.connect(lambda: self._step_tab(-1))
        close_tab = QAction("Close run tab", self)
        close_tab.setShortcut(QKeySequence(Qt.Modifier.CTRL | Qt.Key.Key_W))
        close_tab.triggered.connect(lambda: self._close_tab_at(self.tabs.currentIndex()))
        for action in (next_tab, previous_tab, close_tab):
            run_menu.addAction(action)

        live_menu = self.menuBar().addMenu("&Live")
        for action in (
            self.live_panel.start_action,
            self.live_panel.stop_action,
            self.live_panel.stop_all_action,
            self.live_panel.paper_action,
            self.live_panel.live_action,
        ):
            live_menu.addAction(action)

        data_menu = self.menuBar().addMenu("&Data")
        download_action = QAction("Download history…", self)
        download_action.setToolTip("Download candles from an exchange into the candle store")
        download_action.triggered.connect(self.open_download_dialog)
        stored_action = QAction("Stored data…", self)
        stored_action.setToolTip("See, export and delete the candles in the candle store")
        stored_action.triggered.connect(self.open_stored_data_dialog)
        import_action = QAction("Import CSV…", self)
        import_action.setToolTip("Import candles from a CSV file into the candle store")
        import_action.triggered.connect(self.open_import_dialog)
        for action in (download_action, stored_action, import_action):
            data_menu.addAction(action)

        compare_menu = self.menuBar().addMenu("&Compare")
        for name, text, tip in (
            ("Walker", "Compare strategies…", "Backtest several strategies on one market and rank them by a metric"),
            ("Optimizer", "Optimize parameters…", "Sweep a built-in strategy's parameters over a grid"),
            ("Heat", "Portfolio heatmap…", "Backtest one strategy on several symbols and compare them"),
        ):
            action = QAction(text, self)
            action.setToolTip(tip)
            action.triggered.connect(lambda _checked=False, name=name: self.open_compare(name))
            compare_menu.addAction(action)

        view_menu = self.menuBar().addMenu("&View")
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        for name in ("dark", "light"):
            action = QAction(f"{name.capitalize()} theme", self)
            action.triggered.connect(lambda _checked=False, theme=name: self.apply_theme(theme))
            view_menu.addAction(action)
        settings_action = QAction("Settings…", self)
        settings_action.triggered.connect(self.open_settings)
        self.menuBar().addMenu("&Tools").addAction(settings_action)

    # ---------------------------------------------------------------------------------------------------------
    # Market data

    def open_download_dialog(self) -> DownloadHistoryDialog:
        """Show the history download dialog (one per window, non-modal) and return it."""
        if self.download_dialog is None:
            for exchange_id in ws.POPULAR_CCXT_EXCHANGES:
                ws.ensure_ccxt_exchange(exchange_id, store=self.candle_store)
            self.backtest_form.refresh_choices()
            self.download_dialog = DownloadHistoryDialog(self.candle_store, ws.ccxt_exchange_names(), self)
            self.download_dialog.download_finished.connect(lambda _text: self._refresh_stored_data())
        _present(self.download_dialog)
        return self.download_dialog

    def open_stored_data_dialog(self) -> StoredDataDialog:
        """Show the stored data dialog (one per window, non-modal) and return it."""
        if self.stored_data_dialog is None:
            self.stored_data_dialog = StoredDataDialog(self.candle_store, self)
        _present(self.stored_data_dialog)
        return self.stored_data_dialog

    def open_import_dialog(self) -> ImportCsvDialog:
        """Show the CSV import dialog (one per window, non-modal) and return it."""
        if self.import_dialog is None:
            self.import_dialog = ImportCsvDialog(self.candle_store, self)
            self.import_dialog.imported.connect(lambda *_args: self._refresh_stored_data())
        _present(self.import_dialog)
        return self.import_dialog

    def _refresh_stored_data(self) -> None:
        if self.stored_data_dialog is not None and self.stored_data_dialog.isVisible():
            self.stored_data_dialog.refresh()

    # ---------------------------------------------------------------------------------------------------------
    # Runs

    def run_tabs(self) -> list[RunTab]:
        """Return the run tabs, left to right."""
        tabs = (self.tabs.widget(index) for index in range(self.tabs.count()))
        return [tab for tab in tabs if isinstance(tab, RunTab)]

    def current_run_tab(self) -> RunTab | None:
        """Return the run tab in front, if any."""
        tab = self.tabs.currentWidget()
        return tab if isinstance(tab, RunTab) else None

    def task_of(self, tab: RunTab) -> asyncio.Task[None] | None:
        """Return the task driving ``tab``'s run while it works."""
        return self._tasks.get(tab)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _new_run_tab(self) -> RunTab:
        tab = RunTab(self.chart_palette(), self.tabs)
        tab.error_raised.connect(lambda message: self.report_error(message, message))
        return tab

    def _run_from_form(self) -> None:
        request = self.backtest_form.request()
        if request is not None:
            self.start_run(request)

    def start_run(self, request: ws.BacktestRequest) -> RunTab:
        """Open a tab for ``request`` and run it on the event loop; return the tab."""
        tab = self._new_run_tab()
        tab.state_changed.connect(lambda _state, tab=tab: self._tab_state_changed(tab))
        tab.progress_changed.connect(lambda progress, tab=tab: self._show_progress(tab, progress))
        index = self.tabs.addTab(tab, f"{request.strategy_name} · {request.symbol}")
        self.tabs.setCurrentIndex(index)
        task = asyncio.ensure_future(self._drive(tab, request))
        self._tasks[tab] = task
        self._update_actions()
        return tab

    async def _drive(self, tab: RunTab, request: ws.BacktestRequest) -> None:
        try:
            await tab.run(request)
        finally:
            self._tasks.pop(tab, None)
            self._progress_started.pop(tab, None)
        if tab.state == "Failed":
            self.report_error(f"Run {tab.title()} failed: {tab.error_message}", tab.error_message)
        elif tab.engine_started:
            await self._save_to_history(tab)
        self._update_actions()
        self.run_finished.emit(tab)

    async def _save_to_history(self, tab: RunTab) -> None:
        identity = tab.identity
        assert identity is not None
        parameters = identity.request.model_dump(mode="json") if identity.request is not None else {}
        try:
            await self.history.save_backtest(
                identity.symbol,
                identity.strategy_name,
                exchange_name=identity.exchange_name,
                parameters=parameters,
                state="stopped" if tab.state == "Stopped" else "finished",
                started_at_ms=tab.started_at_ms,
            )
        except Exception as exc:
            self.report_error(f"Could not save run {tab.title()} to the history: {exc}", traceback.format_exc())
            return
        self.history_panel.refresh()

    def stop_current(self) -> None:
        """Stop the run of the tab in front gracefully."""
        tab = self.current_run_tab()
        if tab is not None:
            tab.request_stop()

    def stop_all(self) -> None:
        """Stop every run gracefully."""
        for tab in self.run_tabs():
            tab.request_stop()

    def offer_restored_live_state(self) -> None:
        """Offer, in the Live tab's banner, the positions and orders live runs stored (nothing trades by itself)."""
        self._spawn(self._offer_restored())

    async def _offer_restored(self) -> None:
        await self.live_panel.show_restored()

    def open_compare(self, name: str) -> WalkerView | OptimizerView | HeatView:
        """Show the comparison ``name`` (``Walker``, ``Optimizer``, ``Heat``) as a tab in front; return its view."""
        view = self.compare_views[name]
        index = self.tabs.indexOf(view)
        if index < 0:
            index = self.tabs.addTab(view, name)
        self.tabs.setCurrentIndex(index)
        return view

    def _close_tab_at(self, index: int) -> None:
        tab = self.tabs.widget(index)
        if tab is None or tab is self.live_panel:
            return
        if tab in self.compare_views.values():
            self.tabs.removeTab(index)
            return
        if isinstance(tab, RunTab):
            task = self._tasks.get(tab)
            if task is not None:
                task.cancel()
        self.tabs.removeTab(index)
        tab.deleteLater()
        self._update_actions()

    def _step_tab(self, step: int) -> None:
        count = self.tabs.count()
        if count:
            self.tabs.setCurrentIndex((self.tabs.currentIndex() + step) % count)

    def _tab_state_changed(self, tab: RunTab) -> None:
        index = self.tabs.indexOf(tab)
        if index >= 0:
            suffix = "" if tab.state in ("Running", "Finished") else f" ({tab.state.lower()})"
            self.tabs.setTabText(index, tab.title() + suffix)
        if not tab.running:
            self._progress_started.pop(tab, None)
            if not self._progress_started:
                self.progress.hide()
                self.eta.clear()
        self._update_actions()

    def _show_progress(self, tab: RunTab, progress: ws.BacktestProgress) -> None:
        now = time.monotonic()
        started, first = self._progress_started.setdefault(tab, (now, progress.progress))
        if tab is not self.current_run_tab():
            return
        self.progress.show()
        self.progress.setValue(round(progress.progress * 1000))
        self.progress.setFormat(f"{progress.progress * 100:.0f} %")
        done = progress.progress - first
        if done > 0 and progress.progress < 1:
            remaining = (now - started) / done * (1 - progress.progress)
            self.eta.setText(f"ETA {remaining:.0f} s")
        else:
            self.eta.clear()

    def _update_actions(self) -> None:
        tab = self.current_run_tab()
        self.stop_action.setEnabled(tab is not None and tab.running)
        self.stop_all_action.setEnabled(any(tab.running for tab in self.run_tabs()))

    # ---------------------------------------------------------------------------------------------------------
    # History

    def open_stored_run(self, run_id: int) -> RunTab | None:
        """Re-create the tab of a stored run without re-running it."""
        try:
            stored = self.history.load(run_id)
        except Exception as exc:
            self.report_error(f"Could not open run #{run_id}: {exc}", traceback.format_exc())
            return None
        tab = self._new_run_tab()
        index = self.tabs.addTab(tab, f"#{run_id} {stored.summary.strategy_name} · {stored.summary.symbol}")
        self.tabs.setCurrentIndex(index)
        tab.show_stored(stored, None)
        self._spawn(self._load_stored_candles(tab, stored))
        return tab

    async def _load_stored_candles(self, tab: RunTab, stored: ws.StoredRun) -> None:
        summary = stored.summary
        try:
            candles = await ws.fetch_candles(
                ws.ensure_exchange(summary.exchange_name),
                summary.symbol,
                datetime.fromtimestamp(summary.frame_start / 1000, tz=UTC),
                datetime.fromtimestamp(summary.frame_end / 1000, tz=UTC),
            )
        except Exception as exc:
            self.log.append(f"Run #{summary.id}: no candles to draw ({type(exc).__name__}: {exc})")
            return
        tab.chart.set_candles(candles)
        tab.chart.show_all()

    def compare_stored_runs(self, first: int, second: int) -> ComparisonView | None:
        """Open a tab comparing the statistics of two stored runs side by side."""
        try:
            # Older first, so the difference column reads newer minus older.
            runs = [self.history.load(run_id) for run_id in sorted((first, second))]
        except Exception as exc:
            self.report_error(f"Could not compare runs #{first} and #{second}: {exc}", traceback.format_exc())
            return None
        view = ComparisonView(self.tabs)
        view.set_runs([(_stored_title(run), run.statistics, run.series) for run in runs])
        index = self.tabs.addTab(view, f"Compare #{first} / #{second}")
        self.tabs.setCurrentIndex(index)
        return view

    # ---------------------------------------------------------------------------------------------------------
    # Errors, settings, themes, files

    def report_error(self, title: str, details: str) -> None:
        """Show an error in the error panel and its details in the Log dock."""
        self.log.append_error(title, details)
        self.error_panel.show_error(title)

    def _engine_error(self, event: ws.ErrorEvent) -> None:
        where = ", ".join(part for part in (event.strategy_name, event.symbol) if part)
        title = f"{event.source}: {event.message}" + (f" ({where})" if where else "")
        details = "".join(traceback.format_exception(event.exception)) if event.exception is not None else event.message
        self.report_error(title, details)

    def open_settings(self) -> SettingsDialog:
        """Open the settings dialog (non-modal); return it."""
        dialog = SettingsDialog(self)
        dialog.open()
        return dialog

    def _open_strategy_file(self) -> QFileDialog:
        # open(), not the static modal call: a nested event loop would run the engine's tasks re-entrantly.
        dialog = QFileDialog(self, "Open strategy file", "", "Python files (*.py)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda path: self.strategies.load_file(Path(path)))
        dialog.open()
        return dialog

    def chart_palette(self) -> ChartPalette:
        """Return the chart palette of the current theme."""
        return DARK_PALETTE if self.theme == "dark" else LIGHT_PALETTE

    def apply_theme(self, theme: ThemeName) -> None:
        """Switch the window and every chart to ``theme``."""
        self.theme = theme
        if self._apply_app_theme is not None:
            self._apply_app_theme(theme)
        palette = self.chart_palette()
        for tab in self.run_tabs():
            tab.set_palette(palette)
        self.live_panel.set_palette(palette)
        self.settings.setValue("theme", theme)

    # ---------------------------------------------------------------------------------------------------------
    # Layout and shutdown

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        if state is not None:
            self.restoreState(state)
            return
        # First start: most of the width for the run tabs. Dock sizes only hold once the window is laid out.
        QTimer.singleShot(0, self._size_docks_for_first_start)

    def _size_docks_for_first_start(self) -> None:
        docks = self.docks
        self.resizeDocks([docks["backtest"], docks["history"]], [360, 280], Qt.Orientation.Horizontal)
        self.resizeDocks([docks["strategies"], docks["backtest"]], [120, 640], Qt.Orientation.Vertical)
        self.resizeDocks([docks["live"]], [210], Qt.Orientation.Vertical)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save the layout; cancel the runs still working and close once they have cleaned up."""
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        running = [task for task in self._tasks.values() if not task.done()]
        running.extend(task for task in self._data_tasks() if not task.done())
        comparing = any(view.running for view in self.compare_views.values())
        needs_cleanup = running or comparing or self.live_panel.active_runs() or ws.ccxt_exchange_names()
        if needs_cleanup and not self._closing:
            self._closing = True
            event.ignore()
            for task in running:
                task.cancel()
            self._spawn(self._close_when_done(running))
            return
        self.optimizer_view.close_workers()
        self.live_panel.detach()
        self.engine_errors.disconnect_engine()
        self.candle_store.close()
        event.accept()

    def _data_tasks(self) -> list[asyncio.Task[None]]:
        tasks = [
            self.download_dialog.download_task if self.download_dialog is not None else None,
            self.import_dialog.import_task if self.import_dialog is not None else None,
        ]
        return [task for task in tasks if task is not None]

    async def _close_when_done(self, tasks: list[asyncio.Task[None]]) -> None:
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(view.shutdown() for view in self.compare_views.values()), return_exceptions=True)
        # Live runs are asked to stop; one still managing an open position after the grace period is cancelled
        # and its position stays stored for the restore banner of the next start.
        await self.live_panel.shutdown()
        await ws.close_ccxt_exchanges(ws.list_exchanges())
        self.close()


def _present(dialog: QWidget) -> None:
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()


def _stored_title(run: ws.StoredRun) -> str:
    summary = run.summary
    return f"#{summary.id} {summary.strategy_name} · {summary.symbol}"
