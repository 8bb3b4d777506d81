"""Untrusted strategy code in the window (issue 13, fault 13): it ends its own run, never the application.

``sys.exit()`` at the top of a strategy file opened from the window, or inside ``get_signal``, exited the whole
application; ``KeyboardInterrupt`` made the event loop spin; a ``CancelledError`` the strategy raised showed
"Stopped"; a custom ``BaseException`` left the tab "Running". Now the file is refused with the reason, and the run
tab ends "Failed" naming the strategy and what it raised, once; the window goes on running. The window closing
during a run still cancels it, and Stop still stops.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from backtest_runs import run_to_end
from PySide6.QtWidgets import QApplication

import workstation as ws
from ui.app import demo_request
from ui.main_window import MainWindow

TWO_DAYS = demo_request(days=2)

STRATEGY_FILE = """import asyncio, sys
import workstation as ws

class StrategyQuit(BaseException):
    pass

{body}

ws.add_strategy(strategy_name="untrusted", interval="{interval}", get_signal=get_signal)
"""


@pytest.fixture(autouse=True)
def _the_process_must_not_exit(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail loudly if the process exits during the test.

    ``sys.exit()`` escaping into a Qt slot ends the process with status 0 (that is the fault): the test run would
    stop there and look green.
    """

    def exited() -> None:
        sys.stderr.write(f"{request.node.nodeid}: the application exited during the test\n")
        os._exit(1)

    atexit.register(exited)
    yield
    atexit.unregister(exited)


def load(window: MainWindow, tmp_path: Path, body: str, interval: str = "1h") -> Path:
    """Open a strategy file through the window's own Open dialog."""
    path = tmp_path / "untrusted.py"
    path.write_text(STRATEGY_FILE.format(body=body, interval=interval), encoding="utf-8")
    dialog = window._open_strategy_file()
    dialog.fileSelected.emit(str(path))
    dialog.reject()
    return path


UNTRUSTED = TWO_DAYS.model_copy(update={"strategy_name": "untrusted"})


@pytest.mark.parametrize(
    ("top", "cause"),
    [("sys.exit()", "SystemExit (line 7)"), ("raise StrategyQuit('no')", "StrategyQuit: no (line 7)")],
)
def test_a_strategy_file_that_exits_at_its_top_is_refused_and_the_window_goes_on(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path, top: str, cause: str
) -> None:
    path = load(window, tmp_path, top)

    assert window.isVisible()
    assert "untrusted" not in window.strategies.names()
    assert window.error_panel.message.text() == f"⚠ {path}: {cause}"
    assert window.strategies.status.text() == "Could not load untrusted.py: see the log."
    assert run_to_end(qloop, window, TWO_DAYS).state == "Finished"


@pytest.mark.parametrize(
    ("raise_it", "what"),
    [
        ("sys.exit()", "SystemExit"),
        ("raise KeyboardInterrupt", "KeyboardInterrupt"),
        ("raise StrategyQuit('enough')", "StrategyQuit: enough"),
        ("raise asyncio.CancelledError", "CancelledError"),
    ],
)
def test_what_get_signal_raises_fails_only_its_run_tab(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path, raise_it: str, what: str
) -> None:
    load(window, tmp_path, f"def get_signal(symbol, when):\n    {raise_it}")
    assert "untrusted" in window.strategies.names()

    tab = run_to_end(qloop, window, UNTRUSTED)

    message = f'StrategyAbortedError: strategy "untrusted" raised {what} in get_signal; its run was ended'
    assert window.isVisible()
    assert tab.state == "Failed"
    assert tab.status.text() == f"Failed: {message}"
    assert window.error_panel.message.text().startswith(f"⚠ Run untrusted · BTCUSDT failed: {message}")
    # Reported once by the engine, once by the window: no loop spinning on it.
    assert window.log.text().count(" ERROR ") == 2
    assert not window.runs.stop_action.isEnabled()
    assert window.history.list_runs() == []
    assert run_to_end(qloop, window, TWO_DAYS).state == "Finished"


def test_closing_the_window_while_get_signal_awaits_still_cancels_the_run(
    window: MainWindow, qloop: qasync.QEventLoop, qapp: QApplication, tmp_path: Path
) -> None:
    load(window, tmp_path, "async def get_signal(symbol, when):\n    await asyncio.sleep(3600)", interval="1m")
    qapp.setQuitOnLastWindowClosed(False)
    tab = window.runs.start(UNTRUSTED)

    async def close_while_get_signal_awaits() -> None:
        while tab.state != "Running":
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        task = window.runs.task_of(tab)
        assert task is not None
        window.close()
        await asyncio.gather(task, return_exceptions=True)

    qloop.run_until_complete(close_while_get_signal_awaits())
    qapp.setQuitOnLastWindowClosed(True)

    assert (tab.state, tab.status.text()) == ("Stopped", "Cancelled: the window closed during the run")
    assert "StrategyAbortedError" not in window.log.text()


def test_stop_still_stops_a_run_of_a_strategy_file(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path
) -> None:
    load(window, tmp_path, "async def get_signal(symbol, when):\n    await asyncio.sleep(0.001)", interval="1m")
    tab = window.runs.start(UNTRUSTED)

    async def stop_when_running() -> None:
        while (progress := ws.Backtest.get_progress("BTCUSDT", "untrusted")) is None or progress.processed_frames < 5:
            await asyncio.sleep(0.01)
        window.runs.stop_current()
        task = window.runs.task_of(tab)
        assert task is not None
        await task

    qloop.run_until_complete(stop_when_running())

    assert (tab.state, tab.status.text()) == ("Stopped", "Stopped · 0 closed signals")
    assert [run.state for run in window.history.list_runs()] == ["stopped"]
