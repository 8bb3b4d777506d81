"""GUI tests: the main window and the Live panel, shown; API keys kept in memory (``qloop`` is in tests/conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from memory_keyring import MemoryKeyring
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.app import main_window
from ui.charts import DARK_PALETTE
from ui.live.panel import LivePanel
from ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def _keys_in_memory(memory_keyring: MemoryKeyring) -> None:
    """Keep every UI test's API keys in memory (tests/conftest.py): no UI test ever touches the real OS keyring."""


@pytest.fixture
def window(qtbot: QtBot, qloop: qasync.QEventLoop, qapp: QApplication, tmp_path: Path) -> Iterator[MainWindow]:
    """A shown ``MainWindow`` in the dark theme, its settings and run history in ``tmp_path``."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    main = main_window(qapp, settings, ws.RunHistory(tmp_path / "history.sqlite3"), "dark")
    qtbot.addWidget(main)
    main.resize(1500, 950)
    main.show()
    yield main
    for tab in main.runs.run_tabs():
        task = main.runs.task_of(tab)
        if task is not None:
            task.cancel()
            qloop.run_until_complete(asyncio.gather(task, return_exceptions=True))
    main.history.close()
    # The theme is the application's: leave the next tests the default look.
    qapp.setPalette(qapp.style().standardPalette())


@pytest.fixture
def panel(qtbot: QtBot, qloop: qasync.QEventLoop) -> Iterator[LivePanel]:
    """A shown Live panel in the dark palette; its runs end before the test's widgets are closed."""
    live = LivePanel(DARK_PALETTE)
    live.resize(1400, 950)
    live.show()
    yield live
    # Before pytest-qt closes its widgets: the runs must end while the panel is still there.
    qloop.run_until_complete(live.shutdown(grace_seconds=0.5))
    live.close()
    live.deleteLater()
