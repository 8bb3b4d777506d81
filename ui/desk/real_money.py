"""Live with real money, shown unmistakably: a red banner, the window title, and a typed confirmation per exchange.

The first time the desk is put on an exchange whose orders move real money, the trader types the exchange's id to
go on; the settings store remembers the exchanges confirmed, so the question is asked once per exchange. Paper, a
sandbox or testnet and the fake exchange move no real money and ask nothing.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

#: The settings key under which an exchange's confirmation is remembered.
CONFIRMED_KEY = "desk/real_money_confirmed/{exchange}"
#: The banner's colours, the same in both themes: white on a deep red reads on either (5.4:1).
BANNER_TEXT = "#ffffff"
BANNER_RED = "#c0392b"


def real_money_confirmed(settings: QSettings, exchange: str) -> bool:
    """Tell whether the trader already confirmed trading real money on ``exchange``."""
    return str(settings.value(CONFIRMED_KEY.format(exchange=exchange), "false")).lower() == "true"


def remember_real_money(settings: QSettings, exchange: str) -> None:
    """Remember that the trader confirmed trading real money on ``exchange``."""
    settings.setValue(CONFIRMED_KEY.format(exchange=exchange), "true")
    settings.sync()


def real_money_title(exchange: str) -> str:
    """Return the window title's suffix while the desk trades real money on ``exchange``."""
    return f"LIVE — REAL MONEY on {exchange}"


class RealMoneyBanner(QWidget):
    """A solid red strip across the window: orders here move real money on the named exchange."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        font = QFont(self.label.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.label.setFont(font)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        palette = self.label.palette()
        palette.setColor(self.label.foregroundRole(), QColor(BANNER_TEXT))
        self.label.setPalette(palette)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 5, 8, 5)
        layout.addWidget(self.label, 1)

    def show_exchange(self, exchange: str) -> None:
        """Say that orders go to ``exchange`` and move real funds (whoever holds the banner shows or hides it)."""
        self.label.setText(f"LIVE WITH REAL MONEY — orders go to {exchange} and move real funds")

    def paintEvent(self, event: QPaintEvent) -> None:
        """Fill the strip with the banner's red."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(BANNER_RED))
        painter.end()


class RealMoneyConfirmation(QDialog):
    """Type the exchange's id to trade real money on it; Confirm is enabled only once it is typed exactly.

    Opened with ``open()`` (never ``exec()``); ``accepted`` means the trader typed it and confirmed.
    """

    def __init__(self, exchange: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.exchange = exchange
        self.setWindowTitle("Live with real money")
        text = QLabel(
            f"Orders on {html.escape(exchange)} move <b>real money</b>: entries, exits and the kill switch's "
            f"flattening are sent to your {html.escape(exchange)} account.<br><br>"
            f"Type <b>{html.escape(exchange)}</b> to confirm.",
            self,
        )
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setWordWrap(True)
        # No placeholder: grey text in the field would read as the name already typed.
        self.typed = QLineEdit(self)
        self.buttons = QDialogButtonBox(self)
        self.confirm_button = self.buttons.addButton("Trade real money", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.confirm_button.setEnabled(False)
        # Enter in the field must not confirm a half-typed name: the button is no default.
        self.confirm_button.setAutoDefault(False)
        self.typed.textChanged.connect(lambda typed: self.confirm_button.setEnabled(typed == exchange))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.typed)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)

    def accept(self) -> None:
        """Close as confirmed, only when the exchange's id is typed exactly."""
        if self.typed.text() == self.exchange:
            super().accept()
