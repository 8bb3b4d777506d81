"""The kill switch: halt new entries (a toggle, Ctrl+Shift+H) and flatten everything (Ctrl+Shift+F, confirmed first).

Halting refuses every new entry at the desk (exits, cancels and flattening still go through); Resume lets entries
through again. Flatten everything halts, cancels every open order on the venue and sells every holding at market;
the desk's report says what was cancelled, what was sold and what failed. The actions follow the desk's own state
(``halted_changed``), also when the desk was halted from elsewhere.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox, QWidget

from ui.widgets.confirmation import Confirmation

HALT_SHORTCUT = QKeySequence(Qt.Modifier.CTRL | Qt.Modifier.SHIFT | Qt.Key.Key_H)
FLATTEN_SHORTCUT = QKeySequence(Qt.Modifier.CTRL | Qt.Modifier.SHIFT | Qt.Key.Key_F)
#: The reason the desk records for a halt from the toolbar.
HALT_REASON = "the trader pressed Halt entries"
#: What the confirmation of Flatten everything says will happen.
FLATTEN_QUESTION = (
    "Flatten everything on {venue}?\n\n"
    "New entries are halted, every open order on the venue is cancelled and every holding of the desk's "
    "strategies is sold at market. This cannot be undone."
)


class KillSwitch(QObject):
    """The Halt and Flatten everything actions of the window's toolbar.

    Signals
    -------
    halt_requested(bool)
        The trader toggled Halt: True to halt new entries, False to resume them.
    flatten_confirmed()
        The trader confirmed Flatten everything.
    """

    halt_requested = Signal(bool)
    flatten_confirmed = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self.venue_name = ""
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
        self.flatten_action.triggered.connect(self.ask_flatten)
        self.show_halted(False)
        self.set_available(False)

    def set_available(self, available: bool, venue_name: str = "") -> None:
        """Enable the actions while a desk is attached (``venue_name`` is its venue's)."""
        self.venue_name = venue_name
        self.halt_action.setEnabled(available)
        self.flatten_action.setEnabled(available)

    def show_halted(self, halted: bool) -> None:
        """Show the desk's state: Halt checked while entries are halted (the desk said so; nothing is sent back)."""
        self.halt_action.blockSignals(True)
        self.halt_action.setChecked(halted)
        self.halt_action.blockSignals(False)
        self.halt_action.setText("Entries halted" if halted else "Halt entries")
        self.halt_action.setToolTip(
            "Entries are halted: exits, cancels and flattening still go through; press to resume entries"
            if halted
            else "Halt new entries at the desk (exits, cancels and flattening still go through)"
        )

    def ask_flatten(self) -> QMessageBox | None:
        """Ask to confirm Flatten everything; Yes emits ``flatten_confirmed``. Return the question (None: no desk)."""
        if not self.flatten_action.isEnabled():
            return None
        box = self.confirmation.ask(
            "Flatten everything",
            FLATTEN_QUESTION.format(venue=self.venue_name or "the venue"),
            self.flatten_confirmed.emit,
        )
        box.button(QMessageBox.StandardButton.Yes).setText("Flatten everything")
        return box

    def _halt_toggled(self, checked: bool) -> None:
        self.halt_requested.emit(checked)
