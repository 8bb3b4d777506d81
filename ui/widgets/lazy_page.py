"""A tab page that builds its content the first time it is shown: hidden charts cost nothing to open a tab."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget


class LazyPage(QWidget):
    """Holds a factory; the page's widget is built on the first ``showEvent`` (or ``ensure``) and kept."""

    def __init__(self, build: Callable[[], QWidget], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._build = build
        self._content: QWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    @property
    def built(self) -> bool:
        """Tell whether the content exists yet."""
        return self._content is not None

    def ensure(self) -> QWidget:
        """Build the content now if it is not built yet, and return it."""
        if self._content is None:
            self._content = self._build()
            self._layout.addWidget(self._content)
        return self._content

    def showEvent(self, event: QShowEvent) -> None:
        self.ensure()
        super().showEvent(event)
