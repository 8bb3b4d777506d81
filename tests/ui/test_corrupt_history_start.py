"""Fault 16: a run history that cannot be read no longer stops the window from starting.

The window starts anyway with a fresh history, the unreadable file is kept beside it under ``.unreadable-<time>``,
and the History dock says what happened.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs
import pytest
from child_python import run_python
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.main_window import MainWindow

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

GARBAGE = b"these bytes were a run history before the disk lost them\n" * 200


#: Start the application as ``workstation`` does; once the window shows, print what the History dock says and close.
START_SHOW_THE_NOTE_AND_CLOSE = """
from PySide6.QtCore import QTimer
import ui.main_window

shown = ui.main_window.MainWindow.show

def show_print_and_close(self):
    shown(self)
    label = self.stored_runs.panel.recovery_label
    print(label.isVisibleTo(self), label.text(), flush=True)
    QTimer.singleShot(100, self.close)

ui.main_window.MainWindow.show = show_print_and_close
from ui.cli import main
raise SystemExit(main([]))
"""


def unreadable_copies(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if ".unreadable-" in path.name)


def test_the_window_starts_with_a_fresh_history_and_keeps_the_unreadable_file(tmp_path: Path) -> None:
    data_home = tmp_path / "data"
    folder = data_home / "workstation"
    folder.mkdir(parents=True)
    (folder / "history.sqlite3").write_bytes(GARBAGE)
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(data_home),
    }
    completed = run_python("-c", START_SHOW_THE_NOTE_AND_CLOSE, env=env)
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    [kept] = unreadable_copies(folder)
    assert re.fullmatch(r"history\.sqlite3\.unreadable-\d{8}T\d{6}Z", kept.name)
    assert kept.read_bytes() == GARBAGE
    assert completed.stdout.startswith("True The run history could not be read (")
    assert f"It was kept as {kept} and a new, empty history was started" in completed.stdout
    fresh = ws.RunHistory(folder / "history.sqlite3")
    assert fresh.list_runs() == []
    fresh.close()


def test_the_history_dock_says_what_happened(qtbot: QtBot, tmp_path: Path) -> None:
    path = Path(platformdirs.user_data_dir("workstation")) / "history.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(GARBAGE)

    history = ws.RunHistory.open_or_start_fresh()

    [kept] = unreadable_copies(path.parent)
    assert history.path == path
    assert history.recovery_note == (
        f"The run history could not be read ({path} is not a run history (not an SQLite database: file is not a "
        f"database)). It was kept as {kept} and a new, empty history was started; runs from now on are saved in "
        "the new one."
    )
    window = MainWindow(
        settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat), history=history, theme="dark"
    )
    qtbot.addWidget(window)
    window.show()
    panel = window.stored_runs.panel
    assert panel.recovery_label.isVisible()
    assert panel.recovery_label.text() == history.recovery_note
    assert panel.table_model.rowCount() == 0
    window.close()
    history.close()


def test_a_readable_history_opens_as_it_is_without_a_note(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    ws.RunHistory(path).close()
    history = ws.RunHistory.open_or_start_fresh(path)
    assert history.recovery_note is None
    assert unreadable_copies(tmp_path) == []
    history.close()


def test_a_second_unreadable_history_is_kept_beside_the_first(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    for garbage in (b"first", b"second"):
        for suffix in ("-wal", "-shm"):
            (tmp_path / f"history.sqlite3{suffix}").unlink(missing_ok=True)
        path.write_bytes(garbage * 1000)
        ws.RunHistory.open_or_start_fresh(path).close()
    assert sorted(copy.read_bytes() for copy in unreadable_copies(tmp_path)) == [b"first" * 1000, b"second" * 1000]
