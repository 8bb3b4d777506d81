"""The settings dialog: every field of `ws.Config` as a generated form; OK applies them when they are valid."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout, QWidget

import workstation as ws
from ui.forms import SchemaForm


class SettingsDialog(QDialog):
    """Edit the engine configuration; OK (enabled only while every value is valid) applies it with ``set_config``.

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
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, parent=self
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setEnabled(self.form.is_valid())
        self.form.validity_changed.connect(self.ok_button.setEnabled)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form, 1)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)

    def accept(self) -> None:
        """Apply the values with ``ws.set_config`` and close; do nothing while any value is invalid."""
        if not self.form.is_valid():
            return
        ws.set_config(**self.form.values())
        super().accept()
