"""The main window a benchmark measures: built as the application builds it, offscreen, in a throwaway folder."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import qasync
from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QApplication

import workstation as ws
from ui.app import freeze_startup_objects, main_window
from ui.main_window import MainWindow


@contextmanager
def benchmark_window(
    prefix: str, size: tuple[int, int] | None = None
) -> Iterator[tuple[QApplication, qasync.QEventLoop, MainWindow, Path]]:
    """Show the main window in the dark theme, its settings and run history in a new folder named ``prefix...``.

    Yields the application, its qasync loop (running inside the block), the window (``size`` wide and high when
    given) and the folder. Everything built before the block is kept out of the collector's full passes, as the
    application does. Afterwards the history is closed, the window deleted and the folder removed.
    """
    app = QApplication([sys.argv[0]])
    with tempfile.TemporaryDirectory(prefix=prefix) as home:
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, home)
        QCoreApplication.setOrganizationName("workstation-benchmark")
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        window = main_window(app, QSettings(), ws.RunHistory(Path(home) / "history.sqlite3"), "dark")
        if size is not None:
            window.resize(*size)
        window.show()
        freeze_startup_objects()
        with loop:
            yield app, loop, window, Path(home)
        window.history.close()
        window.deleteLater()
