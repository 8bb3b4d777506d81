"""The settings dialog: generated from ws.Config, OK only while valid, applies it; Cancel changes nothing."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QSpinBox
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.settings_dialog import SettingsDialog

SHOTS = Path("/tmp/ui_shots")


def test_invalid_value_disables_ok_and_shows_why(qtbot: QtBot) -> None:
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.open()
    assert dialog.form.values() == ws.get_config().model_dump()
    assert dialog.ok_button.isEnabled()

    fee = dialog.form.editors["percent_fee"].widget
    assert isinstance(fee, QLineEdit)
    fee.setText("-1")
    assert dialog.form.error("percent_fee") == "Input should be greater than or equal to 0"
    assert not dialog.ok_button.isEnabled()
    dialog.accept()  # refused while invalid
    assert dialog.isVisible()
    assert ws.get_config() == ws.Config()
    SHOTS.mkdir(exist_ok=True)
    assert dialog.grab().save(str(SHOTS / "settings_dialog.png"))


def test_ok_applies_the_values(qtbot: QtBot) -> None:
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.open()
    fee = dialog.form.editors["percent_fee"].widget
    retries = dialog.form.editors["get_candles_retry_count"].widget
    assert isinstance(fee, QLineEdit) and isinstance(retries, QSpinBox)
    fee.setText("0.075")
    retries.setValue(1)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    assert ws.get_config() == ws.Config(percent_fee=0.075, get_candles_retry_count=1)


def test_cancel_leaves_the_config(qtbot: QtBot) -> None:
    ws.set_config(walker_top_n=4)
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.open()
    fee = dialog.form.editors["percent_fee"].widget
    assert isinstance(fee, QLineEdit)
    fee.setText("0.3")
    dialog.reject()
    assert ws.get_config() == ws.Config(walker_top_n=4)
