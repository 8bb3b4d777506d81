"""The Live dock's start paths send the run's orders through a desk and show it in the window.

Live with exchange orders to a local fake binance on 127.0.0.1 (the demo market on the wall clock, as
``workstation --demo-exchange-server`` serves it, the key in a memory keyring): the entry and its stop loss reach the
fake exchange, the docks show them, no real-money banner. Paper trading from its dialog: the session's paper account
is shown. A live start on a desk that disagrees with a stored position is refused with the disagreement, shown in
the Account dock, and starts once the trader adopted it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import qasync
from loop_helpers import on_loop, wait_until
from memory_keyring import MemoryKeyring

import workstation as ws
from ui.main_window import MainWindow
from workstation.exchanges.fake_binance import FAKE_API_KEY, FAKE_SECRET, DemoFeed, FakeBinance
from workstation.exchanges.fake_binance.demo_server import DemoClock
from workstation.timeutil import now_ms

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")

SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui_shots"))
STRATEGY = "buyer"


def save(widget: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    assert widget.grab().save(str(path))
    return path


async def buyer(symbol: str, when: datetime) -> ws.Signal | None:
    """Buy at once, the stop loss 5 % under, the take profit 5 % over: nothing closes it during the test."""
    price = await ws.get_average_price(symbol)
    return ws.Signal(
        position="long", price_take_profit=price * 1.05, price_stop_loss=price * 0.95, minute_estimated_time=600
    )


@pytest.fixture
def exchange(memory_keyring: MemoryKeyring) -> Iterator[FakeBinance]:
    """The demo market on a local fake binance following the wall clock's minutes, the key in the keyring."""
    ws.set_api_key("binance", FAKE_API_KEY, FAKE_SECRET)
    clock = DemoClock(1.0)
    stop = threading.Event()
    with FakeBinance(DemoFeed(), balances={"USDT": 10_000.0}, present=clock.present_ms()) as server:

        def follow_the_clock() -> None:
            while not stop.wait(0.1):
                if clock.present_ms() > (server.present or 0):
                    server.advance_to(clock.present_ms())

        follower = threading.Thread(target=follow_the_clock, daemon=True)
        follower.start()
        yield server
        stop.set()
        follower.join()


@pytest.fixture
def started(window: MainWindow) -> MainWindow:
    """The window with the test's strategy."""
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=buyer)
    return window


def test_a_live_run_from_the_dialog_sends_its_orders_to_the_local_exchange_through_the_desk_shown(
    started: MainWindow, exchange: FakeBinance, qloop: qasync.QEventLoop
) -> None:
    window = started
    dialog = on_loop(qloop, window.live_panel.open_live_dialog)
    # Where exchange orders go is asked only for them.
    labels = dialog.form.labels
    assert labels["api_url"].isHidden() and labels["sandbox"].isHidden()
    dialog.form.set_values(
        {"strategy_name": STRATEGY, "symbol": "BTC/USDT", "exchange_name": "binance", "orders": "exchange"}
    )
    assert not labels["api_url"].isHidden() and not labels["sandbox"].isHidden()
    dialog.form.set_values({"api_url": "http://example.com:8765"})
    assert not dialog.start_button.isEnabled()
    assert dialog.form.error("api_url") == (
        "api_url must be a local exchange on this computer, http://127.0.0.1:<port> or http://localhost:<port>, "
        "got 'http://example.com:8765'"
    )
    dialog.form.set_values({"api_url": exchange.url})
    save(dialog, "live_start_exchange_dialog.png")
    on_loop(qloop, dialog.start_button.click)
    wait_until(qloop, lambda: len(exchange.orders()) == 2, timeout=30)
    sent = exchange.orders()
    assert [(order.type, order.side, order.status) for order in sent] == [
        ("MARKET", "BUY", "FILLED"),
        ("STOP_LOSS", "SELL", "NEW"),
    ]
    desk = window.desk.desk
    assert desk is not None and desk in ws.Desks.all()
    assert (desk.name, desk.real_money, window.real_money_bar.isVisible()) == ("binance", False, False)
    view = window.desk
    view.refresh_soon()
    wait_until(qloop, lambda: len(view.orders_model.rows()) == 2 and view.fills_model.rowCount() == 1)
    assert [order.client_order_id for order in view.orders_model.rows()] == [
        order.client_order_id for order in reversed(sent)
    ]
    (run,) = window.live_panel.strategies.runs()
    assert (run.symbol, run.strategy_name, run.status) == ("BTC/USDT", STRATEGY, "running")
    (start,) = [line for line in window.live_panel.blotter.model.texts() if line[3] == "STARTED"]
    assert start[3:] == ("STARTED", "", f"orders to the local exchange at {exchange.url}")
    window.docks["orders"].raise_()
    save(window, "live_start_exchange_window.png")
    # A paper session started beside it shows its own desk; selecting the live run shows the exchange's again.
    session = ws.PaperTradingRequest(strategy_name=STRATEGY, symbol="BTCUSDT", start=datetime(2024, 3, 1, tzinfo=UTC))
    assert qloop.run_until_complete(window.live_panel.start_paper(session))
    paper = window.desk.desk
    assert paper is not None and paper.name == "paper"
    window.live_panel.table.select_run(("BTCUSDT", STRATEGY))
    window.live_panel.table.select_run(("BTC/USDT", STRATEGY))
    wait_until(qloop, lambda: window.desk.desk is desk)
    window.live_panel.table.select_run(("BTCUSDT", STRATEGY))
    wait_until(qloop, lambda: window.desk.desk is paper)
    finish(window, qloop)


