"""A checkable list of the strategies a comparison may run: the registered ones and the built-in examples."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

import workstation as ws


class StrategyChecklist(QListWidget):
    """Every strategy of ``choices`` with a check box; `checked` lists the ticked ones in list order.

    Signals
    -------
    selection_changed()
        A strategy was ticked or unticked.
    """

    selection_changed = Signal()

    def __init__(self, choices: Callable[[], list[str]] = ws.strategy_choices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._choices = choices
        self.itemChanged.connect(lambda _item: self.selection_changed.emit())
        self.refresh()

    def refresh(self) -> None:
        """List the strategies ``choices`` offers now (a strategy file was loaded), keeping what was ticked."""
        ticked = set(self.checked())
        blocked = self.blockSignals(True)
        self.clear()
        for name in self._choices():
            item = QListWidgetItem(name, self)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in ticked else Qt.CheckState.Unchecked)
        self.blockSignals(blocked)
        self.selection_changed.emit()

    def checked(self) -> list[str]:
        """Return the ticked strategies, in list order."""
        items = (self.item(row) for row in range(self.count()))
        return [item.text() for item in items if item.checkState() == Qt.CheckState.Checked]

    def set_checked(self, names: Iterable[str]) -> None:
        """Tick exactly the strategies ``names`` (names not listed are ignored)."""
        wanted = set(names)
        blocked = self.blockSignals(True)
        for row in range(self.count()):
            item = self.item(row)
            item.setCheckState(Qt.CheckState.Checked if item.text() in wanted else Qt.CheckState.Unchecked)
        self.blockSignals(blocked)
        self.selection_changed.emit()
