"""The desk's tables: one model per kind of row (orders, fills, positions, balances), each a list of frozen records.

A table is described once by its columns (a title, how a row writes the cell, whether it is a number, which tone
colours it) and shown by :class:`RecordTableModel`; a refresh replaces the rows in one reset, an order that changed
replaces its own row. Every text is written when the rows arrive, not at each paint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

import workstation as ws
from ui.charts.candle_chart import format_price
from ui.live.tones import DARK_TONES, LiveTones
from ui.widgets.formatting import iso

_ModelIndex = QModelIndex | QPersistentModelIndex
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

RowT = TypeVar("RowT")

#: The most decimals an amount is written with (the smallest step of the paper venue and of most exchanges).
AMOUNT_DECIMALS = 8


def format_amount(amount: float) -> str:
    """Write an amount with up to 8 decimals and no trailing zeros: ``0.015``, ``2``, ``0.00012345``."""
    text = f"{amount:,.{AMOUNT_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_money(value: float) -> str:
    """Write a quote-asset amount with two decimals and thousands separators: ``10,234.50``."""
    return f"{value:,.2f}"


def second_time(timestamp: int) -> str:
    """Write epoch milliseconds as ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    return iso(timestamp)[:19].replace("T", " ")


@dataclass(frozen=True, slots=True)
class Column(Generic[RowT]):
    """One column: its title, how a row writes its cell, whether it is a number (right-aligned), and its tone.

    ``tone`` returns the name of a :class:`~ui.live.tones.LiveTones` colour for the cell's text, or None.
    """

    title: str
    text: Callable[[RowT], str]
    number: bool = False
    tone: Callable[[RowT], str | None] | None = None


