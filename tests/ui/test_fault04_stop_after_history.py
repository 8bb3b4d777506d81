"""Fault 4: Stop and Stop all stayed enabled after a finished run was opened from the History dock."""

from __future__ import annotations

import qasync
from backtest_runs import run_to_end

from ui.app import demo_request
from ui.main_window import MainWindow

TWO_DAYS = demo_request(days=2)


def test_stop_and_stop_all_are_disabled_in_front_of_a_finished_run_opened_from_the_history(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    run_to_end(qloop, window, TWO_DAYS)
    [stored] = window.history.list_runs()

    reopened = qloop.run_until_complete(window.stored_runs.open(stored.id))

    assert reopened is not None
    assert window.runs.current_tab() is reopened
    assert (reopened.state, reopened.running) == ("Finished", False)
    assert not window.runs.stop_action.isEnabled()
    assert not window.runs.stop_all_action.isEnabled()
    assert window.tabs.tabText(window.tabs.currentIndex()) == f"#{stored.id} sma-cross-market · BTCUSDT"
