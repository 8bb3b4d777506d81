"""``FormScrollArea``: a column of fields that scrolls up and down, never sideways."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget


class FormScrollArea(QScrollArea):
    """Shows ``fields`` as wide as they need and as tall as there is room for, with a vertical scroll bar beyond.

    A plain scroll area asks for no width of its own, so its dock shrinks it and the fields then scroll sideways
    as well, cut at the right edge. This one asks for the fields' width plus the scroll bar's, again whenever the
    fields change (a strategy with other parameters), and lets the height go.
    """

    def __init__(self, fields: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._fields = fields  # before setWidget: it installs the event filter, which reads it
        self.setWidget(fields)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Ask the dock for a new width when the fields' layout changed."""
        if watched is self._fields and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(watched, event)

    def sizeHint(self) -> QSize:
        """The fields' preferred width with the scroll bar's beside it."""
        return QSize(self._width(self._fields.sizeHint().width()), super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        """The fields' least width with the scroll bar's beside it, and the least height a scroll area needs."""
        return QSize(self._width(self._fields.minimumSizeHint().width()), super().minimumSizeHint().height())

    def _width(self, fields_width: int) -> int:
        return fields_width + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()
