"""Live report: the blotter rules, statistics over every live close and the markdown report (SPEC §11.3).

Results are emitted on ``ws.events.signal_live``, so the engine's own subscriber fills the storage as a live run
will.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import platformdirs
import pytest

import workstation as ws
from workstation.models.results import (
    ActiveResult,
    CancelledResult,
    ClosedResult,
    IdleResult,
    OpenedResult,
    Pnl,
    ScheduledResult,
)
from workstation.models.signal import SignalRow
from workstation.reports.live import LiveReportStorage

T0 = 1704067200000
MINUTE = 60_000
COMMON = {
    "symbol": "BTCUSDT",
    "strategy_name": "one-shot",
    "exchange_name": "ladder",
    "frame_name": "",
    "backtest": False,
}


def signal(signal_id: str, pending_minute: int | None, *, position: str = "long", note: str = "") -> SignalRow:
    return SignalRow(
        id=signal_id,
        position=position,
        note=note,
        price_open=42000.0,
        price_take_profit=42420.0 if position == "long" else 41580.0,
        price_stop_loss=41580.0 if position == "long" else 42420.0,
        minute_estimated_time=120,
        symbol="BTCUSDT",
        exchange_name="ladder",
        strategy_name="one-shot",
        frame_name="",
        scheduled_at=T0 + (pending_minute or 0) * MINUTE,
        pending_at=None if pending_minute is None else T0 + pending_minute * MINUTE,
        is_scheduled=pending_minute is None,
    )


def idle(minute: int, price: float = 42000.0) -> IdleResult:
    return IdleResult(**COMMON, timestamp=T0 + minute * MINUTE, current_price=price)


def opened(row: SignalRow) -> OpenedResult:
    assert row.pending_at is not None
    return OpenedResult(**COMMON, timestamp=row.pending_at, current_price=row.price_open, signal=row)


def active(row: SignalRow, minute: int, price: float, percent_tp: float, percent_sl: float) -> ActiveResult:
    return ActiveResult(
        **COMMON,
        timestamp=T0 + minute * MINUTE,
        current_price=price,
        signal=row,
        percent_tp=percent_tp,
        percent_sl=percent_sl,
    )


def closed(row: SignalRow, minute: int, price: float, pnl: float, reason: str = "take_profit") -> ClosedResult:
    return ClosedResult(
        **COMMON,
        timestamp=T0 + minute * MINUTE,
        current_price=price,
        signal=row,
        close_reason=reason,
        close_timestamp=T0 + minute * MINUTE,
        pnl=Pnl(
            pnl_percentage=pnl, pnl_cost=pnl, pnl_entries=100.0, price_open=42000.0, price_close=price, fee_cost=0.2
        ),
    )


def emit(*results: object) -> None:
    for result in results:
        ws.events.signal_live.emit(result)


def report() -> str:
    return asyncio.run(ws.Live.get_report("BTCUSDT", "one-shot"))


def data() -> ws.LiveStatistics:
    return asyncio.run(ws.Live.get_data("BTCUSDT", "one-shot"))


HEADER = (
    "| Timestamp | Action | Symbol | Signal ID | Position | Note | Current Price | Open Price | Take Profit "
    "| Stop Loss | % to TP | % to SL | PNL (net) | Close Reason | Duration (min) |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


def test_no_event_gives_the_empty_report_and_none_ratios() -> None:
    assert report() == "# Live Trading Report: one-shot (BTCUSDT)\n\nNo events recorded yet."
    statistics = data()
    assert (statistics.total_events, statistics.event_list, statistics.total_signals) == (0, [], 0)
    assert statistics.win_rate is None
    assert statistics.sharpe_ratio is None
    assert statistics.recovery_factor is None


def test_a_traded_position_is_one_row_that_evolves_and_idle_ticks_share_one_row() -> None:
    """Replay the L1 story: idle 00:08 and 00:09 (one row), opened 00:10, active 00:11 and 00:21, closed 00:25.

    The opened row is replaced by each active tick and then by the close (first row with the same signal id); the
    idle 00:26 and 00:27 then replace the idle row at the top, since no opened or active row follows it any more.
    Duration = (00:25 − 00:10) = 15 minutes. PnL 0.5974035964036354 is P3. One trade (backtest-kit 19.5's rules):
    the deviation and every ratio are N/A below 10 trades; the median is the trade, one win streak of it.
    """
    trade = signal("one-shot:BTCUSDT:1704067800000", 10)
    emit(idle(8), idle(9, 42001.5), opened(trade))
    assert [row.action for row in data().event_list] == ["idle", "opened"]
    emit(active(trade, 11, 42000.0, 0.0, 0.0), active(trade, 21, 42100.0, 23.809523809523807, 0.0))
    rows = data().event_list
    assert [row.action for row in rows] == ["idle", "active"]
    assert rows[0].timestamp == T0 + 9 * MINUTE
    assert rows[0].current_price == 42001.5
    assert (rows[1].timestamp, rows[1].percent_tp, rows[1].percent_sl) == (T0 + 21 * MINUTE, 23.809523809523807, 0.0)
    emit(closed(trade, 25, 42420.0, 0.5974035964036354), idle(26), idle(27, 42425.25))

    statistics = data()
    assert statistics.total_events == 2
    assert statistics.total_signals == 1
    assert statistics.win_rate == 100.0
    assert statistics.total_pnl == 0.5974035964036354
    assert [row.action for row in statistics.event_list] == ["idle", "closed"]
    assert report() == "\n".join(
        [
            "# Live Trading Report: one-shot (BTCUSDT)",
            "",
            HEADER,
            "| 2024-01-01T00:27:00.000Z | IDLE | N/A | N/A | N/A | N/A | 42425.25000000 USD | N/A | N/A | N/A | N/A "
            "| N/A | N/A | N/A | N/A |",
            "| 2024-01-01T00:25:00.000Z | CLOSED | BTCUSDT | one-shot:BTCUSDT:1704067800000 | LONG |  "
            "| 42420.00000000 USD | 42000.00000000 USD | 42420.00000000 USD | 41580.00000000 USD | N/A | N/A | +0.60% "
            "| take_profit | 15 |",
            "",
            "**Total events:** 2",
            "**Closed signals:** 1",
            "**Win rate:** 100.00% (1W / 0L) (higher is better)",
            "**Average PNL:** +0.60% (higher is better)",
            "**Total PNL:** +0.60% (higher is better)",
            "**Standard Deviation Per Trade:** N/A",
            "**Sharpe Ratio:** N/A",
            "**Annualized Sharpe Ratio:** N/A",
            "**Certainty Ratio:** N/A",
            "**Expected Yearly Returns:** N/A",
            "**Avg Peak PNL:** N/A",
            "**Avg Max Drawdown PNL:** N/A",
            "**Sortino Ratio:** N/A",
            "**Calmar Ratio:** N/A",
            "**Recovery Factor:** N/A",
            "**Expectancy:** N/A",
            "**Median PNL:** +0.597%",
            "**Avg Duration:** 15.0 min",
            "**Avg Win Duration:** 15.0 min",
            "**Avg Loss Duration:** N/A",
            "**Avg Consecutive Win PNL:** +0.597% (higher is better)",
            "**Avg Consecutive Loss PNL:** N/A",
            "**Trend:** N/A",
            "**Trend Strength:** N/A",
            "**Trend Confidence (R²):** N/A",
            "**Buyer Pressure:** N/A",
            "**Seller Pressure:** N/A",
            "**Buyer Strength:** N/A",
            "**Seller Strength:** N/A",
            "**Pressure Imbalance:** N/A",
            "**Median Step Size:** N/A",
        ]
    )


def test_an_active_row_shows_its_progress_and_an_idle_after_it_is_a_new_row() -> None:
    """An idle tick after an active row is pushed (the idle row above it has an active row after it)."""
    trade = signal("s1", 10, position="short", note="fade | top")
    emit(idle(9), opened(trade), active(trade, 12, 42210.0, 0.0, 50.0), idle(13))
    statistics = data()
    assert [row.action for row in statistics.event_list] == ["idle", "active", "idle"]
    assert statistics.total_events == 3
    lines = report().split("\n")
    assert lines[5] == (
        "| 2024-01-01T00:12:00.000Z | ACTIVE | BTCUSDT | s1 | SHORT | fade \\| top | 42210.00000000 USD "
        "| 42000.00000000 USD | 41580.00000000 USD | 42420.00000000 USD | 0.00% | 50.00% | N/A | N/A | N/A |"
    )
    assert lines[-31:-29] == ["**Total events:** 3", "**Closed signals:** 0"]
    assert lines[-29] == "**Win rate:** N/A"


def test_scheduled_orders_and_cancels_are_not_rows() -> None:
    order = signal("limit-1", None)
    emit(
        ScheduledResult(**COMMON, timestamp=T0, current_price=42000.0, signal=order),
        CancelledResult(
            **COMMON, timestamp=T0, current_price=42000.0, signal=order, reason="timeout", close_timestamp=T0
        ),
    )
    statistics = data()
    assert (statistics.total_events, statistics.total_signals, statistics.event_list) == (0, 0, [])


def test_statistics_cover_every_close_while_the_rows_are_capped() -> None:
    """With report_max_rows 2, three trades leave the last two rows; the statistics still count the three.

    Trades: +1.5, −0.8, +2.2 → total 2.9000000000000004 summed newest first (1.4000000000000001 + 1.5), win rate
    66.66666666666666.
    """
    ws.set_config(report_max_rows=2)
    for number, pnl in enumerate([1.5, -0.8, 2.2]):
        trade = signal(f"t{number}", 10 * number)
        emit(opened(trade), closed(trade, 10 * number + 5, 42000.0, pnl, "time_expired"))
    statistics = data()
    assert [row.signal_id for row in statistics.event_list] == ["t1", "t2"]
    assert statistics.total_events == 3
    assert statistics.total_signals == 3
    assert statistics.total_pnl == 2.9000000000000004
    assert statistics.win_rate == 66.66666666666666
    assert statistics.avg_consecutive_loss_pnl == -0.8


def test_backtest_results_never_reach_the_live_report() -> None:
    trade = signal("bt", 10)
    ws.events.signal_backtest.emit(opened(trade).model_copy(update={"backtest": True}))
    assert data().total_events == 0
    with pytest.raises(ValueError, match="the live report takes live results only, got a backtest 'idle' result"):
        LiveReportStorage().add(idle(1).model_copy(update={"backtest": True}), max_rows=5)


def test_reset_forgets_the_live_report() -> None:
    emit(idle(1))
    assert data().total_events == 1
    ws.reset()
    assert data().total_events == 0


def test_dump_writes_the_report_to_the_live_folder() -> None:
    emit(idle(1))
    written = asyncio.run(ws.Live.dump("BTC/USDT", "one-shot"))
    assert written == Path(platformdirs.user_data_dir("workstation")) / "reports" / "live" / "BTC%2FUSDT_one-shot.md"
    expected = "# Live Trading Report: one-shot (BTC/USDT)\n\nNo events recorded yet."
    assert written.read_text(encoding="utf-8") == expected
