"""The widgets of the desk's docks: Orders (with Cancel), Fills, Positions (double-click: ticket), Account.

Each is a table over its model (``ui.desk.tables``) with a line of text above it where the dock has something to
say: the Orders dock how many orders rest, the Account dock the venue, the equity and whether the engine and the
venue agree.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QLabel, QMenu, QPushButton, QVBoxLayout, QWidget

import workstation as ws
from ui.desk.positions import DeskPosition, PositionsModel
from ui.desk.reconciliation import ReconciliationView
from ui.desk.tables import BalancesModel, FillsModel, OrdersModel
from ui.widgets.statistics_table import CopyableTableView


def _table(model: QAbstractTableModel, parent: QWidget) -> CopyableTableView:
    table = CopyableTableView(parent)
    table.setModel(model)
    table.verticalHeader().hide()
    table.setSelectionBehavior(CopyableTableView.SelectionBehavior.SelectRows)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    return table


def _size_columns(table: CopyableTableView, samples: tuple[str, ...]) -> None:
    """Give each column the width of its widest usual text (or its title)."""
    metrics = table.fontMetrics()
    header = table.horizontalHeader()
    model = table.model()
    for column, sample in enumerate(samples):
        title = str(model.headerData(column, Qt.Orientation.Horizontal))
        width = max(metrics.horizontalAdvance(sample), header.fontMetrics().horizontalAdvance(title))
        header.resizeSection(column, width + metrics.horizontalAdvance("00"))


class OrdersView(QWidget):
    """The Orders dock: every order, open and done, newest first; Cancel on a selected open order.

    Signals
    -------
    cancel_requested(object)
        The trader asked to cancel this open ``ws.OrderRecord``.
    """

    cancel_requested = Signal(object)

    def __init__(self, model: OrdersModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.table = _table(model, self)
        _size_columns(
            self.table,
            (
                "0000-00-00 00:00:00",
                "BTC/USDT0",
                "SELL",
                "take profit",
                "take profit",
                "0.00000000",
                "0.00000000",
                "00000.00 trigger",
                "00000.00",
                "0.00000000 USDT",
                "part-filled, cancelled",
                "sma-cross-market",
            ),
        )
        self.summary = QLabel(self)
        self.cancel_button = QPushButton("Cancel order", self)
        self.cancel_button.setToolTip("Cancel the selected open orders on the venue")
        self.cancel_action = QAction("Cancel order", self)
        self.cancel_action.triggered.connect(self.cancel_selected)
        self.cancel_button.clicked.connect(self.cancel_selected)
        top = QHBoxLayout()
        top.setContentsMargins(4, 2, 4, 0)
        top.addWidget(self.summary, 1)
        top.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu)
        self.table.selectionModel().selectionChanged.connect(self._update)
        for change in (model.modelReset, model.rowsInserted, model.dataChanged):
            change.connect(self._update)
        self._update()

    def selected_open_orders(self) -> list[ws.OrderRecord]:
        """Return the selected orders that still rest on the venue, top first."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [order for order in (self.model.row_at(row) for row in rows) if order.is_open]

    def select_order(self, client_order_id: str) -> None:
        """Select the row of the order with this client id."""
        for row, order in enumerate(self.model.rows()):
            if order.client_order_id == client_order_id:
                self.table.selectRow(row)
                return

    def cancel_selected(self) -> list[ws.OrderRecord]:
        """Ask to cancel every selected open order; return them."""
        orders = self.selected_open_orders()
        for order in orders:
            self.cancel_requested.emit(order)
        return orders

    def _menu(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        if not index.isValid():
            return
        if index.row() not in {selected.row() for selected in self.table.selectionModel().selectedRows()}:
            self.table.selectRow(index.row())
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addAction(self.cancel_action)
        menu.popup(self.table.viewport().mapToGlobal(position))

    def _update(self) -> None:
        selected = self.selected_open_orders()
        self.cancel_button.setEnabled(bool(selected))
        self.cancel_action.setEnabled(bool(selected))
        self.cancel_button.setText(f"Cancel {len(selected)} orders" if len(selected) > 1 else "Cancel order")
        resting = len(self.model.open_orders())
        total = self.model.rowCount()
        self.summary.setText(f"{resting} open · {total} in all" if total else "No order yet")


class FillsView(QWidget):
    """The Fills dock: every execution, newest first."""

    def __init__(self, model: FillsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.table = _table(model, self)
        _size_columns(
            self.table,
            ("0000-00-00 00:00:00", "BTC/USDT0", "SELL", "0.00000000", "00000.00", "00,000.00", "0.000000 USDT"),
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)


class PositionsView(QWidget):
    """The Positions dock: what the desk's fills hold; double-click a row to close it from the order ticket.

    Signals
    -------
    position_activated(object)
        The trader double-clicked this :class:`~ui.desk.positions.DeskPosition`.
    """

    position_activated = Signal(object)

    def __init__(self, model: PositionsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.table = _table(model, self)
        self.table.setToolTip("Double-click a position to close it from the order ticket")
        _size_columns(self.table, ("sma-cross-market", "BTC/USDT0", "0.00000000", "00000.00", "00000.00", "00,000.00"))
        self.table.doubleClicked.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            position: DeskPosition = self.model.row_at(index.row())
            self.position_activated.emit(position)


class AccountView(QWidget):
    """The Account dock: the venue, the equity in the quote asset, the last reconciliation, the balances."""

    def __init__(self, model: BalancesModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.venue = QLabel("No desk", self)
        self.equity = QLabel(self)
        self.reconciliation = ReconciliationView(self)
        self.table = _table(model, self)
        # The dock shares the window's side with the history: the columns share its width, however narrow.
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)  # a stretched last section keeps its own minimum and runs past the edge
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)  # the assets' short names
        top = QHBoxLayout()
        top.setContentsMargins(4, 2, 4, 0)
        top.addWidget(self.venue)
        top.addStretch(1)
        top.addWidget(self.equity)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.reconciliation)
        layout.addWidget(self.table, 1)
