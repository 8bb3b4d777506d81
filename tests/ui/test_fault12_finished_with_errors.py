"""Fault 12 (window part): a run whose strategy raised on every call ended as "Finished", as if all went well. It
now ends as "Finished with N errors", in the theme's warning colour, in both themes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import qasync
from pixels import painted
from PySide6.QtWidgets import QApplication

import workstation as ws
from ui.main_window import MainWindow
from ui.themes import warning_colour

RAISING = (
    "import workstation as ws\n"
    "def get_signal(symbol, when):\n    raise RuntimeError('boom in the strategy')\n"
    "ws.add_strategy(strategy_name='raising', interval='1h', get_signal=get_signal)\n"
)


def two_days(strategy_name: str, month: int = 1) -> ws.BacktestRequest:
    return ws.BacktestRequest(
        exchange_name="demo",
        symbol="BTCUSDT",
        strategy_name=strategy_name,
        start=datetime(2024, month, 1, tzinfo=UTC),
        end=datetime(2024, month, 2, 23, 59, tzinfo=UTC),
    )


def test_a_run_whose_strategy_raised_on_every_call_ends_finished_with_errors_in_the_warning_colour(
    window: MainWindow, qloop: qasync.QEventLoop, qapp: QApplication, tmp_path: Path
) -> None:
    path = tmp_path / "raising.py"
    path.write_text(RAISING, encoding="utf-8")
    assert window.strategies.load_file(path)

    tab = window.runs.start(two_days("raising"))
    task = window.runs.task_of(tab)
    assert task is not None
    qloop.run_until_complete(task)

    assert tab.state == "Finished"
    assert tab.error_count == 48  # one per hourly call over two days
    assert tab.status.text() == "Finished with 48 errors · 0 closed signals"
    assert tab.status.warning
    for theme in ("light", "dark"):
        window.apply_theme(theme)  # type: ignore[arg-type]
        qapp.processEvents()
        image = tab.status.grab().toImage()
        image.save(f"/tmp/window-fault12-status-{theme}.png")
        assert painted(image, warning_colour(tab.status.palette())) > 20, theme


def test_two_tabs_running_the_raising_strategy_at_once_each_count_only_their_own_errors(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path
) -> None:
    path = tmp_path / "raising.py"
    path.write_text(RAISING, encoding="utf-8")
    assert window.strategies.load_file(path)

    january, february = window.runs.start(two_days("raising")), window.runs.start(two_days("raising", month=2))
    tasks = [window.runs.task_of(tab) for tab in (january, february)]
    qloop.run_until_complete(asyncio.gather(*(task for task in tasks if task is not None)))

    for tab in (january, february):
        assert (tab.state, tab.error_count) == ("Finished", 48)  # each its own 48 hourly calls, not both tabs' 96
        assert tab.status.text() == "Finished with 48 errors · 0 closed signals"


def test_a_run_without_errors_still_ends_plainly_finished(window: MainWindow, qloop: qasync.QEventLoop) -> None:
    tab = window.runs.start(two_days("sma-cross-market"))
    task = window.runs.task_of(tab)
    assert task is not None
    qloop.run_until_complete(task)

    assert (tab.state, tab.error_count, tab.status.warning) == ("Finished", 0, False)
    assert tab.status.text() == "Finished · 23 closed signals"
