"""GUI tests: a qasync event loop over pytest-qt's QApplication, so engine coroutines run with the widgets."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest
import qasync
from PySide6.QtWidgets import QApplication


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """A qasync loop on the test's QApplication; ``qloop.run_until_complete(coro)`` drives a scenario."""
    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        asyncio.set_event_loop(None)
        loop.close()


@pytest.fixture(autouse=True)
def _collect_widgets_on_the_gui_thread() -> Iterator[None]:
    """Collect each test's garbage Qt objects here, on the GUI thread, once the test is over.

    Left to chance, Python's collector may run inside a later test's worker thread (``asyncio.to_thread``), and a
    QObject with a timer destroyed there makes Qt warn "Timers cannot be stopped from another thread".
    """
    yield
    gc.collect()
