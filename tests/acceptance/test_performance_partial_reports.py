"""SPEC §11.4 partial report and §14.2 performance report, fed by scenario runs with and without user listeners."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from data_paths import BTC_1D_CSV as BTC_1D

import workstation as ws
from workstation.models.events import PerformanceEvent
from workstation.parity import run_parity
from workstation.reports import partial as partial_report
from workstation.reports.performance import PerformanceReportStorage
from workstation.storages import performance_storage

from .fixtures import LL, SYMBOL, L, Recorder, run_backtest, ts

STRATEGY = "one-shot"
SIGNAL_ID = "one-shot:BTCUSDT:1704067800000"
PROFIT_ROWS = [
    (10, 42100.0, ts(20)),
    (20, 42100.0, ts(20)),
    (30, 42200.0, ts(21)),
    (40, 42200.0, ts(21)),
    (50, 42300.0, ts(22)),
    (60, 42300.0, ts(22)),
    (70, 42300.0, ts(22)),
    (80, 42400.0, ts(23)),
    (90, 42400.0, ts(23)),
]
R3_SIGNAL = {
    "position": "long",
    "price_open": 42100.0,
    "price_take_profit": 42600.0,
    "price_stop_loss": 41800.0,
    "minute_estimated_time": 30,
}


def _partial() -> Any:
    return asyncio.run(ws.Partial.get_data(SYMBOL, STRATEGY))


def _performance() -> Any:
    return asyncio.run(ws.Performance.get_data(SYMBOL, STRATEGY))


def _rows(statistics: Any) -> list[tuple[str, int, float, int]]:
    return [(row.action, row.level, row.current_price, row.timestamp) for row in statistics.event_list]


# ---------------------------------------------------------------------------------------------------------------
# Partial report (SPEC §11.4)
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("listening", [False, True])
def test_r1_partial_statistics_and_report(listening: bool) -> None:
    recorder = Recorder("partial_profit") if listening else None
    run_backtest(L, steps={20: 42500})

    statistics = _partial()
    assert (statistics.total_events, statistics.total_profit, statistics.total_loss) == (9, 9, 0)
    assert _rows(statistics) == [("profit", level, price, stamp) for level, price, stamp in PROFIT_ROWS]
    first = statistics.event_list[0]
    assert (first.symbol, first.strategy_name, first.signal_id, first.position, first.backtest) == (
        SYMBOL,
        STRATEGY,
        SIGNAL_ID,
        "long",
        True,
    )
    if recorder is not None:
        assert len(recorder["partial_profit"]) == 9
    rows = [
        f"| PROFIT | BTCUSDT | one-shot | {SIGNAL_ID} | LONG | +{level}% | {price:.8f} USD | "
        f"2024-01-01T00:{(stamp - ts(0)) // 60_000:02d}:00.000Z | Backtest |"
        for level, price, stamp in PROFIT_ROWS
    ]
    assert asyncio.run(ws.Partial.get_report(SYMBOL, STRATEGY)) == "\n".join(
        [
            "# Partial Profit/Loss Report: BTCUSDT:one-shot",
            "",
            "| Action | Symbol | Strategy | Signal ID | Position | Level % | Current Price | Timestamp | Mode |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            *rows,
            "",
            "**Total events:** 9",
            "**Profit events:** 9",
            "**Loss events:** 0",
        ]
    )
    assert rows[0] == (
        f"| PROFIT | BTCUSDT | one-shot | {SIGNAL_ID} | LONG | +10% | 42100.00000000 USD | "
        "2024-01-01T00:20:00.000Z | Backtest |"
    )


@pytest.mark.parametrize("settle_every", [3, partial_report.SETTLE_EVERY])
@pytest.mark.parametrize("variant", ["market", "limit", "managed"])
def test_levels_worked_out_in_bulk_equal_the_events_of_a_listened_run(
    variant: str, settle_every: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The peer's 1-day runs, once with a partial listener (one event per level) and once without (levels worked
    out in batches from the open phases, here also three positions a batch; a managed walk's levels handed to the
    report without events): the partial reports hold the same rows, in the same order."""
    monkeypatch.setattr(partial_report, "SETTLE_EVERY", settle_every)
    real_reset = ws.reset

    def partial_rows(listening: bool) -> tuple[list[tuple[str, str, int, float, int]], int, int]:
        heard: list[Any] = []

        def reset_then_listen() -> None:  # run_parity resets the engine before it registers its case
            real_reset()
            ws.set_config(report_max_rows=100_000)
            if listening:
                ws.listen_partial_profit(heard.append)
                ws.listen_partial_loss(heard.append)

        monkeypatch.setattr(ws, "reset", reset_then_listen)
        asyncio.run(run_parity(BTC_1D, variant))
        statistics = asyncio.run(ws.Partial.get_data("BTCUSDT", f"sma-cross-{variant}"))
        assert len(heard) == (statistics.total_events if listening else 0)
        rows = [
            (row.action, row.signal_id, row.level, row.current_price, row.timestamp) for row in statistics.event_list
        ]
        return rows, statistics.total_profit, statistics.total_loss

    listened, bulk = partial_rows(True), partial_rows(False)
    assert len(listened[0]) == {"market": 59, "limit": 44, "managed": 70}[variant]
    assert bulk == listened


