"""One strategy in two run tabs at once (issue 13, "runs never collide").

Two periods of sma-cross-market run side by side in two tabs: each tab shows exactly the trades of its own period,
its own statistics, is saved to the history with its own figures, and Stop in one tab leaves the other running.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import qasync
from backtest_runs import engine_trades, run_together, shown_trades

from ui.app import demo_request
from ui.main_window import MainWindow

JANUARY = demo_request(days=2)
FEBRUARY = demo_request(days=2, start=datetime(2024, 2, 1, tzinfo=UTC))
QUARTER = demo_request(days=91)


def test_two_periods_of_one_strategy_run_side_by_side_each_in_its_own_tab(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    january, february = run_together(qloop, window, JANUARY, FEBRUARY)
    alone_january = qloop.run_until_complete(engine_trades(JANUARY))
    alone_february = qloop.run_until_complete(engine_trades(FEBRUARY))

    assert (january.state, february.state) == ("Finished", "Finished")
    assert shown_trades(january) == alone_january
    assert shown_trades(february) == alone_february
    assert len(alone_january) == 23
    assert alone_february != alone_january
    for tab, alone in ((january, alone_january), (february, alone_february)):
        assert tab.status.text() == f"Finished · {len(alone)} closed signals"
        assert tab.backtest_run is not None
        assert qloop.run_until_complete(tab.backtest_run.get_data()).signal_list == alone
    stored = sorted(window.history.list_runs(), key=lambda run: run.frame_start)
    assert [(run.frame_start, run.total_signals) for run in stored] == [
        (int(JANUARY.start.timestamp() * 1000), len(alone_january)),
        (int(FEBRUARY.start.timestamp() * 1000), len(alone_february)),
    ]


def test_stop_in_one_tab_leaves_the_other_tab_of_the_strategy_running(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    quarter = window.runs.start(QUARTER)
    february = window.runs.start(FEBRUARY)

    async def stop_the_quarter_early() -> None:
        while quarter.backtest_run is None or february.backtest_run is None:
            await asyncio.sleep(0.005)
        while (progress := quarter.backtest_run.get_progress()) is None or progress.progress < 0.05:
            await asyncio.sleep(0.005)
        window.tabs.setCurrentWidget(quarter)
        window.runs.stop_current()
        # Both runs end inside this one turn of the loop, as in the window, whose loop runs until it closes: a task
        # stepped between two run_until_complete calls has no running loop to hand its statistics to a thread.
        await asyncio.gather(*(task for tab in (quarter, february) if (task := window.runs.task_of(tab)) is not None))

    qloop.run_until_complete(stop_the_quarter_early())

    assert (quarter.state, february.state) == ("Stopped", "Finished"), february.error_message
    assert shown_trades(february) == qloop.run_until_complete(engine_trades(FEBRUARY))
    assert 0 < len(shown_trades(quarter)) < 600  # the quarter holds 662 trades
    assert sorted(run.state for run in window.history.list_runs()) == ["finished", "stopped"]
