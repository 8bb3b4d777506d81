"""A limit-order run reopened from the History dock draws the same chart as the run did (issue 14): every limit order
it placed, the cancelled ones and those filled in the minute placed included; the same trades; a history file written
before it kept them opens and draws what it has (pytest-qt, the real window, real runs of the built-in
``managed-sma-limit`` and of the peer's ``limit`` strategy on the peer's 1-day candles, saved to a real history file as
the Run button saves it; the 30-day managed-limit run with its 83 cancelled orders through the chart's marks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import qasync
from data_paths import BTC_1D_CSV, peer_candles
from parity_runs import assert_same_marks, copy_history, only_run, register, run_and_reopen
from pytestqt.qtbot import QtBot
from test_managed_chart import shots_dir, shown

import workstation as ws
from ui.backtest.run_tab import RunTab
from ui.charts import SignalMarks
from ui.charts.candle_item import DARK_PALETTE
from ui.charts.marks import SignalMarksBuilder
from ui.main_window import MainWindow
from workstation.examples import managed_sma, sma_cross
from workstation.parity import EXCHANGE_NAME, SYMBOL

# The offscreen platform plugin warns on every top-level show(); the warning says nothing about the window.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

Maker = Callable[[dict[str, Any]], ws.StrategySchema]
#: The parameters of the strategies' limit variant.
LIMIT = {"variant": "limit"}


def limit_rows(marks: SignalMarks) -> list[tuple[str, bool, str]]:
    return list(
        zip(marks.limit_ids.tolist(), marks.limit_filled.tolist(), marks.limit_cancel_reason.tolist(), strict=True)
    )


def test_a_reopened_managed_limit_run_draws_every_limit_order_the_run_placed(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path
) -> None:
    ran, reopened = run_and_reopen(window, qloop, managed_sma.make_strategy(LIMIT))
    assert ran.identity is not None and ran.identity.strategy_name == "managed-sma-limit"

    mine, theirs = reopened.chart.marks, ran.chart.marks
    assert_same_marks(mine, theirs)
    # Seven orders, all filled; the one placed at 16:30 filled in that very minute.
    assert limit_rows(mine) == [
        ("managed-limit-1704075900000", True, ""),
        ("managed-limit-1704083880000", True, ""),
        ("managed-limit-1704095400000", True, ""),
        ("managed-limit-1704107280000", True, ""),
        ("managed-limit-1704117000000", True, ""),
        ("managed-limit-1704126600000", True, ""),
        ("managed-limit-1704130500000", True, ""),
    ]
    same_minute = list(mine.limit_ids).index("managed-limit-1704126600000")
    assert mine.limit_created[same_minute] == mine.limit_ended[same_minute] == 1704126600000
    # The limit, not the entry averaging made of it later.
    assert list(mine.limit_price) == list(theirs.limit_price)
    assert reopened.trades.visible_rows() == ran.trades.visible_rows()
    # Both charts show the same candles from the frame's start on: the orders are drawn at the same places.
    offset = reopened.chart.bar_of_time(int(ran.chart.candles()["timestamp"][0]))
    x, y = reopened.chart.marks_layer.limit_orders.getData()
    x0, y0 = ran.chart.marks_layer.limit_orders.getData()
    assert (list(x - offset), list(y)) == (list(x0), list(y0))
    assert len(x) == 14
    reopened.chart.show_all()
    assert reopened.chart.grab().save(str(shots_dir(tmp_path) / "history_managed_limit.png"))


def test_a_reopened_limit_run_draws_its_cancelled_order(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path
) -> None:
    ran, reopened = run_and_reopen(window, qloop, sma_cross.make_strategy(LIMIT))

    mine, theirs = reopened.chart.marks, ran.chart.marks
    assert_same_marks(mine, theirs)
    assert limit_rows(mine) == [
        ("limit-1704075900000", True, ""),
        ("limit-1704083700000", True, ""),
        ("limit-1704102000000", False, "timeout"),
        ("limit-1704109800000", True, ""),
        ("limit-1704126600000", True, ""),
        ("limit-1704130500000", True, ""),
    ]
    # Its cross where it was cancelled (11:40), at its limit, on both charts.
    for tab in (reopened, ran):
        cancelled = tab.chart.marks_layer.cancelled.data
        assert (list(cancelled["x"]), list(cancelled["y"])) == (
            [tab.chart.bar_of_time(1704109200000)],
            [40703.69139994971],
        )
    assert reopened.trades.visible_rows() == ran.trades.visible_rows()
    reopened.chart.show_all()
    assert reopened.chart.grab().save(str(shots_dir(tmp_path) / "history_limit.png"))
    # Zoomed in on it, the reopened chart writes why it was cancelled.
    cancel_bar = reopened.chart.bar_of_time(1704109200000)
    reopened.chart.price_plot.getViewBox().setXRange(cancel_bar - 150, cancel_bar + 50, padding=0)
    assert reopened.chart.marks_layer.reason_labels() == ["timeout"]
    assert reopened.chart.grab().save(str(shots_dir(tmp_path) / "history_limit_cancelled.png"))


def test_a_run_stored_before_the_history_kept_limit_orders_draws_what_it_has(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    ran, _ = run_and_reopen(window, qloop, sma_cross.make_strategy(LIMIT))
    # As a workstation wrote it before the history kept limit orders: schema version 2, no limit_orders table.
    stored = only_run(copy_history(window.history.path, tmp_path / "old-history.sqlite3", version=2))
    assert (stored.cancelled_results, stored.same_minute_fills) == (None, None)

    tab = shown(qtbot, RunTab(DARK_PALETTE), 1400, 900)
    tab.show_stored(stored, ran.chart.candles())
    # The orders its trades show; the trades, their figures and the positions as the run drew them.
    assert limit_rows(tab.chart.marks) == [
        ("limit-1704075900000", True, ""),
        ("limit-1704083700000", True, ""),
        ("limit-1704109800000", True, ""),
        ("limit-1704130500000", True, ""),
    ]
    assert list(tab.chart.marks.position_ids) == list(ran.chart.marks.position_ids)
    assert tab.trades.visible_rows() == ran.trades.visible_rows()
    tab.chart.show_all()
    assert tab.chart.grab().save(str(shots_dir(tmp_path) / "history_limit_old.png"))


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return peer_candles("30d", tmp_path_factory.mktemp("candles"))


def run_and_store_marked(
    csv: Path, make: Maker, path: Path, stop_at: str | None = None
) -> tuple[SignalMarks, ws.StoredRun]:
    """Run the strategy headless, marking its results as its tab does, store it in ``path`` and read it back; with
    ``stop_at``, stop the run as the order of that id is placed. Return the run's marks and the stored run."""

    async def scenario() -> tuple[SignalMarks, ws.StoredRun]:
        _, request = await register(make(LIMIT), csv)
        run = (await ws.prepare_backtest(request)).run()
        marks = SignalMarksBuilder()
        marked = 0
        # As the run's tab does: the commands carried out so far, then the result.
        async for result in run:
            marks.add([*run.commands[marked:], result])
            marked = len(run.commands)
            if isinstance(result, ws.ScheduledResult) and result.signal.id == stop_at:
                run.stop()
        store = ws.RunHistory(path)
        try:
            run_id = await store.save_backtest(
                SYMBOL,
                request.strategy_name,
                exchange_name=EXCHANGE_NAME,
                parameters={},
                state="finished" if stop_at is None else "stopped",
                started_at_ms=0,
                run=run,
            )
            return marks.marks(), store.load(run_id)
        finally:
            store.close()

    return asyncio.run(scenario())


