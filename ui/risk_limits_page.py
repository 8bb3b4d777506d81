"""The Settings dialog's "Risk limits" page: the desks' pre-trade risk limits (``ws.RiskLimits``) as a form.

An empty field leaves that limit off. The dialog's OK or Apply puts them on every open desk and saves them with the
settings (``ws.Desks.set_limits``), so they are in force again at the next start.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

import workstation as ws
from ui.forms import SchemaForm

EXPLANATION = (
    "The desks refuse a new entry that would break a limit; exits are never refused. Leave a field empty for no "
    "limit. Notional and loss are in the quote asset of the market (USDT for BTC/USDT)."
)


class RiskLimitsPage(QWidget):
    """Edit the risk limits in force (``ws.Desks.limits``); each value's error shows next to its field.

    Parameters
    ----------
    parent
        The parent widget.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        explanation = QLabel(EXPLANATION, self)
        explanation.setWordWrap(True)
        self.form = SchemaForm(ws.RiskLimits, empty_text="no limit", parent=self)
        self.form.set_values(ws.Desks.limits.model_dump())
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addWidget(self.form)
        layout.addStretch(1)

    def apply(self) -> None:
        """Put the limits on every open desk and save them; do nothing while any value is invalid.

        Raises
        ------
        OSError
            If they cannot be saved; they are in force for this session.
        """
        if self.form.is_valid():
            ws.Desks.set_limits(self.form.values())
