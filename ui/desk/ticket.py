"""The manual order ticket: symbol, side, type, amount or cost, price, take profit and stop loss, and what it sends.

Below the inputs the ticket lists the very ``ws.OrderRequest`` objects Submit hands to the desk, field by field and
with their client ids, built by the same code that submits them; an input the request refuses shows the request's
own message naming the field and the value, and Submit stays disabled. Above them the ticket says where the desk
sends them (a real-money desk in the real-money banner's colours and words), and beside each its estimated value
in the quote asset: a market order's at the newest price known, a limit order's at its limit price, a stop loss's
or take profit's at its trigger. A take profit or a stop loss is a sell order
of the bought amount resting on the venue, sent once the market buy filled; so they are offered on a market buy
sized by amount, where the amount they protect is known before sending.

Each ticket has its own id, part of its orders' client ids: pressing Submit again after a failure the outcome of
which is unknown sends the same client ids, which the desk looks up before sending (never twice). While its orders
are in flight the inputs and Submit are locked; once sent, the ticket keeps showing what it sent and Submit stays
disabled (a double-click sends one order) until the trader changes a field: then it starts over with a new id.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

import workstation as ws
from ui.charts.candle_chart import format_price
from ui.desk.kill_switch import REAL_MONEY_MARK
from ui.desk.real_money import BANNER_RED, BANNER_TEXT
from ui.desk.tables import format_amount, format_money
from ui.forms.schema_form import error_text
from ui.themes import error_colour

SizeBy = Literal["amount", "cost"]
TicketType = Literal["market", "limit"]

#: The newest price of a symbol the desk knows (None: none yet).
PriceOf = Callable[[str], float | None]

#: Numbers the ticket tells apart from the others of this session (with the time, unique across sessions too).
_TICKET_NUMBERS = itertools.count(1)


def new_ticket_id() -> str:
    """Return a ticket id no earlier ticket had: the time in ms and a counter (two tickets in one ms differ)."""
    return f"{int(time.time() * 1000)}-{next(_TICKET_NUMBERS)}"


@dataclass(frozen=True, slots=True)
class TicketValues:
    """What the trader typed, as text where it is typed (the requests validate it)."""

    symbol: str
    side: ws.Side
    type: TicketType
    size_by: SizeBy
    size: str
    price: str = ""
    take_profit: str = ""
    stop_loss: str = ""
    #: The position a ticket closes (pre-filled from the Positions dock): its sell is booked against it as an exit.
    strategy_name: str | None = None
    signal_id: str | None = None
    closing: bool = False


class TicketError(ValueError):
    """An input of the ticket that cannot make an order: ``field`` names it, the message names the value."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _number(field: str, text: str) -> float | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise TicketError(field, f"{field} must be a number, got {text!r}") from None


def ticket_requests(values: TicketValues, ticket_id: str) -> list[ws.OrderRequest]:
    """Return the orders the ticket sends, in order: the order itself, then its stop loss and take profit.

    Raises
    ------
    TicketError
        An input is not a number, or makes no valid order; the message names the field and the value.
    """
    size = _number(values.size_by, values.size)
    price = _number("price", values.price) if values.type == "limit" else None
    take_profit = _number("take profit", values.take_profit)
    stop_loss = _number("stop loss", values.stop_loss)
    if size is None:
        raise TicketError(values.size_by, f"{values.size_by} is required")
    protected = values.side == "buy" and values.type == "market" and values.size_by == "amount"
    if (take_profit is not None or stop_loss is not None) and not protected:
        field = "take profit" if take_profit is not None else "stop loss"
        raise TicketError(field, f"{field} goes with a market buy sized by amount (the amount it protects)")
    # A ticket's own orders form a signal of their own: the venue pairs its stop loss and take profit (one cancels
    # the other) and the desk books them against the holding the order bought.
    signal_id = values.signal_id or f"ticket-{ticket_id}"
    closes = values.closing and values.side == "sell"
    sizes = {"amount": size} if values.size_by == "amount" else {"cost": size}
    try:
        requests = [
            ws.OrderRequest(
                client_order_id=ws.client_order_id(signal_id, f"manual-{ticket_id}"),
                symbol=values.symbol.strip(),
                side=values.side,
                type=values.type,
                price=price,
                purpose="exit" if closes else "manual",
                signal_id=signal_id,
                strategy_name=values.strategy_name,
                **sizes,
            )
        ]
        for leg, trigger in (("stop_loss", stop_loss), ("take_profit", take_profit)):
            if trigger is None:
                continue
            requests.append(
                ws.OrderRequest(
                    client_order_id=ws.client_order_id(signal_id, leg),
                    symbol=values.symbol.strip(),
                    side="sell",
                    type=leg,
                    amount=size,
                    trigger_price=trigger,
                    purpose=leg,
                    signal_id=signal_id,
                    strategy_name=values.strategy_name,
                )
            )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "order"
        value = first.get("input")
        shown = f" (got {value!r})" if field != "order" and not isinstance(value, dict) else ""
        raise TicketError(field, f"{field}: {error_text(first['msg'])}{shown}") from None
    return requests


