"""The confirmation of a manual command: what the position is now, what it will be after, and Confirm.

The "after" column is ``ws.Live.preview``'s answer: the command computed on a copy of the run's position by the very
method the command will call, at the price it would book at now. An input (the share to close, a new level's price,
the cost to add) is validated by ``ws.ManualCommand`` as the trader types, its error shown under it naming the field
and the value; the preview follows every valid edit. Confirm is enabled only for a valid command the run would take.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

import workstation as ws
from ui.charts.candle_chart import format_price
from ui.forms.schema_form import error_text
from ui.live.manual_actions import ManualActionSpec
from ui.live.strategies_table import EMPTY, LiveRun
from ui.themes import error_colour, warning_colour
from ui.widgets.formatting import signed

#: How the dialog asks for a preview: ``ws.Live.preview`` bound to the run.
PreviewReader = Callable[[ws.ManualCommand], Awaitable[ws.ManualPreview]]

#: How long typing may pause before the preview is asked again (one request per pause, not per key).
PREVIEW_DELAY_MS = 150

#: The rows of the comparison, in order.
PREVIEW_ROWS: tuple[tuple[str, str], ...] = (
    ("price", "Price it books at"),
    ("entry", "Effective entry"),
    ("stop_loss", "Stop loss"),
    ("take_profit", "Take profit"),
    ("held", "Share held"),
    ("pnl", "PnL at that price"),
)


def _price(value: float | None) -> str:
    return EMPTY if value is None else format_price(value)


def _share(value: float | None) -> str:
    return EMPTY if value is None else f"{value:.2f} %"


def _pnl(value: float | None) -> str:
    return EMPTY if value is None else f"{signed(value, 2)} %"


def default_input(spec: ManualActionSpec, run: LiveRun) -> str:
    """Return what the input starts with: half of what is held, the level's current price, the first entry's cost."""
    signal = run.signal
    if spec.field == "percent":
        return "50"
    if spec.field == "price" and signal is not None:
        return format_price(signal.price_stop_loss if spec.action == "trail_stop" else signal.price_take_profit)
    if spec.field == "cost":
        cost = signal.entries[0].cost if signal is not None and signal.entries else ws.get_config().position_entry_cost
        return f"{cost:g}"
    return ""


def validation_message(exc: ValidationError, spec: ManualActionSpec) -> str:
    """Return ``ws.ManualCommand``'s errors as the trader reads them, each naming the field and the value typed."""
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or (spec.field or "command")
        typed = error.get("input")
        value = f" = {typed!r}" if typed is not None and not isinstance(typed, dict) else ""
        lines.append(f"{field}{value}: {error_text(error['msg'])}")
    return "\n".join(lines)


