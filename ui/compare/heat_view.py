"""The heat view: one strategy backtested on several symbols, one after the other, then its portfolio heatmap.

The form is the backtest form's (exchange, strategy and its parameters, period, costs) with a comma list of symbols
in place of the one symbol. Stop ends the backtest running now after its current signal and runs no further symbol;
the heatmap then covers what ran. Clicking a symbol opens its backtest in a run tab.
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
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

import workstation as ws
from ui.compare.common import EMPTY, fit_columns, pnl_text, ratio_text
from ui.compare.heat_table import HeatTableModel
from ui.forms import SchemaForm
from ui.forms.schema_form import ERROR_STYLE
from ui.widgets.statistics_table import CopyableTableView

#: The symbols a new view offers.
DEFAULT_SYMBOLS = "BTCUSDT, ETHUSDT, SOLUSDT"
#: The period a new view starts with: this many days up to today's midnight (UTC).
DEFAULT_DAYS = 7


class HeatView(QWidget):
    """Backtest one strategy on several symbols and show its per-symbol statistics (``ws.Heat``).

    Parameters
    ----------
    open_backtest
        Opens one symbol's backtest in a run tab (``RunController.start``).
    parent
        The parent widget.

    Signals
    -------
    running_changed(bool)
        The backtests started (True) or ended (False), whether they finished, were stopped or failed.
    error_raised(str, str)
        A backtest could not run: a one-line title and the details.
    """

    running_changed = Signal(bool)
    error_raised = Signal(str, str)

    def __init__(self, open_backtest: Callable[[ws.BacktestRequest], object], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._open_backtest = open_backtest
        self._run_task: asyncio.Task[None] | None = None
        self._stop_requested = False
        #: The backtest running now, for Stop.
        self._current: ws.BacktestRun | None = None
        #: The request the shown heatmap ran with (its symbol is the first one's), for a click on a symbol.
        self.ran: ws.BacktestRequest | None = None
        self.statistics: ws.HeatmapStatistics | None = None

        self.symbols = QLineEdit(DEFAULT_SYMBOLS, self)
        self.symbols.setObjectName("symbols")
        self.symbols.setToolTip("The markets to backtest, comma separated, as the exchange names them")
        self.symbols_error = QLabel(self)
        self.symbols_error.setObjectName("symbols_error")
        self.symbols_error.setStyleSheet(ERROR_STYLE)
        self.symbols_error.setWordWrap(True)
        self.symbols_error.hide()
        symbols_box = QWidget(self)
        symbols_layout = QVBoxLayout(symbols_box)
        symbols_layout.setContentsMargins(0, 0, 0, 0)
        symbols_layout.setSpacing(2)
        symbols_layout.addWidget(self.symbols)
        symbols_layout.addWidget(self.symbols_error)
        self.form = SchemaForm(
            ws.BacktestRequest,
            choices={"exchange_name": lambda: ws.exchange_choices(stored=True), "strategy_name": ws.strategy_choices},
            nested={"params": lambda values: ws.strategy_params_model(str(values.get("strategy_name", "")))},
            rows_after={"exchange_name": ("Symbols", symbols_box)},
            parent=self,
        )
        # The one symbol of a backtest request becomes the list above; the form keeps validating everything else.
        self.form.labels["symbol"].hide()
        self.form.editors["symbol"].widget.hide()
        end = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
        self.form.set_values({"start": end - timedelta(days=DEFAULT_DAYS), "end": end})

        self.run_button = QPushButton("Run", self)
        self.run_button.setObjectName("run")
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("stop")
        self.stop_button.setToolTip("Stop after the current signal of the symbol running now; run no further symbol")
        self.status = QLabel("Choose a strategy and the symbols, then Run.", self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar(self)
        self.progress.setFormat("%v of %m symbols")
        # Shown from the first run on: before it, any count would be made up ("0 of 1" with two symbols typed).
        self.progress.hide()
        self.summary = QLabel(self)
        self.summary.setObjectName("summary")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = HeatTableModel(self)
        self.table = CopyableTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.setCursor(Qt.CursorShape.PointingHandCursor)

        settings = QWidget(self)
        settings_layout = QVBoxLayout(settings)
        settings_layout.setContentsMargins(0, 0, 6, 0)
        settings_layout.addWidget(self.form)
        settings_layout.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidget(settings)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # In a narrow window the settings scroll sideways rather than squeezing their fields or widening the window.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(scroll, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        left_layout.addLayout(buttons)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.status)
        right_layout.addWidget(self.progress)
        right_layout.addWidget(self.summary)
        right_layout.addWidget(self.table, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 820])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

        self.run_button.clicked.connect(self.run)
        self.stop_button.clicked.connect(self.stop)
        self.table.clicked.connect(self._open_row)
        self.form.validity_changed.connect(lambda _valid: self._update_buttons())
        self.symbols.textChanged.connect(lambda _text: self._update_buttons())
        self._update_buttons()

    # -- commands -----------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Tell whether the backtests are running."""
        return self._run_task is not None

    def symbol_list(self) -> list[str]:
        """Return the symbols typed, trimmed, without repeats, in the order given."""
        return ws.split_symbols(self.symbols.text())

    def run(self) -> asyncio.Task[None] | None:
        """Backtest the strategy on every symbol, then show its heatmap; return the task (None if nothing started)."""
        request = self.form.result()
        symbols = self.symbol_list()
        if self._run_task is not None or not isinstance(request, ws.BacktestRequest) or not symbols:
            return None
        self._stop_requested = False
        self._run_task = asyncio.ensure_future(self._backtest_all(request, symbols))
        self._set_running(True)
        return self._run_task

    def stop(self) -> None:
        """End the backtest running now after its current signal and run no further symbol."""
        if self._run_task is None:
            return
        self._stop_requested = True
        self.status.setText("Stopping after the current signal…")
        if self._current is not None:
            self._current.stop()
        self._update_buttons()

    async def shutdown(self) -> None:
        """Stop the backtests and wait for them to end (the window is closing)."""
        task = self._run_task
        if task is None:
            return
        self.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    def refresh_choices(self) -> None:
        """Offer the exchanges and strategies registered since (a strategy file was loaded)."""
        self.form.refresh_choices()

    # -- the backtests ------------------------------------------------------------------------------------

    async def _backtest_all(self, request: ws.BacktestRequest, symbols: list[str]) -> None:
        done = 0
        runs: list[ws.BacktestRun] = []
        try:
            self.progress.setRange(0, len(symbols))
            self.progress.setValue(0)
            self.progress.show()
            for symbol in symbols:
                if self._stop_requested:
                    break
                self.status.setText(f"Backtesting {request.strategy_name} on {symbol} ({done + 1} of {len(symbols)})…")
                prepared = await ws.prepare_backtest(request.model_copy(update={"symbol": symbol}))
                self._current = prepared.run()
                runs.append(self._current)
                async for _result in self._current:
                    pass
                done += 1
                self.progress.setValue(done)
            self._current = None
            if runs:
                # This view's runs only: a run tab of the same strategy beside it is not part of the heatmap.
                self.show_statistics(request, await ws.Heat.get_run_data(runs))
        except asyncio.CancelledError:
            self.status.setText(f"Stopped: {done} of {len(symbols)} symbols backtested.")
            raise
        except Exception as exc:
            title = f"The backtest of {request.strategy_name} on {self._current_symbol()} failed: {exc}"
            self.status.setText(title)
            self.error_raised.emit(title, traceback.format_exc())
        else:
            state = "Stopped" if self._stop_requested else "Finished"
            self.status.setText(
                f"{state}: {done} of {len(symbols)} symbols backtested. Click a symbol to open its backtest."
            )
        finally:
            self._current = None
            self._run_task = None
            self._set_running(False)

    def show_statistics(self, request: ws.BacktestRequest, statistics: ws.HeatmapStatistics) -> None:
        """Show ``statistics`` (the heatmap of ``request``'s strategy) and remember ``request`` for a click."""
        self.ran = request
        self.statistics = statistics
        self.model.set_statistics(statistics)
        fit_columns(self.table)
        if statistics.total_symbols == 0:
            self.summary.setText("No closed trade: the heatmap has no row.")
            return
        self.summary.setText(
            f"{statistics.total_symbols} symbols · portfolio PnL {pnl_text(statistics.portfolio_total_pnl)} · "
            f"Sharpe {ratio_text(statistics.portfolio_sharpe_ratio, 2)} · {statistics.portfolio_total_trades} trades"
        )

    # -- internals ----------------------------------------------------------------------------------------

    def _current_symbol(self) -> str:
        return self._current.symbol if self._current is not None else EMPTY

    def _open_row(self, index: QModelIndex) -> None:
        if not index.isValid() or self.ran is None:
            return
        symbol = self.model.row_at(index.row()).symbol
        self._open_backtest(self.ran.model_copy(update={"symbol": symbol}))

    def _set_running(self, running: bool) -> None:
        self._update_buttons()
        self.running_changed.emit(running)

    def _update_buttons(self) -> None:
        symbols = self.symbol_list()
        self.symbols_error.setText("" if symbols else "Enter at least one symbol, e.g. BTCUSDT, ETHUSDT.")
        self.symbols_error.setVisible(not symbols)
        if symbols:
            # The hidden symbol field is validated with the rest of the request: it holds the first symbol.
            editor = self.form.editors["symbol"]
            if editor.value() != symbols[0]:
                self.form.set_values({"symbol": symbols[0]})
        running = self._run_task is not None
        self.run_button.setEnabled(not running and bool(symbols) and self.form.is_valid())
        self.stop_button.setEnabled(running and not self._stop_requested)
        self.form.setEnabled(not running)