def request_headline(request: ws.OrderRequest) -> str:
    """Write what ``request`` trades: ``BUY LIMIT 0.01 BTC/USDT at 42000.00``, ``SELL STOP LOSS … trigger …``."""
    size = format_amount(request.amount) if request.amount is not None else f"for {format_amount(request.cost or 0)}"
    parts = [f"{request.side.upper()} {request.type.replace('_', ' ').upper()} {size} {request.symbol}"]
    if request.price is not None:
        parts.append(f"at {format_price(request.price)}")
    if request.trigger_price is not None:
        parts.append(f"trigger {format_price(request.trigger_price)}")
    return " ".join(parts)


def request_details(request: ws.OrderRequest) -> str:
    """Write the rest of what ``request`` sends: purpose, strategy, signal and client id."""
    parts = [f"purpose {request.purpose}"]
    if request.strategy_name is not None:
        parts.append(f"strategy {request.strategy_name}")
    parts.append(f"signal {request.signal_id}")
    parts.append(f"client id {request.client_order_id}")
    return " · ".join(parts)


def grouped_price(price: float) -> str:
    """Write ``price`` as :func:`format_price` does, with thousands separators: ``4,675.82``, ``0.001234``."""
    decimals = len(format_price(price).partition(".")[2])
    return f"{price:,.{decimals}f}"


def request_value(request: ws.OrderRequest, price_of: PriceOf) -> str:
    """Estimate what ``request`` is worth in its symbol's quote asset: ``≈ 46.76 USDT at 4,675.82``.

    A limit order is valued at its limit price, a stop loss or take profit at its trigger, an order sized by cost at
    its cost, a market order at ``price_of(symbol)``: ``price unknown`` when that is None.
    """
    try:
        unit = f" {ws.symbol_assets(request.symbol)[1]}"
    except ws.OrderRejectedError:
        unit = ""  # a symbol naming no quote asset: the number alone
    if request.cost is not None:
        return f"≈ {format_money(request.cost)}{unit}"
    amount = request.amount or 0.0
    if request.price is not None:
        return f"≈ {format_money(amount * request.price)}{unit} at the limit price"
    if request.trigger_price is not None:
        return f"≈ {format_money(amount * request.trigger_price)}{unit} at the trigger"
    price = price_of(request.symbol)
    if price is None:
        return "price unknown"
    return f"≈ {format_money(amount * price)}{unit} at {grouped_price(price)}"


def _no_price(_symbol: str) -> float | None:
    return None


def describe_request(request: ws.OrderRequest) -> str:
    """Write ``request`` in one line with every field it sends."""
    return f"{request_headline(request)} · {request_details(request)}"