def test_paper_trading_from_its_dialog_shows_the_session_s_paper_account(
    started: MainWindow, qloop: qasync.QEventLoop
) -> None:
    window = started
    dialog = on_loop(qloop, window.live_panel.open_paper_dialog)
    dialog.form.set_values(
        {
            "strategy_name": STRATEGY,
            "start": datetime(2024, 3, 1, tzinfo=UTC),
            "speed": 1.0,
            "starting_balance": 2500.0,
        }
    )
    save(dialog, "paper_start_dialog.png")
    on_loop(qloop, dialog.start_button.click)
    view = window.desk
    wait_until(qloop, lambda: view.desk is not None and view.orders_model.rowCount() == 3)
    assert view.desk is not None and view.desk.name == "paper"
    assert [(order.type, order.side) for order in view.orders_model.rows()] == [
        ("take_profit", "sell"),
        ("stop_loss", "sell"),
        ("market", "buy"),
    ]
    view.refresh_soon()
    wait_until(qloop, lambda: [row[0] for row in view.balances_model.texts()] == ["BTC", "USDT"])
    entry = view.orders_model.rows()[-1]
    usdt = view.desk.balances()[1]
    assert usdt.total == pytest.approx(2500.0 - entry.cost - entry.fee)
    window.docks["orders"].raise_()
    window.docks["account"].raise_()
    save(window, "paper_start_window.png")
    finish(window, qloop)


def test_a_start_on_a_desk_that_disagrees_is_refused_in_words_and_starts_once_adopted(
    started: MainWindow, qloop: qasync.QEventLoop
) -> None:
    window = started
    ws.ensure_exchange("demo")
    # A run that sent no orders stored its position: 100 USDT of BTC at 40000, 0.0025 BTC.
    now = now_ms()
    row = ws.SignalRow(
        id="tracked-1",
        position="long",
        note="",
        price_open=40000.0,
        price_take_profit=42000.0,
        price_stop_loss=38000.0,
        minute_estimated_time=24 * 60,
        symbol="BTCUSDT",
        exchange_name="demo",
        strategy_name=STRATEGY,
        frame_name="",
        scheduled_at=now,
        pending_at=now,
        is_scheduled=False,
        entries=(ws.Entry(price=40000.0, cost=100.0, timestamp=now),),
    )
    qloop.run_until_complete(ws.persist.adapter("signal").write_value(f"BTCUSDT:{STRATEGY}", row.model_dump()))
    request = ws.LiveStartRequest(strategy_name=STRATEGY, symbol="BTCUSDT", exchange_name="demo")
    assert not qloop.run_until_complete(window.live_panel.start_live_request(request))
    message = window.error_panel.message.text()
    assert message == (
        f"⚠ Could not start {STRATEGY} · BTCUSDT: the engine and the account paper-on-demo disagree (1 disagreement): "
        "BTCUSDT: amount differs: the engine holds 0.0025 BTC in 1 position; the venue holds 0 BTC. No run starts on "
        "this desk until they agree: adopt or flatten each in the Account dock, or reconcile again"
    )
    assert ws.Live.list() == []
    reconciliation = window.desk.account.reconciliation
    assert reconciliation.isVisible()
    assert reconciliation.summary.text() == "Entries refused until the engine and the venue agree (1):"
    window.docks["account"].raise_()
    save(window, "live_start_refused_window.png")
    on_loop(qloop, reconciliation.adopt_buttons[0].click)
    wait_until(qloop, lambda: reconciliation.summary.text() == "The engine and the venue agree")
    started_again = qloop.run_until_complete(window.live_panel.start_live_request(request))
    assert started_again, window.error_panel.message.text()
    assert [(status.symbol, status.status) for status in ws.Live.list()] == [("BTCUSDT", "pending")]
    finish(window, qloop)


def finish(window: MainWindow, qloop: qasync.QEventLoop) -> None:
    """End the runs while the window is there, stop showing the desk, close the desks and ccxt sessions."""
    qloop.run_until_complete(window.live_panel.shutdown(grace_seconds=0.2))
    window.detach_desk()
    qloop.run_until_complete(ws.Desks.close())
    qloop.run_until_complete(ws.close_ccxt_exchanges(ws.list_exchanges()))