class ManualCommandDialog(QDialog):
    """Confirm one manual command on one run, its result shown before it happens.

    Signals
    -------
    confirmed(object)
        The trader confirmed the ``ws.ManualCommand`` shown; the dialog closes.
    preview_shown()
        The "after" column (or the input's error) now shows the input as it is (for tests and screenshots).
    """

    confirmed = Signal(object)
    preview_shown = Signal()

    def __init__(
        self, spec: ManualActionSpec, run: LiveRun, preview: PreviewReader, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.spec = spec
        self.run = run
        self.preview: ws.ManualPreview | None = None
        self._read_preview = preview
        self._asked = 0
        self._task: asyncio.Future[Any] | None = None
        self.setWindowTitle(f"{spec.text.removesuffix('…')} — {run.strategy_name} · {run.symbol}")
        self.setModal(True)

        self.heading = QLabel(self)
        heading_font = self.heading.font()
        heading_font.setBold(True)
        self.heading.setFont(heading_font)
        self.description = QLabel(spec.description, self)
        self.description.setWordWrap(True)

        self.input = QLineEdit(self)
        self.input.setObjectName("manual_input")
        self.input.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.input_error = QLabel(self)
        self.input_error.setObjectName("manual_input_error")
        self.input_error.setWordWrap(True)
        self.input_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.input_error.hide()
        input_row = QHBoxLayout()
        input_label = QLabel(f"{spec.field_label}:", self)
        input_label.setBuddy(self.input)
        input_row.addWidget(input_label)
        input_row.addWidget(self.input, 1)
        if spec.unit:
            input_row.addWidget(QLabel(spec.unit, self))

        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(3)
        bold = QFont(self.font())
        bold.setBold(True)
        for column, title in enumerate(("", "Now", "After")):
            header = QLabel(title, self)
            header.setFont(bold)
            header.setAlignment(Qt.AlignmentFlag.AlignRight)
            grid.addWidget(header, 0, column)
        self.now_cells: dict[str, QLabel] = {}
        self.after_cells: dict[str, QLabel] = {}
        for row, (name, title) in enumerate(PREVIEW_ROWS, start=1):
            grid.addWidget(QLabel(title, self), row, 0)
            for column, cells in ((1, self.now_cells), (2, self.after_cells)):
                cell = QLabel(EMPTY, self)
                cell.setObjectName(f"{name}_{'now' if column == 1 else 'after'}")
                cell.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                cell.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                grid.addWidget(cell, row, column)
                cells[name] = cell
        grid.setColumnStretch(0, 1)

        self.outcome = QLabel(self)
        self.outcome.setObjectName("manual_outcome")
        self.outcome.setWordWrap(True)
        self.refusal = QLabel(self)
        self.refusal.setObjectName("manual_refusal")
        self.refusal.setWordWrap(True)
        self.refusal.hide()

        self.buttons = QDialogButtonBox(self)
        self.confirm_button = QPushButton(spec.text.removesuffix("…"), self)
        self.confirm_button.setDefault(True)
        self.buttons.addButton(self.confirm_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.description)
        if spec.field is not None:
            layout.addSpacing(4)
            layout.addLayout(input_row)
            layout.addWidget(self.input_error)
        else:
            self.input.hide()
        layout.addSpacing(6)
        layout.addLayout(grid)
        layout.addWidget(self.outcome)
        layout.addWidget(self.refusal)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(420)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(PREVIEW_DELAY_MS)
        self._debounce.timeout.connect(self.refresh)
        self.input.setText(default_input(spec, run))
        self.input.textEdited.connect(lambda _text: self._debounce.start())
        self._colour_messages()
        self._show_now()
        self.refresh()

    # -- what the panel and the tests do ----------------------------------------------------------------------

    def command(self) -> ws.ManualCommand | None:
        """Return the command the input describes, or None (and its error shown) when the input is not valid."""
        try:
            command = self._build()
        except ValidationError as exc:
            self.input_error.setText(validation_message(exc, self.spec))
            self.input_error.show()
            return None
        self.input_error.clear()
        self.input_error.hide()
        return command

    def set_input(self, text: str) -> None:
        """Type ``text`` into the input and preview it at once (what a pause in typing does)."""
        self.input.setText(text)
        self.refresh()

    def set_run(self, run: LiveRun) -> None:
        """Show the run as it is after a tick, and preview the command at its new price."""
        self.run = run
        self._show_now()
        self.refresh()

    def refresh(self) -> None:
        """Validate the input and ask the run for the preview of the command it describes."""
        self._debounce.stop()
        self._asked += 1
        self.preview = None  # until the run answers for what the input says now
        command = self.command()
        if command is None:
            self._show_preview(None)
            self.preview_shown.emit()
            return
        self.confirm_button.setEnabled(False)
        if self._task is not None:
            self._task.cancel()
        self._task = asyncio.ensure_future(self._ask(self._asked, command))

    def accept(self) -> None:
        command = self.command()
        if command is None or self.preview is None or not self.preview.allowed:
            return
        self.confirmed.emit(command)
        super().accept()

    def done(self, result: int) -> None:
        if self._task is not None:
            self._task.cancel()
        self._debounce.stop()
        super().done(result)

    def changeEvent(self, event: Any) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange:
            self._colour_messages()

    # -- internals ----------------------------------------------------------------------------------------------

    def _build(self) -> ws.ManualCommand:
        field = self.spec.field
        if field is None:
            return ws.ManualCommand(action=self.spec.action)
        text = self.input.text().strip().replace(",", "")
        value: float | str
        try:
            value = float(text)
        except ValueError:
            value = text  # ws.ManualCommand says what is wrong with it, naming the field
        return ws.ManualCommand.model_validate({"action": self.spec.action, field: value})

    async def _ask(self, asked: int, command: ws.ManualCommand) -> None:
        try:
            preview = await self._read_preview(command)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if asked == self._asked:
                self.input_error.setText(f"{type(exc).__name__}: {exc}")
                self.input_error.show()
                self._show_preview(None)
                self.preview_shown.emit()
            return
        if asked == self._asked:
            self._show_preview(preview)
            self.preview_shown.emit()

    def _show_now(self) -> None:
        run = self.run
        signal = run.signal
        if signal is None:
            self.heading.setText(f"{run.strategy_name} · {run.symbol} · flat")
        else:
            side = signal.position.upper() + (" limit order" if run.waiting else " position")
            self.heading.setText(f"{run.strategy_name} · {run.symbol} · {side}")
        values = {
            "price": _price(run.current_price),
            "entry": _price(signal.price_open if signal is not None else None),
            "stop_loss": _price(signal.price_stop_loss if signal is not None else None),
            "take_profit": _price(signal.price_take_profit if signal is not None else None),
            "held": _share(100 - signal.partial_executed if signal is not None and not run.waiting else None),
            "pnl": _pnl(run.unrealised_percentage()),
        }
        for name, text in values.items():
            self.now_cells[name].setText(text)

    def _show_preview(self, preview: ws.ManualPreview | None) -> None:
        self.preview = preview
        if preview is None:
            texts = dict.fromkeys(self.after_cells, EMPTY)
        else:
            texts = {
                "price": _price(preview.price),
                "entry": _price(preview.price_open),
                "stop_loss": _price(preview.price_stop_loss),
                "take_profit": _price(preview.price_take_profit),
                "held": _share(preview.percent_held),
                "pnl": _pnl(preview.pnl_percent),
            }
        for name, text in texts.items():
            cell = self.after_cells[name]
            cell.setText(text)
            # What the command changes stands out.
            font = cell.font()
            font.setBold(preview is not None and text != self.now_cells[name].text() and name != "price")
            cell.setFont(font)
        allowed = preview is not None and preview.allowed
        self.confirm_button.setEnabled(allowed)
        self.outcome.setText(_outcome_text(self.spec, preview))
        self.outcome.setVisible(bool(self.outcome.text()))
        refused = preview is not None and not preview.allowed
        self.refusal.setText(f"The run would refuse this: {preview.reason}" if refused and preview else "")
        self.refusal.setVisible(refused)

    def _colour_messages(self) -> None:
        palette = self.palette()
        self.input_error.setStyleSheet(f"color: {error_colour(palette).name()};")
        self.refusal.setStyleSheet(f"color: {warning_colour(palette).name()};")


def _outcome_text(spec: ManualActionSpec, preview: ws.ManualPreview | None) -> str:
    """Return the one line that says what happens, beyond the numbers."""
    if preview is None or not preview.allowed:
        return ""
    if spec.action == "pause":
        return "No new position opens until Resume; an open position stays managed to its close."
    if spec.action == "resume":
        return "The strategy opens new positions again."
    if preview.closes_position:
        return "This ends the position." if spec.action != "cancel" else "This cancels the order."
    if spec.action == "fill" and preview.price_open is not None:
        return f"The order fills now, at its price {format_price(preview.price_open)}."
    return ""
