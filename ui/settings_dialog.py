"""The settings dialog: every field of `ws.Config` as a generated form; OK applies and saves them when they are valid.

A value out of bounds, or two values that contradict each other (a minimum stop-loss distance above the maximum),
shows ``Config``'s own message next to each field it names, and OK stays disabled until they agree. A second page
stores exchange API keys in the OS keyring (``ui.exchange_keys_page``).
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QLabel,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

import workstation as ws
from ui.exchange_keys_page import ExchangeKeysPage
from ui.forms import SchemaForm


class SettingsDialog(QDialog):
    """Edit the engine configuration; OK (enabled only while every value is valid) applies it with ``set_config``
    and saves it with ``save_settings``, so it is in force again at the next start.

    Cancel leaves the configuration as it was. The dialog works without ``exec()``: callers ``open()`` it.

    Parameters
    ----------
    parent
        The parent widget.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.form = SchemaForm(ws.Config, parent=self)
        self.form.set_values(ws.get_config().model_dump())
        self.keys_page = ExchangeKeysPage(self)
        self.pages = QTabWidget(self)
        # In a scroll area: the messages next to the fields make the page taller than a screen may be, and the
        # area gives each wrapped message the height its width needs.
        engine_page = QScrollArea(self)
        engine_page.setWidgetResizable(True)
        engine_page.setFrameShape(QFrame.Shape.NoFrame)
        engine_page.setWidget(self.form)
        self.pages.addTab(engine_page, "Engine")
        self.pages.addTab(self.keys_page, "Exchange keys")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, parent=self
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setEnabled(self.form.is_valid())
        self.form.validity_changed.connect(self.ok_button.setEnabled)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.save_error = QLabel(self)
        self.save_error.setWordWrap(True)
        self.save_error.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.save_error)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)
        self.resize(560, 720)

    def accept(self) -> None:
        """Apply the values with ``ws.set_config``, save them and close; do nothing while any value is invalid.

        When they cannot be saved they are still in force for this session, and the dialog stays open saying why.
        """
        if not self.form.is_valid():
            return
        ws.set_config(**self.form.values())
        try:
            ws.save_settings()
        except OSError as error:
            self.save_error.setText(
                f"⚠ Applied for this session, but not saved to {str(ws.settings_path())!r}: {error.strerror or error}"
            )
            self.save_error.show()
            return
        super().accept()
