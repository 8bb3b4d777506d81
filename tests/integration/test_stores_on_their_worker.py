"""One SQLite pattern: the run history and the candle store touch their files on their own worker threads only.

Every SQLite statement on ``history.sqlite3`` and ``candles.sqlite3`` is traced with the thread that ran it, while
the window does what a trader does: a backtest saved to the history, the History dock listing it, the run opened
from the history and compared, candles downloaded through ccxt from the local fake exchange, the Stored data dialog
listing them, and the window closing. None of it runs on the GUI thread.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from backtest_runs import run_to_end
from exchange_server import T0, FakeBinance, fake_binance, minute_candles
from loop_helpers import wait_until
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.app import demo_request
from ui.main_window import MainWindow
from workstation.timeutil import from_ms

# The Stored data action brings its dialog to the front, which the offscreen platform cannot do.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support raise")

TWO_DAYS = demo_request(days=2)
STORE_FILES = ("history.sqlite3", "candles.sqlite3")


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Record ``(file name, thread name)`` for every statement run on a connection to one of the two stores."""
    statements: list[tuple[str, str]] = []
    connect = sqlite3.connect

    def tracing_connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        name = Path(str(database)).name
        statements.append((name, threading.current_thread().name))
        connection = connect(database, *args, **kwargs)
        if name in STORE_FILES:
            connection.set_trace_callback(lambda _sql: statements.append((name, threading.current_thread().name)))
        return connection

    monkeypatch.setattr(sqlite3, "connect", tracing_connect)
    yield statements


def test_history_and_candle_store_statements_run_on_their_workers_only(
    traced: list[tuple[str, str]], qtbot: QtBot, qloop: qasync.QEventLoop, tmp_path: Path
) -> None:
    history = ws.RunHistory(tmp_path / "history.sqlite3")
    window = MainWindow(
        settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat), history=history, theme="dark"
    )
    qtbot.addWidget(window)
    window.show()

    for _ in range(2):
        run_to_end(qloop, window, TWO_DAYS)
    first, second = sorted(run.id for run in history.worker.call_blocking(history.list_runs))
    wait_until(qloop, lambda: window.stored_runs.panel.table_model.rowCount() == 2)  # the dock lists them in turn
    reopened = qloop.run_until_complete(window.stored_runs.open(first))
    assert reopened is not None
    assert reopened.status.text() == f"Finished (from the history, run #{first})"
    assert qloop.run_until_complete(window.stored_runs.compare(first, second)) is not None

    store = window.candle_store
    with FakeBinance(minute_candles(100)) as server:
        source = fake_binance(server, store)

        async def fetched() -> int:
            try:
                return len(await source("BTC/USDT", "1m", from_ms(T0), 50))
            finally:
                await source.aclose()

        assert qloop.run_until_complete(fetched()) == 50
    dialog = window.open_stored_data_dialog()
    assert dialog.task is not None
    qloop.run_until_complete(dialog.task)
    assert dialog.table_model.rowCount() == 1
    window.close()
    store.close()
    history.close()

    seen = {(name, thread.rsplit("_", 1)[0]) for name, thread in traced if name in STORE_FILES}
    assert seen == {("history.sqlite3", "run-history"), ("candles.sqlite3", "candle-store")}
    assert sum(name == "history.sqlite3" for name, _ in traced) > 20
    assert sum(name == "candles.sqlite3" for name, _ in traced) > 10
