"""Found in the new-user tour of issue 13: the paper trading and live dialogs opened with no strategy and no symbol,
so Start stayed disabled under two red errors until the trader filled both. They open ready to start, like the
Backtest form.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QApplication, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from ui.live.panel import LivePanel

SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui_shots"))


def save(widget: QWidget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert widget.grab().save(str(SHOTS / name))


def test_the_paper_trading_dialog_opens_on_the_first_strategy_and_btcusdt(panel: LivePanel) -> None:
    dialog = panel.open_paper_dialog()
    assert (dialog.error("strategy_name"), dialog.error("symbol")) == ("", "")
    request = dialog.request()
    assert request is not None
    assert (request.strategy_name, request.symbol, request.source) == ("sma-cross-market", "BTCUSDT", "demo")
    assert dialog.start_button.isEnabled()


def test_the_live_dialog_opens_on_the_first_strategy_and_btcusdt_of_the_demo(panel: LivePanel) -> None:
    dialog = panel.open_live_dialog()
    assert dialog.form.error("strategy_name") == ""
    request = dialog.form.result()
    assert request is not None
    assert (request.strategy_name, request.symbol, request.exchange_name) == ("sma-cross-market", "BTCUSDT", "demo")
    assert dialog.start_button.isEnabled()


def test_the_local_exchange_field_says_what_it_takes_and_real_money_shows_the_banner(
    panel: LivePanel, qtbot: QtBot
) -> None:
    dialog = panel.open_live_dialog()
    local_exchange = dialog.form.editors["api_url"].widget
    assert isinstance(local_exchange, QLineEdit)
    assert local_exchange.placeholderText() == (
        "optional: http://127.0.0.1:8765 for workstation --demo-exchange-server"
    )
    assert not dialog.real_money_banner.isVisible()  # demo: paper orders

    dialog.form.set_values({"exchange_name": "binance", "orders": "exchange"})
    assert dialog.request() is not None
    qtbot.waitUntil(dialog.real_money_banner.isVisible)
    assert dialog.real_money_banner.label.text() == ("LIVE WITH REAL MONEY — orders go to binance and move real funds")
    QApplication.processEvents()  # the layout follows the banner shown
    save(dialog, "live-dialog-real-money.png")

    # The testnet or a local exchange moves no real money: no banner.
    dialog.form.set_values({"sandbox": True})
    assert not dialog.real_money_banner.isVisible()
    dialog.form.set_values({"sandbox": False, "api_url": "http://127.0.0.1:8765"})
    assert dialog.request() is not None
    assert not dialog.real_money_banner.isVisible()
    QApplication.processEvents()
    save(dialog, "live-dialog-local-exchange.png")
    dialog.form.set_values({"api_url": ""})
    assert dialog.real_money_banner.isVisible()
