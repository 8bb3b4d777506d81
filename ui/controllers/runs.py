"""Backtests in run tabs: start one from the form, show its progress, stop one or all, save what ended.

Every run has a task handle kept while it works: Stop asks the engine to stop gracefully, closing a tab cancels its
run, and the window waits for the runs still working before it really closes.
"""

from __future__ import annotations

import asyncio
import time
import traceback

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QProgressBar, QTabWidget, QWidget

import workstation as ws
from ui.backtest.form import BacktestForm
from ui.backtest.run_tab import RunTab
from ui.charts.candle_item import ChartPalette
from ui.controllers.tabs import show_in_front

#: A run in the window gives the event loop a turn after this much work, so the window repaints between turns.
LOOP_TURN_SECONDS = 0.01


class RunController(QObject):
    """Start backtests in run tabs, follow and stop them, and save each run the engine worked on to the history.

    The Run, Stop and Stop all actions, the progress bar and the ETA are the controller's; the window only places
    them in its toolbar, menus and status bar.

    Signals
    -------
    run_finished(RunTab)
        A tab's run ended, in any state (saved to the history first when the engine worked on it).
    run_saved(RunTab)
        A tab's run was saved to the history.
    error_raised(str, str)
        A run failed or could not be saved: a one-line title and the details for the Log dock.
    """

    run_finished = Signal(object)
    run_saved = Signal(object)
    error_raised = Signal(str, str)

    def __init__(
        self,
        *,
        tabs: QTabWidget,
        form: BacktestForm,
        history: ws.RunHistory,
        palette: ChartPalette,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._tabs = tabs
        self._form = form
        self._history = history
        self._palette = palette
        self._tasks: dict[RunTab, asyncio.Task[None]] = {}
        self._progress_started: dict[RunTab, tuple[float, float]] = {}
        ws.Backtest.set_loop_turn(LOOP_TURN_SECONDS)

        self.run_action = QAction("Run", parent)
        self.run_action.setShortcut(QKeySequence(Qt.Key.Key_F5))
        self.run_action.setToolTip("Run the backtest of the form (F5)")
        self.run_action.triggered.connect(self._run_from_form)
        self.stop_action = QAction("Stop", parent)
        self.stop_action.setShortcut(QKeySequence(Qt.Modifier.SHIFT | Qt.Key.Key_F5))
        self.stop_action.setToolTip("Stop the run of this tab gracefully (Shift+F5)")
        self.stop_action.triggered.connect(self.stop_current)
        self.stop_all_action = QAction("Stop all", parent)
        self.stop_all_action.setToolTip("Stop every run")
        self.stop_all_action.triggered.connect(self.stop_all)

        self.progress = QProgressBar(parent)
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(240)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.eta = QLabel(parent)

        form.run_requested.connect(self.start)
        tabs.currentChanged.connect(self.update_actions)
        self.update_actions()

    def actions(self) -> tuple[QAction, QAction, QAction]:
        """Return Run, Stop and Stop all, in the order of the toolbar."""
        return (self.run_action, self.stop_action, self.stop_all_action)

    # ---------------------------------------------------------------------------------------------------------
    # Tabs

    def run_tabs(self) -> list[RunTab]:
        """Return the run tabs, left to right."""
        tabs = (self._tabs.widget(index) for index in range(self._tabs.count()))
        return [tab for tab in tabs if isinstance(tab, RunTab)]

    def current_tab(self) -> RunTab | None:
        """Return the run tab in front, if any."""
        tab = self._tabs.currentWidget()
        return tab if isinstance(tab, RunTab) else None

    def task_of(self, tab: RunTab) -> asyncio.Task[None] | None:
        """Return the task driving ``tab``'s run while it works."""
        return self._tasks.get(tab)

    def working_tasks(self) -> list[asyncio.Task[None]]:
        """Return the tasks of the runs still working."""
        return [task for task in self._tasks.values() if not task.done()]

    def open_tab(self, title: str) -> RunTab:
        """Open an empty run tab titled ``title`` in front (a stored run fills it); return it."""
        tab = self._new_tab()
        # Opened while "Preparing" (working, as far as Stop can tell) until the stored run is shown in it.
        tab.state_changed.connect(lambda _state: self.update_actions())
        show_in_front(self._tabs, tab, title)
        return tab

    def _new_tab(self) -> RunTab:
        tab = RunTab(self._palette, self._tabs)
        tab.error_raised.connect(lambda message: self.error_raised.emit(message, message))
        return tab

    def cancel(self, tab: RunTab) -> None:
        """Cancel the run of ``tab`` if it works (its tab is closing)."""
        task = self._tasks.get(tab)
        if task is not None:
            task.cancel()

    @property
    def palette(self) -> ChartPalette:
        """Return the palette run tabs are drawn in (the theme's)."""
        return self._palette

    def set_palette(self, palette: ChartPalette) -> None:
        """Draw every run tab, and those opened from now on, in ``palette`` (a theme change)."""
        self._palette = palette
        for tab in self.run_tabs():
            tab.set_palette(palette)

    # ---------------------------------------------------------------------------------------------------------
    # Running

    def _run_from_form(self) -> None:
        request = self._form.request()
        if request is not None:
            self.start(request)

    def start(self, request: ws.BacktestRequest) -> RunTab:
        """Open a tab for ``request`` and run it on the event loop; return the tab."""
        tab = self._new_tab()
        tab.state_changed.connect(lambda _state, tab=tab: self._tab_state_changed(tab))
        tab.progress_changed.connect(lambda progress, tab=tab: self._show_progress(tab, progress))
        show_in_front(self._tabs, tab, f"{request.strategy_name} · {request.symbol}")
        self._tasks[tab] = asyncio.ensure_future(self._drive(tab, request))
        self.update_actions()
        return tab

    async def _drive(self, tab: RunTab, request: ws.BacktestRequest) -> None:
        try:
            await tab.run(request)
        finally:
            self._tasks.pop(tab, None)
            self._progress_started.pop(tab, None)
        if tab.state == "Failed":
            if tab.preparation_error is not None:
                self._form.show_preparation_error(tab.preparation_error)
            self.error_raised.emit(f"Run {tab.title()} failed: {tab.error_message}", tab.error_message)
        elif tab.engine_started:
            await self._save_to_history(tab)
        self.update_actions()
        self.run_finished.emit(tab)

    async def _save_to_history(self, tab: RunTab) -> None:
        identity = tab.identity
        assert identity is not None
        parameters = identity.request.model_dump(mode="json") if identity.request is not None else {}
        try:
            await self._history.save_backtest(
                identity.symbol,
                identity.strategy_name,
                exchange_name=identity.exchange_name,
                parameters=parameters,
                state="stopped" if tab.state == "Stopped" else "finished",
                started_at_ms=tab.started_at_ms,
                run=tab.backtest_run,
            )
        except Exception as exc:
            self.error_raised.emit(f"Could not save run {tab.title()} to the history: {exc}", traceback.format_exc())
            return
        self.run_saved.emit(tab)

    def stop_current(self) -> None:
        """Stop the run of the tab in front gracefully."""
        tab = self.current_tab()
        if tab is not None:
            tab.request_stop()

    def stop_all(self) -> None:
        """Stop every run gracefully."""
        for tab in self.run_tabs():
            tab.request_stop()

    # ---------------------------------------------------------------------------------------------------------
    # What the window shows of the runs

    def _tab_state_changed(self, tab: RunTab) -> None:
        index = self._tabs.indexOf(tab)
        if index >= 0:
            suffix = "" if tab.state in ("Running", "Finished") else f" ({tab.state.lower()})"
            self._tabs.setTabText(index, tab.title() + suffix)
        if not tab.running:
            self._progress_started.pop(tab, None)
            if not self._progress_started:
                self.progress.hide()
                self.eta.clear()
        self.update_actions()

    def _show_progress(self, tab: RunTab, progress: ws.BacktestProgress) -> None:
        now = time.monotonic()
        started, first = self._progress_started.setdefault(tab, (now, progress.progress))
        if tab is not self.current_tab():
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

    def update_actions(self) -> None:
        """Enable Stop for a working run in front and Stop all while any run works."""
        tab = self.current_tab()
        self.stop_action.setEnabled(tab is not None and tab.running)
        self.stop_all_action.setEnabled(any(tab.running for tab in self.run_tabs()))
