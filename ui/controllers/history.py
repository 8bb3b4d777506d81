"""The History dock and what it opens: a stored run in a run tab, or two stored runs side by side."""

from __future__ import annotations

import traceback
from datetime import UTC, datetime

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QTabWidget, QWidget

import workstation as ws
from ui.backtest.run_tab import RunTab, candles_with_warm_up
from ui.charts.candle_item import ChartPalette
from ui.controllers.background import BackgroundTasks
from ui.controllers.runs import RunController
from ui.controllers.tabs import show_in_front
from ui.history.history_dock import HistoryPanel
from ui.widgets.comparison import ComparisonView


class HistoryController(QObject):
    """Show the run history in its dock, and open stored runs from it without running them again.

    Signals
    -------
    error_raised(str, str)
        A stored run could not be read: a one-line title and the details for the Log dock.
    message_logged(str)
        A line for the Log dock (a stored run whose candles cannot be drawn).
    """

    error_raised = Signal(str, str)
    message_logged = Signal(str)

    def __init__(
        self,
        *,
        history: ws.RunHistory,
        runs: RunController,
        tabs: QTabWidget,
        background: BackgroundTasks,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.panel = HistoryPanel(history, parent)
        self._history = history
        self._runs = runs
        self._tabs = tabs
        self._background = background
        self.panel.open_requested.connect(lambda run_id: background.spawn(self.open(run_id)))
        self.panel.compare_requested.connect(lambda first, second: background.spawn(self.compare(first, second)))
        self.panel.error_raised.connect(self.error_raised)
        runs.run_saved.connect(lambda _tab: self.panel.refresh())

    async def open(self, run_id: int) -> RunTab | None:
        """Re-create the tab of a stored run without re-running it.

        The run is read and its statistics recomputed on the history's thread (a year's run: about 130 ms that the
        GUI thread no longer waits through).
        """
        try:
            stored = await self._history.worker.call(self._history.load, run_id)
        except Exception as exc:
            self.error_raised.emit(f"Could not open run #{run_id}: {exc}", traceback.format_exc())
            return None
        tab = self._runs.open_tab(_stored_title(stored))
        tab.show_stored(stored, None)
        self._background.spawn(self._load_candles(tab, stored))
        self._background.spawn(self._show_account(tab, stored))
        return tab

    async def _show_account(self, tab: RunTab, stored: ws.StoredRun) -> None:
        try:
            await tab.show_stored_account(stored)
        except Exception as exc:
            self.message_logged.emit(f"Run #{stored.summary.id}: no account to show ({type(exc).__name__}: {exc})")

    async def _load_candles(self, tab: RunTab, stored: ws.StoredRun) -> None:
        summary = stored.summary
        try:
            read, first = await candles_with_warm_up(
                ws.ensure_exchange(summary.exchange_name),
                summary.symbol,
                datetime.fromtimestamp(summary.frame_start / 1000, tz=UTC),
                datetime.fromtimestamp(summary.frame_end / 1000, tz=UTC),
            )
        except Exception as exc:
            self.message_logged.emit(f"Run #{summary.id}: no candles to draw ({type(exc).__name__}: {exc})")
            return
        tab.chart.set_candles(read[first:])
        tab.chart.show_all()
        # The request the run was saved with names the strategy and its parameters, as the run was asked for.
        strategy_name = stored.parameters.get("strategy_name", summary.strategy_name)
        await tab.show_indicators(strategy_name, read, first, stored.parameters.get("params"))

    def set_palette(self, palette: ChartPalette) -> None:
        """Draw the comparisons of stored runs open in the tabs in ``palette`` (a theme change)."""
        for index in range(self._tabs.count()):
            page = self._tabs.widget(index)
            if isinstance(page, ComparisonView):
                page.set_palette(palette)

    async def compare(self, first: int, second: int) -> ComparisonView | None:
        """Open a tab comparing the statistics of two stored runs side by side (read on the history's thread)."""
        try:
            # Older first, so the difference column reads newer minus older.
            runs = [await self._history.worker.call(self._history.load, run_id) for run_id in sorted((first, second))]
        except Exception as exc:
            self.error_raised.emit(f"Could not compare runs #{first} and #{second}: {exc}", traceback.format_exc())
            return None
        accounts = [await _account_of(run) for run in runs]
        view = ComparisonView(self._tabs, self._runs.palette)
        view.set_runs([(_stored_title(run), run.statistics, run.series) for run in runs], accounts=accounts)
        show_in_front(self._tabs, view, f"Compare #{first} / #{second}")
        return view


async def _account_of(run: ws.StoredRun) -> ws.AccountReport | None:
    """Return a stored run's account, or None when its stored settings cannot be read (the table then compares the
    per-trade figures, and its curve is its balance at the closes)."""
    try:
        return await run.get_account()
    except ValueError:
        return None


def _stored_title(run: ws.StoredRun) -> str:
    summary = run.summary
    return f"#{summary.id} {summary.strategy_name} · {summary.symbol}"
