"""The desk over the fake binance on 127.0.0.1, through ccxt's real code path: the monitors fill, the ticket's
orders reach the exchange exactly as shown, Cancel from the Orders dock cancels there, Flatten leaves nothing.

The market (tests/desk_market.py's candles, served by the fake binance) is at candle 60: a market order fills at its
close, 42030.25, with a fee of 0.1 % in USDT. The account starts with 1000 USDT.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from desk_market import MINUTE, SYMBOL, T0, candles
from loop_helpers import wait_until
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.desk.ticket import TicketValues
from ui.main_window import MainWindow
from workstation.exchanges.api_keys import ApiCredentials
from workstation.exchanges.fake_binance import FAKE_BINANCE_OPTIONS, FakeBinance

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")

SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui_shots"))
API_KEY = "DESK-UI-KEY-5c1e"
SECRET = "DESK-UI-SECRET-7a42"
PRESENT = T0 + 60 * MINUTE
#: Candle 60's close: the fake binance fills market orders at the present candle's close.
LAST = 42030.25


def save(widget: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    assert widget.grab().save(str(path))
    return path


@pytest.fixture
def exchange() -> Iterator[FakeBinance]:
    with FakeBinance(candles(), api_key=API_KEY, secret=SECRET, present=PRESENT) as server:
        yield server


@pytest.fixture
def desk(exchange: FakeBinance, tmp_path: Path, qloop: qasync.QEventLoop) -> Iterator[ws.OrderDesk]:
    """A desk on a binance venue pointed at the fake binance (listed before ``window``: closed after it)."""
    venue = ws.CcxtVenue(
        "binance",
        credentials=ApiCredentials(api_key=API_KEY, secret=SECRET),
        api_url=exchange.url,
        enableRateLimit=False,
        **FAKE_BINANCE_OPTIONS,
    )
    order_desk = ws.OrderDesk(
        venue, limits=ws.RiskLimits(), journal_path=tmp_path / "desk.sqlite3", clock=lambda: PRESENT + 30_000
    )
    yield order_desk
    qloop.run_until_complete(order_desk.aclose())
    qloop.run_until_complete(venue.aclose())


def test_the_desk_trades_on_the_fake_exchange_from_the_ticket_cancels_and_flattens(
    desk: ws.OrderDesk, window: MainWindow, exchange: FakeBinance, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    # 127.0.0.1 moves no real money: shown at once, no banner.
    assert not desk.real_money
    assert window.attach_desk(desk) is None
    assert not window.real_money_bar.isVisible()
    view = window.desk
    wait_until(qloop, lambda: view.opened)

    ticket = view.open_ticket(TicketValues(SYMBOL, "buy", "market", "amount", "0.01", stop_loss="41000"))
    shown = ticket.requests()
    assert ticket.destination.text() == f"to binance at {exchange.url} (local fake exchange)"
    save(ticket, "desk_fake_exchange_ticket.png")
    qtbot.mouseClick(ticket.submit_button, Qt.MouseButton.LeftButton)
    wait_until(qloop, lambda: ticket.status.text() not in ("", "Sending…"))
    assert ticket.status.text() == "BUY market: closed\nSELL stop loss: open\nSent."

    # The exchange holds exactly the orders the ticket showed, under their client ids.
    placed = {order.client_order_id: order for order in exchange.orders()}
    assert sorted(placed) == sorted(request.client_order_id for request in shown)
    entry, stop = (placed[request.client_order_id] for request in shown)
    assert (entry.symbol, entry.side, entry.type, entry.quantity, entry.status) == (
        "BTCUSDT",
        "BUY",
        "MARKET",
        0.01,
        "FILLED",
    )
    assert (stop.side, stop.type, stop.quantity, stop.stop_price, stop.status) == (
        "SELL",
        "STOP_LOSS",
        0.01,
        41000.0,
        "NEW",
    )

    view.refresh_soon()
    wait_until(qloop, lambda: view.fills_model.rowCount() == 1 and view.balances_model.rowCount() == 2)
    assert view.fills_model.texts()[0][2:7] == ("BUY", "0.01", "42030.25", "420.30", "0.4203025 USDT")
    assert view.balances_model.texts() == [
        ("BTC", "0", "0.01", "0.01"),
        ("USDT", "579.2771975", "0", "579.2771975"),
    ]
    (position,) = view.positions_model.rows()
    assert (position.symbol, position.amount, position.mark_price) == (SYMBOL, 0.01, LAST)
    assert view.account.venue.text() == f"Orders go to binance at {exchange.url} (local fake exchange)"
    window.docks["orders"].raise_()
    save(window, "desk_fake_exchange_dark.png")
    window.docks["account"].raise_()
    save(window.docks["account"], "desk_fake_exchange_account.png")

    # Cancel the stop loss from its row: the exchange cancels it.
    view.orders.select_order(shown[1].client_order_id)
    qtbot.mouseClick(view.orders.cancel_button, Qt.MouseButton.LeftButton)
    wait_until(qloop, lambda: not view.orders_model.open_orders())
    assert {order.client_order_id: order.status for order in exchange.orders()}[shown[1].client_order_id] == (
        "CANCELED"
    )

    # Flatten everything sells the 0.01 BTC at market.
    view.kill_switch.flatten_action.trigger()
    box = view.kill_switch.confirmation.box
    assert box is not None
    where = f"binance at {exchange.url} (local fake exchange)"
    assert box.text().startswith(f"Flatten everything on 1 desk?\n\n• {where}\n\n")
    box.button(QMessageBox.StandardButton.Yes).click()
    wait_until(qloop, lambda: window.statusBar().currentMessage().startswith("Flattened"))
    assert window.statusBar().currentMessage() == "Flattened 1 desk: 0 orders cancelled, 1 holding sold"
    view.refresh_soon()
    wait_until(qloop, lambda: [row[0] for row in view.balances_model.texts()] == ["USDT"])
    assert [order for order in exchange.orders() if order.status == "NEW"] == []
