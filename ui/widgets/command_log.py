"""The command log of one trade: every command that changed the position, with the position it left."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QLabel, QVBoxLayout, QWidget

import workstation as ws
from ui.widgets.formatting import BY_HAND, close_outcome, fixed, minute_time
from ui.widgets.statistics_table import CopyableTableView

COMMAND_LOG_HEADERS: tuple[str, ...] = (
    "Time",
    "Command",
    "Argument",
    "Price",
    "SL",
    "TP",
    "Effective entry",
    "Held %",
)

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

#: What the log of a trade says when its run was stored in the history before the history kept command logs.
NO_STORED_COMMAND_LOG = "No command log stored for this run: the history saved it before it kept command logs."


def command_texts(command: ws.PositionCommand, price_decimals: int) -> tuple[str, ...]:
    """Return the cells of one command: its time, action, argument, price and the levels and share it left."""
    argument = command.argument

    def price(value: float) -> str:
        return fixed(value, price_decimals)

    return (
        minute_time(command.time),
        f"{command.action} · {BY_HAND}" if command.source == "trader" else command.action,
        "" if argument is None else fixed(argument, 2),
        price(command.price),
        price(command.stop_loss),
        price(command.take_profit),
        price(command.effective_entry),
        fixed(command.held_percent, 2),
    )


class CommandLogDialog(QDialog):
    """The commands of one trade in the order they took effect, in a copyable table (one row per command).

    The levels of a row are the position's after the candle the command took effect in (SPEC-position P17).
    ``commands`` is None for a run from the history stored without its command log: the dialog says so, and shows
    no table.
    """

    def __init__(
        self,
        result: ws.ClosedResult,
        commands: Sequence[ws.PositionCommand] | None,
        price_decimals: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        signal = result.signal
        self.setWindowTitle(f"Command log · {signal.id}")
        story = (
            f"{signal.total_entries} entr{'ies' if signal.total_entries != 1 else 'y'}, "
            f"{signal.total_partials} partial close{'s' if signal.total_partials != 1 else ''}; "
            f"{close_outcome(result.close_reason)}"
        )
        head = f"{signal.position.upper()} {signal.symbol}: "
        if commands is None:
            summary = f"{head}{story}.\n{NO_STORED_COMMAND_LOG}"
        else:
            count = len(commands)
            summary = f"{head}{count} command{'s' if count != 1 else ''}, {story}"
            summary = summary if commands else f"{summary}. No command changed this trade."
        self.summary = QLabel(summary, self)
        self.summary.setWordWrap(True)
        self.model = QStandardItemModel(0, len(COMMAND_LOG_HEADERS), self)
        self.model.setHorizontalHeaderLabels(list(COMMAND_LOG_HEADERS))
        for command in commands or ():
            cells = []
            for column, text in enumerate(command_texts(command, price_decimals)):
                cell = QStandardItem(text)
                if column >= 2:
                    cell.setTextAlignment(_RIGHT)
                cells.append(cell)
            self.model.appendRow(cells)
        self.table = CopyableTableView(self)
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        if commands is None:
            self.table.hide()
            layout.addStretch(1)
        layout.addWidget(buttons)
        self.resize(900, 360 if commands is not None else 120)

    def rows(self) -> list[list[str]]:
        """Return the texts of every row."""
        return [
            [self.model.item(row, column).text() for column in range(self.model.columnCount())]
            for row in range(self.model.rowCount())
        ]
