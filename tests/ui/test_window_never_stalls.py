"""The window never stalls: while a run tab works, its statistics and series are computed off the GUI thread and
full garbage collections wait for the run's end."""

from __future__ import annotations

import gc
import threading
from typing import Any

import numpy as np
import pytest
import qasync
from pytestqt.qtbot import QtBot

from ui.app import demo_request
from ui.backtest.run_tab import RunTab
from ui.charts import DARK_PALETTE
from workstation import backtest_run
from workstation.gc_pacing import DEFERRED_THRESHOLD

TWO_DAYS = demo_request(days=2)


def test_statistics_and_series_of_a_run_are_computed_off_the_gui_thread(
    qtbot: QtBot, qloop: qasync.QEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[tuple[str, bool]] = []
    for name in ("compute_backtest_statistics", "compute_run_series"):
        compute = getattr(backtest_run, name)

        def recorded(*args: Any, _compute: Any = compute, _name: str = name, **kwargs: Any) -> Any:
            threads.append((_name, threading.current_thread() is threading.main_thread()))
            return _compute(*args, **kwargs)

        monkeypatch.setattr(backtest_run, name, recorded)
    tab = RunTab(DARK_PALETTE)
    qtbot.addWidget(tab)
    qloop.run_until_complete(tab.run(TWO_DAYS))
    assert tab.state == "Finished"
    assert {name for name, _ in threads} == {"compute_backtest_statistics", "compute_run_series"}
    assert [name for name, on_gui_thread in threads if on_gui_thread] == []
    model = tab.statistics.model
    figures = {model.cell(row, 0).text: model.cell(row, 1).text for row in range(model.rowCount())}
    assert figures["Total signals"] == "23"  # the figures still reach the table: 23 closed signals


def test_full_collections_wait_while_a_run_works_and_come_back_after(qtbot: QtBot, qloop: qasync.QEventLoop) -> None:
    before = gc.get_threshold()
    tab = RunTab(DARK_PALETTE)
    qtbot.addWidget(tab)
    during: list[tuple[int, int, int]] = []
    tab.state_changed.connect(lambda _state: during.append(gc.get_threshold()))
    qloop.run_until_complete(tab.run(TWO_DAYS))
    assert during[0] == (before[0], before[1], DEFERRED_THRESHOLD)  # Preparing: deferred from the start
    assert during[-1] == (before[0], before[1], DEFERRED_THRESHOLD)  # Finished, still inside the run
    assert gc.get_threshold() == before


def test_marks_taken_batch_by_batch_equal_those_built_at_once() -> None:
    """The builder keeps the arrays of settled trades; every snapshot still equals the marks built from scratch."""
    from test_chart_marks import run_results

    from ui.charts.marks import SignalMarks, SignalMarksBuilder

    results = run_results()
    builder = SignalMarksBuilder()
    for count in range(1, len(results) + 1):
        builder.add(results[count - 1 : count])
        taken, expected = builder.marks(), SignalMarks.from_results(results[:count])
        for name in vars(expected):
            np.testing.assert_array_equal(getattr(taken, name), getattr(expected, name), err_msg=f"{count} {name}")
