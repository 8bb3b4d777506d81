"""The Settings dialog's Risk limits page: OK puts the limits on ws.Desks and every open desk and saves them; a bad
value shows its error next to its field and changes nothing. The Desk menu's "Risk limits…" opens the page."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from desk_market import MINUTE, T0, candles
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.main_window import MainWindow
from ui.settings_dialog import SettingsDialog

SHOTS = Path("/tmp/ui_shots")


def paper_account() -> ws.PaperAccount:
    clock = ws.ReplayClock(datetime.fromtimestamp((T0 + 60 * MINUTE + 30_000) / 1000, tz=UTC), speed=None)
    ws.add_exchange(ws.make_replay_exchange("replayed", candles(), clock))
    return ws.PaperAccount(name="paper-test", exchange_name="replayed", clock=clock, opening_balances={"USDT": 1000.0})


def field(dialog: SettingsDialog, name: str) -> QLineEdit:
    editor = dialog.risk_page.form.editors[name].widget
    assert isinstance(editor, QLineEdit)
    return editor


def test_ok_puts_the_limits_on_every_open_desk_and_saves_them(qtbot: QtBot) -> None:
    async def scenario() -> ws.RiskLimits:
        desk = await ws.Desks.desk_for(paper_account())
        dialog = SettingsDialog()
        qtbot.addWidget(dialog)
        dialog.open()
        assert [field(dialog, name).text() for name in ws.RiskLimits.model_fields] == ["", "", "", ""]
        field(dialog, "max_open_positions").setText("2")
        field(dialog, "max_order_notional").setText("500")
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        assert dialog.result() == SettingsDialog.DialogCode.Accepted
        limits = desk.limits
        await ws.Desks.close()
        return limits

    chosen = ws.RiskLimits(max_open_positions=2, max_order_notional=500.0)
    assert asyncio.run(scenario()) == chosen
    assert ws.Desks.limits == chosen
    saved = json.loads(ws.settings_path().read_text(encoding="utf-8"))
    assert saved == {"risk_limits": {"max_open_positions": 2, "max_order_notional": 500.0}}
    assert ws.TradingDesks().load_limits() == chosen


def test_a_bad_limit_shows_its_error_next_to_the_field_and_changes_nothing(qtbot: QtBot) -> None:
    ws.Desks.set_limits({"max_open_positions": 3})
    saved = ws.settings_path().read_text(encoding="utf-8")
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.open_risk_limits()
    assert dialog.pages.currentWidget() is dialog.risk_page
    assert field(dialog, "max_open_positions").text() == "3"
    field(dialog, "max_order_notional").setText("-5")
    field(dialog, "daily_loss_limit").setText("lots")
    form = dialog.risk_page.form
    assert form.error("max_order_notional") == "Input should be greater than 0"
    assert form.error("daily_loss_limit") == "Input should be a valid number, unable to parse string as a number"
    assert form.error("max_open_positions") == ""
    assert not dialog.ok_button.isEnabled()
    assert not dialog.apply_button.isEnabled()
    dialog.accept()  # refused while invalid
    assert dialog.isVisible()
    assert ws.Desks.limits == ws.RiskLimits(max_open_positions=3)
    assert ws.settings_path().read_text(encoding="utf-8") == saved
    SHOTS.mkdir(exist_ok=True)
    assert dialog.grab().save(str(SHOTS / "settings_risk_limits_error.png"))


def test_the_page_with_limits_set(qtbot: QtBot) -> None:
    ws.Desks.set_limits({"max_order_notional": 500.0, "max_open_positions": 2})
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.open_risk_limits()
    assert dialog.risk_page.form.values() == {
        "max_order_notional": 500.0,
        "max_open_positions": 2,
        "max_orders_per_minute": None,
        "daily_loss_limit": None,
    }
    assert field(dialog, "max_orders_per_minute").placeholderText() == "no limit"
    SHOTS.mkdir(exist_ok=True)
    assert dialog.grab().save(str(SHOTS / "settings_risk_limits.png"))


def test_the_desk_menu_opens_the_risk_limits_page(window: MainWindow) -> None:
    desk_menu = next(action.menu() for action in window.menuBar().actions() if action.text() == "D&esk")
    risk_action = next(action for action in desk_menu.actions() if action.text() == "Risk limits…")
    risk_action.trigger()
    dialog = window.findChild(SettingsDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.pages.currentWidget() is dialog.risk_page
