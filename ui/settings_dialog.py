"""The settings dialog: every field of `ws.Config` as a generated form; OK applies and saves them when they are valid.

A value out of bounds, or two values that contradict each other (a minimum stop-loss distance above the maximum),
shows ``Config``'s own message next to each field it names, and OK stays disabled until they agree. A second page
holds the desks' risk limits (``ui.risk_limits_page``), a third stores exchange API keys in the OS keyring
(``ui.exchange_keys_page``).
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
from ui.risk_limits_page import RiskLimitsPage


class SettingsDialog(QDialog):
    """Edit the engine configuration and the risk limits; OK or Apply (enabled only while every value is valid)
    applies them (``set_config``, ``ws.Desks.set_limits``) and saves them, so they are in force again at the next
    start.

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
        self.risk_page = RiskLimitsPage(self)
        self.keys_page = ExchangeKeysPage(self)
        self.pages = QTabWidget(self)
        # In a scroll area: the messages next to the fields make the page taller than a screen may be, and the
        # area gives each wrapped message the height its width needs.
        engine_page = QScrollArea(self)
        engine_page.setWidgetResizable(True)
        engine_page.setFrameShape(QFrame.Shape.NoFrame)
        engine_page.setWidget(self.form)
        self.pages.addTab(engine_page, "Engine")
        self.pages.addTab(self.risk_page, "Risk limits")
        self.pages.addTab(self.keys_page, "Exchange keys")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel,
            parent=self,
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        for form in (self.form, self.risk_page.form):
            form.validity_changed.connect(self._enable_buttons)
        self._enable_buttons()
        self.buttons.accepted.connect(self.accept)
        self.apply_button.clicked.connect(self.apply)
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

    def is_valid(self) -> bool:
        """Tell whether every value on the Engine and Risk limits pages is valid."""
        return self.form.is_valid() and self.risk_page.form.is_valid()

    def apply(self) -> bool:
        """Apply the engine settings and the risk limits and save them; return whether both were saved.

        Nothing is applied while any value is invalid. What cannot be saved is still in force for this session, and
        the dialog says why.
        """
        if not self.is_valid():
            return False
        self.save_error.hide()
        ws.set_config(**self.form.values())
        unsaved: OSError | None = None
        try:
            ws.save_settings()
        except OSError as error:
            unsaved = error
        try:
            self.risk_page.apply()  # in force on every desk even when the engine settings could not be saved
        except OSError as error:
            unsaved = unsaved or error
        if unsaved is None:
            return True
        self.save_error.setText(
            f"⚠ Applied for this session, but not saved to {str(ws.settings_path())!r}: {unsaved.strerror or unsaved}"
        )
        self.save_error.show()
        return False

    def accept(self) -> None:
        """Apply and save the values (:meth:`apply`) and close; stay open while a value is invalid or unsaved."""
        if self.apply():
            super().accept()

    def open_risk_limits(self) -> None:
        """Show the Risk limits page and the dialog (non-modal)."""
        self.pages.setCurrentWidget(self.risk_page)
        self.open()

    def _enable_buttons(self, _valid: bool = False) -> None:
        valid = self.is_valid()
        self.ok_button.setEnabled(valid)
        self.apply_button.setEnabled(valid)
