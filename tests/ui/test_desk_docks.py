"""The desk in the window, over a real OrderDesk on a real PaperVenue: the ticket sends exactly the orders it shows,
the Orders, Fills, Positions and Account docks fill from the desk, Cancel from the Orders dock, a position
double-clicked fills the ticket that closes it.

The market (tests/desk_market.py) fills a market order at 42029.75 with a 0.1 % fee; the account starts with
1000 USDT.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from desk_market import FIRST_CLOSE, SYMBOL, Market, paper_desk
from loop_helpers import pause, wait_until
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.desk.real_money import BANNER_RED, BANNER_TEXT
from ui.desk.ticket import OrderTicket, TicketValues
from ui.main_window import MainWindow

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support raise")

SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui_shots"))


def save(widget: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    assert widget.grab().save(str(path))
    return path


@pytest.fixture
def market() -> Market:
    return Market()


@pytest.fixture
def desk(market: Market, tmp_path: Path, qloop: qasync.QEventLoop) -> Iterator[ws.OrderDesk]:
    """A paper desk; list it before ``window``: its journal is closed after the window's teardown (running the loop
    earlier would delete the window pytest-qt closed before the window fixture is done with it)."""
    order_desk, _venue = paper_desk(market, tmp_path / "desk.sqlite3")
    yield order_desk
    qloop.run_until_complete(order_desk.aclose())


def show(window: MainWindow, desk: ws.OrderDesk, qloop: qasync.QEventLoop) -> None:
    """Show ``desk`` in the window and wait until its journal was read (the first refresh ended)."""
    assert window.attach_desk(desk) is None  # paper moves no real money: nothing to confirm
    wait_until(qloop, lambda: window.desk.opened)


def bought_with_protection() -> TicketValues:
    return TicketValues(SYMBOL, "buy", "market", "amount", "0.01", take_profit="45000", stop_loss="41000")


def send(window: MainWindow, qloop: qasync.QEventLoop, values: TicketValues, qtbot: QtBot) -> OrderTicket:
    """Fill the ticket with ``values``, press Submit, and wait until the desk answered."""
    ticket = window.desk.open_ticket(values)
    qtbot.mouseClick(ticket.submit_button, Qt.MouseButton.LeftButton)
    wait_until(qloop, lambda: ticket.status.text() not in ("", "Sending…"))
    return ticket


def test_the_ticket_shows_and_sends_exactly_its_order_then_its_stop_loss_and_take_profit(
    desk: ws.OrderDesk, window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    show(window, desk, qloop)
    ticket = window.desk.open_ticket(bought_with_protection())
    shown = ticket.requests()
    signal_id = f"ticket-{ticket.ticket_id}"
    assert shown == [
        ws.OrderRequest(
            client_order_id=ws.client_order_id(signal_id, f"manual-{ticket.ticket_id}"),
            symbol=SYMBOL,
            side="buy",
            type="market",
            amount=0.01,
            purpose="manual",
            signal_id=signal_id,
        ),
        ws.OrderRequest(
            client_order_id=ws.client_order_id(signal_id, "stop_loss"),
            symbol=SYMBOL,
            side="sell",
            type="stop_loss",
            amount=0.01,
            trigger_price=41000.0,
            purpose="stop_loss",
            signal_id=signal_id,
        ),
        ws.OrderRequest(
            client_order_id=ws.client_order_id(signal_id, "take_profit"),
            symbol=SYMBOL,
            side="sell",
            type="take_profit",
            amount=0.01,
            trigger_price=45000.0,
            purpose="take_profit",
            signal_id=signal_id,
        ),
    ]
    # Where they go, and what they are worth: no price is known before the desk's first fill.
    assert ticket.destination.text() == "to paper account (simulated fills)"
    assert not ticket.destination.autoFillBackground()  # paper: not in the real-money colours
    assert ticket.preview.text().splitlines() == [
        "1. BUY MARKET 0.01 BTC/USDT · price unknown",
        f"    purpose manual · signal {signal_id} · client id {shown[0].client_order_id}",
        "2. SELL STOP LOSS 0.01 BTC/USDT trigger 41000.00 · ≈ 410.00 USDT at the trigger",
        f"    purpose stop_loss · signal {signal_id} · client id {shown[1].client_order_id}",
        "3. SELL TAKE PROFIT 0.01 BTC/USDT trigger 45000.00 · ≈ 450.00 USDT at the trigger",
        f"    purpose take_profit · signal {signal_id} · client id {shown[2].client_order_id}",
    ]

    send(window, qloop, bought_with_protection(), qtbot)

    # What the desk sent is what was shown, field by field (the clock stood still: all three at one time).
    sent = {order.client_order_id: order for order in desk.orders()}
    fields = ("side", "type", "amount", "price", "trigger_price", "purpose", "signal_id", "strategy_name")
    assert {key: tuple(getattr(order, name) for name in fields) for key, order in sent.items()} == {
        request.client_order_id: tuple(getattr(request, name) for name in fields) for request in shown
    }
    assert [sent[request.client_order_id].status for request in shown] == ["closed", "open", "open"]
    assert ticket.status.text() == "BUY market: closed\nSELL stop loss: open\nSELL take profit: open\nSent."
    # Sent: the ticket keeps showing what it sent, Submit waits for a change of a field.
    assert ticket.requests() == shown
    assert not ticket.submit_button.isEnabled()
    assert ticket.sends_title.text() == "Sent — change a field for a new order"


def double_click(qtbot: QtBot, button: QWidget) -> None:
    """Double-click ``button`` as a mouse does: press, release, a second press (the double-click) and release."""
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.mouseDClick(button, Qt.MouseButton.LeftButton)
    qtbot.mouseRelease(button, Qt.MouseButton.LeftButton)


def test_a_double_click_on_submit_sends_one_order_and_a_changed_amount_exactly_one_more(
    desk: ws.OrderDesk, window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    show(window, desk, qloop)
    ticket = window.desk.open_ticket(TicketValues(SYMBOL, "buy", "market", "amount", "0.01"))
    first = ticket.requests()
    double_click(qtbot, ticket.submit_button)
    ticket.submit()
    # In flight: the inputs are locked with Submit.
    assert (ticket.status.text(), ticket.inputs.isEnabled()) == ("Sending…", False)
    wait_until(qloop, lambda: ticket.status.text() == "BUY market: closed\nSent.")
    save(ticket, "ticket-sent.png")
    # The desk answered: clicks on Submit still send nothing (the ticket shows what it sent).
    double_click(qtbot, ticket.submit_button)
    ticket.submit()
    pause(qloop, 0.05)
    assert [order.client_order_id for order in desk.orders()] == [first[0].client_order_id]
    assert (ticket.requests(), ticket.submit_button.isEnabled(), ticket.inputs.isEnabled()) == (first, False, True)

    # A changed amount is a new ticket: new ids, Submit enabled for exactly one more order.
    ticket.size_edit.selectAll()
    qtbot.keyClicks(ticket.size_edit, "0.005")
    (second,) = ticket.requests()
    assert (second.amount, second.client_order_id != first[0].client_order_id) == (0.005, True)
    # Valued at the desk's newest price, its fill's: 0.005 × 42,029.75.
    assert ticket.preview.text().splitlines()[0] == "1. BUY MARKET 0.005 BTC/USDT · ≈ 210.15 USDT at 42,029.75"
    pause(qloop, 0.05)  # the layout follows the error shown and hidden while typing
    save(ticket, "ticket-new-order.png")
    assert (ticket.submit_button.isEnabled(), ticket.sends_title.text()) == (True, "Submit sends")
    double_click(qtbot, ticket.submit_button)
    wait_until(qloop, lambda: ticket.status.text() == "BUY market: closed\nSent.")
    qtbot.mouseClick(ticket.submit_button, Qt.MouseButton.LeftButton)
    pause(qloop, 0.05)
    assert {order.client_order_id: order.amount for order in desk.orders()} == {
        first[0].client_order_id: 0.01,
        second.client_order_id: 0.005,
    }


def test_a_limit_order_is_valued_at_its_limit_price_and_a_cost_at_its_cost(
    desk: ws.OrderDesk, window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    show(window, desk, qloop)
    ticket = window.desk.open_ticket(TicketValues(SYMBOL, "buy", "limit", "amount", "0.02", "41,500"))
    assert (
        ticket.preview.text().splitlines()[0]
        == "1. BUY LIMIT 0.02 BTC/USDT at 41500.00 · ≈ 830.00 USDT at the limit price"
    )
    ticket.fill(TicketValues(SYMBOL, "buy", "market", "cost", "250"))
    assert ticket.preview.text().splitlines()[0] == "1. BUY MARKET for 250 BTC/USDT · ≈ 250.00 USDT"


def test_a_real_money_desk_is_said_in_the_banner_colours_and_words(qtbot: QtBot) -> None:
    ticket = OrderTicket()
    qtbot.addWidget(ticket)
    ticket.set_destination("binance (real money)", real_money=True, price_of=lambda symbol: 4675.82)
    ticket.fill(TicketValues("ETH/USDT", "buy", "market", "amount", "0.01"))
    assert ticket.destination.text() == "REAL MONEY — to binance (real money)"
    assert ticket.destination.autoFillBackground()
    palette = ticket.destination.palette()
    assert (palette.color(QPalette.ColorRole.Window).name(), palette.color(QPalette.ColorRole.WindowText).name()) == (
        BANNER_RED,
        BANNER_TEXT,
    )
    assert ticket.preview.text().splitlines()[0] == "1. BUY MARKET 0.01 ETH/USDT · ≈ 46.76 USDT at 4,675.82"
    ticket.show()
    save(ticket, "ticket-real-money.png")
    ticket.set_destination(None)
    assert ticket.destination.text() == "to no desk: start a run with a desk first"
    assert ticket.preview.text().splitlines()[0] == "1. BUY MARKET 0.01 ETH/USDT · price unknown"


def test_the_toolbar_opens_the_ticket_on_the_symbol_of_the_run_the_live_dock_follows(
    desk: ws.OrderDesk, window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    show(window, desk, qloop)
    # The chart follows the run selected in the Live dock.
    window.live_panel.chart.show_run(("ETH/USDT", "sma-cross-market"))
    window.desk.ticket_action.trigger()
    ticket = window.desk.ticket
    assert ticket is not None
    assert ticket.values() == TicketValues("ETH/USDT", "buy", "market", "amount", "")
    assert (ticket.preview.text(), ticket.submit_button.isEnabled()) == ("Nothing yet: type the amount", False)
    pause(qloop, 0.05)
    save(ticket, "ticket-from-toolbar.png")
    # A symbol the trader typed stays when the ticket is opened again, whichever run is followed.
    ticket.symbol_edit.setEditText("SOL/USDT")
    window.live_panel.chart.show_run(("BTC/USDT", "sma-cross-market"))
    window.desk.ticket_action.trigger()
    assert ticket.values().symbol == "SOL/USDT"


def test_the_docks_fill_from_the_desk_and_cancel_works_from_the_orders_dock(
    desk: ws.OrderDesk, window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    show(window, desk, qloop)
    send(window, qloop, bought_with_protection(), qtbot)
    view = window.desk
    view.refresh_soon()
    wait_until(qloop, lambda: view.fills_model.rowCount() == 1 and view.balances_model.rowCount() == 2)

    orders = view.orders_model.texts()
    assert [row[2:8] + row[10:11] for row in orders] == [
        ("SELL", "take profit", "take profit", "0.01", "0", "45000.00 trigger", "open"),
        ("SELL", "stop loss", "stop loss", "0.01", "0", "41000.00 trigger", "open"),
        ("BUY", "market", "manual", "0.01", "0.01", "market", "filled"),
    ]
    assert view.orders.summary.text() == "2 open · 3 in all"

    cost = 0.01 * FIRST_CLOSE  # 420.2975
    fee = cost * 0.001
    fill = view.fills_model.texts()[0]
    assert fill[:7] == ("2024-01-01 01:00:30", SYMBOL, "BUY", "0.01", "42029.75", "420.30", "0.4202975 USDT")

    position = view.positions_model.rows()[0]
    assert (position.strategy_name, position.symbol, position.amount) == (None, SYMBOL, 0.01)
    assert position.cost == pytest.approx(cost + fee, abs=1e-9)
    assert position.mark_price == FIRST_CLOSE
    assert view.positions_model.texts()[0][:7] == ("by hand", SYMBOL, "0.01", "42071.78", "42029.75", "420.30", "-0.42")

    # The stop loss and the take profit hold the 0.01 BTC once (a one-cancels-the-other pair).
    assert view.balances_model.texts() == [
        ("BTC", "0", "0.01", "0.01"),
        ("USDT", "579.2822025", "0", "579.2822025"),
    ]
    assert view.account.equity.text() == "Equity 999.58 USDT"

    # Cancel the take profit from its row's Cancel button.
    take_profit = view.orders_model.rows()[0]
    view.orders.select_order(take_profit.client_order_id)
    assert view.orders.cancel_button.isEnabled()
    qtbot.mouseClick(view.orders.cancel_button, Qt.MouseButton.LeftButton)
    wait_until(qloop, lambda: view.orders_model.rows()[0].status == "canceled")
    assert view.orders_model.texts()[0][10] == "cancelled"
    statuses = {order.client_order_id: order.status for order in desk.orders()}
    assert [statuses[order.client_order_id] for order in view.orders_model.rows()] == ["canceled", "open", "closed"]
    assert not view.orders.cancel_button.isEnabled()  # the selected order no longer rests
    assert view.orders.summary.text() == "1 open · 3 in all"


def test_double_clicking_a_position_fills_the_ticket_that_closes_it_as_an_exit(
    desk: ws.OrderDesk, window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    show(window, desk, qloop)
    send(window, qloop, TicketValues(SYMBOL, "buy", "market", "amount", "0.02"), qtbot)
    view = window.desk
    view.refresh_soon()
    wait_until(qloop, lambda: view.positions_model.rowCount() == 1)
    table = view.positions.table
    window.docks["positions"].raise_()
    qtbot.waitUntil(table.isVisible)
    rect = table.visualRect(view.positions_model.index(0, 1))
    # A double-click is a click and a second press: the view emits doubleClicked on the index first pressed.
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())

    ticket = view.ticket
    assert ticket is not None
    values = ticket.values()
    assert (values.symbol, values.side, values.type, values.size_by, values.size) == (
        SYMBOL,
        "sell",
        "market",
        "amount",
        "0.02",
    )
    (request,) = ticket.requests()
    position = view.positions_model.rows()[0]
    assert (request.purpose, request.signal_id, request.amount) == ("exit", position.signal_id, 0.02)

    # Halted, the desk still lets the exit through.
    window.desk.kill_switch.halt_action.trigger()
    assert desk.halted
    send(window, qloop, ticket.values(), qtbot)
    sold = {order.client_order_id: order for order in desk.orders()}[request.client_order_id]
    assert (sold.side, sold.status, sold.filled, sold.purpose) == ("sell", "closed", 0.02, "exit")
    view.refresh_soon()
    wait_until(qloop, lambda: view.positions_model.rowCount() == 0)


def test_what_disagrees_is_listed_with_adopt_and_flatten_and_entries_wait_for_agreement(
    market: Market, window: MainWindow, tmp_path: Path, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    desk, venue = paper_desk(market, tmp_path / "orphans.sqlite3")
    try:
        show(window, desk, qloop)
        # Two orders the desk never sent: placed at the venue behind its back (another program, a lost journal).
        for leg, price in (("a", 41000.0), ("b", 40000.0)):
            orphan = ws.OrderRequest(
                client_order_id=ws.client_order_id("elsewhere", leg),
                symbol=SYMBOL,
                side="buy",
                type="limit",
                amount=0.01,
                price=price,
                purpose="manual",
            )
            qloop.run_until_complete(venue.place(orphan))
        reconciliation = qloop.run_until_complete(desk.reconcile([]))
        assert [d.kind for d in reconciliation.disagreements] == ["orphan_order", "orphan_order"]
        panel = window.desk.account.reconciliation
        assert panel.isVisible() and panel.summary.warning
        assert panel.summary.text() == "Entries refused until the engine and the venue agree (2):"
        save(window.desk.account, "desk_reconciliation_dark.png")

        # Entries wait; the desk says why.
        send(window, qloop, TicketValues(SYMBOL, "buy", "market", "amount", "0.01"), qtbot)
        assert window.error_panel.message.text().startswith("⚠ Order refused by the desk: ")

        qtbot.mouseClick(panel.flatten_buttons[0], Qt.MouseButton.LeftButton)
        wait_until(qloop, lambda: len(panel.adopt_buttons) == 1)
        qtbot.mouseClick(panel.adopt_buttons[0], Qt.MouseButton.LeftButton)
        wait_until(qloop, lambda: panel.summary.text() == "The engine and the venue agree")
        assert not panel.summary.warning and panel.adopt_buttons == []
        statuses = sorted((order.purpose, order.status) for order in window.desk.orders_model.rows())
        assert ("adopt", "open") in statuses
        assert [order.status for order in qloop.run_until_complete(venue.open_orders())] == ["open"]
    finally:
        qloop.run_until_complete(desk.aclose())


def test_a_refresh_asked_during_a_look_is_followed_by_one_more_look(
    desk: ws.OrderDesk, window: MainWindow, qloop: qasync.QEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    show(window, desk, qloop)
    looks: list[int] = []
    refresh = desk.refresh

    async def counted() -> None:
        looks.append(len(looks) + 1)
        await refresh()

    monkeypatch.setattr(desk, "refresh", counted)
    view = window.desk
    view.timer.stop()  # only the asks below look
    # Three asks while the first look runs: the look under way may have read the venue before what prompted them.
    view.refresh_soon()
    view.refresh_soon()
    view.refresh_soon()
    wait_until(qloop, lambda: len(looks) == 2)
    pause(qloop, 0.2)
    assert looks == [1, 2]
