"""Live scenarios L1–L10 of SPEC §19.4 (L11 and the adapters' corrupt-record rules: tests/integration)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import platformdirs
import pytest

import workstation as ws

from .fixtures import EXCHANGE, LL, STRATEGY, SYMBOL, L, at, hm, ts
from .live_fixtures import LiveRun, register_live, run_live

KEY = f"{SYMBOL}:{STRATEGY}"


def levels_at(run: LiveRun) -> list[tuple[str, int, int]]:
    """Each partial event as (branch, level, tick), in emission order."""
    return [
        (
            "profit"
            if (event.current_price > event.signal.price_open) == (event.signal.position == "long")
            else "loss",
            event.level,
            event.timestamp,
        )
        for event in run.partials
    ]


def run_scenario(sig: Any, **kwargs: Any) -> LiveRun:
    until = kwargs.pop("until", 179)
    clock, _ = register_live(sig, **kwargs)
    run = LiveRun()
    run.listen()
    return asyncio.run(run_live(clock, run, until=until))


def test_l1_market_long_closes_by_take_profit_one_minute_after_the_backtest() -> None:
    run = run_scenario(L, steps={20: 42500})
    opened, closed = run.results
    assert run.actions() == ["opened", "closed"]
    assert (opened.timestamp, opened.current_price, opened.signal.pending_at) == (ts(10), 42000.0, ts(10))
    active = [tick for tick in run.ticks if tick.action == "active"]
    assert [tick.timestamp for tick in active] == [ts(minute) for minute in range(11, 25)]
    at_21 = next(tick for tick in active if tick.timestamp == ts(21))
    assert (at_21.percent_tp, at_21.percent_sl) == (23.809523809523807, 0.0)
    assert levels_at(run) == [
        ("profit", 10, ts(21)),
        ("profit", 20, ts(21)),
        ("profit", 30, ts(22)),
        ("profit", 40, ts(22)),
        ("profit", 50, ts(23)),
        ("profit", 60, ts(23)),
        ("profit", 70, ts(23)),
        ("profit", 80, ts(24)),
        ("profit", 90, ts(24)),
    ]
    assert (closed.close_reason, closed.close_timestamp, closed.current_price) == ("take_profit", ts(25), 42420.0)
    assert closed.pnl.pnl_percentage == 0.5974035964036354
    assert run.errors == []


def test_l2_a_wick_does_not_stop_out_the_live_position() -> None:
    run = run_scenario(L, wicks={15: (42010, 41500)})
    closed = run.results[-1]
    assert run.actions() == ["opened", "closed"]
    assert (closed.close_reason, closed.close_timestamp, closed.current_price) == ("time_expired", hm(2, 10), 42000.0)
    assert closed.pnl.pnl_percentage == -0.3996003996003651


def test_l3_limit_order_fills_on_the_vwap_and_closes_by_take_profit() -> None:
    run = run_scenario(LL, steps={15: 41800, 25: 42400})
    scheduled, opened, closed = run.results
    assert run.actions() == ["scheduled", "opened", "closed"]
    assert (scheduled.timestamp, opened.timestamp, opened.signal.pending_at) == (ts(10), ts(20), ts(20))
    assert (closed.close_reason, closed.close_timestamp, closed.current_price) == ("take_profit", ts(30), 42300.0)
    assert closed.pnl.pnl_percentage == 0.7929881123661063


async def _schedule_record_exists() -> bool:
    return await ws.persist.adapter("schedule").has_value(KEY)


def test_l4_price_reject_cancels_and_removes_the_schedule_record() -> None:
    cancels: list[Any] = []
    clock, _ = register_live(LL, steps={15: 30000}, callbacks={"on_cancel": lambda *args: cancels.append(args)})
    run = LiveRun()
    asyncio.run(run_live(clock, run))
    scheduled, cancelled = run.results
    assert (scheduled.action, scheduled.timestamp) == ("scheduled", ts(10))
    assert (cancelled.reason, cancelled.close_timestamp, cancelled.current_price) == ("price_reject", ts(16), 39600.0)
    assert len(cancels) == 1
    assert asyncio.run(_schedule_record_exists()) is False


def test_l5_a_limit_order_never_reached_times_out() -> None:
    run = run_scenario(LL)
    cancelled = run.results[-1]
    assert run.actions() == ["scheduled", "cancelled"]
    assert (cancelled.reason, cancelled.close_timestamp, cancelled.current_price) == ("timeout", hm(2, 10), 42000.0)


async def _run_until_tick(clock: ws.ReplayClock, last_tick: int) -> None:
    """Run live and cancel the task right after the tick at ``last_tick`` (a crash between two ticks)."""

    async def consume() -> None:
        async for _ in ws.Live.run(SYMBOL, strategy_name=STRATEGY, exchange_name=EXCHANGE, clock=clock, until=at(179)):
            pass

    reached = asyncio.Event()

    def watch(result: Any) -> None:
        if result.timestamp == last_tick:
            reached.set()

    unsubscribe = ws.listen_signal_live(watch)
    task = asyncio.create_task(consume())
    await reached.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    unsubscribe()


def _restart(start: int, actives: list[Any]) -> tuple[ws.ReplayClock, LiveRun]:
    """The same store and registrations, a fresh process state for the strategy: memo cleared, clock at ``start``."""
    clock = ws.ReplayClock(at(start))
    ws.Live.clear()
    schema = ws.list_exchanges()[0]
    schema.get_candles.clock = clock
    run = LiveRun()
    run.listen()
    return clock, run


@pytest.mark.parametrize(("restart_at", "close_at"), [(16, 25), (30, 30)])
def test_l6_a_restarted_run_resumes_the_open_position(restart_at: int, close_at: int) -> None:
    actives: list[Any] = []
    clock, _ = register_live(L, steps={20: 42500}, callbacks={"on_active": lambda *args: actives.append(args)})
    asyncio.run(_run_until_tick(clock, ts(15)))
    clock, run = _restart(restart_at, actives)
    asyncio.run(run_live(clock, run))
    closed = run.results[-1]
    assert run.actions() == ["closed"]
    assert len(actives) == 1
    assert actives[0][1].id == f"{STRATEGY}:{SYMBOL}:{ts(10)}"
    assert (closed.close_reason, closed.close_timestamp, closed.current_price) == ("take_profit", ts(close_at), 42420.0)
    if restart_at == 16:
        assert [(event.level, event.timestamp) for event in run.partials] == [
            (10, ts(21)),
            (20, ts(21)),
            (30, ts(22)),
            (40, ts(22)),
            (50, ts(23)),
            (60, ts(23)),
            (70, ts(23)),
            (80, ts(24)),
            (90, ts(24)),
        ]


def test_l7_levels_reached_before_a_restart_never_fire_again() -> None:
    clock, _ = register_live(L, steps={20: 42500})
    asyncio.run(_run_until_tick(clock, ts(22)))
    stored = asyncio.run(ws.persist.adapter("partial").read_value(f"{STRATEGY}:{SYMBOL}:{ts(10)}"))
    assert stored == {"symbol": SYMBOL, "strategy_name": STRATEGY, "profit_levels": [10, 20, 30, 40], "loss_levels": []}
    clock, run = _restart(23, [])
    asyncio.run(run_live(clock, run))
    assert [(event.level, event.timestamp) for event in run.partials] == [
        (50, ts(23)),
        (60, ts(23)),
        (70, ts(23)),
        (80, ts(24)),
        (90, ts(24)),
    ]
    assert run.results[-1].close_timestamp == ts(25)


def test_l8_stop_inside_on_open_lets_the_position_close_then_ends_the_run() -> None:
    done: list[Any] = []

    async def stop_on_open(*_args: Any) -> None:
        await ws.Live.stop(SYMBOL, STRATEGY)

    clock, one_shot = register_live(L, steps={20: 42500}, callbacks={"on_open": stop_on_open})
    run = LiveRun()
    run.listen()
    ws.listen_done_live(done.append)

    async def scenario() -> None:
        ws.Live.background(SYMBOL, strategy_name=STRATEGY, exchange_name=EXCHANGE, clock=clock, until=at(179))
        while not done:
            await asyncio.sleep(0)

    asyncio.run(scenario())
    results = [tick for tick in run.ticks if tick.action in ("opened", "closed")]
    assert [(tick.action, tick.timestamp) for tick in results] == [("opened", ts(10)), ("closed", ts(25))]
    assert one_shot.calls == 1
    assert run.ticks[-1].timestamp == ts(25)
    assert len(done) == 1


def test_l8_stop_inside_on_schedule_cancels_the_order_at_the_next_tick() -> None:
    async def stop_on_schedule(*_args: Any) -> None:
        await ws.Live.stop(SYMBOL, STRATEGY)

    clock, _ = register_live(LL, callbacks={"on_schedule": stop_on_schedule})
    run = asyncio.run(run_live(clock, LiveRun()))
    scheduled, cancelled = run.results
    assert (scheduled.action, scheduled.timestamp) == ("scheduled", ts(10))
    assert (cancelled.reason, cancelled.close_timestamp, cancelled.current_price) == ("stopped", ts(11), 42000.0)
    assert asyncio.run(_schedule_record_exists()) is False


def _stored_row(exchange_name: str) -> dict[str, Any]:
    return {
        "id": "x1",
        "position": "long",
        "note": "",
        "price_open": 42000.0,
        "price_take_profit": 42420.0,
        "price_stop_loss": 41580.0,
        "minute_estimated_time": 120,
        "symbol": SYMBOL,
        "exchange_name": exchange_name,
        "strategy_name": STRATEGY,
        "frame_name": "",
        "scheduled_at": ts(5),
        "pending_at": ts(5),
        "is_scheduled": False,
    }


def test_l9_a_position_of_another_exchange_is_a_conflict_and_nothing_changes() -> None:
    clock, _ = register_live(L)
    asyncio.run(ws.persist.adapter("signal").write_value(KEY, _stored_row("binance")))
    with pytest.raises(ws.PersistedStateConflictError) as raised:
        asyncio.run(run_live(clock, LiveRun()))
    assert str(raised.value) == (
        'persisted open position for BTCUSDT:one-shot belongs to exchange "binance", this run uses "ladder"'
    )
    assert asyncio.run(ws.persist.adapter("signal").read_value(KEY)) == _stored_row("binance")


@pytest.mark.parametrize("storage", ["json", "sqlite"])
def test_l10_an_undecodable_record_is_moved_aside_and_the_run_starts_flat(storage: str) -> None:
    base = Path(platformdirs.user_data_dir("workstation"))
    if storage == "json":
        ws.persist.use_json(base / "state")
        folder = base / "state" / "signal"
        folder.mkdir(parents=True)
        (folder / "BTCUSDT%3Aone-shot.json").write_text("{not json")
    else:
        import sqlite3

        ws.persist.use_sqlite(base / "state.sqlite3")
        asyncio.run(ws.persist.adapter("signal").wait_for_init())
        asyncio.run(ws.persist.close_persistence())
        with sqlite3.connect(base / "state.sqlite3") as db:
            db.execute("INSERT INTO records VALUES ('signal', ?, '{not json', 0)", (KEY,))
        ws.persist.use_sqlite(base / "state.sqlite3")
    clock, _ = register_live(L, steps={20: 42500})
    run = LiveRun()
    run.listen()
    asyncio.run(run_live(clock, run))
    assert run.actions() == ["opened", "closed"]
    assert run.results[0].timestamp == ts(10)
    assert [error.source for error in run.errors] == ["persist"]
    if storage == "json":
        assert [path.name.split(".corrupt-")[0] for path in folder.iterdir() if ".corrupt-" in path.name] == [
            "BTCUSDT%3Aone-shot.json"
        ]


def test_l10_a_record_of_the_wrong_shape_is_moved_aside_by_the_service() -> None:
    asyncio.run(ws.persist.adapter("signal").write_value(KEY, {"id": "x1", "position": "sideways"}))
    clock, _ = register_live(L, steps={20: 42500})
    run = LiveRun()
    run.listen()
    asyncio.run(run_live(clock, run))
    assert run.actions() == ["opened", "closed"]
    assert [error.source for error in run.errors] == ["persist"]
    signal_store = ws.persist.adapter("signal")
    aside = asyncio.run(signal_store.corrupt_keys())
    assert len(aside) == 1 and aside[0].startswith(f"{KEY}#corrupt-")
    moved = asyncio.run(signal_store.read_value(aside[0]))
    assert moved["value"] == {"id": "x1", "position": "sideways"}
    assert json.dumps(moved)
