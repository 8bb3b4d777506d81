"""One row per live run: where it trades, how it runs, its open position and how that position stands now.

The model takes the live feed's batches: each batch changes any number of rows and the views repaint once, with one
row insertion for the runs it first names and one ``dataChanged`` over the rows it touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QWidget

import workstation as ws
from ui.charts.candle_chart import format_price
from ui.live.feed import is_live_error
from ui.live.runs import RunKey, RunStatus, TradingMode, key_of
from ui.live.tones import DARK_TONES, LiveTones
from ui.widgets.formatting import minute_time, signed
from ui.widgets.statistics_table import CopyableTableView

_ModelIndex = QModelIndex | QPersistentModelIndex
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
#: What a cell shows when there is nothing to show (flat: no entry, no TP).
EMPTY = "—"
#: The six tick result models (``ws.TickResult`` is their annotated union, which ``isinstance`` cannot take).
TICK_RESULTS = (
    ws.IdleResult,
    ws.ScheduledResult,
    ws.OpenedResult,
    ws.ActiveResult,
    ws.ClosedResult,
    ws.CancelledResult,
)


class StrategyColumn(IntEnum):
    """The columns of the live strategies table, in order."""

    SYMBOL = 0
    STRATEGY = 1
    EXCHANGE = 2
    MODE = 3
    STATUS = 4
    POSITION = 5
    ENTRY = 6
    TAKE_PROFIT = 7
    STOP_LOSS = 8
    HELD = 9
    PRICE = 10
    UNREALISED = 11
    LAST_TICK = 12


STRATEGY_HEADERS: tuple[str, ...] = (
    "Symbol",
    "Strategy",
    "Exchange",
    "Mode",
    "Status",
    "Position",
    "Entry",
    "TP",
    "SL",
    "Held %",
    "Price",
    "Unrealised %",
    "Last tick (UTC)",
)

_NUMERIC = frozenset(
    {
        StrategyColumn.ENTRY,
        StrategyColumn.TAKE_PROFIT,
        StrategyColumn.STOP_LOSS,
        StrategyColumn.HELD,
        StrategyColumn.PRICE,
        StrategyColumn.UNREALISED,
    }
)


@dataclass
class LiveRun:
    """What the table knows of one run; ``signal`` is its open position or waiting limit order (None: flat)."""

    symbol: str
    strategy_name: str
    exchange_name: str
    mode: TradingMode
    status: RunStatus = "running"
    signal: ws.SignalRow | None = None
    current_price: float | None = None
    last_tick: int | None = None
    error: str = ""
    #: Its strategy opens no new position (``ws.PauseEvent``); shown as the status of a running run.
    paused: bool = False
    texts: tuple[str, ...] = field(default=())

    @property
    def key(self) -> RunKey:
        """Return the run's ``(symbol, strategy_name)``."""
        return (self.symbol, self.strategy_name)

    @property
    def waiting(self) -> bool:
        """Tell whether the run's signal is a limit order not filled yet."""
        return self.signal is not None and self.signal.pending_at is None

    def unrealised_percentage(self) -> float | None:
        """Return the net PnL % of the open position at the current price (fees and slippage as configured).

        A position's view carries its PnL at the tick's price with its entries and partial closes (P15); a row
        without one is a plain position, valued from its entry.
        """
        if self.signal is None or self.waiting or self.current_price is None:
            return None
        signal = self.signal
        if signal.pnl is not None:
            return signal.pnl.pnl_percentage
        return ws.compute_pnl(signal.position, signal.price_open, self.current_price, ws.get_config()).pnl_percentage

    def format(self) -> None:
        """Write the row's texts once, when it changes, so that painting formats nothing."""
        signal = self.signal
        unrealised = self.unrealised_percentage()
        position = EMPTY if signal is None else signal.position.upper() + (" limit" if self.waiting else "")
        self.texts = (
            self.symbol,
            self.strategy_name,
            self.exchange_name,
            self.mode,
            "paused" if self.paused and self.status == "running" else self.status,
            position,
            format_price(signal.price_open) if signal is not None else EMPTY,
            format_price(signal.price_take_profit) if signal is not None else EMPTY,
            format_price(signal.price_stop_loss) if signal is not None else EMPTY,
            # The share of the money put in still held: partial closes take it down (a waiting order holds none).
            f"{100 - signal.partial_executed:.2f}" if signal is not None and not self.waiting else EMPTY,
            format_price(self.current_price) if self.current_price is not None else EMPTY,
            signed(unrealised, 2) if unrealised is not None else EMPTY,
            minute_time(self.last_tick) if self.last_tick is not None else EMPTY,
        )


