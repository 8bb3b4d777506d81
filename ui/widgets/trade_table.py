"""The closed trades of a run: a model fed in batches, a filter by close reason and side, a view with CSV export and
each trade's command log."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

import workstation as ws
from ui.widgets.command_log import CommandLogDialog
from ui.widgets.formatting import (
    GAIN_TEXT,
    LOSS_TEXT,
    MAX_PRICE_DECIMALS,
    duration_minutes,
    fixed,
    minute_time,
    signed,
)
from ui.widgets.statistics_table import CopyableTableView

_ModelIndex = QModelIndex | QPersistentModelIndex

#: Returns the commands that changed a signal of the run, by its id (``ws.BacktestRun.commands_of``,
#: ``ws.StoredRun.commands_of``); None when the run was stored in the history without its command log.
CommandSource = Callable[[str], Sequence[ws.PositionCommand] | None]

#: Why a trade's command log cannot be opened when the table has no command source (no run behind its trades).
NO_COMMAND_LOG = "No run behind these trades: no command log to show"

#: The role whose raw values (numbers, epoch ms) the table sorts by, so -10 sorts before -2 and 3.
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


class TradeColumn(IntEnum):
    """The columns of the trade table, in order."""

    NUMBER = 0
    SIGNAL_ID = 1
    SIDE = 2
    OPEN_TIME = 3
    CLOSE_TIME = 4
    DURATION = 5
    OPEN_PRICE = 6
    CLOSE_PRICE = 7
    TAKE_PROFIT = 8
    STOP_LOSS = 9
    PNL_PERCENT = 10
    PNL_MONEY = 11
    CLOSE_REASON = 12
    ENTRIES = 13
    ORIGINAL_OPEN_PRICE = 14
    PARTIALS = 15
    PARTIAL_EXECUTED = 16
    NOTE = 17


TRADE_HEADERS: tuple[str, ...] = (
    "#",
    "Signal ID",
    "Side",
    "Open time",
    "Close time",
    "Duration (min)",
    "Open price",
    "Close price",
    "TP",
    "SL",
    "PnL %",
    "PnL",
    "Close reason",
    "Entries",
    "Original open",
    "Partials",
    "Closed by partials %",
    "Note",
)

_NUMERIC_COLUMNS = frozenset(
    {
        TradeColumn.NUMBER,
        TradeColumn.DURATION,
        TradeColumn.OPEN_PRICE,
        TradeColumn.CLOSE_PRICE,
        TradeColumn.TAKE_PROFIT,
        TradeColumn.STOP_LOSS,
        TradeColumn.PNL_PERCENT,
        TradeColumn.PNL_MONEY,
        TradeColumn.ENTRIES,
        TradeColumn.ORIGINAL_OPEN_PRICE,
        TradeColumn.PARTIALS,
        TradeColumn.PARTIAL_EXECUTED,
    }
)

#: The widest text each column usually holds, measured once to size the columns (a resize to contents would
#: measure every row on every batch).
_WIDTH_SAMPLES: tuple[str, ...] = (
    "0000",
    "strategy:BTCUSDT:00000",
    "SHORT",
    "0000-00-00 00:00",
    "0000-00-00 00:00",
    "Duration (min)",
    "000000.00000000",
    "000000.00000000",
    "000000.00000000",
    "000000.00000000",
    "+000.00",
    "+00000.00",
    "time_expired",
    "000",
    "000000.00000000",
    "000",
    "000.00",
    "a note of some length",
)

#: What a column's title means, where the title alone cannot say it.
_HEADER_TIPS = {
    TradeColumn.OPEN_PRICE: "The effective entry: the average price of every entry (averaging in moves it)",
    TradeColumn.ORIGINAL_OPEN_PRICE: "The price of the first entry",
    TradeColumn.TAKE_PROFIT: "The take profit at the close (after every trailing move)",
    TradeColumn.STOP_LOSS: "The stop loss at the close (after every trailing move and breakeven)",
    TradeColumn.PARTIAL_EXECUTED: "Money taken out by partial closes, in % of all the money put in",
}

#: "closed": closed by hand or by partial closes (a managed position, SPEC-position P11); "liquidation": the isolated
#: position's liquidation price came before its stop (a stop trailed beyond it, SPEC-position P3).
CLOSE_REASONS: tuple[str, ...] = ("take_profit", "stop_loss", "time_expired", "closed", "liquidation")
SIDES: tuple[str, ...] = ("long", "short")

_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _tone(value: float) -> str | None:
    return GAIN_TEXT if value > 0 else LOSS_TEXT if value < 0 else None


@dataclass(frozen=True, slots=True)
class _TradeRow:
    """One closed trade with its texts and sort keys, formatted once when it arrives."""

    result: ws.ClosedResult
    texts: tuple[str, ...]
    keys: tuple[int | float | str, ...]


def _trade_row(number: int, result: ws.ClosedResult, price_decimals: int) -> _TradeRow:
    signal = result.signal

    def price(value: float) -> str:
        return fixed(value, price_decimals)

    pnl = result.pnl
    duration = duration_minutes(result)
    opened = signal.pending_at
    texts = (
        str(number),
        signal.id,
        signal.position.upper(),
        minute_time(opened) if opened is not None else "",
        minute_time(result.close_timestamp),
        str(duration) if duration is not None else "",
        price(signal.price_open),
        price(result.current_price),
        price(signal.price_take_profit),
        price(signal.price_stop_loss),
        signed(pnl.pnl_percentage, 2),
        signed(pnl.pnl_cost, 2),
        result.close_reason,
        str(signal.total_entries),
        price(signal.original_price_open),
        str(signal.total_partials),
        fixed(signal.partial_executed, 2),
        signal.note,
    )
    keys = (
        number,
        signal.id,
        signal.position,
        opened if opened is not None else -1,
        result.close_timestamp,
        duration if duration is not None else -1,
        signal.price_open,
        result.current_price,
        signal.price_take_profit,
        signal.price_stop_loss,
        pnl.pnl_percentage,
        pnl.pnl_cost,
        result.close_reason,
        signal.total_entries,
        signal.original_price_open,
        signal.total_partials,
        signal.partial_executed,
        signal.note,
    )
    return _TradeRow(result, texts, keys)


class TradeTableModel(QAbstractTableModel):
    """The closed trades of a run in close order; ``#`` is the trade's place in that order, from 1."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[_TradeRow] = []
        self._staged: list[_TradeRow] = []
        self._price_decimals = MAX_PRICE_DECIMALS
        self._tone_brushes = {GAIN_TEXT: QBrush(QColor(GAIN_TEXT)), LOSS_TEXT: QBrush(QColor(LOSS_TEXT))}

    def append(self, results: Sequence[ws.ClosedResult]) -> None:
        """Add a batch of closed trades at the end with one row insertion, so views update once per batch."""
        self.stage(results)
        self.commit()

    def set_price_decimals(self, decimals: int) -> None:
        """Write prices with ``decimals`` decimals (the symbol's precision, see ``price_decimals``)."""
        if decimals == self._price_decimals:
            return
        self.beginResetModel()
        self._price_decimals = decimals
        self._rows = [_trade_row(index + 1, row.result, decimals) for index, row in enumerate(self._rows)]
        first = len(self._rows)
        self._staged = [_trade_row(first + index + 1, row.result, decimals) for index, row in enumerate(self._staged)]
        self.endResetModel()

    def stage(self, results: Sequence[ws.ClosedResult]) -> None:
        """Format a batch of closed trades now; they become rows at the next :meth:`commit`."""
        first = len(self._rows) + len(self._staged)
        decimals = self._price_decimals
        self._staged.extend(_trade_row(first + offset + 1, result, decimals) for offset, result in enumerate(results))

    def commit(self) -> None:
        """Add the staged trades at the end with one row insertion."""
        if not self._staged:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(self._staged) - 1)
        self._rows.extend(self._staged)
        self._staged = []
        self.endInsertRows()

    def clear(self) -> None:
        """Forget every trade, staged ones too (a new run starts)."""
        self.beginResetModel()
        self._rows.clear()
        self._staged.clear()
        self.endResetModel()

    def result_at(self, row: int) -> ws.ClosedResult:
        """Return the closed result shown in ``row`` of this model (not of a proxy over it)."""
        return self._rows[row].result

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(TRADE_HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return TRADE_HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if section in _NUMERIC_COLUMNS else _LEFT
        if role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS.get(TradeColumn(section))
        return None

    def price_decimals(self) -> int:
        """Return the decimals prices are written with."""
        return self._price_decimals

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.texts[column]
        if role == SORT_ROLE:
            return row.keys[column]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column in _NUMERIC_COLUMNS else _LEFT
        if role == Qt.ItemDataRole.ForegroundRole:
            tone = None
            if column == TradeColumn.PNL_PERCENT:
                tone = _tone(row.result.pnl.pnl_percentage)
            elif column == TradeColumn.PNL_MONEY:
                tone = _tone(row.result.pnl.pnl_cost)
            return self._tone_brushes[tone] if tone is not None else None
        if role == Qt.ItemDataRole.ToolTipRole and column == TradeColumn.NOTE and row.texts[column]:
            return row.texts[column]
        return None


class TradeFilterProxy(QSortFilterProxyModel):
    """Shows the trades of one close reason and one side (None: any), sorted by raw values."""

    def __init__(self, source: TradeTableModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self._close_reason: str | None = None
        self._side: str | None = None
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)

    def set_close_reason(self, close_reason: str | None) -> None:
        """Keep only trades closed for ``close_reason`` (``take_profit``, ``stop_loss``, ``time_expired``)."""
        self._refilter(lambda: setattr(self, "_close_reason", close_reason))

    def set_side(self, side: str | None) -> None:
        """Keep only ``long`` or ``short`` trades."""
        self._refilter(lambda: setattr(self, "_side", side))

    def _refilter(self, change: Callable[[], None]) -> None:
        # Qt 6.10 brought begin/endFilterChange and deprecated invalidateRowsFilter; 6.8 and 6.9 lack the former.
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            change()
            self.invalidateRowsFilter()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by ``column``; ``#`` ascending is the model's own order, kept without comparing rows.

        Sorted by a column, each trade a running backtest adds is placed by a binary search whose every comparison
        calls the model from C++ (a few ms for a batch in a year of trades). Trades arrive in close order, which is
        ``#`` ascending, so in that order (the default) they are simply appended.
        """
        if column == TradeColumn.NUMBER and order == Qt.SortOrder.AscendingOrder:
            column = -1
        super().sort(column, order)

    def result_at(self, row: int) -> ws.ClosedResult:
        """Return the closed result shown in ``row`` of this proxy."""
        return self._source.result_at(self.mapToSource(self.index(row, 0)).row())

    def filterAcceptsRow(self, source_row: int, source_parent: _ModelIndex) -> bool:
        result = self._source.result_at(source_row)
        if self._close_reason is not None and result.close_reason != self._close_reason:
            return False
        return self._side is None or result.signal.position == self._side


class _TradeGrid(CopyableTableView):
    """The trade table; Enter on a row reports it as chosen, like a click does."""

    row_entered = Signal(QModelIndex)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.row_entered.emit(self.currentIndex())
            event.accept()
            return
        super().keyPressEvent(event)


class TradeTableView(QWidget):
    """The closed trades of a run: sortable table, close reason and side filters, CSV export, and the command log of
    a trade (double-click, or *Command log…* in its context menu) once :meth:`set_command_source` gave one.

    Signals
    -------
    trade_activated(ws.ClosedResult)
        The user clicked a trade, or pressed Enter on it.
    error_raised(str)
        An export failed; the message names the file and the reason.
    """

    trade_activated = Signal(object)
    error_raised = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = TradeTableModel(self)
        self.proxy = TradeFilterProxy(self.model, self)

        self.close_reason_filter = QComboBox(self)
        self.close_reason_filter.addItem("Any close reason", None)
        for reason in CLOSE_REASONS:
            self.close_reason_filter.addItem(reason, reason)
        self.side_filter = QComboBox(self)
        self.side_filter.addItem("Any side", None)
        for side in SIDES:
            self.side_filter.addItem(side.upper(), side)
        self.count_label = QLabel(self)
        # Wide enough for any count, so the toolbar does not shift while a run adds trades.
        self.count_label.setMinimumWidth(self.count_label.fontMetrics().horizontalAdvance("00000 of 00000 trades"))
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.export_button = QPushButton("Export CSV…", self)

        self.table = _TradeGrid(self)
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # long ids keep their start and end
        self.table.verticalHeader().hide()
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(TradeColumn.NUMBER, Qt.SortOrder.AscendingOrder)
        self._size_columns()

        filters = QHBoxLayout()
        filters.addWidget(QLabel("Close reason", self))
        filters.addWidget(self.close_reason_filter)
        filters.addWidget(QLabel("Side", self))
        filters.addWidget(self.side_filter)
        filters.addStretch(1)
        filters.addWidget(self.count_label)
        filters.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.table)

        self.close_reason_filter.currentIndexChanged.connect(self._on_close_reason_chosen)
        self.side_filter.currentIndexChanged.connect(self._on_side_chosen)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.table.clicked.connect(self._on_row_chosen)
        self.table.row_entered.connect(self._on_row_chosen)
        self.table.doubleClicked.connect(self._on_row_opened)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self._commands: CommandSource | None = None
        #: The command log shown last (one at a time), kept referenced while it is open.
        self.command_log: CommandLogDialog | None = None
        for change in (
            self.proxy.rowsInserted,
            self.proxy.rowsRemoved,
            self.proxy.modelReset,
            self.proxy.layoutChanged,
        ):
            change.connect(self._update_count)
        self._update_count()

    def append(self, results: Sequence[ws.ClosedResult]) -> None:
        """Add a batch of closed trades (one view update per batch)."""
        self.model.append(results)

    def set_price_decimals(self, decimals: int) -> None:
        """Write prices with ``decimals`` decimals: the symbol's precision (``formatting.price_decimals``)."""
        self.model.set_price_decimals(decimals)

    def set_command_source(self, commands: CommandSource | None) -> None:
        """Open trades' command logs from ``commands`` (None: no run behind the trades, no command log)."""
        self._commands = commands

    def command_log_action(self, row: int) -> QAction:
        """Return the *Command log…* action for ``row`` of the table as shown; disabled, with the reason as its
        tooltip, when the run kept no command log."""
        action = QAction("Command log…", self)
        if self._commands is None:
            action.setEnabled(False)
            action.setToolTip(NO_COMMAND_LOG)
        else:
            action.triggered.connect(lambda: self.open_command_log(row))
        return action

    def open_command_log(self, row: int) -> CommandLogDialog | None:
        """Show the command log of the trade in ``row`` of the table as shown (None: no command source)."""
        if self._commands is None:
            return None
        result = self.proxy.result_at(row)
        if self.command_log is not None:
            self.command_log.close()
        dialog = CommandLogDialog(result, self._commands(result.signal.id), self.model.price_decimals(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _code: self._forget_command_log(dialog))
        self.command_log = dialog
        # open(), not exec(): the dialog must not block the qasync loop that runs the engine.
        dialog.open()
        return dialog

    def stage(self, results: Sequence[ws.ClosedResult]) -> None:
        """Format a batch of closed trades now and show it at the next :meth:`commit`.

        A running backtest closes trades far faster than a table is worth repainting: its batches are formatted as
        they come, in small steps, and shown a few times a second.
        """
        self.model.stage(results)

    def commit(self) -> None:
        """Show the staged trades (one view update)."""
        self.model.commit()

    def clear(self) -> None:
        """Remove every trade."""
        self.model.clear()

    def visible_rows(self) -> list[list[str]]:
        """Return the texts of the rows shown, filtered and in their sorted order."""
        rows = []
        for row in range(self.proxy.rowCount()):
            rows.append([str(self.proxy.index(row, column).data()) for column in range(self.proxy.columnCount())])
        return rows

    def export_csv(self, path: str | os.PathLike[str]) -> bool:
        """Write the visible trades, with a header row, to ``path`` as CSV (UTF-8, CRLF), atomically.

        Returns True once written. A failure is reported on ``error_raised`` and returns False, so the method is
        safe to connect to a signal.
        """
        target = Path(path)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(TRADE_HEADERS)
        writer.writerows(self.visible_rows())
        try:
            ws.write_text_atomically(target, buffer.getvalue())
        except OSError as error:
            self.error_raised.emit(f"Could not export the trades to {target}: {error.strerror or error}")
            return False
        return True

    def _size_columns(self) -> None:
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        metrics = self.table.fontMetrics()
        header_metrics = header.fontMetrics()
        cell_padding = metrics.horizontalAdvance("00")
        # A title needs room for the sort arrow drawn beside it.
        title_padding = header_metrics.horizontalAdvance("0000")
        for column, sample in enumerate(_WIDTH_SAMPLES):
            width = max(
                metrics.horizontalAdvance(sample) + cell_padding,
                header_metrics.horizontalAdvance(TRADE_HEADERS[column]) + title_padding,
            )
            header.resizeSection(column, width)

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{total} trades" if shown == total else f"{shown} of {total} trades")

    def _on_close_reason_chosen(self) -> None:
        self.proxy.set_close_reason(self.close_reason_filter.currentData())
        self._update_count()

    def _on_side_chosen(self) -> None:
        self.proxy.set_side(self.side_filter.currentData())
        self._update_count()

    def _on_row_chosen(self, index: QModelIndex) -> None:
        self.trade_activated.emit(self.proxy.result_at(index.row()))

    def _on_row_opened(self, index: QModelIndex) -> None:
        self.open_command_log(index.row())

    def _on_context_menu(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        if not index.isValid():
            return
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.setToolTipsVisible(True)
        menu.addAction(self.command_log_action(index.row()))
        menu.popup(self.table.viewport().mapToGlobal(position))

    def _forget_command_log(self, dialog: CommandLogDialog) -> None:
        if self.command_log is dialog:
            self.command_log = None

    def _on_export_clicked(self) -> None:
        # open(), not exec(): the dialog must not block the qasync loop that runs the engine.
        dialog = QFileDialog(self, "Export trades as CSV", "", "CSV files (*.csv)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.export_csv)
        dialog.open()
