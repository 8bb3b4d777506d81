"""What the engine and the venue see differently, one line each, with the trader's two answers: Adopt and Flatten.

Shown in the Account dock after every reconciliation: nothing while they agree ("The engine and the venue agree"),
else, in the warning colour, that entries are refused until they do, and one row per disagreement: its sentence,
Adopt (the desk takes the venue's side as its own) and Flatten (cancel the orphan order, or sell the extra holding
at market). A missing order can only be adopted as gone, and a holding short of what the positions account for
only adopted: Flatten is disabled for them, saying why.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

import workstation as ws
from ui.widgets.status_label import StatusLabel


def can_flatten(disagreement: ws.Disagreement) -> bool:
    """Tell whether the venue holds something to flatten: an orphan order, or more than the positions account for."""
    if disagreement.kind == "orphan_order":
        return True
    return disagreement.kind in ("orphan_holding", "amount_differs") and disagreement.amount > 0


class ReconciliationView(QWidget):
    """The last reconciliation's outcome and a row per disagreement.

    Signals
    -------
    adopt_requested(object)
        Adopt this ``ws.Disagreement``.
    flatten_requested(object)
        Flatten this ``ws.Disagreement``.
    """

    adopt_requested = Signal(object)
    flatten_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = StatusLabel("", self)
        self.summary.setWordWrap(True)
        self.rows = QWidget(self)
        self.grid = QGridLayout(self.rows)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setColumnStretch(0, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        layout.addWidget(self.summary)
        layout.addWidget(self.rows)
        self.adopt_buttons: list[QPushButton] = []
        self.flatten_buttons: list[QPushButton] = []
        self.hide()

    def show_reconciliation(self, reconciliation: ws.Reconciliation | None) -> None:
        """Show ``reconciliation`` (None: none yet, nothing shown)."""
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.adopt_buttons, self.flatten_buttons = [], []
        if reconciliation is None:
            self.hide()
            return
        agrees = reconciliation.agrees
        self.summary.setText(
            "The engine and the venue agree"
            if agrees
            else f"Entries refused until the engine and the venue agree ({len(reconciliation.disagreements)}):"
        )
        self.summary.set_warning(not agrees)
        for row, disagreement in enumerate(reconciliation.disagreements):
            text = QLabel(disagreement.message, self.rows)
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            adopt = QPushButton("Adopt", self.rows)
            adopt.setToolTip("Take the venue's side as the desk's own")
            flatten = QPushButton("Flatten", self.rows)
            if can_flatten(disagreement):
                flatten.setToolTip("Cancel the orphan order, or sell the extra holding at market")
            else:
                flatten.setEnabled(False)
                flatten.setToolTip("The venue holds nothing to flatten here: adopt it")
            adopt.clicked.connect(lambda _checked=False, d=disagreement: self.adopt_requested.emit(d))
            flatten.clicked.connect(lambda _checked=False, d=disagreement: self.flatten_requested.emit(d))
            self.grid.addWidget(text, row, 0)
            self.grid.addWidget(adopt, row, 1)
            self.grid.addWidget(flatten, row, 2)
            self.adopt_buttons.append(adopt)
            self.flatten_buttons.append(flatten)
        self.show()
