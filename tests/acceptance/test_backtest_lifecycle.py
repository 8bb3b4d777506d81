"""SPEC §19.2 B1-B24: backtest lifecycle on the LADDER (frame ``F``, strategy ``one-shot``, exchange ``ladder``)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pydantic
import pytest

import workstation as ws

from .fixtures import (
    LL,
    SS,
    L,
    Recorder,
    S,
    counted,
    fresh_engine,
    register_scenario,
    run_backtest,
    signal,
    ts,
)

OPEN_42000 = 41999.99999999999  # eff = 100 / (100 / 42000.0), SPEC §7


def assert_opened(result: Any, minute: int, price: float, *, pending_minute: int | None = None) -> None:
    assert result.action == "opened"
    assert result.timestamp == ts(minute)
    assert result.current_price == price
    assert result.signal.price_open == price
    assert result.signal.pending_at == ts(minute if pending_minute is None else pending_minute)
    assert result.signal.is_scheduled is False
    assert (result.symbol, result.strategy_name, result.exchange_name, result.frame_name) == (
        "BTCUSDT",
        "one-shot",
        "ladder",
        "F",
    )
    assert result.backtest is True


def assert_closed(result: Any, reason: str, minute: int, price: float, pnl: float | None = None) -> None:
    assert result.action == "closed"
    assert result.close_reason == reason
    assert result.close_timestamp == ts(minute)
    assert result.timestamp == ts(minute)
    assert result.current_price == price
    assert result.pnl.price_close == price
    assert result.pnl.pnl_entries == 100.0
    if pnl is not None:
        assert result.pnl.pnl_percentage == pnl
        assert result.pnl.pnl_cost == pnl / 100 * 100.0


def assert_cancelled(result: Any, reason: str, minute: int, price: float) -> None:
    assert result.action == "cancelled"
    assert result.reason == reason
    assert result.close_timestamp == ts(minute)
    assert result.current_price == price
    assert result.signal.pending_at is None


def test_b1_take_profit_needs_the_vwap() -> None:
    run = run_backtest(L, steps={20: 42500})
    assert run.actions == ["opened", "closed"]
    opened, closed = run.results
    assert_opened(opened, 10, 42000.0)
    assert closed.pnl.price_open == OPEN_42000
    assert_closed(closed, "take_profit", 24, 42420.0, 0.5974035964036354)
    assert closed.pnl.pnl_cost == 0.5974035964036354
    assert run.calls == 32


def test_b2_stop_loss_on_wick() -> None:
    run = run_backtest(L, wicks={15: (42010, 41500)})
    assert run.actions == ["opened", "closed"]
    assert_closed(run.results[1], "stop_loss", 15, 41580.0, -1.3966043956043657)
    assert run.calls == 34


def test_b3_stop_loss_beats_take_profit_in_the_same_candle() -> None:
    run = run_backtest(L, steps={20: 42500}, wicks={24: (42510, 41500)})
    assert run.actions == ["opened", "closed"]
    assert_closed(run.results[1], "stop_loss", 24, 41580.0, -1.3966043956043657)
    assert run.calls == 32


def test_b4_lifetime_expiry() -> None:
    run = run_backtest(signal(L, minute_estimated_time=30))
    assert run.actions == ["opened", "closed"]
    assert_closed(run.results[1], "time_expired", 40, 42000.0, -0.3996003996003651)
    assert run.calls == 29


def test_b5_frame_end_truncation() -> None:
    run = run_backtest(L, frame_end=30)
    assert run.actions == ["opened", "closed"]
    assert_closed(run.results[1], "time_expired", 31, 42000.0, -0.3996003996003651)
    assert run.calls == 1


def test_b6_limit_order_fill_then_take_profit() -> None:
    run = run_backtest(LL, steps={15: 41800, 25: 42400})
    assert run.actions == ["scheduled", "opened", "closed"]
    scheduled, opened, closed = run.results
    assert scheduled.timestamp == ts(10)
    assert scheduled.current_price == 42000.0
    assert scheduled.signal.price_open == 41800.0
    assert scheduled.signal.is_scheduled is True
    assert scheduled.signal.pending_at is None
    assert scheduled.signal.scheduled_at == ts(10)
    assert_opened(opened, 15, 41800.0)
    assert opened.signal.pending_at == 1704068100000
    assert opened.signal.scheduled_at == ts(10)
    assert_closed(closed, "take_profit", 29, 42300.0, 0.7929881123661063)
    assert run.calls == 31


def test_b7_stop_loss_before_fill_rejects_the_order() -> None:
    run = run_backtest(LL, wicks={15: (42010, 41400)})
    assert run.actions == ["scheduled", "cancelled"]
    assert_cancelled(run.results[1], "price_reject", 15, 41960.666666666664)
    assert run.calls == 34


def test_b8_limit_order_timeout() -> None:
    run = run_backtest(LL)
    assert run.actions == ["scheduled", "cancelled"]
    assert_cancelled(run.results[1], "timeout", 130, 42000.0)
    assert run.calls == 11


def test_b9_limit_order_already_reached_opens_at_once() -> None:
    run = run_backtest(
        {
            "position": "long",
            "price_open": 42100.0,
            "price_take_profit": 42600.0,
            "price_stop_loss": 41800.0,
            "minute_estimated_time": 30,
        }
    )
    assert run.actions == ["opened", "closed"]
    assert_opened(run.results[0], 10, 42100.0)
    assert_closed(run.results[1], "time_expired", 40, 42000.0, -0.6364184509077586)
    assert run.calls == 29


def test_b10_short_take_profit() -> None:
    run = run_backtest(S, steps={20: 41500})
    assert run.actions == ["opened", "closed"]
    assert_opened(run.results[0], 10, 42000.0)
    assert_closed(run.results[1], "take_profit", 24, 41580.0, 0.6026036036035997)
    assert run.calls == 32


def test_b11_short_stop_loss_on_wick() -> None:
    run = run_backtest(S, wicks={15: (42500, 41990)})
    assert run.actions == ["opened", "closed"]
    assert_closed(run.results[1], "stop_loss", 15, 42420.0, -1.4034044044044178)
    assert run.calls == 34


def test_b12_limit_order_cut_at_frame_end() -> None:
    run = run_backtest(LL, frame_end=40)
    assert run.actions == ["scheduled", "cancelled"]
    assert_cancelled(run.results[1], "timeout", 41, 42000.0)
    assert run.calls == 1


def test_b13_fill_candle_is_not_checked_for_take_profit() -> None:
    run = run_backtest(LL, base=42600, wicks={15: (42610, 41790)})
    assert run.actions == ["scheduled", "opened", "closed"]
    scheduled, opened, closed = run.results
    assert scheduled.current_price == 42600.0
    assert_opened(opened, 15, 41800.0)
    assert_closed(closed, "take_profit", 16, 42300.0)
    assert run.calls == 34


def test_b14_lifetime_counts_from_the_fill() -> None:
    run = run_backtest(signal(LL, minute_estimated_time=5), steps={15: 41800})
    assert run.actions == ["scheduled", "opened", "closed"]
    assert_opened(run.results[1], 15, 41800.0)
    assert_closed(run.results[2], "time_expired", 20, 41800.0, -0.39960039960039617)
    assert run.results[2].pnl.price_open == 41800.0
    assert run.calls == 33


def test_b15_short_limit_fill_then_take_profit() -> None:
    run = run_backtest(SS, steps={15: 42200, 25: 41600})
    assert run.actions == ["scheduled", "opened", "closed"]
    assert_opened(run.results[1], 15, 42200.0)
    assert_closed(run.results[2], "take_profit", 29, 41700.0, 0.787992969272604)
    assert run.calls == 31


@pytest.mark.parametrize(("interval", "calls"), [("5m", 34), ("1m", 170), ("15m", 12)])
def test_b16_throttle_by_interval_bucket(interval: str, calls: int) -> None:
    run = run_backtest(None, interval=interval)
    assert run.results == []
    assert run.calls == calls


def test_b17_next_tick_is_the_minute_after_the_close() -> None:
    run = run_backtest(signal(L, minute_estimated_time=7), every_call=True, frame_end=59)
    assert run.actions == ["opened", "closed"] * 7
    opens = [10, 18, 26, 34, 42, 50, 58]
    closes = [17, 25, 33, 41, 49, 57, 60]
    for k, (open_minute, close_minute) in enumerate(zip(opens, closes, strict=True)):
        opened, closed = run.results[2 * k], run.results[2 * k + 1]
        assert_opened(opened, open_minute, 42000.0)
        assert_closed(closed, "time_expired", close_minute, 42000.0, -0.3996003996003651)
    assert run.calls == 7


def test_b18_invalid_signal_is_reported_on_error() -> None:
    errors = Recorder("error")
    run = run_backtest(signal(L, price_take_profit=42100.0))
    assert run.results == []
    assert len(errors["error"]) == 1
    event = errors["error"][0]
    expected = (
        "Invalid signal for long position:\n"
        "Long: take profit too close to price_open (0.238%). Minimum distance: 0.5% to cover trading fees. "
        "Current: TP=42100.0, Open=42000.0"
    )
    assert event.message == expected
    assert event.exception_type == "SignalValidationError"
    assert isinstance(event.exception, ws.SignalValidationError)
    assert str(event.exception) == expected
    assert run.calls == 34


def _record_everything(log: list[str]) -> dict[str, Any]:
    """Register risk ``r19`` and every listener of §6.9, all appending to ``log``; return the strategy callbacks."""
    ws.add_risk(
        risk_name="r19",
        validations=[lambda payload: None],
        callbacks={
            "on_allowed": lambda symbol, args: log.append(f"on_allowed:{args.stage}"),
            "on_rejected": lambda symbol, args: log.append(f"on_rejected:{args.stage}"),
        },
    )
    ws.listen_progress_backtest(lambda e: log.append(f"progress:{e.processed_frames}"))
    ws.listen_signal_backtest(lambda r: log.append(f"signal_backtest:{r.action}"))
    ws.listen_signal(lambda r: log.append(f"signal:{r.action}"))
    ws.listen_performance(lambda e: log.append(f"performance:{e.metric_type}"))
    ws.listen_partial_profit(lambda e: log.append(f"partial_profit:{e.level}"))
    ws.listen_partial_loss(lambda e: log.append(f"partial_loss:{e.level}"))
    ws.listen_risk(lambda e: log.append("risk"))
    ws.listen_validation(lambda e: log.append("validation"))
    ws.listen_error(lambda e: log.append(f"error:{e.source}:{e.message}"))
    return {
        "on_tick": lambda symbol, result, price, when, backtest: log.append(f"on_tick:{result.action}"),
        "on_open": lambda symbol, row, price, when, backtest: log.append(f"on_open:{price!r}"),
        "on_active": lambda symbol, row, price, when, backtest: log.append("on_active"),
        "on_idle": lambda symbol, price, when, backtest: log.append("on_idle"),
        "on_close": lambda symbol, row, price, when, backtest: log.append(f"on_close:{price!r}"),
        "on_schedule": lambda symbol, row, price, when, backtest: log.append(f"on_schedule:{price!r}"),
        "on_cancel": lambda symbol, row, price, when, backtest: log.append(f"on_cancel:{price!r}"),
        "on_write": lambda symbol, row, price, when, backtest: log.append(
            "on_write:row" if row is not None else "on_write:None"
        ),
        "on_partial_profit": lambda symbol, row, percent, price, when, backtest: log.append(
            f"on_partial_profit:{percent!r}"
        ),
        "on_partial_loss": lambda symbol, row, percent, price, when, backtest: log.append(
            f"on_partial_loss:{percent!r}"
        ),
    }


def _idle_ticks(first_index: int) -> list[str]:
    """What each idle tick of frame ``F`` from ``first_index`` on records (5m strategy, risk ``r19``), then the end.

    ``get_signal`` (after its risk pre-check) runs on the first tick after a signal, which is always in a new 5m
    bucket here, and then at each bucket start.
    """
    idle: list[str] = []
    for index in range(first_index, 170):
        idle.append(f"progress:{index}")
        if index == first_index or (10 + index) % 5 == 0:
            idle += ["on_allowed:pre_check", "get_signal"]
        idle += ["on_idle", "on_tick:idle", "signal_backtest:idle", "signal:idle", "performance:backtest_timeframe"]
    return [*idle, "progress:170", "performance:backtest_total"]


def test_b19_order_of_callbacks_and_events() -> None:
    log: list[str] = []
    callbacks = _record_everything(log)
    progress = Recorder("progress_backtest", "performance")

    run = run_backtest(
        L,
        steps={20: 42500},
        callbacks=callbacks,
        risk_name="r19",
        log=log,
        on_result=lambda r: log.append(f"yield:{r.action}"),
    )

    signal_part = [
        "progress:0",
        "on_allowed:pre_check",
        "get_signal",
        "on_allowed:open",
        "on_write:row",
        "on_open:42000.0",
        "on_tick:opened",
        "signal_backtest:opened",
        "signal:opened",
        "yield:opened",
        # 19.5 measures progress from the effective entry, one ulp below 42000 (SPEC-position P14, P20 E13): every
        # flat minute from 00:10 to 00:19 is a profit-branch candle, reported like the others.
        *["on_partial_profit:1.7323708605198331e-12"] * 10,
        "partial_profit:10",
        "partial_profit:20",
        "on_partial_profit:23.80952380952513",
        "partial_profit:30",
        "partial_profit:40",
        "on_partial_profit:47.61904761904853",
        "partial_profit:50",
        "partial_profit:60",
        "partial_profit:70",
        "on_partial_profit:71.42857142857191",
        "partial_profit:80",
        "partial_profit:90",
        "on_partial_profit:95.23809523809533",
        "on_close:42420.0",
        "on_write:None",
        "on_tick:closed",
        "signal_backtest:closed",
        "signal:closed",
        "performance:backtest_signal",
        "yield:closed",
        "performance:backtest_timeframe",
    ]
    # Frames 15..169 (00:25..02:59) are idle ticks; get_signal runs at each 5m bucket start after its risk pre-check.
    idle_part = _idle_ticks(15)

    assert log[: len(signal_part)] == signal_part
    assert log[len(signal_part) : len(signal_part) + 8] == [
        "progress:15",
        "on_allowed:pre_check",
        "get_signal",
        "on_idle",
        "on_tick:idle",
        "signal_backtest:idle",
        "signal:idle",
        "performance:backtest_timeframe",
    ]
    assert log == signal_part + idle_part

    processed = [e.processed_frames for e in progress["progress_backtest"]]
    assert len(processed) == 157
    assert processed == [0, *range(15, 170), 170]
    assert progress["progress_backtest"][0].progress == 0.0
    assert progress["progress_backtest"][0].when == ts(10)
    assert progress["progress_backtest"][-1].progress == 1.0
    assert progress["progress_backtest"][-1].when == ts(179)
    assert all(e.total_frames == 170 for e in progress["progress_backtest"])
    metrics = [e.metric_type for e in progress["performance"]]
    assert metrics.count("backtest_signal") == 1
    assert metrics.count("backtest_timeframe") == 156
    assert metrics.count("backtest_total") == 1
    assert len(metrics) == 158
    assert run.calls == 32


def test_b19_order_for_a_limit_order_fill() -> None:
    log: list[str] = []
    callbacks = _record_everything(log)
    run = run_backtest(
        LL,
        steps={15: 41800, 25: 42400},
        callbacks=callbacks,
        risk_name="r19",
        log=log,
        on_result=lambda r: log.append(f"yield:{r.action}"),
    )
    assert run.actions == ["scheduled", "opened", "closed"]
    signal_part = [
        "progress:0",
        "on_allowed:pre_check",
        "get_signal",
        "on_schedule:42000.0",
        "on_tick:scheduled",
        "signal_backtest:scheduled",
        "signal:scheduled",
        "yield:scheduled",
        # the fill at 00:15
        "on_allowed:activation",
        "on_write:row",
        "on_open:41800.0",
        "on_tick:opened",
        "signal_backtest:opened",
        "signal:opened",
        # open phase from 00:16; the VWAP is back at 41800 (no progress) from 00:19 to 00:24
        "partial_profit:10",
        "partial_profit:20",
        "on_partial_profit:24.0",
        "on_partial_profit:16.0",
        "on_partial_profit:8.0",
        "on_partial_profit:24.0",
        "partial_profit:30",
        "partial_profit:40",
        "on_partial_profit:48.0",
        "partial_profit:50",
        "partial_profit:60",
        "partial_profit:70",
        "on_partial_profit:72.0",
        "partial_profit:80",
        "partial_profit:90",
        "on_partial_profit:96.0",
        # take profit at 00:29
        "on_close:42300.0",
        "on_write:None",
        "on_tick:closed",
        "signal_backtest:closed",
        "signal:closed",
        "performance:backtest_signal",
        "yield:opened",
        "yield:closed",
        "performance:backtest_timeframe",
    ]
    assert log == signal_part + _idle_ticks(20)
    assert run.calls == 31


def test_b19_order_for_a_cancelled_limit_order() -> None:
    log: list[str] = []
    callbacks = _record_everything(log)
    run = run_backtest(
        LL,
        wicks={15: (42010, 41400)},
        callbacks=callbacks,
        risk_name="r19",
        log=log,
        on_result=lambda r: log.append(f"yield:{r.action}"),
    )
    assert run.actions == ["scheduled", "cancelled"]
    signal_part = [
        "progress:0",
        "on_allowed:pre_check",
        "get_signal",
        "on_schedule:42000.0",
        "on_tick:scheduled",
        "signal_backtest:scheduled",
        "signal:scheduled",
        "yield:scheduled",
        "on_cancel:41960.666666666664",
        "on_tick:cancelled",
        "signal_backtest:cancelled",
        "signal:cancelled",
        "performance:backtest_signal",
        "yield:cancelled",
        "performance:backtest_timeframe",
    ]
    # Cancelled at 00:15: the next tick is 00:16 (frame index 6), in the bucket 00:15 not used yet.
    assert log == signal_part + _idle_ticks(6)
    assert run.calls == 34


@pytest.mark.parametrize("case", ["invalid_position", "raises", "times_out"])
def test_b20_get_signal_failures_are_reported_and_the_run_completes(case: str) -> None:
    if case == "invalid_position":

        def get_signal(symbol: str, when: datetime) -> Any:
            return {**L, "position": "wait"}

    elif case == "raises":

        def get_signal(symbol: str, when: datetime) -> Any:
            raise RuntimeError("boom")

    else:
        ws.set_config(max_signal_generation_seconds=0.05)

        async def get_signal(symbol: str, when: datetime) -> Any:  # type: ignore[misc]
            await asyncio.sleep(1)
            return signal(L)

    errors = Recorder("error")
    run = run_backtest(get_signal=counted(get_signal))

    assert run.results == []
    assert run.calls == 34
    assert len(errors["error"]) == 34
    for event in errors["error"]:
        if case == "invalid_position":
            assert isinstance(event.exception, pydantic.ValidationError)
            assert event.exception_type == "ValidationError"
            assert "position" in event.message
            assert [e["loc"] for e in event.exception.errors()] == [("position",)]
        elif case == "raises":
            assert (event.source, event.message, event.exception_type) == ("get_signal", "boom", "RuntimeError")
        else:
            assert event.message == "get_signal timed out after 0.05 s (strategy=one-shot, symbol=BTCUSDT)"
            assert event.exception_type == "TimeoutError"


def test_b21_deterministic_ids_and_yielded_actions() -> None:
    run = run_backtest(L, steps={20: 42500})
    assert run.actions == ["opened", "closed"]
    assert [r.signal.id for r in run.results] == ["one-shot:BTCUSDT:1704067800000"] * 2

    fresh_engine()
    run = run_backtest(LL, steps={15: 41800, 25: 42400})
    assert run.actions == ["scheduled", "opened", "closed"]
    assert [r.signal.id for r in run.results] == ["one-shot:BTCUSDT:1704067800000"] * 3

    fresh_engine()
    run = run_backtest(signal(L, id="x1"), steps={20: 42500})
    assert run.actions == ["opened", "closed"]
    assert [r.signal.id for r in run.results] == ["x1", "x1"]


def _stop_in_on_open() -> dict[str, Any]:
    async def on_open(symbol: str, row: Any, current_price: float, when: Any, backtest: bool) -> None:
        await ws.Backtest.stop(symbol, "one-shot")

    return {"on_open": on_open}


def test_b22_stop_inside_on_open_lets_the_position_close() -> None:
    events = Recorder("progress_backtest")
    run = run_backtest(L, steps={20: 42500}, callbacks=_stop_in_on_open())
    assert run.actions == ["opened", "closed"]
    assert_closed(run.results[1], "take_profit", 24, 42420.0, 0.5974035964036354)
    assert run.calls == 1
    progress = events["progress_backtest"]
    assert [e.processed_frames for e in progress] == [0, 170]
    assert progress[-1].progress == 1.0


def test_b22_stop_inside_on_open_in_background_emits_done_once() -> None:
    scenario = register_scenario(L, steps={20: 42500}, callbacks=_stop_in_on_open())
    events = Recorder("signal_backtest", "done_backtest", "progress_backtest", "error")

    async def main() -> None:
        done = asyncio.Event()
        ws.listen_done_backtest(lambda e: done.set())
        stop = ws.Backtest.background("BTCUSDT", strategy_name="one-shot", exchange_name="ladder", frame_name="F")
        assert callable(stop)
        await asyncio.wait_for(done.wait(), timeout=30)
        await asyncio.sleep(0.05)

    asyncio.run(main())
    results = [r for r in events["signal_backtest"] if r.action != "idle"]
    assert [r.action for r in results] == ["opened", "closed"]
    assert_closed(results[1], "take_profit", 24, 42420.0, 0.5974035964036354)
    assert len(events["done_backtest"]) == 1
    done = events["done_backtest"][0]
    assert (done.symbol, done.strategy_name, done.exchange_name, done.frame_name, done.backtest) == (
        "BTCUSDT",
        "one-shot",
        "ladder",
        "F",
        True,
    )
    assert events["progress_backtest"][-1].progress == 1.0
    assert events["error"] == []
    assert scenario.calls == 1


def test_b23_stop_inside_on_schedule_cancels_the_order() -> None:
    cancels: list[tuple[float, str]] = []

    async def on_schedule(symbol: str, row: Any, current_price: float, when: Any, backtest: bool) -> None:
        await ws.Backtest.stop(symbol, "one-shot")

    def on_cancel(symbol: str, row: Any, current_price: float, when: Any, backtest: bool) -> None:
        cancels.append((current_price, row.id))

    run = run_backtest(LL, steps={15: 41800, 25: 42400}, callbacks={"on_schedule": on_schedule, "on_cancel": on_cancel})
    assert run.actions == ["scheduled", "cancelled"]
    assert_cancelled(run.results[1], "stopped", 10, 42000.0)
    assert cancels == [(42000.0, "one-shot:BTCUSDT:1704067800000")]
    assert run.calls == 1


def test_b24_a_failing_listener_does_not_affect_the_run() -> None:
    baseline = run_backtest(L, steps={20: 42500})

    fresh_engine()

    def failing(result: Any) -> None:
        raise ValueError("listener")

    ws.listen_signal_backtest(failing)
    events = Recorder("signal_backtest", "signal", "error")
    run = run_backtest(L, steps={20: 42500})

    assert [r.model_dump() for r in run.results] == [r.model_dump() for r in baseline.results]
    assert run.calls == 32
    delivered = events["signal_backtest"]
    assert [r.action for r in delivered if r.action != "idle"] == ["opened", "closed"]
    assert len(events["signal"]) == len(delivered)
    assert len(events["error"]) == len(delivered)
    assert {(e.source, e.message, e.exception_type) for e in events["error"]} == {
        ("listener", "listener", "ValueError")
    }
