"""The composition root: the QApplication on a qasync loop, the stores, the main window.

``workstation`` with no command (``ui.cli``) opens the window here; ``--screenshot PATH [--run-demo]`` opens it
(offscreen when there is no display), optionally runs the 30-day demo backtest, saves a PNG of the window and
exits: the smoke check of the whole application.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import tempfile
import traceback
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QCoreApplication, QIODevice, QSettings
from PySide6.QtWidgets import QApplication

import workstation as ws
from ui.backtest.run_tab import RunTab
from ui.display import display_problem
from ui.event_loop import GuiEventLoop
from ui.log_panel import LogRelay, QtLogHandler
from ui.main_window import SETTINGS_APPLICATION, SETTINGS_ORGANISATION, MainWindow
from ui.themes import ThemeName, apply_theme
from workstation.cli import WindowOptions

#: The demo run of ``--run-demo``: the first 30 days of 2024 of the built-in demo candles.
DEMO_START = datetime(2024, 1, 1, tzinfo=UTC)
DEMO_DAYS = 30


def demo_request(
    days: int = DEMO_DAYS,
    *,
    start: datetime = DEMO_START,
    symbol: str = "BTCUSDT",
    strategy_name: str = "sma-cross-market",
) -> ws.BacktestRequest:
    """Return a run on the demo exchange over ``days`` whole days from ``start`` (to their last minute).

    With no arguments, the ``--run-demo`` run: sma-cross-market on BTCUSDT over the first 30 days of 2024. Tests and
    benchmarks take their demo runs from here too.
    """
    return ws.BacktestRequest(
        exchange_name="demo",
        symbol=symbol,
        strategy_name=strategy_name,
        start=start,
        end=start + timedelta(days=days, minutes=-1),
    )


def start_demo(window: MainWindow) -> RunTab:
    """Start the ``--run-demo`` run in ``window`` and show its request in the Backtest form, so Run repeats it."""
    request = demo_request()
    window.backtest_form.show_request(request)
    return window.runs.start(request)


def open_window(options: WindowOptions) -> int:
    """Open the main window and run the event loop until it closes; return the exit status."""
    problem = display_problem(offscreen_allowed=options.screenshot is not None)
    if problem is not None:
        print(f"workstation: {problem}", file=sys.stderr)
        return 2
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0]])
    QCoreApplication.setOrganizationName(SETTINGS_ORGANISATION)
    QCoreApplication.setApplicationName(SETTINGS_APPLICATION)
    settings_problem = apply_saved_settings()
    stored_theme = str(QSettings().value("theme", "dark"))
    theme: ThemeName = "light" if (options.theme or stored_theme) == "light" else "dark"
    with ExitStack() as scratch:
        if options.screenshot is not None:
            # A screenshot leaves the user's state alone: its window layout, form values and demo run go to a
            # scratch folder deleted afterwards, never into the saved settings or the History.
            folder = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="workstation-screenshot-")))
            settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
            history = ws.RunHistory(folder / "history.sqlite3")
            scratch.callback(history.close)
        else:
            settings, history = QSettings(), ws.RunHistory.open_or_start_fresh()
        return _run_window(app, options, settings, history, theme, settings_problem)


def main_window(app: QApplication, settings: QSettings, history: ws.RunHistory, theme: ThemeName) -> MainWindow:
    """Build the main window as the application shows it: its theme is the whole application's (``apply_theme``)."""
    return MainWindow(
        settings=settings, history=history, theme=theme, apply_app_theme=lambda name: apply_theme(app, name)
    )


def apply_saved_settings() -> str | None:
    """Put the settings and risk limits saved by the Settings dialog in force; return why they could not be read."""
    try:
        ws.set_config(**ws.load_settings().model_dump())
        ws.Desks.load_limits()
    except ws.SettingsFileError as error:
        return f"{error}; the default settings are used"
    return None


