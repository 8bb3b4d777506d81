"""The desk in the window: its four docks, the order ticket, the kill switch and its orders on the live chart.

One ``DeskView`` follows one ``ws.OrderDesk`` at a time (:meth:`DeskView.attach`): the docks fill from the desk's
monitors, follow its signals, and ask it to look at the venue again (``refresh``) every
:data:`REFRESH_INTERVAL_MS` while it is attached, one look at a time. Everything the view sends goes through the
desk: Cancel from the Orders dock, the ticket's orders, Halt and Flatten everything. A failure is reported on
``error_raised`` with the desk's own message (a refusal names the limit, its setting and the value); what went
through is said on ``status_reported``. A refusal of a run's order is the run's to report (its error event, counted
once per reason in the blotter), so the view reports only the refusals of the orders it sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox, QWidget

import workstation as ws
from ui.charts.candle_chart import format_price
from ui.charts.candle_item import ChartPalette
from ui.desk.blotter_lines import fill_line, order_line
from ui.desk.chart_orders import ChartOrders
from ui.desk.kill_switch import HALT_REASON, KillSwitch
from ui.desk.positions import DeskPosition, PositionsModel, desk_positions
from ui.desk.tables import BalancesModel, FillsModel, OrdersModel, format_amount, format_money
from ui.desk.ticket import OrderTicket, TicketValues, describe_request
from ui.desk.views import AccountView, FillsView, OrdersView, PositionsView
from ui.live.blotter import LiveBlotterModel
from ui.live.chart import LiveChart
from ui.live.tones import tones_for

#: How often an attached desk is asked to look at the venue (open orders, new fills, balances).
REFRESH_INTERVAL_MS = 2000

#: The newest price of each symbol the window knows (the live runs' prices), to mark positions and equity.
PriceReader = Callable[[], Mapping[str, float]]


def _no_prices() -> Mapping[str, float]:
    return {}


class DeskView(QObject):
    """The Orders, Fills, Positions and Account docks' contents, the ticket and the kill switch of one desk.

    Parameters
    ----------
    chart
        The live chart the desk's resting orders and fills are drawn on.
    prices
        The newest known price per symbol (the live runs'); fills' prices otherwise.
    blotter
        The live blotter: every change of an order and every fill the desk reports is a line of it.
    parent
        The window: the ticket and the questions open over it.

    Signals
    -------
    error_raised(str, str)
        Something sent to the desk failed: a one-line title and the details.
    status_reported(str)
        Something sent to the desk went through: one line for the status bar.
    desk_attached(object)
        The desk now shown (None: none).
    """

    error_raised = Signal(str, str)
    status_reported = Signal(str)
    desk_attached = Signal(object)

    def __init__(
        self,
        chart: LiveChart,
        prices: PriceReader = _no_prices,
        blotter: LiveBlotterModel | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._blotter = blotter
        self._window = parent
        self._prices = prices
        self.desk: ws.OrderDesk | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._refreshing: asyncio.Future[Any] | None = None
        #: :meth:`refresh_soon` was asked while a look was under way: look once more after it.
        self._look_again = False
        #: The attached desk's journal was read (by its first refresh): the docks show what it held before.
        self.opened = False

        self.orders_model = OrdersModel(self)
        self.fills_model = FillsModel(self)
        self.positions_model = PositionsModel(self)
        self.balances_model = BalancesModel(self)
        self.orders = OrdersView(self.orders_model)
        self.fills = FillsView(self.fills_model)
        self.positions = PositionsView(self.positions_model)
        self.account = AccountView(self.balances_model)
        self.chart_orders = ChartOrders(chart)
        self.kill_switch = KillSwitch(parent or self.orders)
        self.ticket: OrderTicket | None = None
        self.ticket_action = QAction("Order ticket…", self)
        self.ticket_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.ticket_action.setToolTip("Send an order by hand through the desk")
        self.ticket_action.setEnabled(False)

        self.orders.cancel_requested.connect(lambda order: self._spawn(self.cancel(order)))
        self.positions.position_activated.connect(self.close_position_ticket)
        self.chart_orders.price_double_clicked.connect(self.price_ticket)
        self.kill_switch.halt_requested.connect(self.set_halted)
        self.account.reconciliation.adopt_requested.connect(lambda d: self._spawn(self.adopt(d)))
        self.account.reconciliation.flatten_requested.connect(lambda d: self._spawn(self.flatten_orphan(d)))
        self.kill_switch.flatten_action.triggered.connect(lambda _checked=False: self.ask_flatten())
        self.kill_switch.flatten_confirmed.connect(lambda: self._spawn(self.flatten()))
        ws.Desks.halted_changed.connect(self._show_halted)
        self.ticket_action.triggered.connect(lambda _checked=False: self.open_ticket())
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_INTERVAL_MS)
        self.timer.timeout.connect(self.refresh_soon)

    # -- attaching ----------------------------------------------------------------------------------------

    def attach(self, desk: ws.OrderDesk) -> None:
        """Show ``desk`` (instead of the one shown) and follow it until :meth:`detach`."""
        self.detach()
        self.desk = desk
        self.opened = False
        desk.order_changed.connect(self._order_changed)
        desk.fill_added.connect(self._fill_added)
        desk.balances_changed.connect(self._balances_changed)
        desk.halted_changed.connect(self._show_halted)
        desk.reconciliation_changed.connect(self._reconciled)
        self._show_halted()
        self.ticket_action.setEnabled(True)
        self.account.venue.setText(f"Orders go to {desk.destination}")
        self._show_destination()
        self.account.reconciliation.show_reconciliation(desk.reconciliation)
        self.show_monitors()
        self.timer.start()
        self.refresh_soon()
        self.desk_attached.emit(desk)

    def detach(self) -> None:
        """Stop following the desk shown (the docks keep what they show); cancel the view's own work."""
        desk = self.desk
        if desk is None:
            return
        self.timer.stop()
        for signal, slot in (
            (desk.order_changed, self._order_changed),
            (desk.fill_added, self._fill_added),
            (desk.balances_changed, self._balances_changed),
            (desk.halted_changed, self._show_halted),
            (desk.reconciliation_changed, self._reconciled),
        ):
            signal.disconnect(slot)
        for task in list(self._tasks):
            task.cancel()
        self.desk = None
        self._show_halted()
        self._show_destination()
        self.ticket_action.setEnabled(False)
        self.desk_attached.emit(None)

    def show_monitors(self) -> None:
        """Fill every dock and the chart from the desk's monitors as they are now."""
        desk = self.desk
        if desk is None:
            return
        self.orders_model.set_rows(desk.orders())
        self.fills_model.set_rows(desk.fills())
        self._balances_changed(desk.balances())
        self._show_positions()
        self.chart_orders.set_orders(self.orders_model.rows())
        self.chart_orders.set_fills(self.fills_model.rows())

    # -- the trader's orders ------------------------------------------------------------------------------

    async def cancel(self, order: ws.OrderRecord) -> ws.OrderRecord | None:
        """Cancel ``order`` through the desk; return its final record (None: it failed, reported)."""
        desk = self.desk
        if desk is None:
            return None
        try:
            record = await desk.cancel(order.symbol, order.client_order_id)
        except Exception as exc:
            self._failed(f"Could not cancel {order.side} {order.type} on {order.symbol}", exc)
            return None
        self.status_reported.emit(
            f"Cancel {record.side} {record.type.replace('_', ' ')} {format_amount(record.amount)} {record.symbol}: "
            f"{'filled before the cancel' if record.status == 'closed' else record.status}"
        )
        return record

    async def submit(self, requests: Sequence[ws.OrderRequest]) -> list[ws.OrderRecord]:
        """Send ``requests`` through the desk in order, the protective ones only after the order filled in full.

        Return the records of what went through; a failure stops the rest and is reported (and shown on the
        ticket).
        """
        desk = self.desk
        sent: list[ws.OrderRecord] = []
        failure: str | None = None
        if desk is None:
            if self.ticket is not None:
                self.ticket.show_outcome(sent, "No desk to send it to: start a run with a desk first")
            return sent
        for request in requests:
            entry = sent[0] if sent else None
            if entry is not None and entry.filled < entry.amount:
                failure = (
                    f"the order filled {format_amount(entry.filled)} of {format_amount(entry.amount)}: "
                    f"{request.type.replace('_', ' ')} not sent"
                )
                break
            try:
                record = await desk.submit(request)
            except ws.OrderRefused as exc:
                failure = f"{describe_request(request)}: {exc}"
                self.error_raised.emit(f"Order refused by the desk: {exc}", describe_request(request))
                break
            except Exception as exc:
                failure = f"{describe_request(request)}: {exc}"
                self._failed(f"Order not sent: {exc}", exc)
                break
            sent.append(record)
        if sent:
            self.status_reported.emit(
                "Sent: " + "; ".join(f"{r.side} {r.type.replace('_', ' ')} {r.symbol} ({r.status})" for r in sent)
            )
        if self.ticket is not None:
            self.ticket.show_outcome(sent, failure)
        self.refresh_soon()
        return sent

    def open_ticket(self, values: TicketValues | None = None) -> OrderTicket:
        """Show the order ticket (one per window, non-modal), filled with ``values`` when given; return it.

        Opened empty, its symbol is the one of the run the chart follows (the run selected in the Live dock).
        """
        if self.ticket is None:
            self.ticket = OrderTicket(self._window)
            self.ticket.submit_requested.connect(lambda requests: self._spawn(self.submit(requests)))
        self._show_destination()
        symbols = sorted({order.symbol for order in self.orders_model.rows()} | set(self._prices()))
        self.ticket.set_symbols(symbols)
        if values is not None:
            self.ticket.fill(values)
        elif not self.ticket.values().symbol.strip() and (symbol := self.chart_orders.symbol()) is not None:
            self.ticket.symbol_edit.setEditText(symbol)
        self.ticket.show()
        self.ticket.raise_()
        self.ticket.activateWindow()
        return self.ticket

    def _show_destination(self) -> None:
        """Tell the ticket where its orders go and at which prices to value them."""
        if self.ticket is None:
            return
        desk = self.desk
        if desk is None:
            self.ticket.set_destination(None)
        else:
            self.ticket.set_destination(desk.destination, desk.real_money, self._mark_price)

    def close_position_ticket(self, position: DeskPosition) -> OrderTicket:
        """Open the ticket filled to close ``position`` at market (a sell of what it holds)."""
        side: ws.Side = "sell" if position.amount > 0 else "buy"
        return self.open_ticket(
            TicketValues(
                position.symbol,
                side,
                "market",
                "amount",
                _plain(abs(position.amount)),
                strategy_name=position.strategy_name,
                signal_id=position.signal_id,
                closing=True,
            )
        )

    def price_ticket(self, price: float) -> OrderTicket | None:
        """Open the ticket filled with a limit order at ``price`` on the chart's symbol: a buy below the market."""
        symbol = self.chart_orders.symbol()
        if symbol is None:
            return None
        market = self._prices().get(symbol)
        side: ws.Side = "sell" if market is not None and price > market else "buy"
        rounded = format_price(price).replace(",", "")
        size = self.ticket.values().size if self.ticket is not None else ""
        return self.open_ticket(TicketValues(symbol, side, "limit", "amount", size, rounded))

    # -- the kill switch ----------------------------------------------------------------------------------

    def kill_switch_desks(self) -> list[ws.OrderDesk]:
        """Return the desks the kill switch acts on: every desk of ``ws.Desks`` and the one shown, real money first."""
        return ws.Desks.kill_switch_desks(self._shown())

    def set_halted(self, halted: bool) -> None:
        """Halt new entries on every desk, and on those opened later (True), or let them through again (False)."""
        desks = self.kill_switch_desks()
        if halted:
            ws.Desks.halt(HALT_REASON, self._shown())
            self.status_reported.emit(
                f"Entries halted on {_every(len(desks))}: exits, cancels and flattening still go through"
            )
        else:
            ws.Desks.resume(self._shown())
            self.status_reported.emit(f"Entries resumed on {_count(len(desks), 'desk')}")
        self._show_halted()

    def ask_flatten(self) -> QMessageBox | None:
        """Ask to confirm Flatten everything on every desk; return the question (None: no desk is open)."""
        desks = self.kill_switch_desks()
        if not desks:
            self.status_reported.emit("No desk is open: nothing to flatten")
            return None
        return self.kill_switch.ask_flatten(desks)

    async def flatten(self) -> list[ws.DeskFlattened]:
        """Flatten everything on every desk and sum up what each did; a desk that failed is named, the rest kept."""
        self.status_reported.emit("Flattening everything…")
        flattened = await ws.Desks.flatten(self._shown())
        reports = [each.report for each in flattened if each.report is not None]
        cancelled = _count(sum(len(report.cancelled) for report in reports), "order")
        sold = _count(sum(len(report.sold) for report in reports), "holding")
        said = f"Flattened {_count(len(flattened), 'desk')}: {cancelled} cancelled, {sold} sold"
        problems = [
            (each.destination, problem)
            for each in flattened
            for problem in ([each.error] if each.report is None else list(each.report.failed))
        ]
        if problems:
            failed = list(dict.fromkeys(destination for destination, _problem in problems))
            self.error_raised.emit(
                f"{said}; failed on {', '.join(failed)}",
                "\n".join(f"{destination}: {problem}" for destination, problem in problems),
            )
        else:
            self.status_reported.emit(said)
        self.show_monitors()
        return flattened

    def _shown(self) -> list[ws.OrderDesk]:
        return [] if self.desk is None else [self.desk]

    def _show_halted(self, _halted: bool = False) -> None:
        self.kill_switch.show_halted(ws.Desks.halted or (self.desk is not None and self.desk.halted))

    # -- following the desk -------------------------------------------------------------------------------

    def refresh_soon(self) -> None:
        """Ask the desk to look at the venue again; asked during a look, one more look follows it.

        The look under way may have read the venue before what prompted the request (a fill, a run's close), so the
        request is kept, not dropped; requests during one look are answered by one more look.
        """
        if self.desk is None:
            return
        if self._refreshing is not None and not self._refreshing.done():
            self._look_again = True
            return
        self._refreshing = self._spawn(self._refresh(self.desk))

    async def _refresh(self, desk: ws.OrderDesk) -> None:
        first = not self.opened
        try:
            await desk.refresh()
        except Exception as exc:
            self._failed(f"Could not read the {desk.name} account", exc)
        if first:
            # The first look opened the desk's journal: what it held before is known only now.
            self.opened = True
            self.show_monitors()
        else:
            self._show_positions()
        if self.ticket is not None:
            self.ticket.show_estimates()  # valued at the prices of this look
        if self._look_again and self.desk is not None:
            self._look_again = False
            self._refreshing = self._spawn(self._refresh(self.desk))

    def set_palette(self, palette: ChartPalette) -> None:
        """Colour the tables and the chart's orders for ``palette`` (a theme change)."""
        tones = tones_for(palette)
        for model in (self.orders_model, self.fills_model, self.positions_model, self.balances_model):
            model.set_tones(tones)
        self.chart_orders.set_palette(palette)

    def _order_changed(self, order: ws.OrderRecord) -> None:
        if self._blotter is not None:
            self._blotter.append([order_line(order)])
        self.orders_model.update_order(order)
        self.chart_orders.set_orders(self.orders_model.rows())

    def _fill_added(self, fill: ws.Fill) -> None:
        if self._blotter is not None:
            owners = {order.client_order_id: order.strategy_name for order in self.orders_model.rows()}
            self._blotter.append([fill_line(fill, owners.get(fill.client_order_id))])
        self.fills_model.add_fill(fill)
        self.chart_orders.set_fills(self.fills_model.rows())
        self._show_positions()

    def _balances_changed(self, balances: list[ws.Balance]) -> None:
        self.balances_model.set_balances(balances)
        self._show_equity()

    def _show_positions(self) -> None:
        desk = self.desk
        if desk is None:
            return
        self.positions_model.set_rows(desk_positions(desk.positions(), self._mark_price))
        self._show_equity()

    def _mark_price(self, symbol: str) -> float | None:
        price = self._prices().get(symbol)
        if price is None and self.desk is not None:
            price = self.desk.mark_price(symbol)
        return price

    def _show_equity(self) -> None:
        desk = self.desk
        if desk is None:
            return
        label = self.account.equity
        symbols = {order.symbol for order in self.orders_model.rows()} | set(self._prices())
        prices = {symbol: price for symbol in symbols if (price := self._mark_price(symbol)) is not None}
        if not prices:
            # The desk values the account in the quote of a market it priced: none yet.
            label.setText("Equity –")
            label.setToolTip("No market priced yet: the equity shows once the desk or a live run trades one")
            return
        try:
            equity = desk.equity(prices)
        except ValueError as exc:
            label.setText("Equity unknown")
            label.setToolTip(str(exc))
            return
        label.setToolTip("")
        # The quote asset the symbols are priced in (the desk refuses prices of several quotes above): the asset held
        # that every priced symbol ends with, as BTC/USDT and BTCUSDT end with USDT.
        names = [symbol.split(":")[0].replace("/", "") for symbol in prices]
        quotes = {b.asset for b in self.balances_model.rows() if all(name.endswith(b.asset) for name in names)}
        unit = f" {quotes.pop()}" if len(quotes) == 1 else ""
        self.account.equity.setText(f"Equity {format_money(equity)}{unit}")

    def _reconciled(self, reconciliation: ws.Reconciliation) -> None:
        self.account.reconciliation.show_reconciliation(reconciliation)

    async def adopt(self, disagreement: ws.Disagreement) -> bool:
        """Have the desk take the venue's side of ``disagreement`` as its own; return whether it did."""
        desk = self.desk
        if desk is None:
            return False
        try:
            await desk.adopt(disagreement)
        except Exception as exc:
            self._failed(f"Could not adopt {disagreement.message}", exc)
            return False
        self.status_reported.emit(f"Adopted: {disagreement.message}")
        self.refresh_soon()
        return True

    async def flatten_orphan(self, disagreement: ws.Disagreement) -> ws.OrderRecord | None:
        """Have the desk remove the venue's side of ``disagreement``; return the order that did (None: failed)."""
        desk = self.desk
        if desk is None:
            return None
        try:
            record = await desk.flatten_orphan(disagreement)
        except Exception as exc:
            self._failed(f"Could not flatten {disagreement.message}", exc)
            return None
        self.status_reported.emit(f"Flattened: {disagreement.message}")
        self.refresh_soon()
        return record

    def _failed(self, title: str, exc: BaseException) -> None:
        self.error_raised.emit(f"{title}: {exc}", f"{type(exc).__name__}: {exc}")

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _plain(amount: float) -> str:
    return format_amount(amount).replace(",", "")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _every(number: int) -> str:
    """Say which desks the kill switch acted on: none open yet means those opened later."""
    return "every desk" + (f" ({number})" if number else " (none open yet: each opens halted)")
