"""GuiEventLoop: qasync's loop whose last pass over Qt's events, after run_until_complete's future is done, runs with
the loop running (stock qasync 0.28 runs it with none, and a live run woken there fails its next await)."""

from __future__ import annotations

import asyncio

import qasync
from PySide6.QtWidgets import QApplication

from ui.event_loop import GuiEventLoop


def running_loop_of_a_callback_due_as_the_future_ends(loop: qasync.QEventLoop) -> list[object]:
    """Run ``loop`` until a future is done whose first done-callback schedules another callback; return the running
    loops that callback saw (it runs in the last pass over Qt's events, after the loop was told to stop)."""
    seen: list[object] = []

    def record() -> None:
        seen.append(asyncio._get_running_loop())

    future = loop.create_future()
    future.add_done_callback(lambda _: loop.call_soon(record))
    loop.call_soon(future.set_result, None)
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(future)
    finally:
        asyncio.set_event_loop(None)
    return seen


def test_the_last_pass_runs_with_the_loop_running(qapp: QApplication) -> None:
    loop = GuiEventLoop(qapp)
    try:
        assert running_loop_of_a_callback_due_as_the_future_ends(loop) == [loop]
    finally:
        loop.close()


def test_stock_qasync_runs_the_last_pass_with_no_loop(qapp: QApplication) -> None:
    """What GuiEventLoop is for: when this fails, qasync fixed it and GuiEventLoop can go."""
    loop = qasync.QEventLoop(qapp, already_running=False)
    try:
        assert running_loop_of_a_callback_due_as_the_future_ends(loop) == [None]
    finally:
        loop.close()
