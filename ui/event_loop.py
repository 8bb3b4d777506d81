"""The window's asyncio loop: qasync's, with its last pass over Qt's events inside the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import qasync
from PySide6.QtCore import QEventLoop as QtEventLoop
from PySide6.QtWidgets import QApplication

T = TypeVar("T")


class GuiEventLoop(qasync.QEventLoop):  # type: ignore[misc]
    """qasync's loop on the application, for the window and its tests.

    ``qasync.QEventLoop.run_until_complete`` (0.28) processes Qt's pending events once more after its
    ``run_forever`` returned, with no asyncio loop running: a live run woken in that pass (its clock's timer fired)
    fails its next ``await`` ("no running event loop") and the run ends with an error. Here that last pass runs with
    this loop set as the running one, as every other callback does.
    """

    def run_until_complete(self, future: Awaitable[T]) -> T:
        """Run the loop until ``future`` is done and return its result (raise its exception)."""
        if self.is_running():
            raise RuntimeError("Event loop already running")
        task = asyncio.ensure_future(future, loop=self)

        def stop(_: asyncio.Future[T]) -> None:
            self.stop()

        task.add_done_callback(stop)
        try:
            self.run_forever()
        finally:
            task.remove_done_callback(stop)
        asyncio.events._set_running_loop(self)
        try:
            application = QApplication.instance()
            assert application is not None
            dispatcher = application.eventDispatcher()
            assert dispatcher is not None
            dispatcher.processEvents(QtEventLoop.ProcessEventsFlag.AllEvents)
        finally:
            asyncio.events._set_running_loop(None)
        if not task.done():
            raise RuntimeError("Event loop stopped before Future completed.")
        return task.result()
