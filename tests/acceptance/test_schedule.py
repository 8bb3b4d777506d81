"""SPEC §14.1 and §19.3 Q1: the schedule report of limit orders (B8: timeout, B6: fill)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import platformdirs
import pytest

import workstation as ws

from .fixtures import LL, STRATEGY, SYMBOL, L, collect, register_scenario, run_backtest, ts

B6_STEPS = {15: 41800, 25: 42400}
SIGNAL_ID = "one-shot:BTCUSDT:1704067800000"
HEADER = (
    "| Timestamp | Action | Symbol | Signal ID | Position | Note | Current Price | Entry Price | Take Profit | "
    "Stop Loss | Wait Time (min) | Reason |"
)
SEPARATOR = "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
PRICES = "41800.00000000 USD | 42300.00000000 USD | 41500.00000000 USD"
SCHEDULED_ROW = (
    f"| 2024-01-01T00:10:00.000Z | SCHEDULED | BTCUSDT | {SIGNAL_ID} | LONG |  | 42000.00000000 USD | {PRICES} | "
    "N/A | N/A |"
)
EMPTY_REPORT = "# Scheduled Signals Report: one-shot (BTCUSDT)\n\nNo scheduled signals recorded yet."


def schedule_data(symbol: str = SYMBOL, *, backtest: bool = True) -> ws.ScheduleStatistics:
    return asyncio.run(ws.Schedule.get_data(symbol, STRATEGY, backtest=backtest))


def schedule_report(symbol: str = SYMBOL, *, backtest: bool = True) -> str:
    return asyncio.run(ws.Schedule.get_report(symbol, STRATEGY, backtest=backtest))


def test_q1_after_b8_the_order_timed_out() -> None:
    run_backtest(LL)
    data = schedule_data()
    assert (data.total_events, data.total_scheduled, data.total_opened, data.total_cancelled) == (2, 1, 0, 1)
    assert data.cancellation_rate == 100.0
    assert data.activation_rate == 0.0
    assert data.avg_wait_time == 120.0
    assert data.avg_activation_time is None
    scheduled, cancelled = data.event_list
    assert (scheduled.action, scheduled.timestamp, scheduled.current_price) == ("scheduled", ts(10), 42000.0)
    assert (scheduled.wait_time, scheduled.reason) == (None, None)
    assert (cancelled.action, cancelled.timestamp, cancelled.current_price) == ("cancelled", ts(130), 42000.0)
    assert (cancelled.wait_time, cancelled.reason) == (120.0, "timeout")
    assert {event.signal_id for event in data.event_list} == {SIGNAL_ID}


def test_q1_after_b6_the_order_filled() -> None:
    run_backtest(LL, steps=B6_STEPS)
    data = schedule_data()
    assert (data.total_events, data.total_scheduled, data.total_opened, data.total_cancelled) == (2, 1, 1, 0)
    assert data.cancellation_rate == 0.0
    assert data.activation_rate == 100.0
    assert data.avg_activation_time == 5.0
    assert data.avg_wait_time is None
    scheduled, opened = data.event_list
    assert scheduled.action == "scheduled"
    assert (opened.action, opened.timestamp, opened.current_price) == ("opened", 1704068100000, 41800.0)
    assert (opened.wait_time, opened.reason) == (5.0, None)


def test_b8_markdown_report() -> None:
    run_backtest(LL)
    assert schedule_report() == "\n".join(
        [
            "# Scheduled Signals Report: one-shot (BTCUSDT)",
            "",
            HEADER,
            SEPARATOR,
            SCHEDULED_ROW,
            f"| 2024-01-01T02:10:00.000Z | CANCELLED | BTCUSDT | {SIGNAL_ID} | LONG |  | 42000.00000000 USD | "
            f"{PRICES} | 120.00 | timeout |",
            "",
            "**Total events:** 2",
            "**Scheduled signals:** 1",
            "**Opened signals:** 0",
            "**Cancelled signals:** 1",
            "**Cancellation rate:** 100.00% (lower is better)",
            "**Activation rate:** 0.00%",
            "**Average wait time (cancelled):** 120.00 minutes",
            "**Average activation time:** N/A",
        ]
    )


def test_b6_markdown_report() -> None:
    run_backtest(LL, steps=B6_STEPS)
    assert schedule_report() == "\n".join(
        [
            "# Scheduled Signals Report: one-shot (BTCUSDT)",
            "",
            HEADER,
            SEPARATOR,
            SCHEDULED_ROW,
            f"| 2024-01-01T00:15:00.000Z | OPENED | BTCUSDT | {SIGNAL_ID} | LONG |  | 41800.00000000 USD | "
            f"{PRICES} | 5.00 | N/A |",
            "",
            "**Total events:** 2",
            "**Scheduled signals:** 1",
            "**Opened signals:** 1",
            "**Cancelled signals:** 0",
            "**Cancellation rate:** 0.00% (lower is better)",
            "**Activation rate:** 100.00%",
            "**Average wait time (cancelled):** N/A",
            "**Average activation time:** 5.00 minutes",
        ]
    )


def test_b7_price_reject_is_a_cancel_with_its_reason() -> None:
    run_backtest(LL, wicks={15: (42010, 41400)})
    data = schedule_data()
    assert [(event.action, event.reason, event.wait_time) for event in data.event_list] == [
        ("scheduled", None, None),
        ("cancelled", "price_reject", 5.0),
    ]
    assert data.event_list[1].current_price == 41960.666666666664
    assert data.avg_wait_time == 5.0


def test_market_orders_never_appear() -> None:
    run_backtest(L, steps={20: 42500})
    assert schedule_data().total_events == 0
    assert schedule_report() == EMPTY_REPORT


def test_cap_keeps_the_latest_rows_and_counts_every_event() -> None:
    ws.set_config(report_max_rows=1)
    run_backtest(LL)
    data = schedule_data()
    assert [event.action for event in data.event_list] == ["cancelled"]
    assert (data.total_events, data.total_scheduled, data.total_cancelled) == (2, 1, 1)
    assert data.cancellation_rate == 100.0
    report = schedule_report().split("\n")
    assert report[2:5] == [
        HEADER,
        SEPARATOR,
        f"| 2024-01-01T02:10:00.000Z | CANCELLED | BTCUSDT | {SIGNAL_ID} | LONG |  | 42000.00000000 USD | "
        f"{PRICES} | 120.00 | timeout |",
    ]
    assert report[5:7] == ["", "**Total events:** 2"]


def test_a_second_run_of_the_pair_starts_from_an_empty_schedule() -> None:
    scenario = register_scenario(LL)
    asyncio.run(collect())
    assert schedule_data().total_events == 2
    # The one-shot already fired: the second run places no order, and nothing of the first run is left.
    asyncio.run(collect())
    assert schedule_data().total_events == 0
    assert schedule_report() == EMPTY_REPORT
    scenario.strategy.rearm()
    asyncio.run(collect())
    data = schedule_data()
    assert (data.total_events, data.total_scheduled, data.total_cancelled, data.avg_wait_time) == (2, 1, 1, 120.0)


def test_unknown_key_gives_an_empty_schedule() -> None:
    data = schedule_data("ETHUSDT")
    assert data == ws.ScheduleStatistics(
        event_list=[],
        total_events=0,
        total_scheduled=0,
        total_opened=0,
        total_cancelled=0,
        cancellation_rate=None,
        activation_rate=None,
        avg_wait_time=None,
        avg_activation_time=None,
    )
    assert schedule_report("ETHUSDT") == (
        "# Scheduled Signals Report: one-shot (ETHUSDT)\n\nNo scheduled signals recorded yet."
    )


def test_backtest_results_stay_out_of_the_live_key() -> None:
    run_backtest(LL)
    assert schedule_data(backtest=False).total_events == 0
    assert schedule_report(backtest=False) == EMPTY_REPORT


def test_statistics_are_frozen() -> None:
    run_backtest(LL)
    data = schedule_data()
    with pytest.raises(ValueError, match="frozen"):
        data.total_events = 0  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        data.event_list[0].wait_time = 1.0  # type: ignore[misc]


def test_dump_writes_the_report(tmp_path: Path) -> None:
    run_backtest(LL, steps=B6_STEPS)
    written = asyncio.run(ws.Schedule.dump(SYMBOL, STRATEGY))
    assert written == Path(platformdirs.user_data_dir("workstation")) / "reports/schedule/BTCUSDT_one-shot.md"
    assert written.read_text(encoding="utf-8") == schedule_report()
    chosen = tmp_path / "out" / "schedule.md"
    assert asyncio.run(ws.Schedule.dump(SYMBOL, STRATEGY, path=chosen)) == chosen
    assert chosen.read_text(encoding="utf-8") == schedule_report()
    live = asyncio.run(ws.Schedule.dump(SYMBOL, STRATEGY, backtest=False, path=tmp_path / "live.md"))
    assert live.read_text(encoding="utf-8") == EMPTY_REPORT