def test_r2_partial_levels_after_a_fill() -> None:
    run_backtest(LL, steps={15: 41800, 25: 42400})

    statistics = _partial()
    assert (statistics.total_events, statistics.total_profit, statistics.total_loss) == (9, 9, 0)
    assert [(row.level, row.timestamp) for row in statistics.event_list] == [
        (10, ts(16)),
        (20, ts(16)),
        (30, ts(26)),
        (40, ts(26)),
        (50, ts(27)),
        (60, ts(27)),
        (70, ts(27)),
        (80, ts(28)),
        (90, ts(28)),
    ]
    assert [row.current_price for row in statistics.event_list[:2]] == [41920.0, 41920.0]


@pytest.mark.parametrize("with_callback", [False, True])
def test_r3_partial_loss_report(with_callback: bool) -> None:
    callbacks = {"on_partial_loss": lambda *args: None} if with_callback else None
    run_backtest(R3_SIGNAL, callbacks=callbacks)

    statistics = _partial()
    assert (statistics.total_events, statistics.total_profit, statistics.total_loss) == (3, 0, 3)
    assert _rows(statistics) == [("loss", level, 42000.0, ts(10)) for level in (10, 20, 30)]
    report = asyncio.run(ws.Partial.get_report(SYMBOL, STRATEGY))
    assert report.splitlines()[4] == (
        f"| LOSS | BTCUSDT | one-shot | {SIGNAL_ID} | LONG | -10% | 42000.00000000 USD | "
        "2024-01-01T00:10:00.000Z | Backtest |"
    )
    assert report.splitlines()[-3:] == ["**Total events:** 3", "**Profit events:** 0", "**Loss events:** 3"]


def test_partial_list_is_capped_but_counts_cover_every_level() -> None:
    ws.set_config(report_max_rows=4)
    run_backtest(L, steps={20: 42500})

    statistics = _partial()
    assert statistics.total_events == 9
    assert [row.level for row in statistics.event_list] == [60, 70, 80, 90]


def test_partial_unknown_key_and_empty_report(tmp_path: Any) -> None:
    statistics = _partial()
    assert (statistics.event_list, statistics.total_events, statistics.total_profit, statistics.total_loss) == (
        [],
        0,
        0,
        0,
    )
    text = "# Partial Profit/Loss Report: BTCUSDT:one-shot\n\nNo partial profit/loss events recorded yet."
    assert asyncio.run(ws.Partial.get_report(SYMBOL, STRATEGY)) == text
    path = asyncio.run(ws.Partial.dump(SYMBOL, STRATEGY, path=tmp_path / "p.md"))
    assert path.read_text() == text


def test_partial_rerun_starts_from_an_empty_report() -> None:
    run = run_backtest(L, steps={20: 42500})
    run.scenario.strategy.rearm()
    asyncio.run(_rerun())
    assert _partial().total_events == 9


async def _rerun() -> None:
    async for _ in ws.Backtest.run(SYMBOL, strategy_name=STRATEGY, exchange_name="ladder", frame_name="F"):
        pass


# ---------------------------------------------------------------------------------------------------------------
# Performance: the engine feed (SPEC §14.2, B19 counts)
# ---------------------------------------------------------------------------------------------------------------


def _counts(statistics: Any) -> dict[str, int]:
    return {name: stats.count for name, stats in statistics.metric_stats.items()}


@pytest.mark.parametrize("listening", [False, True])
def test_performance_counts_of_b1_with_and_without_a_listener(listening: bool) -> None:
    recorder = Recorder("performance") if listening else None
    run_backtest(L, steps={20: 42500})

    statistics = _performance()
    # B19: the frame has 170 ticks; the signal takes 00:10 to its close at 00:24, 155 idle ticks follow.
    assert statistics.total_events == 158
    assert _counts(statistics) == {"backtest_timeframe": 156, "backtest_signal": 1, "backtest_total": 1}
    assert list(statistics.metric_stats) == ["backtest_signal", "backtest_timeframe", "backtest_total"]
    events = statistics.events
    assert events[0].previous_timestamp is None
    assert all(events[i].previous_timestamp == events[i - 1].timestamp for i in range(1, len(events)))
    assert {(e.symbol, e.strategy_name, e.exchange_name, e.frame_name, e.backtest) for e in events} == {
        (SYMBOL, STRATEGY, "ladder", "F", True)
    }
    if recorder is not None:
        assert recorder["performance"] == events
    if not listening:
        # 31 five-minute buckets of idle ticks: get_signal, one measured skip, then 3 ticks passed in bulk that are
        # recorded with duration 0.0 at the wall time of that skip.
        bulk = [e for e in events if e.metric_type == "backtest_timeframe" and e.duration == 0.0]
        assert len(bulk) == 93
        assert all(e.timestamp == e.previous_timestamp for e in bulk)


