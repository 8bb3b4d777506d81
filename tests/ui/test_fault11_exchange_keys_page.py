"""Fault 11 (window side): the Settings dialog's "Exchange keys" page stores an exchange's API key and secret in the
OS keyring (here an in-memory backend, see tests/ui/conftest), masked while typed and never shown back in full."""

from __future__ import annotations

import keyring
import keyring.backends.fail
from memory_keyring import MemoryKeyring
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.settings_dialog import SettingsDialog
from ui.themes import apply_theme

API_KEY = "AKIA-7f3e9c-1234abcd"
SECRET = "s3cr3t-9b1f-77e2b0"


def keys_dialog(qtbot: QtBot) -> SettingsDialog:
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.open()
    dialog.pages.setCurrentWidget(dialog.keys_page)
    return dialog


def test_a_key_typed_masked_is_stored_in_the_keyring_and_shown_back_only_by_its_last_characters(
    qtbot: QtBot, qapp: QApplication, memory_keyring: MemoryKeyring
) -> None:
    dialog = keys_dialog(qtbot)
    page = dialog.keys_page
    assert [dialog.pages.tabText(index) for index in range(dialog.pages.count())] == [
        "Engine",
        "Risk limits",
        "Exchange keys",
    ]
    page.exchange.setCurrentText("bybit")
    assert page.stored.text() == "no key stored"
    assert not page.store_button.isEnabled()
    qtbot.keyClicks(page.api_key, API_KEY)
    qtbot.keyClicks(page.secret, SECRET)
    assert page.api_key.echoMode() == page.secret.echoMode() == QLineEdit.EchoMode.Password

    qtbot.mouseClick(page.store_button, Qt.MouseButton.LeftButton)

    assert memory_keyring.entries == {("workstation", "bybit:apiKey"): API_KEY, ("workstation", "bybit:secret"): SECRET}
    assert ws.api_key_hint("bybit") == "••••abcd"
    assert page.stored.text() == "••••abcd"
    assert (page.api_key.text(), page.secret.text()) == ("", "")
    assert page.message.text() == "The key of bybit is stored in the OS keyring."
    for theme in ("dark", "light"):
        apply_theme(qapp, theme)
        qapp.processEvents()
        dialog.grab().save(f"/tmp/window-fault11-keys-{theme}.png")
    qapp.setPalette(qapp.style().standardPalette())

    reopened = keys_dialog(qtbot)
    reopened.keys_page.exchange.setCurrentText("bybit")
    shown = [label.text() for label in reopened.keys_page.findChildren(type(reopened.keys_page.stored))]
    assert "••••abcd" in shown
    assert not any(API_KEY in text or SECRET in text for text in shown)
    assert reopened.keys_page.api_key.text() == ""

    qtbot.mouseClick(reopened.keys_page.remove_button, Qt.MouseButton.LeftButton)
    assert memory_keyring.entries == {}
    assert reopened.keys_page.stored.text() == "no key stored"


def test_a_malformed_key_is_refused_naming_the_field_not_the_value(qtbot: QtBot, memory_keyring: MemoryKeyring) -> None:
    dialog = keys_dialog(qtbot)
    page = dialog.keys_page
    page.api_key.setText(" spaced-key ")
    page.secret.setText(SECRET)

    page.store()

    assert page.message.text() == "⚠ api_key must not contain spaces at its ends or control characters"
    assert memory_keyring.entries == {}
    assert page.api_key.text() == " spaced-key "  # nothing lost: the trader corrects it


def test_without_a_keyring_the_page_says_what_to_install(qtbot: QtBot) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())  # the autouse fixture restores the previous backend
    dialog = keys_dialog(qtbot)
    page = dialog.keys_page
    assert page.stored.text() == "unknown"
    page.api_key.setText(API_KEY)
    page.secret.setText(SECRET)

    page.store()

    assert page.message.text().startswith("⚠ cannot store the API key of binance: no usable OS keyring")
    assert "pip install keyrings.alt" in page.message.text()