def _run_window(
    app: QApplication,
    options: WindowOptions,
    settings: QSettings,
    history: ws.RunHistory,
    theme: ThemeName,
    settings_problem: str | None,
) -> int:
    loop = GuiEventLoop(app)
    asyncio.set_event_loop(loop)
    window = main_window(app, settings, history, theme)
    freeze_startup_objects()
    relay = LogRelay(window)
    relay.line_logged.connect(window.log.append)
    handler = QtLogHandler(relay)
    engine_log = logging.getLogger("workstation")
    engine_log.addHandler(handler)
    engine_log.setLevel(logging.INFO)
    previous_hook = sys.excepthook
    sys.excepthook = _report_to(window)
    loop.set_exception_handler(_loop_errors_to(window))
    if settings_problem is not None:
        window.report_error(settings_problem, settings_problem)
    try:
        window.show()
        if options.screenshot is not None:
            status: int = loop.run_until_complete(_screenshot(window, options))
            return status
        window.offer_restored_live_state()
        if options.run_demo:
            start_demo(window)
        closed = asyncio.Event()
        app.lastWindowClosed.connect(closed.set)
        loop.run_until_complete(closed.wait())
        return 0
    finally:
        sys.excepthook = previous_hook
        engine_log.removeHandler(handler)
        # The live state store's worker thread ends with its last write flushed.
        loop.run_until_complete(ws.persist.close_persistence())
        asyncio.set_event_loop(None)
        loop.close()


def freeze_startup_objects() -> None:
    """Exclude everything built so far (modules, schemas, widgets) from the garbage collector's full passes.

    A full pass during a long run would otherwise walk these hundreds of thousands of long-lived objects each
    time and stall the GUI for tens of milliseconds; they live as long as the window anyway.
    """
    gc.collect()
    gc.freeze()


async def _screenshot(window: MainWindow, options: WindowOptions) -> int:
    target = options.screenshot
    assert target is not None
    try:
        # Before the demo runs: a path that cannot be written fails at once, not after the run.
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"workstation: --screenshot: cannot create {str(target.parent)!r}: {error.strerror}", file=sys.stderr)
        return 2
    if options.run_demo:
        tab = start_demo(window)
        task = window.runs.task_of(tab)
        if task is not None:
            await task
        if tab.state != "Finished":
            print(f"workstation: the demo run ended {tab.state.lower()}: {tab.error_message}", file=sys.stderr)
            return 1
    await asyncio.sleep(0.3)  # let the last batched updates and the layout settle before the grab
    picture = QByteArray()
    stream = QBuffer(picture)
    stream.open(QIODevice.OpenModeFlag.WriteOnly)
    # The format follows the file's suffix, as QPixmap.save(path) would choose it.
    if not window.grab().save(stream, target.suffix.removeprefix(".").upper()):
        print(f"workstation: --screenshot: could not write {str(target)!r}", file=sys.stderr)
        return 1
    try:
        ws.write_bytes_atomically(target, bytes(picture.data()))
    except OSError as error:
        print(f"workstation: --screenshot: could not write {str(target)!r}: {error.strerror}", file=sys.stderr)
        return 1
    window.close()
    return 0


def _report_to(window: MainWindow) -> Any:
    """Return an excepthook that shows an exception escaping a slot instead of letting it kill the window."""

    def hook(kind: type[BaseException], value: BaseException, trace: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, trace)
            return
        window.report_error(f"{kind.__name__}: {value}", "".join(traceback.format_exception(kind, value, trace)))

    return hook


def _loop_errors_to(window: MainWindow) -> Any:
    """Return a loop exception handler that shows what a task raised and nobody awaited."""

    def handle(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exception = context.get("exception")
        message = str(context.get("message", "error in a background task"))
        if isinstance(exception, BaseException):
            details = "".join(traceback.format_exception(exception))
            window.report_error(f"{type(exception).__name__}: {exception}", details)
        else:
            window.report_error(message, message)

    return handle


__all__ = ["apply_saved_settings", "demo_request", "freeze_startup_objects", "main_window", "open_window"]
