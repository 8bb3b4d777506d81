"""The qasync loop fixture runs coroutines and Qt timers together, test after test."""

from __future__ import annotations

import asyncio

import qasync
from PySide6.QtCore import QTimer


def test_a_coroutine_and_a_qt_timer_share_the_loop(qloop: qasync.QEventLoop) -> None:
    fired: list[str] = []
    QTimer.singleShot(10, lambda: fired.append("timer"))

    async def scenario() -> str:
        await asyncio.sleep(0.05)
        return "done"

    assert qloop.run_until_complete(scenario()) == "done"
    assert fired == ["timer"]


def test_a_second_loop_in_the_same_process_works(qloop: qasync.QEventLoop) -> None:
    assert qloop.run_until_complete(asyncio.sleep(0.01, result=7)) == 7