def test_performance_is_complete_between_two_results() -> None:
    seen: list[int] = []
    run_backtest(
        L,
        steps={20: 42500},
        on_result=lambda result: seen.append(performance_storage.get_data(SYMBOL, STRATEGY).total_events),
    )
    # opened is yielded before any measurement; closed after its backtest_signal event.
    assert seen == [0, 1]


def test_performance_keeps_the_last_events_of_a_run() -> None:
    ws.set_config(performance_max_events=50)
    run_backtest(L, steps={20: 42500})

    statistics = _performance()
    assert statistics.total_events == 50
    assert _counts(statistics) == {"backtest_timeframe": 49, "backtest_total": 1}
    assert statistics.events[0].previous_timestamp is not None


# ---------------------------------------------------------------------------------------------------------------
# Performance: statistics and report on fixed events
# ---------------------------------------------------------------------------------------------------------------


def _event(metric_type: str, timestamp: int, previous: int | None, duration: float, **where: Any) -> PerformanceEvent:
    fields: dict[str, Any] = {
        "symbol": SYMBOL,
        "strategy_name": STRATEGY,
        "exchange_name": "x",
        "frame_name": "f",
        "backtest": True,
        **where,
    }
    return PerformanceEvent(
        timestamp=timestamp, previous_timestamp=previous, metric_type=metric_type, duration=duration, **fields
    )


FIXED = [
    _event("backtest_timeframe", 1000, None, 4.0),
    _event("backtest_signal", 1010, 1000, 10.0),
    _event("backtest_timeframe", 1030, 1010, 1.0),
    _event("backtest_timeframe", 1035, 1030, 3.0),
    _event("backtest_timeframe", 1065, 1035, 2.0),
    _event("backtest_total", 1100, 1065, 25.0),
]


def _fixed_storage() -> PerformanceReportStorage:
    storage = PerformanceReportStorage()
    for event in FIXED:
        storage.record(event)
    return storage


def test_performance_statistics_of_fixed_events() -> None:
    statistics = _fixed_storage().get_data(SYMBOL, STRATEGY)

    assert (statistics.strategy_name, statistics.total_events, statistics.total_duration) == (STRATEGY, 6, 45.0)
    assert list(statistics.metric_stats) == ["backtest_timeframe", "backtest_signal", "backtest_total"]
    frames = statistics.metric_stats["backtest_timeframe"]
    assert frames.model_dump() == {
        "metric_type": "backtest_timeframe",
        "count": 4,
        "total_duration": 10.0,
        "avg_duration": 2.5,
        "min_duration": 1.0,
        "max_duration": 4.0,
        "std_dev": 1.118033988749895,
        # sorted [1, 2, 3, 4]: ceil(4 * 50 / 100) - 1 = 1, ceil(3.8) - 1 = 3, ceil(3.96) - 1 = 3
        "median": 2.0,
        "p95": 4.0,
        "p99": 4.0,
        # waits of the three chained events: 20, 5, 30
        "avg_wait_time": 55 / 3,
        "min_wait_time": 5.0,
        "max_wait_time": 30.0,
    }
    signal = statistics.metric_stats["backtest_signal"]
    assert (signal.count, signal.median, signal.p99, signal.std_dev, signal.avg_wait_time) == (1, 10.0, 10.0, 0.0, 10.0)
    assert statistics.events == FIXED


def test_percentile_rule_on_twenty_events() -> None:
    storage = PerformanceReportStorage()
    for k, duration in enumerate(
        float(d) for d in (7, 3, 19, 1, 12, 5, 16, 9, 20, 2, 14, 6, 11, 18, 4, 8, 15, 10, 13, 17)
    ):
        storage.record(_event("backtest_timeframe", 1000 + k, None, duration))
    stats = storage.get_data(SYMBOL, STRATEGY).metric_stats["backtest_timeframe"]
    # sorted 1..20: median rank ceil(10) = 10, p95 rank ceil(19) = 19, p99 rank ceil(19.8) = 20
    assert (stats.median, stats.p95, stats.p99) == (10.0, 19.0, 20.0)
    assert (stats.avg_wait_time, stats.min_wait_time, stats.max_wait_time) == (0.0, 0.0, 0.0)


