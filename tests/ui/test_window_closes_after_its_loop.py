"""A window closed once its event loop has ended (a test's teardown, the screenshot mode) closes there and then.

It used to start its asynchronous clean-up anyway: with no loop to run it, the clean-up stopped half-way and left
the comparison views' ``shutdown`` coroutines never awaited (a ``RuntimeWarning`` at the next garbage collection).
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from pathlib import Path

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.main_window import MainWindow
from workstation.exchanges.ccxt_exchange import make_ccxt_exchange


def test_a_window_closed_after_its_loop_ended_closes_at_once_leaving_nothing_unawaited(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path
) -> None:
    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    history = ws.RunHistory(tmp_path / "history.sqlite3")
    window = MainWindow(
        settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat), history=history, theme="dark"
    )
    qtbot.addWidget(window)
    window.show()
    # An exchange read through ccxt is one the window closes on its loop before it closes itself.
    ws.add_exchange(make_ccxt_exchange("fake", "binance", store=window.candle_store, api_url="http://127.0.0.1:9"))
    loop.close()
    asyncio.set_event_loop(None)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        window.close()
        qapp.processEvents()
        gc.collect()

    assert window.isHidden()
    assert [str(warning.message) for warning in caught] == []
    history.close()
