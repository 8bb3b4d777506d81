"""The walker view: several strategies backtested one after the other on one market and period, ranked by a metric.

The ranking fills as each strategy finishes. Stop ends the walk after the strategy running now (its backtest
resolves its current signal and still counts), so the rows already there stay. Double-clicking a strategy opens
its backtest, on the same symbol, exchange and period, in a run tab.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

import workstation as ws
from ui.charts.candle_item import ChartPalette
from ui.compare.common import METRIC_TITLES, fit_columns, title_choices
from ui.compare.equity_overlay import EquityOverlay, NormalisedEquity, normalised_equity
from ui.compare.strategy_checklist import StrategyChecklist
from ui.compare.walker_ranking import RankedStrategy, WalkerRankingModel
from ui.forms import SchemaForm
from ui.forms.schema_form import ERROR_STYLE
from ui.widgets.statistics_table import CopyableTableView

#: Where a failed strategy's backtest is reported (``ErrorEvent.source``).
WALKER_ERROR_SOURCE = "Walker.run"
#: The period a new view starts with: this many days up to today's midnight (UTC).
DEFAULT_DAYS = 7


class WalkerView(QWidget):
    """Compare strategies on one symbol, exchange and period; rank them by a metric as each one finishes.

    Parameters
    ----------
    open_backtest
        Opens one strategy's backtest in a run tab (``RunController.start``).
    parent
        The parent widget.

    Signals
    -------
    running_changed(bool)
        A walk started (True) or ended (False), whether it finished, was stopped or failed.
    error_raised(str, str)
        A walk could not start or failed: a one-line title and the details.
    """

    running_changed = Signal(bool)
    error_raised = Signal(str, str)

    def __init__(self, open_backtest: Callable[[ws.BacktestRequest], object], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._open_backtest = open_backtest
        self._run_task: asyncio.Task[None] | None = None
        #: The walk running or last run: its request and registered walker, for Stop and the double-click.
        self._walked: tuple[ws.WalkerRequest, str] | None = None
        self._stop_requested = False

        self.form = SchemaForm(
            ws.WalkerRequest, choices={"exchange_name": lambda: ws.exchange_choices(stored=True)}, parent=self
        )
        title_choices(self.form, "metric", METRIC_TITLES)
        end = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
        self.form.set_values({"start": end - timedelta(days=DEFAULT_DAYS), "end": end})
        self.strategies = StrategyChecklist(parent=self)
        self.strategies_error = QLabel(self)
        self.strategies_error.setObjectName("strategies_error")
        self.strategies_error.setStyleSheet(ERROR_STYLE)
        self.strategies_error.setWordWrap(True)
        self.run_button = QPushButton("Run", self)
        self.run_button.setObjectName("run")
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("stop")
        self.stop_button.setToolTip("Stop after the strategy running now; the strategies ranked so far stay")
        self.status = QLabel("Tick the strategies to compare, then Run.", self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.ranking = WalkerRankingModel(self)
        self.table = CopyableTableView(self)
        self.table.setModel(self.ranking)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.ranking.rowsInserted.connect(lambda *_args: fit_columns(self.table))
        self.ranking.modelReset.connect(lambda: fit_columns(self.table))

        settings = QWidget(self)
        settings_layout = QVBoxLayout(settings)
        settings_layout.setContentsMargins(0, 0, 0, 0)
        settings_layout.addWidget(self.form)
        settings_layout.addWidget(QLabel("Strategies", settings))
        settings_layout.addWidget(self.strategies, 1)
        settings_layout.addWidget(self.strategies_error)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        settings_layout.addLayout(buttons)
        results = QWidget(self)
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(self.status)
        # Below the ranking, each tested strategy's equity normalised to the starting balance, as it finishes.
        self.equity = EquityOverlay(parent=self)
        self._curves: list[NormalisedEquity] = []
        ranked = QSplitter(Qt.Orientation.Vertical, results)
        ranked.addWidget(self.table)
        ranked.addWidget(self.equity)
        ranked.setSizes([400, 300])
        results_layout.addWidget(ranked, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(settings)
        splitter.addWidget(results)
        splitter.setChildrenCollapsible(False)
        settings.setMinimumWidth(settings.sizeHint().width())
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([340, 760])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

        self.run_button.clicked.connect(self.run)
        self.stop_button.clicked.connect(self.stop)
        self.table.doubleClicked.connect(self._open_row)
        self.form.validity_changed.connect(lambda _valid: self._update_buttons())
        self.strategies.selection_changed.connect(self._update_buttons)
        self._update_buttons()

    # -- commands -----------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Tell whether a walk is preparing or running."""
        return self._run_task is not None

    def run(self) -> asyncio.Task[None] | None:
        """Start the walk of the form and the ticked strategies; return its task (None if nothing started)."""
        request = self.form.result()
        strategies = self.strategies.checked()
        if self._run_task is not None or not isinstance(request, ws.WalkerRequest) or not strategies:
            return None
        self._stop_requested = False
        self._walked = None
        self._run_task = asyncio.ensure_future(self._walk(request, strategies))
        self._set_running(True)
        return self._run_task

    def stop(self) -> None:
        """Stop the walk after the strategy running now; the strategies already ranked stay."""
        if self._run_task is None:
            return
        self._stop_requested = True
        self.status.setText("Stopping after the strategy running now…")
        if self._walked is not None:
            request, walker_name = self._walked
            # The flag is set at once: the walk starts no further strategy, even one about to start.
            ws.Walker.stop(request.symbol, walker_name)
        self._update_buttons()

    async def shutdown(self) -> None:
        """Stop the walk and wait for it to end (the window is closing)."""
        task = self._run_task
        if task is None:
            return
        self.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    def refresh_choices(self) -> None:
        """Offer the exchanges and strategies registered since (a strategy file was loaded)."""
        self.form.refresh_choices()
        self.strategies.refresh()

    # -- the walk -----------------------------------------------------------------------------------------

    async def _walk(self, request: ws.WalkerRequest, strategies: list[str]) -> None:
        failures: dict[str, str] = {}
        tested = 0
        unsubscribe: Callable[[], None] | None = None
        try:
            self.status.setText("Preparing…")
            walker_name = (await ws.prepare_walk(request, strategies)).walker_name
            self._walked = (request, walker_name)
            self.ranking.start(request.metric)
            self._curves = []
            self.equity.set_runs([])

            def on_error(event: ws.ErrorEvent) -> None:
                if event.source == WALKER_ERROR_SOURCE and event.symbol == request.symbol:
                    name = event.strategy_name or ""
                    if name in strategies and name not in failures:
                        failures[name] = f"{event.exception_type}: {event.message}"
                        self.ranking.add(RankedStrategy.failed(name, failures[name]))

            unsubscribe = ws.listen_error(on_error)
            if not self._stop_requested:
                self.status.setText(f"Testing {strategies[0]} (1 of {len(strategies)})…")
                contract: ws.WalkerContract
                async for contract in ws.Walker.run(request.symbol, walker_name=walker_name):
                    tested = contract.strategies_tested
                    account = await self._account_of(request.symbol, contract.strategy_name)
                    self.ranking.add(
                        RankedStrategy.tested(contract.strategy_name, contract.stats, contract.metric_value, account)
                    )
                    if account is not None:
                        self._curves.append(normalised_equity(contract.strategy_name, account))
                        self.equity.set_runs(self._curves)
                    self._show_progress(contract, len(failures))
        except asyncio.CancelledError:
            self.status.setText(f"Stopped: {tested} of {len(strategies)} strategies ranked.")
            raise
        except Exception as exc:
            title = f"The walk could not run: {exc}"
            self.status.setText(title)
            self.error_raised.emit(title, traceback.format_exc())
        else:
            self.status.setText(self._summary(tested, len(strategies), failures))
        finally:
            if unsubscribe is not None:
                unsubscribe()
            self._run_task = None
            self._set_running(False)

    @staticmethod
    async def _account_of(symbol: str, strategy_name: str) -> ws.AccountReport | None:
        """Return the tested strategy's account (its backtest's, kept by ``ws.Backtest``), None if it never ran."""
        try:
            return await ws.Backtest.get_account(symbol, strategy_name)
        except ValueError:
            return None

    def set_palette(self, palette: ChartPalette) -> None:
        """Draw the equity chart in ``palette`` (a theme change)."""
        self.equity.set_palette(palette)

    def _show_progress(self, contract: ws.WalkerContract, failed: int) -> None:
        done = contract.strategies_tested + failed
        best = f" · best so far: {contract.best_strategy}" if contract.best_strategy else ""
        if self._stop_requested or done >= contract.total_strategies:
            self.status.setText(f"{contract.strategies_tested} of {contract.total_strategies} strategies ranked{best}")
        else:
            self.status.setText(
                f"{contract.strategies_tested} of {contract.total_strategies} strategies ranked{best} · "
                f"testing the next…"
            )

    def _summary(self, tested: int, total: int, failures: dict[str, str]) -> str:
        failed = f" · {len(failures)} failed (see the Log)" if failures else ""
        if self._stop_requested:
            return f"Stopped: {tested} of {total} strategies ranked{failed}."
        return f"Finished: {tested} of {total} strategies ranked{failed}. Double-click one to open its backtest."

    # -- internals ----------------------------------------------------------------------------------------

    def _open_row(self, index: QModelIndex) -> None:
        if not index.isValid() or self._walked is None:
            return
        request, _walker_name = self._walked
        entry = self.ranking.entry_at(index.row())
        self._open_backtest(ws.comparison_backtest(request, entry.strategy_name))

    def _set_running(self, running: bool) -> None:
        self._update_buttons()
        self.running_changed.emit(running)

    def _update_buttons(self) -> None:
        ticked = self.strategies.checked()
        self.strategies_error.setText("" if ticked else "Tick at least one strategy to compare.")
        self.strategies_error.setVisible(not ticked)
        running = self._run_task is not None
        self.run_button.setEnabled(not running and bool(ticked) and self.form.is_valid())
        self.stop_button.setEnabled(running and not self._stop_requested)
        self.form.setEnabled(not running)
        self.strategies.setEnabled(not running)
