"""The main window: docks (Strategies, Backtest, History, Log, Live), the tabs, menus, themes and layout.

Running, the run history and the comparisons are handed to their controllers (``ui.controllers``): ``runs``,
``stored_runs`` and ``comparisons``. Closing the window cancels what still runs and waits for it before the window
really closes. Exceptions from slots, tasks and strategies land in the Log dock and the error panel; the window
never dies of them.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QTabBar,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

import workstation as ws
from ui.backtest.form import BacktestForm
from ui.backtest.run_tab import RunTab
from ui.bridge import EngineErrors
from ui.charts.candle_item import DARK_PALETTE, LIGHT_PALETTE, ChartPalette
from ui.controllers import BackgroundTasks, ComparisonController, HistoryController, RunController
from ui.data import DownloadHistoryDialog, ImportCsvDialog, StoredDataDialog
from ui.desk import DeskView, RealMoneyBanner, RealMoneyConfirmation
from ui.desk.real_money import real_money_confirmed, real_money_title, remember_real_money
from ui.error_panel import ErrorPanel
from ui.live import LivePanel
from ui.live.feed import ErrorRepeats, is_live_error
from ui.log_panel import LogPanel
from ui.settings_dialog import SettingsDialog
from ui.strategies_panel import StrategiesPanel
from ui.themes import ThemeName

#: Organisation and application names of the QSettings store (layout, theme, form values).
SETTINGS_ORGANISATION = "workstation"
SETTINGS_APPLICATION = "workstation"
#: How long the status bar shows that a command the trader confirmed was applied.
STATUS_MESSAGE_MS = 8000
WINDOW_TITLE = "Workstation"


class MainWindow(QMainWindow):
    """The workstation's window; ``app.py`` builds it with the settings, history and theme to use."""

    def __init__(
        self,
        *,
        settings: QSettings,
        history: ws.RunHistory,
        theme: ThemeName = "dark",
        apply_app_theme: Callable[[ThemeName], None] | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle(WINDOW_TITLE)
        self.settings = settings
        self.history = history
        self.theme: ThemeName = theme
        self._apply_app_theme = apply_app_theme
        self._closing = False
        self.background = BackgroundTasks()

        self.error_panel = ErrorPanel(self)
        self.tabs = QTabWidget(self)
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setDocumentMode(True)
        # The live chart, milestones and blotter are the first tab and stay: live runs outlive any backtest tab.
        self.live_panel = LivePanel(self.chart_palette(), parent=self.tabs)
        self.live_panel.error_raised.connect(self.report_error)
        self.live_panel.status_reported.connect(lambda text: self.statusBar().showMessage(text, STATUS_MESSAGE_MS))
        live_index = self.tabs.addTab(self.live_panel, "Live")
        for side in (QTabBar.ButtonPosition.LeftSide, QTabBar.ButtonPosition.RightSide):
            self.tabs.tabBar().setTabButton(live_index, side, None)
        self.tabs.tabCloseRequested.connect(self._close_tab_at)
        # Across the whole window, above the toolbars, while the desk trades real money: nobody takes it for paper.
        self.real_money_banner = RealMoneyBanner(self)
        self.real_money_bar = QToolBar("Real money", self)
        self.real_money_bar.setObjectName("toolbar_real_money")
        self.real_money_bar.setMovable(False)
        self.real_money_bar.setFloatable(False)
        self.real_money_bar.toggleViewAction().setVisible(False)  # never hidden from the toolbars' menu
        self.real_money_bar.addWidget(self.real_money_banner)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.real_money_bar)
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        #: The typed confirmation of real money while it is open.
        self.real_money_confirmation: RealMoneyConfirmation | None = None
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

        self.strategy_files = ws.StrategyFiles(remembered=ws.remembered_files_path())
        self.strategies = StrategiesPanel(self.strategy_files, self)
        self.backtest_form = BacktestForm(settings=settings, parent=self)
        self.log = LogPanel(self)
        self.runs = RunController(
            tabs=self.tabs, form=self.backtest_form, history=history, palette=self.chart_palette(), parent=self
        )
        self.runs.error_raised.connect(self.report_error)
        self.stored_runs = HistoryController(
            history=history, runs=self.runs, tabs=self.tabs, background=self.background, parent=self
        )
        self.stored_runs.error_raised.connect(self.report_error)
        self.stored_runs.message_logged.connect(self.log.append)
        self.comparisons = ComparisonController(self.tabs, self.runs.start, self)
        self.comparisons.error_raised.connect(self.report_error)
        self.desk = DeskView(self.live_panel.chart, self._live_prices, self.live_panel.blotter.model, self)
        self.desk.error_raised.connect(self.report_error)
        self.desk.status_reported.connect(lambda text: self.statusBar().showMessage(text, STATUS_MESSAGE_MS))
        self.live_panel.table.current_run_changed.connect(lambda _key: self.desk.chart_orders.redraw())
        # A run started from the Live dock shows the desk its orders pass (a real-money one once confirmed).
        self.live_panel.desk_shower = self.attach_desk
        self.docks = {
            "strategies": self._dock("Strategies", self.strategies, Qt.DockWidgetArea.LeftDockWidgetArea),
            "backtest": self._dock("Backtest", self.backtest_form, Qt.DockWidgetArea.LeftDockWidgetArea),
            "history": self._dock("History", self.stored_runs.panel, Qt.DockWidgetArea.RightDockWidgetArea),
            "log": self._dock("Log", self.log, Qt.DockWidgetArea.BottomDockWidgetArea),
            # The live strategies with Start / Stop / Stop all: docked, so they stay in sight from any tab.
            "live": self._dock("Live", self.live_panel.strategies_view, Qt.DockWidgetArea.BottomDockWidgetArea),
            # The desk's monitors: beside the live runs, which place most of their orders.
            "orders": self._dock("Orders", self.desk.orders, Qt.DockWidgetArea.BottomDockWidgetArea),
            "fills": self._dock("Fills", self.desk.fills, Qt.DockWidgetArea.BottomDockWidgetArea),
            "positions": self._dock("Positions", self.desk.positions, Qt.DockWidgetArea.BottomDockWidgetArea),
            "account": self._dock("Account", self.desk.account, Qt.DockWidgetArea.RightDockWidgetArea),
        }
        for name in ("live", "orders", "fills", "positions"):
            self.tabifyDockWidget(self.docks["log"], self.docks[name])
        self.tabifyDockWidget(self.docks["history"], self.docks["account"])
        self.docks["history"].raise_()
        self.docks["live"].raise_()

        self.statusBar().addPermanentWidget(self.runs.eta)
        self.statusBar().addPermanentWidget(self.runs.progress)

        #: View → Dark theme / Light theme, ticked as the theme is applied.
        self.theme_actions: dict[ThemeName, QAction] = {}
        self._build_actions()
        self.engine_errors = EngineErrors(self)
        self._error_repeats = ErrorRepeats()
        self.engine_errors.error_reported.connect(self._engine_error)
        self.strategies.load_failed.connect(self.report_error)
        self.strategies.strategies_changed.connect(self.backtest_form.refresh_choices)
        self.strategies.strategies_changed.connect(self.comparisons.refresh_choices)
        self.error_panel.details_requested.connect(self.docks["log"].raise_)
        self.apply_theme(theme)
        self._restore_layout()
        # A layout saved while real money was traded does not show the banner at the next start.
        self._show_real_money(None)

    # ---------------------------------------------------------------------------------------------------------
    # Building

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")  # saveState needs a stable name per dock
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_actions(self) -> None:
        toolbar = self.addToolBar("Runs")
        toolbar.setObjectName("toolbar_runs")
        for action in self.runs.actions():
            toolbar.addAction(action)
        # The kill switch is always in sight: its own toolbar, never folded into a menu.
        desk_toolbar = self.addToolBar("Desk")
        desk_toolbar.setObjectName("toolbar_desk")
        for action in (self.desk.kill_switch.halt_action, self.desk.kill_switch.flatten_action):
            desk_toolbar.addAction(action)
        desk_toolbar.addSeparator()
        desk_toolbar.addAction(self.desk.ticket_action)

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
        for action in self.runs.actions():
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
        self.live_panel.manual.add_to(live_menu)
        desk_menu = self.menuBar().addMenu("D&esk")
        desk_menu.addAction(self.desk.ticket_action)
        desk_menu.addSeparator()
        for action in (self.desk.kill_switch.halt_action, self.desk.kill_switch.flatten_action):
            desk_menu.addAction(action)
        desk_menu.addSeparator()
        risk_limits_action = QAction("Risk limits…", self)
        risk_limits_action.setToolTip("Set the limits the desks check before sending an entry")
        risk_limits_action.triggered.connect(self.open_risk_limits)
        desk_menu.addAction(risk_limits_action)

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
            action.triggered.connect(lambda _checked=False, name=name: self.comparisons.open(name))
            compare_menu.addAction(action)

        view_menu = self.menuBar().addMenu("&View")
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        # One of the two is ticked: the menu shows which theme is on.
        themes = QActionGroup(self)
        names: tuple[ThemeName, ...] = ("dark", "light")
        for name in names:
            action = QAction(f"{name.capitalize()} theme", themes)
            action.setCheckable(True)
            action.triggered.connect(lambda _checked=False, theme=name: self.apply_theme(theme))
            view_menu.addAction(action)
            self.theme_actions[name] = action
        settings_action = QAction("Settings…", self)
        settings_action.triggered.connect(self.open_settings)
        self.menuBar().addMenu("&Tools").addAction(settings_action)

    # ---------------------------------------------------------------------------------------------------------
    # Market data

    def open_download_dialog(self) -> DownloadHistoryDialog:
        """Show the history download dialog (one per window, non-modal) and return it."""
        if self.download_dialog is None:
            # Shown at once; ccxt (seconds of import) loads off the event loop and the exchange list follows.
            self.download_dialog = DownloadHistoryDialog(self.candle_store, None, self)
            self.download_dialog.download_finished.connect(lambda _text: self._refresh_stored_data())
            self.background.spawn(self._offer_ccxt_exchanges(self.download_dialog))
        _present(self.download_dialog)
        return self.download_dialog

    async def _offer_ccxt_exchanges(self, dialog: DownloadHistoryDialog) -> None:
        await ws.load_ccxt()
        for exchange_id in ws.POPULAR_CCXT_EXCHANGES:
            ws.ensure_ccxt_exchange(exchange_id, store=self.candle_store)
        self.backtest_form.refresh_choices()
        dialog.set_exchange_choices(ws.ccxt_exchange_names())

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
    # Tabs and the live state

    def offer_restored_live_state(self) -> None:
        """Reload the strategy files of earlier sessions, then offer the stored live positions and orders.

        The Live tab's banner lists what live runs stored (nothing trades by itself) and names a strategy file that
        could not be loaded again.
        """
        failures = self.strategies.load_remembered()
        self.live_panel.banner.set_notes([f"Strategy file not loaded: {error}" for error in failures])
        self.background.spawn(self.live_panel.show_restored())

    def _close_tab_at(self, index: int) -> None:
        tab = self.tabs.widget(index)
        if tab is None or tab is self.live_panel:
            return
        if self.comparisons.owns(tab):
            self.tabs.removeTab(index)
            return
        if isinstance(tab, RunTab):
            self.runs.cancel(tab)
        self.tabs.removeTab(index)
        tab.deleteLater()
        self.runs.update_actions()

    def _step_tab(self, step: int) -> None:
        count = self.tabs.count()
        if count:
            self.tabs.setCurrentIndex((self.tabs.currentIndex() + step) % count)

    # ---------------------------------------------------------------------------------------------------------
    # The order desk

    def attach_desk(self, desk: ws.OrderDesk) -> RealMoneyConfirmation | None:
        """Show ``desk`` in the docks, the toolbar and the chart; return the typed confirmation it waits for, if any.

        A desk whose venue moves real money is shown with the red banner and the title saying so; the first time
        on an exchange, only once the trader typed the exchange's id (remembered in the settings store).
        """
        if desk.real_money and not real_money_confirmed(self.settings, desk.name):
            if self.real_money_confirmation is not None:
                self.real_money_confirmation.reject()
            dialog = RealMoneyConfirmation(desk.name, self)
            dialog.accepted.connect(lambda: self._confirmed_real_money(desk))
            dialog.finished.connect(lambda _result: self._forget_real_money_confirmation(dialog))
            self.real_money_confirmation = dialog
            dialog.open()
            return dialog
        self._show_desk(desk)
        return None

    def detach_desk(self) -> None:
        """Stop showing the desk (the docks keep what they show); the real-money marks go."""
        self.desk.detach()
        self._show_real_money(None)

    def _confirmed_real_money(self, desk: ws.OrderDesk) -> None:
        remember_real_money(self.settings, desk.name)
        self._show_desk(desk)

    def _forget_real_money_confirmation(self, dialog: RealMoneyConfirmation) -> None:
        if self.real_money_confirmation is dialog:
            self.real_money_confirmation = None
        dialog.deleteLater()

    def _show_desk(self, desk: ws.OrderDesk) -> None:
        self.desk.attach(desk)
        self._show_real_money(desk.name if desk.real_money else None)

    def _show_real_money(self, exchange: str | None) -> None:
        """Show that orders move real money on ``exchange`` (None: they move none): the banner and the title."""
        if exchange is not None:
            self.real_money_banner.show_exchange(exchange)
        self.real_money_bar.setVisible(exchange is not None)
        self.setWindowTitle(f"{WINDOW_TITLE} — {real_money_title(exchange)}" if exchange else WINDOW_TITLE)

    def _live_prices(self) -> dict[str, float]:
        return {
            run.symbol: run.current_price for run in self.live_panel.strategies.runs() if run.current_price is not None
        }

    # ---------------------------------------------------------------------------------------------------------
    # Errors, settings, themes, files

    def report_error(self, title: str, details: str) -> None:
        """Show an error in the error panel and its details in the Log dock."""
        self.log.append_error(title, details)
        self.error_panel.show_error(title)

    def _engine_error(self, event: ws.ErrorEvent) -> None:
        if is_live_error(event) and self._error_repeats.count(event) > 1:
            return  # the same refusal of the run again: its blotter line counts it
        where = ", ".join(part for part in (event.strategy_name, event.symbol) if part)
        title = f"{event.source}: {event.message}" + (f" ({where})" if where else "")
        details = "".join(traceback.format_exception(event.exception)) if event.exception is not None else event.message
        self.report_error(title, details)

    def open_settings(self) -> SettingsDialog:
        """Open the settings dialog (non-modal); return it."""
        dialog = SettingsDialog(self)
        dialog.open()
        return dialog

    def open_risk_limits(self) -> SettingsDialog:
        """Open the settings dialog (non-modal) on its Risk limits page; return it."""
        dialog = SettingsDialog(self)
        dialog.open_risk_limits()
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
        self.theme_actions[theme].setChecked(True)
        if self._apply_app_theme is not None:
            self._apply_app_theme(theme)
        palette = self.chart_palette()
        self.runs.set_palette(palette)
        self.stored_runs.set_palette(palette)
        self.comparisons.set_palette(palette)
        self.live_panel.set_palette(palette)
        self.desk.set_palette(palette)
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
        running = self.runs.working_tasks()
        running.extend(task for task in self._data_tasks() if not task.done())
        needs_cleanup = (
            running
            or self.comparisons.running
            or self.live_panel.active_runs()
            or ws.ccxt_exchange_names()
            or ws.Desks.all()
        )
        # Once the event loop has ended (the screenshot mode, a test's teardown) nothing can be waited for: the
        # window closes at once, and what was still working stays as it was when the loop stopped.
        if needs_cleanup and not self._closing and _loop_is_running():
            self._closing = True
            event.ignore()
            for task in running:
                task.cancel()
            self.background.spawn(self._close_when_done(running))
            return
        self.comparisons.close_workers()
        self.desk.detach()
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
        await self.comparisons.shutdown()
        # Live runs are asked to stop; one still managing an open position after the grace period is cancelled
        # and its position stays stored for the restore banner of the next start.
        await self.live_panel.shutdown()
        # After the runs: their last orders went through the desks. The desks' journals and venues close.
        self.desk.detach()
        await ws.Desks.close()
        await ws.close_ccxt_exchanges(ws.list_exchanges())
        self.close()


def _loop_is_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _present(dialog: QWidget) -> None:
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
