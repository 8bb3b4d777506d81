"""SignalMarks from engine results (exact arrays) and the marks the chart draws from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.charts import CandleChart, SignalMarks

SHOTS = Path("/tmp/ui_shots")
T0 = 1_704_103_200_000  # 2024-01-01 10:00 UTC
MIN = 60_000


def signal(
    signal_id: str,
    position: str = "long",
    price_open: float = 100.0,
    scheduled_at: int = T0,
    pending_at: int | None = T0,
    take_profit: float = 102.0,
    stop_loss: float = 99.0,
) -> ws.SignalRow:
    return ws.SignalRow(
        id=signal_id,
        position=position,  # type: ignore[arg-type]
        note="",
        price_open=price_open,
        price_take_profit=take_profit,
        price_stop_loss=stop_loss,
        minute_estimated_time=240,
        symbol="BTCUSDT",
        exchange_name="demo",
        strategy_name="s",
        frame_name="f",
        scheduled_at=scheduled_at,
        pending_at=pending_at,
        is_scheduled=pending_at is None or scheduled_at < pending_at,
    )


def common(timestamp: int, price: float) -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "strategy_name": "s",
        "exchange_name": "demo",
        "frame_name": "f",
        "backtest": True,
        "timestamp": timestamp,
        "current_price": price,
    }


def closed(row: ws.SignalRow, at: int, price: float, reason: str, pnl: float) -> ws.ClosedResult:
    return ws.ClosedResult(
        **common(at, price),
        signal=row,
        close_reason=reason,  # type: ignore[arg-type]
        close_timestamp=at,
        pnl=ws.Pnl(
            pnl_percentage=pnl,
            pnl_cost=pnl,
            pnl_entries=100.0,
            price_open=row.price_open,
            price_close=price,
            fee_cost=0.2,
        ),
    )


def run_results() -> list[object]:
    """A market long that wins, a limit short that fills then loses, a cancelled limit, an open long."""
    market = signal("m1", pending_at=T0 + 2 * MIN, scheduled_at=T0 + 2 * MIN)
    limit_waiting = signal("l1", "short", 105.0, T0 + 10 * MIN, None, take_profit=100.0, stop_loss=107.0)
    limit_filled = limit_waiting.model_copy(update={"pending_at": T0 + 15 * MIN})
    cancelled_order = signal("l2", "long", 95.0, T0 + 20 * MIN, None, take_profit=97.0, stop_loss=94.0)
    still_open = signal("m2", price_open=101.0, scheduled_at=T0 + 40 * MIN, pending_at=T0 + 40 * MIN)
    return [
        ws.OpenedResult(**common(T0 + 2 * MIN, 100.0), signal=market),
        ws.ScheduledResult(**common(T0 + 10 * MIN, 104.0), signal=limit_waiting),
        closed(market, T0 + 12 * MIN, 102.0, "take_profit", 1.8),
        ws.OpenedResult(**common(T0 + 15 * MIN, 105.0), signal=limit_filled),
        ws.ScheduledResult(**common(T0 + 20 * MIN, 96.0), signal=cancelled_order),
        closed(limit_filled, T0 + 30 * MIN, 107.0, "stop_loss", -2.1),
        ws.CancelledResult(
            **common(T0 + 35 * MIN, 93.9), signal=cancelled_order, reason="price_reject", close_timestamp=T0 + 35 * MIN
        ),
        ws.OpenedResult(**common(T0 + 40 * MIN, 101.0), signal=still_open),
    ]


def test_from_results_gives_exact_position_arrays() -> None:
    marks = SignalMarks.from_results(run_results())
    assert marks.position_ids.tolist() == ["m1", "l1", "m2"]
    assert marks.entry_time.tolist() == [T0 + 2 * MIN, T0 + 15 * MIN, T0 + 40 * MIN]
    assert marks.entry_price.tolist() == [100.0, 105.0, 101.0]
    assert marks.is_long.tolist() == [True, False, True]
    assert marks.take_profit.tolist() == [102.0, 100.0, 102.0]
    assert marks.stop_loss.tolist() == [99.0, 107.0, 99.0]
    np.testing.assert_array_equal(marks.exit_time, [T0 + 12 * MIN, T0 + 30 * MIN, np.nan])
    np.testing.assert_array_equal(marks.exit_price, [102.0, 107.0, np.nan])
    np.testing.assert_array_equal(marks.pnl_percentage, [1.8, -2.1, np.nan])
    assert marks.close_reason.tolist() == ["take_profit", "stop_loss", ""]
    assert marks.win.tolist() == [True, False, False]
    assert marks.is_closed.tolist() == [True, True, False]


def test_from_results_gives_exact_limit_order_arrays() -> None:
    marks = SignalMarks.from_results(run_results())
    assert marks.limit_ids.tolist() == ["l1", "l2"]
    assert marks.limit_created.tolist() == [T0 + 10 * MIN, T0 + 20 * MIN]
    assert marks.limit_ended.tolist() == [T0 + 15 * MIN, T0 + 35 * MIN]
    assert marks.limit_price.tolist() == [105.0, 95.0]
    assert marks.limit_is_long.tolist() == [False, True]
    assert marks.limit_filled.tolist() == [True, False]
    assert marks.limit_cancel_reason.tolist() == ["", "price_reject"]
    assert marks.limit_cancelled.tolist() == [False, True]


def test_a_waiting_limit_order_is_open_ended_and_a_closed_result_alone_marks_its_position() -> None:
    waiting = signal("w", "long", 90.0, T0, None)
    market = signal("c", pending_at=T0 + MIN, scheduled_at=T0 + MIN)
    marks = SignalMarks.from_results(
        [ws.ScheduledResult(**common(T0, 91.0), signal=waiting), closed(market, T0 + 5 * MIN, 99.0, "stop_loss", -1.2)]
    )
    assert marks.limit_ids.tolist() == ["w"]
    assert np.isnan(marks.limit_ended).tolist() == [True]
    assert marks.limit_cancel_reason.tolist() == [""]
    assert marks.position_ids.tolist() == ["c"]
    assert marks.exit_time.tolist() == [T0 + 5 * MIN]


def test_marks_arrays_are_read_only() -> None:
    marks = SignalMarks.from_results(run_results())
    with pytest.raises(ValueError, match="read-only"):
        marks.entry_price[0] = 1.0


def flat_candles(minutes: int, price: float = 100.0) -> np.ndarray:
    candles = np.zeros(minutes, dtype=ws.CANDLE_DTYPE)
    candles["timestamp"] = T0 + np.arange(minutes) * MIN
    steps = np.sin(np.arange(minutes) / 5.0) * 4
    candles["open"] = price + steps
    candles["close"] = price + np.roll(steps, -1)
    candles["high"] = np.maximum(candles["open"], candles["close"]) + 0.5
    candles["low"] = np.minimum(candles["open"], candles["close"]) - 0.5
    candles["volume"] = 1.0
    return candles


def test_the_chart_draws_one_entry_per_opened_position_and_one_exit_per_close(qtbot: QtBot) -> None:
    chart = CandleChart()
    qtbot.addWidget(chart)
    chart.set_candles(flat_candles(60))
    results = run_results()
    for count in range(1, len(results) + 1):  # growing batches, as while a run progresses
        chart.set_marks(SignalMarks.from_results(results[:count]))
    assert chart.entry_marker_count() == 3
    assert chart.exit_marker_count() == 2
    layer = chart.marks_layer
    assert layer.limit_orders.getData()[0].tolist() == [10.0, 15.0, 20.0, 35.0]
    assert layer.cancelled.data["x"].tolist() == [35.0]
    # The open long runs to the last candle.
    assert layer.take_profits.getData()[0].tolist() == [2.0, 12.0, 15.0, 30.0, 40.0, 59.0]


def test_growing_marks_only_add_their_new_points_and_changed_ones_are_replaced(qtbot: QtBot) -> None:
    chart = CandleChart()
    qtbot.addWidget(chart)
    chart.set_candles(flat_candles(60))
    results = run_results()
    chart.set_marks(SignalMarks.from_results(results[:3]))
    entries = chart.marks_layer.entries_long
    added: list[int] = []
    add_points = entries.addPoints
    entries.addPoints = lambda **points: (added.append(len(points["x"])), add_points(**points))  # type: ignore[method-assign]
    chart.set_marks(SignalMarks.from_results(results))
    assert added == [1]  # the open long m2; m1 stays as it was drawn
    assert entries.data["x"].tolist() == [2.0, 40.0]
    assert entries.data["y"].tolist() == [100.0, 101.0]
    chart.set_timeframe(5)  # every bar index changes: both points are given again (setData adds them anew)
    assert added == [1, 2]
    assert entries.data["x"].tolist() == [0.0, 8.0]
    assert chart.exit_marker_count() == 2


def test_cancel_reasons_show_only_when_zoomed_in_and_are_capped(qtbot: QtBot) -> None:
    chart = CandleChart()
    qtbot.addWidget(chart)
    chart.resize(900, 500)
    chart.set_candles(flat_candles(5000))
    orders = 100
    created = T0 + np.arange(orders) * 3 * MIN
    chart.set_marks(
        SignalMarks(
            limit_ids=np.array([f"o{i}" for i in range(orders)]),
            limit_created=created,
            limit_ended=(created + MIN).astype(np.float64),
            limit_price=np.full(orders, 99.0),
            limit_is_long=np.ones(orders, dtype=bool),
            limit_filled=np.zeros(orders, dtype=bool),
            limit_cancel_reason=np.full(orders, "timeout"),
        )
    )
    box = chart.price_plot.getViewBox()
    box.setXRange(0, 30, padding=0)
    assert chart.marks_layer.reason_labels() == ["timeout"] * 10
    box.setXRange(0, 350, padding=0)
    assert len(chart.marks_layer.reason_labels()) == 40
    box.setXRange(0, 4000, padding=0)
    assert chart.marks_layer.reason_labels() == []
    assert len(chart.marks_layer._labels) == 40  # a pool, never one item per order


def test_markers_shrink_when_the_view_widens_and_stay_shrunk_for_new_marks(qtbot: QtBot) -> None:
    """Full size while candles are readable, 8 px up to 5,000 bars, 5 px beyond: an overview keeps its candles."""
    import pyqtgraph as pg

    from ui.charts.candle_item import DARK_PALETTE
    from ui.charts.marks_items import SignalMarksLayer

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    layer = SignalMarksLayer(plot.getPlotItem(), DARK_PALETTE)
    marks = SignalMarks(
        position_ids=np.array(["a"]),
        entry_time=np.array([0], dtype=np.int64),
        entry_price=np.array([100.0]),
        is_long=np.array([True]),
        take_profit=np.array([101.0]),
        stop_loss=np.array([99.0]),
        exit_time=np.array([np.nan]),
        exit_price=np.array([np.nan]),
        pnl_percentage=np.array([np.nan]),
        close_reason=np.array([""]),
    )

    def bar_of(times: np.ndarray) -> np.ndarray:
        return np.zeros(len(times), dtype=np.intp)

    layer.set_x_range(0, 300)
    assert layer.marker_size() == 13
    layer.set_x_range(0, 4000)
    assert layer.marker_size() == 8
    layer.set_x_range(0, 40_000)
    assert layer.marker_size() == 5
    layer.set_marks(marks, bar_of, 10, 100.0)
    assert layer.entries_long.data["size"].tolist() == [-1.0]  # -1: the item's size, now 5
    assert layer.entries_long.opts["size"] == 5