class LiveStrategiesModel(QAbstractTableModel):
    """Every live run of the session, in the order it first appeared."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runs: list[LiveRun] = []
        self._rows: dict[RunKey, int] = {}
        self._tones = DARK_TONES
        self._bold = QFont()
        self._bold.setBold(True)

    # -- what the panel does ------------------------------------------------------------------------------

    def add_run(self, symbol: str, strategy_name: str, exchange_name: str, mode: TradingMode) -> LiveRun:
        """Show a run that starts now: a new row, or the run's row again, ``running`` and without an error."""
        key = (symbol, strategy_name)
        row = self._rows.get(key)
        if row is None:
            run = LiveRun(symbol, strategy_name, exchange_name, mode)
            self._insert([run])
            return run
        run = self._runs[row]
        run.exchange_name, run.mode, run.status, run.error = exchange_name, mode, "running", ""
        self._touched({row})
        return run

    def set_status(self, key: RunKey, status: RunStatus) -> None:
        """Put the run of ``key`` in ``status`` (``stopping`` when Stop is pressed)."""
        row = self._rows.get(key)
        if row is not None and self._runs[row].status != status:
            self._runs[row].status = status
            self._touched({row})

    def apply(self, events: Sequence[object]) -> None:
        """Take a batch of the live feed in order: tick results, ended runs and failed runs; repaint once."""
        # A run started outside the panel (a script, the command line) is listed as soon as it reports.
        new_runs: dict[RunKey, LiveRun] = {}
        for event in events:
            key = key_of(event)
            if _is_tick(event) and key not in self._rows and key not in new_runs:
                new_runs[key] = LiveRun(key[0], key[1], str(getattr(event, "exchange_name", "")), "live")
        self._insert(list(new_runs.values()))
        touched: set[int] = set()
        for event in events:
            row = self._rows.get(key_of(event))
            if row is None:
                continue
            if self._take(self._runs[row], event):
                touched.add(row)
        self._touched(touched)

    def set_tones(self, tones: LiveTones) -> None:
        """Colour statuses and PnL with ``tones`` (a theme change)."""
        self._tones = tones
        if self._runs:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._runs) - 1, len(STRATEGY_HEADERS) - 1))

    # -- reading ------------------------------------------------------------------------------------------

    def run(self, key: RunKey) -> LiveRun | None:
        """Return the run of ``key``, if listed."""
        row = self._rows.get(key)
        return None if row is None else self._runs[row]

    def run_at(self, row: int) -> LiveRun:
        """Return the run shown in ``row``."""
        return self._runs[row]

    def row_of(self, key: RunKey) -> int | None:
        """Return the row of the run of ``key``, if listed."""
        return self._rows.get(key)

    def runs(self) -> list[LiveRun]:
        """Return every run, in row order."""
        return list(self._runs)

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._runs)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(STRATEGY_HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return STRATEGY_HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if section in _NUMERIC else _LEFT
        return None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        run = self._runs[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return run.texts[column]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column in _NUMERIC else _LEFT
        if role == Qt.ItemDataRole.ForegroundRole:
            colour = self._colour(run, column)
            return QBrush(QColor(colour)) if colour is not None else None
        if role == Qt.ItemDataRole.FontRole and column in (StrategyColumn.STATUS, StrategyColumn.UNREALISED):
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole and column == StrategyColumn.STATUS and run.error:
            return run.error
        return None

    # -- internals ----------------------------------------------------------------------------------------

    def _insert(self, runs: list[LiveRun]) -> None:
        if not runs:
            return
        first = len(self._runs)
        for run in runs:
            run.format()
        self.beginInsertRows(QModelIndex(), first, first + len(runs) - 1)
        for offset, run in enumerate(runs):
            self._rows[run.key] = first + offset
            self._runs.append(run)
        self.endInsertRows()

    def _touched(self, rows: set[int]) -> None:
        if not rows:
            return
        for row in rows:
            self._runs[row].format()
        self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), len(STRATEGY_HEADERS) - 1))

    @staticmethod
    def _take(run: LiveRun, event: object) -> bool:
        """Update ``run`` with one event; return whether anything shown may have changed."""
        if isinstance(event, ws.DoneEvent):
            if event.backtest:
                return False
            run.status = "stopped"
            return True
        if isinstance(event, ws.ErrorEvent):
            if not is_live_error(event):
                return False
            run.error = f"{event.exception_type}: {event.message}"
            if event.source == "Live.background":
                run.status = "failed"
            return True
        if isinstance(event, ws.PauseEvent):
            run.paused = event.paused
            return not event.backtest
        if isinstance(event, ws.CommitEvent):
            # The position as the command left it, before the next tick; a position the tick closed stays closed.
            if event.backtest or run.signal is None or run.signal.id != event.signal.id:
                return False
            run.signal = event.signal
            return True
        if isinstance(event, ws.ScheduledResult | ws.OpenedResult | ws.ActiveResult):
            signal: ws.SignalRow | None = event.signal
        elif isinstance(event, ws.IdleResult | ws.ClosedResult | ws.CancelledResult):
            signal = None
        else:
            return False
        if event.backtest:
            return False
        run.signal = signal
        run.exchange_name = event.exchange_name
        run.current_price = event.current_price
        run.last_tick = event.timestamp
        return True

    def _colour(self, run: LiveRun, column: int) -> str | None:
        tones = self._tones
        if column == StrategyColumn.STATUS:
            if run.paused and run.status == "running":
                return tones.warning
            return {
                "running": tones.gain,
                "stopping": tones.warning,
                "stopped": tones.muted,
                "failed": tones.loss,
            }[run.status]
        if column == StrategyColumn.UNREALISED:
            value = run.unrealised_percentage()
            if value is None or value == 0:
                return None
            return tones.gain if value > 0 else tones.loss
        if column == StrategyColumn.POSITION and run.signal is not None:
            return tones.gain if run.signal.position == "long" else tones.loss
        if column == StrategyColumn.MODE and run.mode == "paper":
            return tones.accent
        return None


