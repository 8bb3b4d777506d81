"""Reading colours off a grabbed widget: how much of an image is painted in a given colour."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage


def painted(image: QImage, colour: QColor | str) -> int:
    """Count the pixels painted within anti-aliasing's reach of ``colour``."""
    wanted_colour = QColor(colour)
    converted = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(bytes(converted.constBits()), dtype=np.uint8).reshape(converted.height(), -1)
    rgb = raw[:, : converted.width() * 3].reshape(converted.height(), converted.width(), 3).astype(int)
    wanted = np.array([wanted_colour.red(), wanted_colour.green(), wanted_colour.blue()])
    return int((np.abs(rgb - wanted).sum(axis=2) <= 24).sum())
