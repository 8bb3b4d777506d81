"""Moving the mouse over a graphics view in tests, as an event of its own."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QGraphicsView


def hover(view: QGraphicsView, point: QPoint) -> None:
    """Move the mouse to ``point`` of ``view`` (its own coordinates).

    QTest's mouse move sends nothing when the pointer is already there (as an earlier test may have left it), and
    offscreen it is not always delivered; a move event sent to the viewport always reaches the scene. pyqtgraph's
    scene ignores a move that follows the last one within 1/``mouseRateLimit`` seconds: the move waits that long.
    """
    QTest.qWait(1000 // int(pg.getConfigOption("mouseRateLimit")) + 5)
    viewport = view.viewport()
    position = QPointF(viewport.mapFrom(view, point))
    move = QMouseEvent(
        QEvent.Type.MouseMove,
        position,
        QPointF(viewport.mapToGlobal(position)),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(viewport, move)
