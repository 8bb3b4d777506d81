"""A one-line status that can turn to the theme's warning colour (a run that ended with errors)."""

from __future__ import annotations

from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QLabel, QWidget

from ui.themes import warning_colour


class StatusLabel(QLabel):
    """A label whose text is painted in the warning colour while ``warning`` is set.

    The colour is read from the palette when the label paints, so it follows a theme switch.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._warning = False

    @property
    def warning(self) -> bool:
        """Tell whether the text is shown in the warning colour."""
        return self._warning

    def set_warning(self, warning: bool) -> None:
        """Show the text in the warning colour, or in the palette's text colour again."""
        if warning != self._warning:
            self._warning = warning
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint the text, in the warning colour of the current theme while ``warning`` is set."""
        if not self._warning:
            super().paintEvent(event)
            return
        palette = QPalette(self.palette())
        palette.setColor(QPalette.ColorRole.WindowText, warning_colour(palette))
        painter = QPainter(self)
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            int(self.alignment()),
            palette,
            self.isEnabled(),
            self.text(),
            QPalette.ColorRole.WindowText,
        )
        painter.end()