def reopened_marks(stored: ws.StoredRun) -> SignalMarks:
    """The marks a tab reopened from the history draws (``RunTab.show_stored``)."""
    marks = SignalMarksBuilder()
    marks.add_stored(stored)
    return marks.marks()


def test_a_stored_30_day_managed_limit_run_marks_its_83_cancelled_orders_as_the_run_did(
    month: Path, tmp_path: Path
) -> None:
    original, stored = run_and_store_marked(month, managed_sma.make_strategy, tmp_path / "runs.sqlite3")

    assert_same_marks(reopened_marks(stored), original)
    assert (len(original.limit_ids), int(original.limit_cancelled.sum()), len(stored.same_minute_fills or ())) == (
        302,
        83,
        20,
    )
    assert len(stored.cancelled_results or ()) == 83


def test_a_run_stopped_while_its_order_waits_reopens_with_that_order_cancelled_as_stopped(tmp_path: Path) -> None:
    original, stored = run_and_store_marked(
        BTC_1D_CSV, sma_cross.make_strategy, tmp_path / "runs.sqlite3", stop_at="limit-1704102000000"
    )

    assert_same_marks(reopened_marks(stored), original)
    assert limit_rows(original) == [
        ("limit-1704075900000", True, ""),
        ("limit-1704083700000", True, ""),
        ("limit-1704102000000", False, "stopped"),
    ]
    assert (stored.summary.state, len(stored.cancelled_results or ()), len(stored.closed_results)) == ("stopped", 1, 2)
