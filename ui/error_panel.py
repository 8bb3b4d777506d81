"""A non-modal error banner: the latest error in one line, details in the Log dock, never a blocking dialog."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from ui.themes import error_colour, paint_tinted_panel


class ErrorPanel(QFrame):
    """Shows the most recent error until dismissed; counts the ones that arrived meanwhile."""

    details_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorPanel")
        self.message = QLabel(self)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setWordWrap(True)
        self.details_button = QPushButton("Show log", self)
        self.dismiss_button = QPushButton("Dismiss", self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.details_button)
        layout.addWidget(self.dismiss_button)
        self.details_button.clicked.connect(self.details_requested)
        self.dismiss_button.clicked.connect(self.dismiss)
        self._count = 0
        self.hide()

    def show_error(self, title: str) -> None:
        """Show ``title`` (one line); a second error while shown bumps the counter instead of hiding the first."""
        self._count += 1
        first_line = title.strip().splitlines()[0] if title.strip() else "Unknown error"
        suffix = f"  (+{self._count - 1} more in the log)" if self._count > 1 else ""
        self.message.setText(f"⚠ {first_line}{suffix}")
        self.show()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint the panel tinted with the current theme's error colour."""
        paint_tinted_panel(self, error_colour(self.palette()))

    def dismiss(self) -> None:
        """Hide the banner and reset the counter."""
        self._count = 0
        self.hide()
