"""The kill switch: halt new entries (a toggle, Ctrl+Shift+H) and flatten everything (Ctrl+Shift+F, confirmed first).

Both act on every desk of the process (``ws.Desks``), not only the one shown. Halting refuses every new entry at
every desk (exits, cancels and flattening still go through), and a desk opened later starts halted; Resume lets
entries through again everywhere. Flatten everything halts, cancels every open order and sells every holding at
market on each desk; the question names the desks first, the real-money ones first and marked. The toolbar shows
"Entries halted" while any desk refuses entries, also when a desk was halted on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox, QWidget

import workstation as ws
from ui.widgets.confirmation import Confirmation

HALT_SHORTCUT = QKeySequence(Qt.Modifier.CTRL | Qt.Modifier.SHIFT | Qt.Key.Key_H)
FLATTEN_SHORTCUT = QKeySequence(Qt.Modifier.CTRL | Qt.Modifier.SHIFT | Qt.Key.Key_F)
#: The reason the desk records for a halt from the toolbar.
HALT_REASON = "the trader pressed Halt entries"
#: What the confirmation of Flatten everything says will happen, after the desks it acts on.
FLATTEN_QUESTION = (
    "Flatten everything on {desks}?\n\n{lines}\n\n"
    "New entries are halted on every desk, every open order is cancelled and every holding of the desks' "
    "strategies is sold at market. This cannot be undone."
)
#: How a desk whose orders move real money is marked in the question.
REAL_MONEY_MARK = "REAL MONEY — "


class KillSwitch(QObject):
    """The Halt and Flatten everything actions of the window's toolbar.

    Signals
    -------
    halt_requested(bool)
        The trader toggled Halt: True to halt new entries, False to resume them.
    flatten_confirmed()
        The trader confirmed Flatten everything (the owner asks on ``flatten_action``: it knows the desks).
    """

    halt_requested = Signal(bool)
    flatten_confirmed = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self.confirmation = Confirmation(parent)
        self.halt_action = QAction("Halt entries", parent)
        self.halt_action.setCheckable(True)
        self.halt_action.setShortcut(HALT_SHORTCUT)
        self.flatten_action = QAction("Flatten everything…", parent)
        self.flatten_action.setShortcut(FLATTEN_SHORTCUT)
        self.flatten_action.setToolTip(
            "Halt entries, cancel every open order and sell every holding at market (asks first)"
        )
        # From any window of the application (the order ticket, a dialog): a kill switch must not wait for focus.
        for action in (self.halt_action, self.flatten_action):
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.halt_action.toggled.connect(self._halt_toggled)
        self.show_halted(False)

    def show_halted(self, halted: bool) -> None:
        """Show the desks' state: Halt checked while any desk refuses entries (nothing is sent back)."""
        self.halt_action.blockSignals(True)
        self.halt_action.setChecked(halted)
        self.halt_action.blockSignals(False)
        self.halt_action.setText("Entries halted" if halted else "Halt entries")
        self.halt_action.setToolTip(
            "Entries are halted: exits, cancels and flattening still go through; press to resume entries on every desk"
            if halted
            else "Halt new entries on every desk (exits, cancels and flattening still go through)"
        )

    def ask_flatten(self, desks: Sequence[ws.OrderDesk]) -> QMessageBox:
        """Ask to confirm Flatten everything on ``desks`` (real-money ones first); Yes emits ``flatten_confirmed``."""
        ordered = sorted(desks, key=lambda desk: not desk.real_money)
        lines = [f"• {REAL_MONEY_MARK if desk.real_money else ''}{desk.destination}" for desk in ordered]
        count = len(ordered)
        box = self.confirmation.ask(
            "Flatten everything",
            FLATTEN_QUESTION.format(desks=f"{count} desk{'' if count == 1 else 's'}", lines="\n".join(lines)),
            self.flatten_confirmed.emit,
        )
        box.button(QMessageBox.StandardButton.Yes).setText("Flatten everything")
        return box

    def _halt_toggled(self, checked: bool) -> None:
        self.halt_requested.emit(checked)