class RecordTableModel(QAbstractTableModel, Generic[RowT]):
    """Rows of one kind of record under fixed columns; texts written once per row."""

    def __init__(self, columns: Sequence[Column[RowT]], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.columns = tuple(columns)
        self._rows: list[RowT] = []
        self._texts: list[tuple[str, ...]] = []
        self._tones = DARK_TONES

    def set_rows(self, rows: Sequence[RowT]) -> None:
        """Show ``rows`` in this order instead of the rows shown (the same rows again: nothing changes)."""
        if list(rows) == self._rows:
            return
        self.beginResetModel()
        self._rows = list(rows)
        self._texts = [self._texts_of(row) for row in self._rows]
        self.endResetModel()

    def replace_row(self, row: int, record: RowT) -> None:
        """Show ``record`` in ``row`` instead of what it showed."""
        self._rows[row] = record
        self._texts[row] = self._texts_of(record)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))

    def insert_first(self, record: RowT) -> None:
        """Show ``record`` above every row (the newest first)."""
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._rows.insert(0, record)
        self._texts.insert(0, self._texts_of(record))
        self.endInsertRows()

    def rows(self) -> list[RowT]:
        """Return the records shown, top first."""
        return list(self._rows)

    def row_at(self, row: int) -> RowT:
        """Return the record shown in ``row``."""
        return self._rows[row]

    def texts(self) -> list[tuple[str, ...]]:
        """Return every row's cells as shown, top first."""
        return list(self._texts)

    def set_tones(self, tones: LiveTones) -> None:
        """Colour the cells with ``tones`` (a theme change)."""
        self._tones = tones
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(self.columns) - 1))

    def _texts_of(self, record: RowT) -> tuple[str, ...]:
        return tuple(column.text(record) for column in self.columns)

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if self.columns[section].number else _LEFT
        return None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts[index.row()][index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column.number else _LEFT
        if role == Qt.ItemDataRole.ForegroundRole and column.tone is not None:
            tone = column.tone(self._rows[index.row()])
            return QBrush(QColor(getattr(self._tones, tone))) if tone is not None else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._texts[index.row()][index.column()] or None
        return None


# -- orders ---------------------------------------------------------------------------------------------------


def _order_price(order: ws.OrderRecord) -> str:
    if order.type in ("stop_loss", "take_profit") and order.trigger_price is not None:
        return f"{format_price(order.trigger_price)} trigger"
    return format_price(order.price) if order.price is not None else "market"


def _order_side_tone(order: ws.OrderRecord) -> str:
    return "gain" if order.side == "buy" else "loss"


#: A status's tone: open orders stand out, orders over are muted, refused ones read as losses.
_STATUS_TONES: dict[str, str] = {
    "open": "accent",
    "closed": "gain",
    "canceled": "muted",
    "expired": "muted",
    "rejected": "loss",
}

#: A status in the trader's words (ccxt's ``closed`` is an order filled in full).
STATUS_TEXTS: dict[str, str] = {
    "open": "open",
    "closed": "filled",
    "canceled": "cancelled",
    "rejected": "rejected",
    "expired": "expired",
}


def order_status_text(order: ws.OrderRecord) -> str:
    """Say where the order is: ``open``, ``filled``, ``cancelled``, ``part-filled, cancelled`` ..."""
    status = STATUS_TEXTS.get(order.status, order.status)
    if order.status == "open" and order.filled > 0:
        return "open, part-filled"
    if order.status in ("canceled", "expired") and order.filled > 0:
        return f"part-filled, {status}"
    return status


ORDER_COLUMNS: tuple[Column[ws.OrderRecord], ...] = (
    Column("Time (UTC)", lambda order: second_time(order.timestamp)),
    Column("Symbol", lambda order: order.symbol),
    Column("Side", lambda order: order.side.upper(), tone=_order_side_tone),
    Column("Type", lambda order: order.type.replace("_", " ")),
    Column("Purpose", lambda order: order.purpose.replace("_", " ")),
    Column("Amount", lambda order: format_amount(order.amount), number=True),
    Column("Filled", lambda order: format_amount(order.filled), number=True),
    Column("Price", _order_price, number=True),
    Column("Average", lambda order: format_price(order.average) if order.average else "", number=True),
    Column("Fee", lambda order: f"{format_amount(order.fee)} {order.fee_currency or ''}".strip(), number=True),
    Column("Status", order_status_text, tone=lambda order: _STATUS_TONES.get(order.status)),
    Column("Strategy", lambda order: order.strategy_name or "by hand"),
    Column("Client id", lambda order: order.client_order_id),
)


class OrdersModel(RecordTableModel[ws.OrderRecord]):
    """Every order of the desk, open and done, newest first; an order that changed updates its own row."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(ORDER_COLUMNS, parent)

    def update_order(self, order: ws.OrderRecord) -> None:
        """Show ``order``'s latest state: in its row when it is listed, else as the newest row."""
        for row, shown in enumerate(self._rows):
            if shown.client_order_id == order.client_order_id:
                self.replace_row(row, order)
                return
        self.insert_first(order)

    def open_orders(self) -> list[ws.OrderRecord]:
        """Return the orders still resting on the venue, top first."""
        return [order for order in self._rows if order.is_open]


# -- fills ----------------------------------------------------------------------------------------------------

FILL_COLUMNS: tuple[Column[ws.Fill], ...] = (
    Column("Time (UTC)", lambda fill: second_time(fill.timestamp)),
    Column("Symbol", lambda fill: fill.symbol),
    Column("Side", lambda fill: fill.side.upper(), tone=lambda fill: "gain" if fill.side == "buy" else "loss"),
    Column("Amount", lambda fill: format_amount(fill.amount), number=True),
    Column("Price", lambda fill: format_price(fill.price), number=True),
    Column("Cost", lambda fill: format_money(fill.cost), number=True),
    Column("Fee", lambda fill: f"{format_amount(fill.fee)} {fill.fee_currency or ''}".strip(), number=True),
    Column("Trade id", lambda fill: fill.trade_id),
    Column("Client id", lambda fill: fill.client_order_id),
)


class FillsModel(RecordTableModel[ws.Fill]):
    """Every execution, newest first; a fill already listed (by trade id) is not listed twice."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(FILL_COLUMNS, parent)

    def add_fill(self, fill: ws.Fill) -> None:
        """List ``fill`` as the newest row, unless its trade is listed already."""
        if all(shown.trade_id != fill.trade_id for shown in self._rows):
            self.insert_first(fill)


# -- balances -------------------------------------------------------------------------------------------------

BALANCE_COLUMNS: tuple[Column[ws.Balance], ...] = (
    Column("Asset", lambda balance: balance.asset),
    Column("Free", lambda balance: format_amount(balance.free), number=True),
    Column("Used", lambda balance: format_amount(balance.used), number=True),
    Column("Total", lambda balance: format_amount(balance.total), number=True),
)


class BalancesModel(RecordTableModel[ws.Balance]):
    """The account's assets in alphabetical order, the ones it holds none of left out."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(BALANCE_COLUMNS, parent)

    def set_balances(self, balances: Sequence[ws.Balance]) -> None:
        """Show ``balances`` (assets with nothing free or used are not listed)."""
        self.set_rows(sorted((b for b in balances if b.total > 0), key=lambda balance: balance.asset))
