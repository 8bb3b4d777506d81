"""The one way a controller puts a page into the window's tabs."""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QWidget


def show_in_front(tabs: QTabWidget, page: QWidget, title: str) -> None:
    """Add ``page`` as a tab titled ``title`` unless it is one already, and bring it to the front."""
    index = tabs.indexOf(page)
    if index < 0:
        index = tabs.addTab(page, title)
    tabs.setCurrentIndex(index)