def test_performance_report_of_fixed_events(tmp_path: Any) -> None:
    storage = _fixed_storage()
    header = (
        "| Metric Type | Count | Total (ms) | Avg (ms) | Min (ms) | Max (ms) | Std Dev (ms) | Median (ms) | P95 (ms) | "
        "P99 (ms) | Avg Wait (ms) | Min Wait (ms) | Max Wait (ms) |"
    )
    assert storage.get_report(SYMBOL, STRATEGY) == "\n".join(
        [
            "# Performance Report: one-shot (BTCUSDT)",
            "",
            "**Total events:** 6",
            "**Total execution time:** 45.00ms",
            "**Number of metric types:** 3",
            "",
            "## Time Distribution",
            "",
            "- **backtest_total**: 55.6% (25.00ms total)",
            "- **backtest_timeframe**: 22.2% (10.00ms total)",
            "- **backtest_signal**: 22.2% (10.00ms total)",
            "",
            "## Detailed Metrics",
            "",
            header,
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            "| backtest_total | 1 | 25.00 | 25.00 | 25.00 | 25.00 | 0.00 | 25.00 | 25.00 | 25.00 | 35.00 | 35.00 | "
            "35.00 |",
            "| backtest_timeframe | 4 | 10.00 | 2.50 | 1.00 | 4.00 | 1.12 | 2.00 | 4.00 | 4.00 | 18.33 | 5.00 | "
            "30.00 |",
            "| backtest_signal | 1 | 10.00 | 10.00 | 10.00 | 10.00 | 0.00 | 10.00 | 10.00 | 10.00 | 10.00 | 10.00 | "
            "10.00 |",
            "",
            "**Note:** All durations are in milliseconds.",
        ]
    )
    assert PerformanceReportStorage().get_report(SYMBOL, STRATEGY) == (
        "# Performance Report: one-shot (BTCUSDT)\n\nNo performance metrics recorded yet."
    )


def test_performance_cap_and_bulk_recording_keep_the_same_events() -> None:
    ws.set_config(performance_max_events=4)
    single, bulk = _fixed_storage(), PerformanceReportStorage()
    codes = {"backtest_total": 0, "backtest_timeframe": 1, "backtest_signal": 2}
    bulk.record_many(
        symbol=SYMBOL,
        strategy_name=STRATEGY,
        exchange_name="x",
        frame_name="f",
        backtest=True,
        metric_codes=np.array([codes[e.metric_type] for e in FIXED], dtype=np.int8),
        timestamps=np.array([e.timestamp for e in FIXED]),
        previous_timestamps=np.array(
            [-(2**63) if e.previous_timestamp is None else e.previous_timestamp for e in FIXED]
        ),
        durations=np.array([e.duration for e in FIXED]),
    )
    assert single.get_data(SYMBOL, STRATEGY).events == FIXED[2:]
    assert bulk.get_data(SYMBOL, STRATEGY) == single.get_data(SYMBOL, STRATEGY)
    with pytest.raises(ValueError, match="differ in length"):
        bulk.record_many(
            symbol=SYMBOL,
            strategy_name=STRATEGY,
            exchange_name="x",
            frame_name="f",
            backtest=True,
            metric_codes=np.array([1], dtype=np.int8),
            timestamps=np.array([], dtype=np.int64),
            previous_timestamps=np.array([1]),
            durations=np.array([1.0]),
        )


def test_performance_clear_affects_one_key_only(tmp_path: Any) -> None:
    storage = _fixed_storage()
    storage.record(_event("backtest_total", 5, None, 1.0, strategy_name="other"))
    storage.record(_event("live_tick", 5, None, 1.0, backtest=False))

    storage.clear(SYMBOL, STRATEGY, True)

    assert storage.get_data(SYMBOL, STRATEGY).total_events == 0
    assert storage.get_data(SYMBOL, "other").total_events == 1
    assert storage.get_data(SYMBOL, STRATEGY, False).total_events == 1


def test_performance_dump_writes_the_report(tmp_path: Any) -> None:
    run_backtest(L, steps={20: 42500})
    path = asyncio.run(ws.Performance.dump(SYMBOL, STRATEGY, path=tmp_path / "perf.md"))
    assert path.read_text().splitlines()[:3] == [
        "# Performance Report: one-shot (BTCUSDT)",
        "",
        "**Total events:** 158",
    ]
    default = asyncio.run(ws.Performance.dump(SYMBOL, STRATEGY))
    assert default.parts[-3:] == ("reports", "performance", "BTCUSDT_one-shot.md")
