"""Schedule report storage on hand-made results (SPEC §14.1, §11.1 caps and keys)."""

from __future__ import annotations

from typing import Any

import pytest

from workstation.models.results import CancelledResult, CancelReason, OpenedResult, ScheduledResult
from workstation.models.signal import SignalRow
from workstation.reports.schedule import SCHEDULE_COLUMNS, ScheduleReportStorage

T0 = 1704067200000
MINUTE = 60_000


def row(signal_id: str, *, scheduled_at: int = T0, pending_at: int | None = None, note: str = "") -> SignalRow:
    return SignalRow(
        id=signal_id,
        position="short",
        note=note,
        price_open=42200.0,
        price_take_profit=41700.0,
        price_stop_loss=42500.0,
        minute_estimated_time=60,
        symbol="BTCUSDT",
        exchange_name="ladder",
        strategy_name="one-shot",
        frame_name="F",
        scheduled_at=scheduled_at,
        pending_at=pending_at,
        is_scheduled=pending_at is None,
    )


def common(timestamp: int, price: float, backtest: bool) -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "strategy_name": "one-shot",
        "exchange_name": "ladder",
        "frame_name": "F",
        "backtest": backtest,
        "timestamp": timestamp,
        "current_price": price,
    }


def scheduled(signal_id: str, at: int = T0, *, backtest: bool = True, note: str = "") -> ScheduledResult:
    return ScheduledResult(signal=row(signal_id, scheduled_at=at, note=note), **common(at, 42000.0, backtest))


def opened(signal_id: str, at: int = T0, minutes: int = 7, *, backtest: bool = True) -> OpenedResult:
    pending = at + minutes * MINUTE
    return OpenedResult(
        signal=row(signal_id, scheduled_at=at, pending_at=pending), **common(pending, 42200.0, backtest)
    )


def cancelled(
    signal_id: str,
    at: int = T0,
    minutes: int = 3,
    reason: CancelReason = "timeout",
    *,
    backtest: bool = True,
    note: str = "",
) -> CancelledResult:
    end = at + minutes * MINUTE
    return CancelledResult(
        signal=row(signal_id, scheduled_at=at, note=note),
        reason=reason,
        close_timestamp=end,
        **common(end, 41990.5, backtest),
    )


def test_a_fill_counts_only_for_an_order_placed_under_the_same_key() -> None:
    storage = ScheduleReportStorage()
    storage.add(opened("market"), max_rows=250)
    storage.add(scheduled("a", backtest=False), max_rows=250)
    storage.add(opened("a"), max_rows=250)
    assert storage.get_data("BTCUSDT", "one-shot").total_events == 0
    storage.add(opened("a", backtest=False), max_rows=250)
    # A second fill of the same id is no longer waiting.
    storage.add(opened("a", backtest=False), max_rows=250)
    live = storage.get_data("BTCUSDT", "one-shot", backtest=False)
    assert [event.action for event in live.event_list] == ["scheduled", "opened"]
    assert (live.total_opened, live.activation_rate, live.avg_activation_time) == (1, 100.0, 7.0)


def test_waits_are_averaged_sequentially_and_rates_use_every_event() -> None:
    storage = ScheduleReportStorage()
    for index, minutes in enumerate((1, 2, 4)):
        storage.add(scheduled(f"c{index}"), max_rows=2)
        storage.add(cancelled(f"c{index}", minutes=minutes, reason="price_reject"), max_rows=2)
    storage.add(scheduled("f"), max_rows=2)
    storage.add(opened("f", minutes=10), max_rows=2)
    storage.add(scheduled("waiting"), max_rows=2)
    data = storage.get_data("BTCUSDT", "one-shot")
    assert [event.signal_id for event in data.event_list] == ["f", "waiting"]
    assert (data.total_events, data.total_scheduled, data.total_opened, data.total_cancelled) == (9, 5, 1, 3)
    assert data.cancellation_rate == 60.0
    assert data.activation_rate == 20.0
    assert data.avg_wait_time == 2.3333333333333335
    assert data.avg_activation_time == 10.0


def test_three_hundred_orders_keep_the_last_250_rows() -> None:
    storage = ScheduleReportStorage()
    for index in range(300):
        storage.add(scheduled(f"s{index}", T0 + index * MINUTE), max_rows=250)
        storage.add(cancelled(f"s{index}", T0 + index * MINUTE, minutes=120), max_rows=250)
    data = storage.get_data("BTCUSDT", "one-shot")
    assert len(data.event_list) == 250
    assert data.event_list[0].signal_id == "s175"
    assert data.event_list[-1].action == "cancelled"
    assert (data.total_events, data.total_scheduled, data.total_cancelled) == (600, 300, 300)
    assert data.avg_wait_time == 120.0
    report = storage.get_report("BTCUSDT", "one-shot").split("\n")
    assert len(report) == 2 + 2 + 250 + 1 + 8
    assert report[-8] == "**Total events:** 600"


def test_report_cells_escape_and_show_cancel_reasons() -> None:
    storage = ScheduleReportStorage()
    storage.add(scheduled("n", note="a|b\nc"), max_rows=250)
    storage.add(cancelled("n", minutes=3, reason="risk_reject", note="a|b\nc"), max_rows=250)
    lines = storage.get_report("BTCUSDT", "one-shot").split("\n")
    assert lines[2] == "| " + " | ".join(SCHEDULE_COLUMNS) + " |"
    assert lines[4] == (
        "| 2024-01-01T00:00:00.000Z | SCHEDULED | BTCUSDT | n | SHORT | a\\|b c | 42000.00000000 USD | "
        "42200.00000000 USD | 41700.00000000 USD | 42500.00000000 USD | N/A | N/A |"
    )
    assert lines[5] == (
        "| 2024-01-01T00:03:00.000Z | CANCELLED | BTCUSDT | n | SHORT | a\\|b c | 41990.50000000 USD | "
        "42200.00000000 USD | 41700.00000000 USD | 42500.00000000 USD | 3.00 | risk_reject |"
    )


def test_clear_forgets_one_key_and_clear_all_every_key() -> None:
    storage = ScheduleReportStorage()
    storage.add(scheduled("a"), max_rows=250)
    storage.add(scheduled("b", backtest=False), max_rows=250)
    storage.clear("BTCUSDT", "one-shot", True)
    storage.add(opened("a"), max_rows=250)
    assert storage.get_data("BTCUSDT", "one-shot").total_events == 0
    assert storage.get_data("BTCUSDT", "one-shot", False).total_events == 1
    storage.clear_all()
    assert storage.get_data("BTCUSDT", "one-shot", False).total_events == 0


def test_max_rows_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_rows must be at least 1, got 0"):
        ScheduleReportStorage().add(scheduled("a"), max_rows=0)
