"""The trader's hand on a live or paper run: close, close part, breakeven, trail, add, cancel, fill, pause, resume.

One ``QAction`` per manual command (``ws.ManualAction``), owned by the Live panel so that the run row's context menu,
the live chart's context menu, the Live toolbar and the window's Live menu all show the same action, enabled or
disabled with the same reason. Each action only opens the command's confirmation (``ManualCommandDialog``); nothing
is sent to the run before the trader confirms what the preview shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

import workstation as ws

#: The field of ``ws.ManualCommand`` an action takes from the trader, if any.
InputField = Literal["percent", "price", "cost"]


@dataclass(frozen=True, slots=True)
class ManualActionSpec:
    """How an action is shown: its menu text, what it does (the tooltip when it is available), its input."""

    action: ws.ManualAction
    text: str
    description: str
    field: InputField | None = None
    #: The input's label in the confirmation, and the unit written after it.
    field_label: str = ""
    unit: str = ""


MANUAL_ACTIONS: tuple[ManualActionSpec, ...] = (
    ManualActionSpec("close", "Close now", "Close the whole position at the current price"),
    ManualActionSpec(
        "close_part",
        "Close part…",
        "Close a share of what is held at the current price",
        "percent",
        "Share to close",
        "% of what is held",
    ),
    ManualActionSpec(
        "breakeven", "Move stop to breakeven", "Move the stop loss to the entry (the price has covered the fees)"
    ),
    ManualActionSpec("trail_stop", "Trail stop…", "Move the stop loss to a new price", "price", "New stop loss"),
    ManualActionSpec(
        "trail_take", "Trail take profit…", "Move the take profit to a new price", "price", "New take profit"
    ),
    ManualActionSpec(
        "add", "Add to position…", "Buy more at the current price (averaging in)", "cost", "Cost", "quote currency"
    ),
    ManualActionSpec("cancel", "Cancel order", "Cancel the waiting limit order"),
    ManualActionSpec("fill", "Fill now", "Fill the waiting limit order now, at its own price"),
    ManualActionSpec("pause", "Pause", "Open no new position until resumed"),
    ManualActionSpec("resume", "Resume", "Open new positions again"),
)

SPECS: dict[ws.ManualAction, ManualActionSpec] = {spec.action: spec for spec in MANUAL_ACTIONS}

#: The keys of the two commands a trader needs fastest. None of them is used elsewhere in the window (F5 and
#: Shift+F5 run and stop backtests, Ctrl+O/Q/W/Tab and Delete are taken).
SHORTCUTS: dict[ws.ManualAction, QKeySequence] = {
    "close": QKeySequence(Qt.Modifier.CTRL | Qt.Modifier.SHIFT | Qt.Key.Key_X),
    "pause": QKeySequence(Qt.Modifier.CTRL | Qt.Modifier.SHIFT | Qt.Key.Key_P),
}

#: The groups of the menus, separated by a line: the position, the waiting order, the strategy.
MENU_GROUPS: tuple[tuple[ws.ManualAction, ...], ...] = (
    ("close", "close_part", "breakeven", "trail_stop", "trail_take", "add"),
    ("cancel", "fill"),
    ("pause", "resume"),
)

#: Why every action is off when no run is there to take it.
NO_RUN = "no live or paper run selected"


class ManualActions(QObject):
    """The manual command actions of the current run, each enabled or disabled with the reason as its tooltip.

    Signals
    -------
    requested(str)
        The trader chose an action (``ws.ManualAction``): open its confirmation.
    """

    requested = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.actions: dict[ws.ManualAction, QAction] = {}
        for spec in MANUAL_ACTIONS:
            action = QAction(spec.text, self)
            action.setObjectName(f"manual_{spec.action}")
            shortcut = SHORTCUTS.get(spec.action)
            if shortcut is not None:
                action.setShortcut(shortcut)
                action.setShortcutVisibleInContextMenu(True)
            action.triggered.connect(lambda _checked=False, name=spec.action: self.requested.emit(name))
            self.actions[spec.action] = action
        self.set_refusals(None)

    def __getitem__(self, action: ws.ManualAction) -> QAction:
        return self.actions[action]

    def set_refusals(self, refusals: Mapping[ws.ManualAction, str | None] | None, reason: str = NO_RUN) -> None:
        """Enable the actions the run would take now; the others disabled with the reason as their tooltip.

        ``refusals`` is ``ws.Live.refusals``'s answer; None disables every action with ``reason`` (no run, a run
        that stopped).
        """
        for spec in MANUAL_ACTIONS:
            refused = reason if refusals is None else refusals.get(spec.action, reason)
            action = self.actions[spec.action]
            action.setEnabled(refused is None)
            action.setToolTip(spec.description if refused is None else refused)

    def add_to(self, menu: QMenu) -> None:
        """Add every action to ``menu``, grouped, its tooltips (the reasons) shown."""
        menu.setToolTipsVisible(True)
        for group in MENU_GROUPS:
            if not menu.isEmpty():
                menu.addSeparator()
            for name in group:
                menu.addAction(self.actions[name])

    def menu(self, parent: QWidget, title: str = "Position") -> QMenu:
        """Return a new menu of every action (a context menu or a toolbar's drop-down)."""
        menu = QMenu(title, parent)
        self.add_to(menu)
        return menu
