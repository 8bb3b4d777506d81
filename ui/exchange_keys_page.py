"""The Settings dialog's "Exchange keys" page: store an exchange's API key and secret in the OS keyring.

What is typed is masked and cleared once stored; a stored key is only ever shown back as its last characters
(``ws.api_key_hint``), and the secret never. A machine without a keyring gets the one line saying what to install.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

import workstation as ws

EXPLANATION = (
    "Keys go to the operating system's keyring at once, never to a file; OK and Cancel concern the other pages. "
    "Use keys that can trade but not withdraw."
)


class ExchangeKeysPage(QWidget):
    """Pick an exchange, type its API key and secret (masked), store or remove them in the OS keyring."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.exchange = QComboBox(self)
        self.exchange.setEditable(True)  # any ccxt exchange id, the popular ones offered
        self.exchange.addItems(list(ws.POPULAR_CCXT_EXCHANGES))
        self.api_key = QLineEdit(self)
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("API key")
        self.secret = QLineEdit(self)
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText("Secret")
        self.stored = QLabel(self)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.store_button = QPushButton("Store in keyring", self)
        self.remove_button = QPushButton("Remove from keyring", self)
        explanation = QLabel(EXPLANATION, self)
        explanation.setWordWrap(True)
        fields = QFormLayout()
        fields.addRow("Exchange", self.exchange)
        fields.addRow("API key", self.api_key)
        fields.addRow("Secret", self.secret)
        fields.addRow("In the keyring", self.stored)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.store_button)
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addLayout(fields)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self.exchange.currentTextChanged.connect(lambda _text: self.show_stored())
        self.api_key.textChanged.connect(self._update_buttons)
        self.secret.textChanged.connect(self._update_buttons)
        self.store_button.clicked.connect(self.store)
        self.remove_button.clicked.connect(self.remove)
        self._update_buttons()
        self.show_stored()

    def exchange_id(self) -> str:
        """Return the exchange id chosen or typed."""
        return self.exchange.currentText().strip()

    def show_stored(self) -> None:
        """Show whether the keyring holds a key of the chosen exchange, masked (``••••abcd``)."""
        self.message.clear()
        try:
            hint = ws.api_key_hint(self.exchange_id())
        except (ValueError, RuntimeError) as error:  # an id the keyring refuses, or no keyring on this machine
            self.stored.setText("unknown")
            self.message.setText(f"⚠ {error}")
            self.remove_button.setEnabled(False)
            return
        self.stored.setText(hint if hint is not None else "no key stored")
        self.remove_button.setEnabled(hint is not None)

    def store(self) -> None:
        """Store the typed key and secret in the keyring, clear what was typed and show the stored key masked."""
        exchange_id = self.exchange_id()
        try:
            ws.set_api_key(exchange_id, self.api_key.text(), self.secret.text())
        except (ValueError, RuntimeError) as error:  # a malformed field (named, never its value), or no keyring
            self.message.setText(f"⚠ {error}")
            return
        self.api_key.clear()
        self.secret.clear()
        self.show_stored()
        self.message.setText(f"The key of {exchange_id} is stored in the OS keyring.")

    def remove(self) -> None:
        """Remove the chosen exchange's key and secret from the keyring."""
        exchange_id = self.exchange_id()
        try:
            ws.delete_api_key(exchange_id)
        except (ValueError, RuntimeError) as error:
            self.message.setText(f"⚠ {error}")
            return
        self.show_stored()
        self.message.setText(f"The key of {exchange_id} is removed from the OS keyring.")

    def _update_buttons(self) -> None:
        self.store_button.setEnabled(bool(self.api_key.text()) and bool(self.secret.text()))
