"""Fault 10: a ``--screenshot`` run saved its demo run into the user's History and overwrote the saved window
geometry. It now works in scratch settings and a scratch history and leaves the user's state as it found it."""

from __future__ import annotations

import os
from pathlib import Path

from child_python import run_workstation
from PySide6.QtCore import QByteArray, QSettings

import workstation as ws


def test_a_screenshot_run_leaves_the_saved_settings_and_the_history_untouched(tmp_path: Path) -> None:
    config, data = tmp_path / "config", tmp_path / "data"
    settings_file = config / "workstation" / "workstation.conf"
    settings_file.parent.mkdir(parents=True)
    saved = QSettings(str(settings_file), QSettings.Format.IniFormat)
    saved.setValue("theme", "light")
    saved.setValue("window/geometry", QByteArray(b"the user's own geometry"))
    saved.sync()
    before = settings_file.read_bytes()
    history_file = data / "workstation" / "history.sqlite3"
    history_file.parent.mkdir(parents=True)
    ws.RunHistory(history_file).close()
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(config), "XDG_DATA_HOME": str(data)}
    env["QT_QPA_PLATFORM"] = "offscreen"

    completed = run_workstation("--screenshot", str(tmp_path / "window.png"), "--run-demo", env=env, timeout=240)

    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "window.png").is_file()
    assert settings_file.read_bytes() == before
    history = ws.RunHistory(history_file)
    try:
        assert history.list_runs() == []
    finally:
        history.close()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["config", "data", "window.png"]
