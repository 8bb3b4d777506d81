"""Fault 7 (window side): settings were forgotten at every restart, and contradicting values were accepted without a
word. The Settings dialog now saves what OK applies (``ws.save_settings``), the next start puts it in force again, and
``Config``'s cross-field and bound messages show next to the fields they name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from form_helpers import field_widget
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.app import apply_saved_settings
from ui.settings_dialog import SettingsDialog
from ui.themes import apply_theme

MIN_ABOVE_MAX = (
    '"Min stop-loss distance (%)" (5.0) must not exceed "Max stop-loss distance (%)" (2.0); a maximum of 0 disables it'
)
MAX_BELOW_MIN = (
    '"Max stop-loss distance (%)" (2.0) must be 0 (no maximum) or at least "Min stop-loss distance (%)" (5.0)'
)


def editor(dialog: SettingsDialog, name: str) -> QLineEdit:
    return field_widget(dialog.form, name, QLineEdit)


def test_ok_saves_the_settings_and_the_next_start_puts_them_in_force(qtbot: QtBot) -> None:
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.open()
    editor(dialog, "percent_fee").setText("0.075")
    editor(dialog, "max_stoploss_distance_percent").setText("8")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    saved = json.loads(ws.settings_path().read_text(encoding="utf-8"))
    assert saved == {"max_stoploss_distance_percent": 8.0, "percent_fee": 0.075}
    ws.reset()  # a restart: the process starts with the defaults
    assert ws.get_config() == ws.Config()

    assert apply_saved_settings() is None

    assert ws.get_config() == ws.Config(percent_fee=0.075, max_stoploss_distance_percent=8.0)
    reopened = SettingsDialog()
    qtbot.addWidget(reopened)
    assert editor(reopened, "percent_fee").text() == "0.075"


def test_a_minimum_stop_loss_distance_above_the_maximum_is_explained_next_to_both_fields(
    qtbot: QtBot, qapp: QApplication
) -> None:
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.open()
    editor(dialog, "min_stoploss_distance_percent").setText("5")
    editor(dialog, "max_stoploss_distance_percent").setText("2")

    assert dialog.form.error("min_stoploss_distance_percent") == MIN_ABOVE_MAX
    assert dialog.form.error("max_stoploss_distance_percent") == MAX_BELOW_MIN
    assert dialog.form.error_labels["min_stoploss_distance_percent"].isVisible()
    assert not dialog.ok_button.isEnabled()
    dialog.accept()
    assert dialog.isVisible()
    assert not ws.settings_path().exists()
    for theme in ("dark", "light"):
        apply_theme(qapp, theme)
        qapp.processEvents()
        dialog.grab().save(f"/tmp/window-fault07-dialog-{theme}.png")
    qapp.setPalette(qapp.style().standardPalette())

    editor(dialog, "max_stoploss_distance_percent").setText("0")  # no maximum: the minimum stands alone
    assert dialog.form.error("min_stoploss_distance_percent") == ""
    assert dialog.ok_button.isEnabled()


def test_a_fee_of_150_percent_is_refused_next_to_the_fee(qtbot: QtBot) -> None:
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    editor(dialog, "percent_fee").setText("150")

    assert dialog.form.error("percent_fee") == "Input should be less than or equal to 10"
    assert not dialog.ok_button.isEnabled()


def test_settings_that_cannot_be_saved_stay_in_force_and_the_dialog_says_why(qtbot: QtBot) -> None:
    ws.settings_path().mkdir(parents=True)  # a folder where the file should be
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.open()
    editor(dialog, "percent_fee").setText("0.2")

    dialog.accept()

    assert dialog.isVisible()
    assert dialog.save_error.text().startswith(f"⚠ Applied for this session, but not saved to '{ws.settings_path()}'")
    assert ws.get_config().percent_fee == 0.2


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not JSON"),
        ("[1, 2]", "holds list, not an object"),
        ('{"percent_fee": 150}', "percent_fee = 150: Input should be less than or equal to 10"),
    ],
    ids=["not-json", "not-an-object", "out-of-bounds"],
)
def test_a_bad_settings_file_is_named_and_the_defaults_are_used(content: str, problem: str) -> None:
    path: Path = ws.settings_path()
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ws.SettingsFileError, match=f"^settings file '{path}'"):
        ws.load_settings()
    message = apply_saved_settings()

    assert message is not None and problem in message
    assert message.endswith("; the default settings are used")
    assert ws.get_config() == ws.Config()
    assert path.read_text(encoding="utf-8") == content  # kept for the user to look at