def _is_tick(event: object) -> bool:
    return isinstance(event, TICK_RESULTS) and not getattr(event, "backtest", True)


#: The widest text each column usually holds, measured once to size the columns.
_WIDTH_SAMPLES: tuple[str, ...] = (
    "BTCUSDT00",
    "sma-cross-market",
    "paper-demo-BTCUSDT",
    "paper",
    "stopping",
    "SHORT limit",
    "000000.00",
    "000000.00",
    "000000.00",
    "000000.00",
    "Unrealised %",
    "0000-00-00 00:00",
)


class LiveStrategiesTable(CopyableTableView):
    """The live runs as a table; the current row is the run the chart and the levels follow.

    Signals
    -------
    current_run_changed(object)
        The ``RunKey`` of the run now current, or None when no row is.
    selection_changed()
        The set of selected rows changed (Stop acts on them).
    """

    current_run_changed = Signal(object)
    selection_changed = Signal()

    def __init__(self, model: LiveStrategiesModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strategies = model
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a replay exchange's name keeps its start and end
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        metrics, header_metrics = self.fontMetrics(), header.fontMetrics()
        for column, sample in enumerate(_WIDTH_SAMPLES):
            width = max(
                metrics.horizontalAdvance(sample) + metrics.horizontalAdvance("00"),
                header_metrics.horizontalAdvance(STRATEGY_HEADERS[column]) + header_metrics.horizontalAdvance("00"),
            )
            header.resizeSection(column, width)
        self.selectionModel().currentRowChanged.connect(self._current_row_changed)
        self.selectionModel().selectionChanged.connect(self._selection_changed)
        # The first run listed becomes current, so the chart has something to follow without a click.
        model.rowsInserted.connect(self._select_first_run)

    def current_key(self) -> RunKey | None:
        """Return the run of the current row, if any."""
        index = self.currentIndex()
        return self.strategies.run_at(index.row()).key if index.isValid() else None

    def selected_keys(self) -> list[RunKey]:
        """Return the runs of the selected rows, top to bottom (the current row's when none is selected)."""
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        if not rows and self.currentIndex().isValid():
            rows = [self.currentIndex().row()]
        return [self.strategies.run_at(row).key for row in rows]

    def select_run(self, key: RunKey) -> None:
        """Make the run of ``key`` the current and only selected row."""
        row = self.strategies.row_of(key)
        if row is not None:
            self.selectRow(row)

    def _select_first_run(self) -> None:
        if not self.currentIndex().isValid() and self.strategies.rowCount() > 0:
            self.selectRow(0)

    def _current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.current_run_changed.emit(self.strategies.run_at(current.row()).key if current.isValid() else None)

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self.selection_changed.emit()
