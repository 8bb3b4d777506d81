"""The live start dialog: a strategy on a real exchange (or the demo market), ticking on the system clock.

Exchange orders with neither the testnet nor a local exchange go to the exchange account itself: the dialog then
shows the window's real-money banner (its red and its words) above Start; starting asks the typed confirmation once.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

import workstation as ws
from ui.desk.real_money import RealMoneyBanner
from ui.forms import SchemaForm

INTRODUCTION = (
    "Live trading ticks once a minute on the system clock over the exchange's closed candles. Signals, positions "
    "and partial levels are stored before anyone hears of them, so a crash or a restart resumes where it stopped. "
    "Orders go where Orders says: paper fills them on the exchange's candles in a paper account on this computer; "
    "exchange sends them to your account there (its testnet, or a local exchange, when chosen), with the API key "
    "from the OS keyring. Every order passes the desk (Orders, Fills, Positions and Account docks, kill switch)."
)

#: The fields that say where exchange orders go: shown only for them.
EXCHANGE_ORDER_FIELDS = ("sandbox", "api_url")

#: What the Local exchange field takes, shown while it is empty.
LOCAL_EXCHANGE_HINT = "optional: http://127.0.0.1:8765 for workstation --demo-exchange-server"


def live_exchange_choices() -> list[str]:
    """Return the exchanges a live run can tick on: every registered one but paper replays and stored candles (no
    new candle ever reaches them) and local exchanges (chosen by their address), the demo included."""
    names = [name for name in ws.exchange_choices() if not name.startswith(("paper-", "stored-")) and "@" not in name]
    return names + [name for name in ws.POPULAR_CCXT_EXCHANGES if name not in names]


def first_strategy() -> dict[str, str]:
    """Return the form value that selects the first strategy on offer (none when no strategy is on offer)."""
    names = ws.strategy_choices()
    return {"strategy_name": names[0]} if names else {}


class LiveStartDialog(QDialog):
    """Ask for one live run; ``request_accepted`` carries the validated ``ws.LiveStartRequest`` on Start."""

    request_accepted = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Start live")
        self.setModal(False)
        self.form = SchemaForm(
            ws.LiveStartRequest,
            choices={"strategy_name": ws.strategy_choices, "exchange_name": live_exchange_choices},
            parent=self,
        )
        # Ready to start as it opens, like the Backtest form: the first strategy on the demo's BTCUSDT.
        self.form.set_values({"symbol": "BTCUSDT", "exchange_name": "demo", **first_strategy()})
        introduction = QLabel(INTRODUCTION, self)
        introduction.setWordWrap(True)
        local_exchange = self.form.editors["api_url"].widget
        if isinstance(local_exchange, QLineEdit):  # the schema's api_url is a str: a text field
            local_exchange.setPlaceholderText(LOCAL_EXCHANGE_HINT)
        self.real_money_banner = RealMoneyBanner(self)
        # The dialog is narrower than the window the banner was made for: its words wrap instead of being cut.
        self.real_money_banner.label.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.start_button = self.buttons.addButton("Start live", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setDefault(True)
        layout = QVBoxLayout(self)
        layout.addWidget(introduction)
        layout.addWidget(self.form)
        layout.addStretch(1)
        layout.addWidget(self.real_money_banner)
        layout.addWidget(self.buttons)
        self.start_button.setEnabled(self.form.is_valid())
        self.form.validity_changed.connect(self.start_button.setEnabled)
        self.form.values_changed.connect(self._show_exchange_order_fields)
        self._show_exchange_order_fields()
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        # Wide enough for the Local exchange field's hint in full.
        self.setMinimumWidth(620)

    def _show_exchange_order_fields(self) -> None:
        # Paper orders never leave this computer: where exchange orders go is asked only for them.
        exchange_orders = self.form.values()["orders"] == "exchange"
        if not exchange_orders and any(self.form.values()[name] for name in EXCHANGE_ORDER_FIELDS):
            self.form.set_values({"sandbox": False, "api_url": ""})
        for name in EXCHANGE_ORDER_FIELDS:
            self.form.set_field_visible(name, exchange_orders)
        request = self.request()
        # Neither the testnet nor a local exchange: the orders move real funds on the exchange account.
        real_exchange = None
        if request is not None and request.orders == "exchange" and not request.sandbox and not request.api_url:
            real_exchange = request.exchange_name
            self.real_money_banner.show_exchange(real_exchange)
        self.real_money_banner.setVisible(real_exchange is not None)
        # Rows shown or hidden: the dialog takes the height its rows need instead of squeezing them.
        self.adjustSize()

    def request(self) -> ws.LiveStartRequest | None:
        """Return the validated request, or None while a field is invalid."""
        result = self.form.result()
        return result if isinstance(result, ws.LiveStartRequest) else None

    def accept(self) -> None:
        """Emit ``request_accepted`` with the request and close; nothing happens while a field is invalid."""
        request = self.request()
        if request is None:
            return
        self.request_accepted.emit(request)
        super().accept()
