"""Fault 1: a limit order filled in the minute it was placed ends there, instead of running to the chart's edge."""

from __future__ import annotations

import asyncio

import numpy as np
from backtest_runs import RSI_REVERSION_FEBRUARY, engine_results
from pytestqt.qtbot import QtBot
from signal_factory import closed_result, flat_candles, result_fields, signal_row

import workstation as ws
from ui.charts import CandleChart, SignalMarks

T0 = 1_704_103_200_000  # 2024-01-01 10:00 UTC
MIN = 60_000


def limit_signal(signal_id: str, scheduled_at: int) -> ws.SignalRow:
    """A limit buy at 99 (take profit 101, stop loss 98) waiting since ``scheduled_at``."""
    return signal_row(signal_id, pending_at=None, scheduled_at=scheduled_at, prices=(99.0, 101.0, 98.0))


def filled(row: ws.SignalRow, at: int) -> ws.OpenedResult:
    position = row.model_copy(update={"pending_at": at, "is_scheduled": False})
    return ws.OpenedResult(**result_fields(position, at), signal=position)


def closed(row: ws.SignalRow, filled_at: int, at: int) -> ws.ClosedResult:
    position = row.model_copy(update={"pending_at": filled_at, "is_scheduled": False})
    return closed_result(position, at=at, price=101.0, pnl=1.8)


def test_a_limit_order_filled_in_its_own_minute_ends_there_on_the_chart(qtbot: QtBot) -> None:
    same_minute = limit_signal("same", T0 + 10 * MIN)
    later = limit_signal("later", T0 + 25 * MIN)
    only_closed = limit_signal("only-closed", T0 + 40 * MIN)  # its opened result was skipped
    results = [
        ws.ScheduledResult(**result_fields(same_minute, T0 + 10 * MIN), signal=same_minute),
        filled(same_minute, T0 + 10 * MIN),
        ws.ScheduledResult(**result_fields(later, T0 + 25 * MIN), signal=later),
        filled(later, T0 + 30 * MIN),
        ws.ScheduledResult(**result_fields(only_closed, T0 + 40 * MIN), signal=only_closed),
        closed(only_closed, T0 + 40 * MIN, T0 + 45 * MIN),
    ]
    marks = SignalMarks.from_results(results)
    assert marks.limit_ids.tolist() == ["same", "later", "only-closed"]
    assert marks.limit_ended.tolist() == [T0 + 10 * MIN, T0 + 30 * MIN, T0 + 40 * MIN]
    assert marks.limit_filled.tolist() == [True, True, True]

    chart = CandleChart()
    qtbot.addWidget(chart)
    chart.set_candles(flat_candles(60, T0))
    chart.set_marks(marks)
    # (created, ended) bar pairs: every line stops at its fill, none runs to the last bar (59).
    assert chart.marks_layer.limit_orders.getData()[0].tolist() == [10.0, 10.0, 25.0, 30.0, 40.0, 40.0]


def test_a_market_order_is_still_not_a_limit_order() -> None:
    market = limit_signal("market", T0).model_copy(update={"pending_at": T0, "is_scheduled": False})
    marks = SignalMarks.from_results([ws.OpenedResult(**result_fields(market, T0), signal=market)])
    assert marks.position_ids.tolist() == ["market"]
    assert marks.limit_ids.tolist() == []


def test_the_reported_month_of_rsi_reversion_on_ethusdt_leaves_no_limit_line_open() -> None:
    """The issue's reproduction: 115 limit marks, of which 77 ran to the right edge; now 106 fills and 9 cancels."""
    marks = SignalMarks.from_results(asyncio.run(engine_results(RSI_REVERSION_FEBRUARY)))
    assert len(marks.limit_ids) == 115
    assert int(np.isnan(marks.limit_ended).sum()) == 0
    assert int(marks.limit_filled.sum()) == 106
    assert int(marks.limit_cancelled.sum()) == 9