class OrderTicket(QDialog):
    """The order ticket (non-modal): Submit emits ``submit_requested`` with the requests shown, in order.

    Parameters
    ----------
    parent
        The parent widget.

    Signals
    -------
    submit_requested(list)
        The ``ws.OrderRequest`` objects listed, to send in this order.
    """

    submit_requested = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Order ticket")
        self.ticket_id = new_ticket_id()
        self._requests: list[ws.OrderRequest] = []
        #: Submit was pressed and the desk has not answered yet.
        self._sending = False
        #: The orders shown went through: Submit waits for a change of a field (a new ticket).
        self._sent = False
        #: The strategy and signal of the position the ticket closes, and whether it closes one.
        self._closes: tuple[str | None, str | None, bool] = (None, None, False)
        self._price_of: PriceOf = _no_price

        self.symbol_edit = QComboBox(self)
        self.symbol_edit.setEditable(True)
        self.side_box = QComboBox(self)
        for side in ("buy", "sell"):
            self.side_box.addItem(side.capitalize(), side)
        self.type_box = QComboBox(self)
        for kind in ("market", "limit"):
            self.type_box.addItem(kind.capitalize(), kind)
        self.by_amount = QRadioButton("Amount (base)", self)
        self.by_cost = QRadioButton("Cost (quote)", self)
        self.by_amount.setChecked(True)
        self.size_group = QButtonGroup(self)
        self.size_group.addButton(self.by_amount)
        self.size_group.addButton(self.by_cost)
        self.size_edit = QLineEdit(self)
        self.price_edit = QLineEdit(self)
        self.take_profit_edit = QLineEdit(self)
        self.stop_loss_edit = QLineEdit(self)
        for edit, hint in (
            (self.size_edit, "e.g. 0.01"),
            (self.price_edit, "limit price"),
            (self.take_profit_edit, "optional: sell when the price reaches it"),
            (self.stop_loss_edit, "optional: sell when the price falls to it"),
        ):
            edit.setPlaceholderText(hint)

        size_row = QHBoxLayout()
        size_row.addWidget(self.by_amount)
        size_row.addWidget(self.by_cost)
        size_row.addWidget(self.size_edit, 1)
        self.inputs = QWidget(self)
        form = QFormLayout(self.inputs)
        form.setContentsMargins(0, 0, 0, 0)
        # The room the dialog has beyond its rows goes below the outcome, not between the inputs' rows.
        self.inputs.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        form.addRow("Symbol", self.symbol_edit)
        form.addRow("Side", self.side_box)
        form.addRow("Type", self.type_box)
        form.addRow("Size", size_row)
        form.addRow("Price", self.price_edit)
        form.addRow("Take profit", self.take_profit_edit)
        form.addRow("Stop loss", self.stop_loss_edit)

        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.sends_title = QLabel("Submit sends", self)
        bold = QFont(self.sends_title.font())
        bold.setBold(True)
        self.sends_title.setFont(bold)
        self.destination = QLabel(self)
        self.destination.setWordWrap(True)
        self.destination.setTextFormat(Qt.TextFormat.PlainText)
        self.preview = QLabel(self)
        self.preview.setWordWrap(True)
        self.preview.setTextFormat(Qt.TextFormat.PlainText)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(self)
        self.submit_button = QPushButton("Submit", self)
        self.buttons.addButton(self.submit_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.submit_button.clicked.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.inputs)
        layout.addWidget(self.error)
        layout.addWidget(self.sends_title)
        layout.addWidget(self.destination)
        layout.addWidget(self.preview)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)

        self.symbol_edit.editTextChanged.connect(self._edited)
        for box in (self.side_box, self.type_box):
            box.currentIndexChanged.connect(self._edited)
        self.size_group.buttonToggled.connect(self._edited)
        for edit in (self.size_edit, self.price_edit, self.take_profit_edit, self.stop_loss_edit):
            edit.textChanged.connect(self._edited)
        self.set_destination(None)
        self._refresh()

    # -- filling in ---------------------------------------------------------------------------------------

    def set_symbols(self, symbols: Sequence[str]) -> None:
        """Offer ``symbols`` in the symbol box, keeping what is typed."""
        typed = self.symbol_edit.currentText()
        self.symbol_edit.blockSignals(True)
        self.symbol_edit.clear()
        self.symbol_edit.addItems(list(symbols))
        self.symbol_edit.setEditText(typed)
        self.symbol_edit.blockSignals(False)

    def set_destination(self, destination: str | None, real_money: bool = False, price_of: PriceOf = _no_price) -> None:
        """Say where Submit sends (``desk.destination``; None: no desk) and value the orders with ``price_of``.

        A desk whose orders move real money is said in the real-money banner's words and colours.
        """
        self._price_of = price_of
        if destination is None:
            text = "to no desk: start a run with a desk first"
        else:
            text = f"{REAL_MONEY_MARK if real_money else ''}to {destination}"
        self.destination.setText(text)
        self.destination.setAutoFillBackground(real_money)
        palette = QPalette(self.palette())
        if real_money:
            palette.setColor(QPalette.ColorRole.Window, QColor(BANNER_RED))
            palette.setColor(QPalette.ColorRole.WindowText, QColor(BANNER_TEXT))
        self.destination.setPalette(palette)
        font = QFont(self.font())
        font.setBold(real_money)
        self.destination.setFont(font)
        # On its red strip the text keeps off the strip's edges; plain, it lines up with the orders below.
        margin = 4 if real_money else 0
        self.destination.setContentsMargins(margin, margin // 2, margin, margin // 2)
        self.show_estimates()

    def show_estimates(self) -> None:
        """Write the orders shown again, valued at the newest prices known (the market moved)."""
        if self._requests:
            self.preview.setText(
                "\n".join(
                    f"{number}. {request_headline(request)} · {request_value(request, self._price_of)}\n"
                    f"    {request_details(request)}"
                    for number, request in enumerate(self._requests, 1)
                )
            )

    def fill(self, values: TicketValues) -> None:
        """Put ``values`` in the inputs (a double-clicked position or chart price): a new ticket once one was sent.

        Nothing changes while orders are in flight (the inputs are locked until the desk answers).
        """
        if self._sending:
            return
        self._start_over()
        self.symbol_edit.setEditText(values.symbol)
        self.side_box.setCurrentIndex(self.side_box.findData(values.side))
        self.type_box.setCurrentIndex(self.type_box.findData(values.type))
        (self.by_amount if values.size_by == "amount" else self.by_cost).setChecked(True)
        self.size_edit.setText(values.size)
        self.price_edit.setText(values.price)
        self.take_profit_edit.setText(values.take_profit)
        self.stop_loss_edit.setText(values.stop_loss)
        self._closes = (values.strategy_name, values.signal_id, values.closing)
        self.status.clear()
        self._refresh()

    def values(self) -> TicketValues:
        """Return what is typed now."""
        return TicketValues(
            symbol=self.symbol_edit.currentText(),
            side=self.side_box.currentData(),
            type=self.type_box.currentData(),
            size_by="amount" if self.by_amount.isChecked() else "cost",
            size=self.size_edit.text(),
            price=self.price_edit.text(),
            take_profit=self.take_profit_edit.text(),
            stop_loss=self.stop_loss_edit.text(),
            strategy_name=self._closes[0],
            signal_id=self._closes[1],
            closing=self._closes[2],
        )

    def requests(self) -> list[ws.OrderRequest]:
        """Return the requests Submit sends now (none while an input is invalid)."""
        return list(self._requests)

    # -- sending ------------------------------------------------------------------------------------------

    def submit(self) -> None:
        """Emit the requests shown, once: nothing while an input is invalid, orders are in flight or were sent."""
        if not self._requests or self._sending or self._sent:
            return
        self._sending = True
        self.inputs.setEnabled(False)
        self.submit_button.setEnabled(False)
        self.status.setText("Sending…")
        self.submit_requested.emit(list(self._requests))

    def show_outcome(self, sent: Sequence[ws.OrderRecord], failure: str | None) -> None:
        """Say what came of Submit and unlock the inputs.

        Once everything went through, the ticket keeps showing what it sent and Submit stays disabled until a field
        changes (then it is a new ticket, with new ids); after a failure Submit sends the same client ids again.
        """
        lines = [f"{record.side.upper()} {record.type.replace('_', ' ')}: {record.status}" for record in sent]
        if failure is None:
            self._sent = True
            lines.append("Sent." if sent else "")
        else:
            lines.append(failure)
        self._sending = False
        self.inputs.setEnabled(True)
        self.status.setText("\n".join(line for line in lines if line))
        self._refresh()

    # -- internals ----------------------------------------------------------------------------------------

    def _start_over(self) -> None:
        """Make a sent ticket a new one: new client ids, Submit enabled again once the inputs make orders."""
        if self._sent:
            self._sent = False
            self.ticket_id = new_ticket_id()

    def _edited(self) -> None:
        self._start_over()
        self._refresh()

    def _refresh(self) -> None:
        values = self.values()
        limit = values.type == "limit"
        self.price_edit.setEnabled(limit)
        protected = values.side == "buy" and values.type == "market" and values.size_by == "amount"
        for edit in (self.take_profit_edit, self.stop_loss_edit):
            edit.setEnabled(protected)
            edit.setToolTip("" if protected else "Take profit and stop loss go with a market buy sized by amount")
        if limit and values.size_by == "cost":
            self.by_amount.setChecked(True)  # a limit order is sized by amount: the toggle re-enters here
            return
        self.by_cost.setEnabled(not limit)
        if not protected:
            values = TicketValues(
                values.symbol,
                values.side,
                values.type,
                values.size_by,
                values.size,
                values.price,
                strategy_name=values.strategy_name,
                signal_id=values.signal_id,
                closing=values.closing,
            )
        nothing = "Nothing: correct the input above"
        try:
            self._requests = ticket_requests(values, self.ticket_id)
        except TicketError as exc:
            self._requests = []
            # An empty ticket is not an error yet: it says what to type.
            self._show_error(str(exc) if values.size.strip() else "")
            if not values.size.strip():
                nothing = f"Nothing yet: type the {values.size_by}"
        else:
            self._show_error("")
        self.preview.setText(nothing)
        self.show_estimates()
        self.sends_title.setText("Sent — change a field for a new order" if self._sent else "Submit sends")
        self.submit_button.setEnabled(bool(self._requests) and not self._sending and not self._sent)

    def _show_error(self, text: str) -> None:
        palette = self.error.palette()
        palette.setColor(self.error.foregroundRole(), error_colour(self.palette()))
        self.error.setPalette(palette)
        self.error.setText(text)
        self.error.setVisible(bool(text))
