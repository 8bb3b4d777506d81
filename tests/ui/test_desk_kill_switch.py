"""The kill switch on the toolbar and "live with real money", over a real OrderDesk on a real PaperVenue.

Halt (Ctrl+Shift+H) refuses entries at the desk and lets exits through; Flatten everything (Ctrl+Shift+F) asks
first, then leaves no open order and no holding. A desk whose venue moves real money shows only after the trader
typed the exchange's id, once per exchange, and then with a red banner and the window title saying so.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import qasync
from desk_market import MINUTE, SYMBOL, T0, Market, candles, paper_desk
from loop_helpers import wait_until
from pixels import painted
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.desk.real_money import BANNER_RED, real_money_confirmed
from ui.desk.ticket import TicketValues
from ui.log_panel import LogRelay, QtLogHandler
from ui.main_window import WINDOW_TITLE, MainWindow
from workstation.brokers.paper_venue import PaperVenue
from workstation.events import report_error

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")

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
    """A paper desk (listed before ``window``: closed after the window's teardown)."""
    order_desk, _venue = paper_desk(market, tmp_path / "desk.sqlite3")
    yield order_desk
    qloop.run_until_complete(order_desk.aclose())


@pytest.fixture
def real_desk(market: Market, tmp_path: Path, qloop: qasync.QEventLoop) -> Iterator[ws.OrderDesk]:
    """A paper desk whose venue says it moves real money on "binance": what the window shows for a real exchange.

    Still the paper venue underneath: no test sends an order anywhere but to a venue in this process.
    """
    order_desk, venue = paper_desk(market, tmp_path / "real.sqlite3")
    venue.name = "binance"
    venue.real_money = True
    venue.destination = "binance (real money)"
    yield order_desk
    qloop.run_until_complete(order_desk.aclose())


def show(window: MainWindow, desk: ws.OrderDesk, qloop: qasync.QEventLoop) -> None:
    assert window.attach_desk(desk) is None
    wait_until(qloop, lambda: window.desk.opened)


def buy(window: MainWindow, qloop: qasync.QEventLoop, values: TicketValues) -> list[ws.OrderRecord]:
    ticket = window.desk.open_ticket(values)
    sent: list[ws.OrderRecord] = qloop.run_until_complete(window.desk.submit(ticket.requests()))
    return sent


def test_halt_refuses_entries_at_the_desk_and_resume_lets_them_through(
    desk: ws.OrderDesk, window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    show(window, desk, qloop)
    halt = window.desk.kill_switch.halt_action
    assert (halt.isEnabled(), halt.isChecked(), halt.text()) == (True, False, "Halt entries")

    qtbot.keyClick(window, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert desk.halted
    assert (halt.isChecked(), halt.text()) == (True, "Entries halted")
    assert window.statusBar().currentMessage() == (
        "Entries halted on every desk (1): exits, cancels and flattening still go through"
    )

    assert buy(window, qloop, TicketValues(SYMBOL, "buy", "market", "amount", "0.01")) == []
    assert desk.orders() == []
    ticket = window.desk.ticket
    assert ticket is not None
    assert ticket.status.text().startswith("BUY MARKET 0.01 BTC/USDT · purpose manual")
    refusal = (
        "the kill switch is on (the trader pressed Halt entries): new entries are refused until the desk is resumed"
    )
    assert ticket.status.text().endswith(f"client id {ticket.requests()[0].client_order_id}: {refusal}")
    assert window.error_panel.isVisible()
    assert window.error_panel.message.text() == f"⚠ Order refused by the desk: {refusal}"  # once, not twice

    halt.trigger()
    assert not desk.halted and not halt.isChecked() and halt.text() == "Halt entries"
    assert [record.status for record in buy(window, qloop, ticket.values())] == ["closed"]

    # Halted from elsewhere (the desk's own halt): the toolbar follows.
    desk.halt("daily loss limit reached")
    assert halt.isChecked() and halt.text() == "Entries halted"


def test_flatten_everything_asks_first_then_leaves_no_order_and_no_holding(
    desk: ws.OrderDesk, window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    show(window, desk, qloop)
    sent = buy(
        window,
        qloop,
        TicketValues(SYMBOL, "buy", "market", "amount", "0.01", take_profit="45000", stop_loss="41000"),
    )
    assert [record.status for record in sent] == ["closed", "open", "open"]
    switch = window.desk.kill_switch

    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    box = switch.confirmation.box
    assert box is not None and box.isVisible()
    assert box.text().startswith("Flatten everything on 1 desk?\n\n• paper account (simulated fills)\n\n")
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    save(box, "desk_flatten_question.png")
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert not desk.halted and len([order for order in desk.orders() if order.is_open]) == 2

    switch.flatten_action.trigger()
    box = switch.confirmation.box
    assert box is not None
    box.button(QMessageBox.StandardButton.Yes).click()
    wait_until(qloop, lambda: window.statusBar().currentMessage().startswith("Flattened"))
    assert window.statusBar().currentMessage() == "Flattened 1 desk: 2 orders cancelled, 1 holding sold"
    assert desk.halted and switch.halt_action.isChecked()
    assert [order for order in desk.orders() if order.is_open] == []
    window.desk.refresh_soon()
    wait_until(qloop, lambda: window.desk.positions_model.rowCount() == 0)
    assert [row for row in window.desk.balances_model.texts() if row[0] == "BTC"] == []
    assert window.desk.orders.summary.text() == "0 open · 4 in all"


def test_real_money_waits_for_the_exchange_typed_then_shows_red_once_per_exchange(
    real_desk: ws.OrderDesk, window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    dialog = window.attach_desk(real_desk)
    assert dialog is not None and dialog.isVisible()
    assert window.desk.desk is None  # nothing shown, nothing sent, until confirmed
    assert not window.real_money_banner.isVisible() and window.windowTitle() == WINDOW_TITLE
    save(dialog, "desk_real_money_confirmation.png")

    qtbot.keyClicks(dialog.typed, "Binance")
    assert not dialog.confirm_button.isEnabled()
    dialog.typed.clear()
    qtbot.keyClicks(dialog.typed, "binance")
    assert dialog.confirm_button.isEnabled()
    qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)

    assert window.desk.desk is real_desk
    assert real_money_confirmed(window.settings, "binance")
    assert window.real_money_banner.isVisible()
    assert window.real_money_banner.label.text() == ("LIVE WITH REAL MONEY — orders go to binance and move real funds")
    assert window.windowTitle() == "Workstation — LIVE — REAL MONEY on binance"
    assert window.desk.account.venue.text() == "Orders go to binance (real money)"
    wait_until(qloop, lambda: window.desk.opened)
    banner = window.real_money_banner.grab().toImage()
    assert painted(banner, BANNER_RED) > banner.width() * banner.height() // 2
    assert window.real_money_banner.width() >= window.width() - 20  # across the whole window
    save(window, "desk_real_money_window_dark.png")
    window.apply_theme("light")
    save(window.real_money_banner, "desk_real_money_banner_light.png")

    # The second time on binance: no question.
    window.detach_desk()
    assert not window.real_money_banner.isVisible() and window.windowTitle() == WINDOW_TITLE
    assert window.attach_desk(real_desk) is None
    assert window.desk.desk is real_desk and window.real_money_banner.isVisible()


def test_real_money_cancelled_shows_nothing(
    real_desk: ws.OrderDesk, window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    dialog = window.attach_desk(real_desk)
    assert dialog is not None
    dialog.reject()
    assert window.desk.desk is None and window.real_money_confirmation is None
    assert not real_money_confirmed(window.settings, "binance")
    assert not window.desk.ticket_action.isEnabled()


def test_the_kill_switch_acts_on_every_desk_real_money_first_and_names_a_desk_that_failed(
    desk: ws.OrderDesk,
    window: MainWindow,
    qloop: qasync.QEventLoop,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two more desks of ``ws.Desks`` besides the one shown: one says real money, one cannot be reached."""
    ws.set_config(percent_slippage=0.0)
    clock = ws.ReplayClock(datetime.fromtimestamp((T0 + 60 * MINUTE + 30_000) / 1000, tz=UTC), speed=None)
    ws.add_exchange(ws.make_replay_exchange("replayed", candles(), clock))

    def paper_account(name: str) -> ws.PaperAccount:
        return ws.PaperAccount(name=name, exchange_name="replayed", clock=clock, opening_balances={"USDT": 1000.0})

    real = qloop.run_until_complete(ws.Desks.desk_for(paper_account("paper-real")))
    unreachable = qloop.run_until_complete(ws.Desks.desk_for(paper_account("paper-unreachable")))
    try:
        venue = real.venue
        assert isinstance(venue, PaperVenue)
        venue.real_money, venue.destination = True, "binance (real money)"  # what the question reads of it

        async def fails() -> ws.FlattenReport:
            raise RuntimeError("venue unreachable")

        monkeypatch.setattr(unreachable, "flatten", fails)
        show(window, desk, qloop)
        switch = window.desk.kill_switch

        switch.halt_action.trigger()
        assert [each.halted for each in (desk, real, unreachable)] == [True, True, True]
        assert window.statusBar().currentMessage() == (
            "Entries halted on every desk (3): exits, cancels and flattening still go through"
        )
        later = qloop.run_until_complete(ws.Desks.desk_for(paper_account("paper-later")))
        assert (later.halted, later.halt_reason) == (True, "the trader pressed Halt entries")
        switch.halt_action.trigger()
        assert [each.halted for each in (desk, real, unreachable, later)] == [False] * 4
        assert (switch.halt_action.isChecked(), window.statusBar().currentMessage()) == (
            False,
            "Entries resumed on 4 desks",
        )

        buy(window, qloop, TicketValues(SYMBOL, "buy", "market", "amount", "0.01", take_profit="45000"))
        qloop.run_until_complete(
            real.submit(
                ws.OrderRequest(
                    client_order_id="real-buy", symbol=SYMBOL, side="buy", type="market", amount=0.002, purpose="manual"
                )
            )
        )
        box = window.desk.ask_flatten()
        assert box is not None
        assert box.text() == (
            "Flatten everything on 4 desks?\n\n"
            "• REAL MONEY — binance (real money)\n"
            "• paper account paper-unreachable (simulated fills)\n"
            "• paper account paper-later (simulated fills)\n"
            "• paper account (simulated fills)\n\n"
            "New entries are halted on every desk, every open order is cancelled and every holding of the desks' "
            "strategies is sold at market. This cannot be undone."
        )
        QApplication.processEvents()  # the buttons' layout follows the renamed Yes on the next pass of the loop
        save(box, "desk_flatten_every_desk_question.png")
        box.button(QMessageBox.StandardButton.Yes).click()
        wait_until(qloop, window.error_panel.isVisible)
        title = "Flattened 4 desks: 1 order cancelled, 2 holdings sold; failed on paper account paper-unreachable"
        assert window.error_panel.message.text() == f"⚠ {title} (simulated fills)"
        assert "paper account paper-unreachable (simulated fills): RuntimeError: venue unreachable" in (
            window.log.text()
        )
        assert [each.halted for each in (desk, real, unreachable, later)] == [True] * 4
        assert switch.halt_action.isChecked()
        sold = [(order.side, order.amount, order.status) for order in real.orders() if order.purpose == "flatten"]
        assert sold == [("sell", 0.002, "closed")]
    finally:
        qloop.run_until_complete(ws.Desks.close())


def entry_refused(signal_id: str, minute: int) -> ws.ErrorEvent:
    """The error event of a run's entry refused by a halted desk, as the live run reports it."""
    error = ws.BrokerGateError(
        gate="open active",
        strategy_name="sma",
        symbol=SYMBOL,
        signal_id=signal_id,
        attempt=1,
        outcome="rejected: the signal is dropped",
        cause=ws.OrderRejectedError("the kill switch is on (flatten everything)"),
    )
    return ws.ErrorEvent(
        source="broker",
        message=str(error),
        exception_type="BrokerGateError",
        symbol=SYMBOL,
        strategy_name="sma",
        backtest=False,
        timestamp=T0 + minute * MINUTE,
        exception=error,
    )


def test_a_run_s_entries_refused_every_minute_are_reported_once_and_counted_on_one_blotter_line(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    for minute in range(1, 13):
        ws.events.error.emit(entry_refused(f"signal-{minute}", minute))
    blotter = window.live_panel.blotter.model
    wait_until(qloop, lambda: blotter.rowCount() == 1 and blotter.texts()[0][3] == "ERROR ×12")
    reason = "Entry rejected: the signal is dropped — the kill switch is on (flatten everything)"
    assert blotter.texts() == [("2024-01-01 00:12:00", SYMBOL, "sma", "ERROR ×12", "", reason)]
    # The Log dock and the error panel have the first in full, once; the blotter counts the rest.
    first = 'broker: broker open active of signal "signal-1" (sma on BTC/USDT), attempt 1'
    assert window.log.text().count("ERROR broker:") == 1
    assert window.error_panel.message.text().startswith(f"⚠ {first}")
    assert "more in the log" not in window.error_panel.message.text()
    window.live_panel.blotter.resize(900, 120)
    save(window.live_panel.blotter, "blotter_refusals_folded.png")


def test_the_log_dock_s_handler_leaves_the_engine_s_error_events_to_the_window(qtbot: QtBot) -> None:
    relay = LogRelay()
    lines: list[str] = []
    relay.line_logged.connect(lines.append)
    handler = QtLogHandler(relay)
    engine_log = logging.getLogger("workstation")
    engine_log.addHandler(handler)
    try:
        report_error("broker", RuntimeError("refused"), symbol=SYMBOL, strategy_name="sma", backtest=False)
        logging.getLogger("workstation.desk").warning("a record of its own")
    finally:
        engine_log.removeHandler(handler)
    assert [line.split(" ", 1)[1] for line in lines] == ["WARNING workstation.desk: a record of its own"]
