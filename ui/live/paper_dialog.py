"""The paper trading dialog: a strategy replayed over recorded candles, faster than real time, on a replay clock.

The form is generated from the request model (``ws.PaperTradingRequest``): each field's editor follows its type and
each validation error shows next to its field. Speed presets (1× … 600×) sit under the speed field, as the period
presets sit under the backtest form's end.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from pydantic import BaseModel
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

import workstation as ws
from ui.forms import SchemaForm
from ui.live.live_dialog import first_strategy

#: Speed presets: replayed seconds per real second.
SPEED_PRESETS: tuple[int, ...] = (1, 10, 60, 120, 300, 600)
#: How far back the default start lies, in days: a recent week the demo and stored candles both cover.
DEFAULT_DAYS_BACK = 7

INTRODUCTION = (
    "Paper trading runs the strategy exactly as live trading does, tick by tick, over recorded candles on a replay "
    "clock. Its orders pass the desk to the session's paper account, which fills them on the replayed candles with "
    "the configured fee and slippage: no order reaches an exchange. At 60× a day of candles replays in 24 minutes."
)


def stored_exchange_choices() -> list[str]:
    """Return the exchanges the candle store holds 1m candles of: what a stored session can replay."""
    store = ws.CandleStore()
    try:
        return store.worker.call_blocking(store.exchanges)
    except ws.CandleStoreFileError:
        return []
    finally:
        store.close()


def speed_text(speed: int) -> str:
    """Return how a speed preset is written on its button: ``60×``."""
    return f"{speed}×"


class PaperTradingDialog(QDialog):
    """Ask for one paper trading run; ``request_accepted`` carries the validated request on Start.

    Parameters
    ----------
    request_model
        The model the form edits and validates (``ws.PaperTradingRequest``).
    parent
        The parent widget.
    """

    #: A validated request to start.
    request_accepted = Signal(object)

    def __init__(self, request_model: type[BaseModel], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Paper trading")
        self.setModal(False)
        presets = QWidget(self)
        presets_layout = QHBoxLayout(presets)
        presets_layout.setContentsMargins(0, 0, 0, 0)
        presets_layout.setSpacing(2)
        self.speed_buttons: dict[int, QPushButton] = {}
        for speed in SPEED_PRESETS:
            button = QPushButton(speed_text(speed), presets)
            button.setObjectName(f"speed_{speed}")
            button.setAutoDefault(False)
            button.setToolTip(f"Replay {speed} seconds of candles per second")
            button.setMinimumWidth(button.fontMetrics().horizontalAdvance("600×") + 14)
            button.clicked.connect(lambda _checked=False, speed=speed: self.choose_speed(speed))
            presets_layout.addWidget(button)
            self.speed_buttons[speed] = button
        self.form = SchemaForm(
            request_model,
            choices={"strategy_name": ws.strategy_choices, "stored_exchange": stored_exchange_choices},
            rows_after={"speed": ("Speed presets", presets)},
            parent=self,
        )
        start = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC) - timedelta(days=DEFAULT_DAYS_BACK)
        # Ready to start as it opens, like the Backtest form: the first strategy on the demo's BTCUSDT.
        self.form.set_values({"start": start, "symbol": "BTCUSDT", **first_strategy()})
        introduction = QLabel(INTRODUCTION, self)
        introduction.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.start_button = self.buttons.addButton("Start paper trading", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setObjectName("start")
        self.start_button.setDefault(True)
        layout = QVBoxLayout(self)
        layout.addWidget(introduction)
        layout.addWidget(self.form)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.start_button.setEnabled(self.form.is_valid())
        self.form.validity_changed.connect(self.start_button.setEnabled)
        self.form.values_changed.connect(self._show_stored_exchange)
        self._show_stored_exchange()
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.setMinimumWidth(460)

    def _show_stored_exchange(self) -> None:
        # Only a stored session replays an exchange's candles; beside the demo the field would sit there, empty.
        self.form.set_field_visible("stored_exchange", self.form.values()["source"] == "stored")

    def choose_speed(self, speed: float) -> None:
        """Put ``speed`` in the speed field (a preset was clicked)."""
        self.form.set_values({"speed": float(speed)})

    def request(self) -> BaseModel | None:
        """Return the validated request, or None while a field is invalid."""
        return self.form.result()

    def error(self, name: str) -> str:
        """Return the error shown next to the field ``name`` ("" when it is valid)."""
        return self.form.error(name)

    def accept(self) -> None:
        """Emit ``request_accepted`` with the request and close; nothing happens while a field is invalid."""
        request = self.request()
        if request is None:
            return
        self.request_accepted.emit(request)
        super().accept()
