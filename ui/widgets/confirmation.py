"""A yes/cancel question asked without a nested event loop, forgotten once answered."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget


class Confirmation:
    """At most one open question of ``parent``: ``ask`` shows it with ``open()``, Yes calls ``on_yes``.

    ``open()``, not ``exec()``: a nested event loop would stall the engine's coroutines (DESIGN.md §3.5).
    """

    def __init__(self, parent: QWidget) -> None:
        self._parent = parent
        self.box: QMessageBox | None = None

    def ask(self, title: str, text: str, on_yes: Callable[[], object]) -> QMessageBox:
        """Ask ``text`` (Cancel is the default button) and return the open message box."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self._parent,
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.accepted.connect(on_yes)
        box.finished.connect(self._forget)
        self.box = box
        box.open()
        return box

    def _forget(self) -> None:
        if self.box is not None:
            self.box.deleteLater()
            self.box = None
