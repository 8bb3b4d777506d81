"""SPEC §19.5 E1-E3: listener delivery rules of the event hub (§16)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import workstation as ws

from .fixtures import L, collect, register_scenario, signal


def test_e1_once_listener_and_idempotent_unsubscribe() -> None:
    scenario = register_scenario(L, steps={20: 42500})
    once: list[Any] = []
    plain: list[Any] = []
    ws.listen_partial_profit_once(lambda e: True, once.append)
    unsubscribe = ws.listen_partial_profit(plain.append)

    first = asyncio.run(collect())
    assert [r.action for r in first] == ["opened", "closed"]
    assert [e.level for e in once] == [10]
    assert [e.level for e in plain] == [10, 20, 30, 40, 50, 60, 70, 80, 90]

    unsubscribe()
    unsubscribe()  # idempotent: a no-op
    scenario.strategy.rearm()
    again = asyncio.run(collect())
    assert [r.action for r in again] == ["opened", "closed"]
    assert [e.level for e in once] == [10]
    assert len(plain) == 9


def test_e2_async_listener_sees_events_in_emission_order() -> None:
    register_scenario(signal(L, minute_estimated_time=7), every_call=True, frame_end=59)
    emitted: list[Any] = []
    received: list[Any] = []

    async def slow_listener(result: Any) -> None:
        await asyncio.sleep(0)
        received.append(result)

    ws.listen_signal_backtest(emitted.append)
    ws.listen_signal_backtest(slow_listener)

    async def main() -> list[Any]:
        results = await collect()
        for _ in range(500):  # the engine does not wait for async listeners: let the queue drain
            if len(received) == len(emitted):
                break
            await asyncio.sleep(0.01)
        return results

    results = asyncio.run(main())
    assert len(received) == len(emitted)
    assert received == emitted
    trades = [r for r in received if r.action in ("opened", "closed")]
    assert [r.action for r in trades] == ["opened", "closed"] * 7
    assert [r.model_dump() for r in trades] == [r.model_dump() for r in results]


def test_e3_internal_storages_see_events_before_user_listeners() -> None:
    register_scenario(L, steps={20: 42500})
    counted_sync: list[int] = []
    counted_async: list[tuple[int, list[str]]] = []

    def sync_listener(result: Any) -> None:
        if result.action != "closed":
            return
        coroutine = ws.Backtest.get_data("BTCUSDT", "one-shot")
        if not inspect.iscoroutine(coroutine):
            return
        try:
            coroutine.send(None)
        except StopIteration as done:  # completed without suspending: read it right at emission time
            counted_sync.append(done.value.total_signals)
        else:
            coroutine.close()

    async def async_listener(result: Any) -> None:
        if result.action == "closed":
            stats = await ws.Backtest.get_data("BTCUSDT", "one-shot")
            counted_async.append((stats.total_signals, [r.signal.id for r in stats.signal_list]))

    ws.listen_signal_backtest(sync_listener)
    ws.listen_signal_backtest(async_listener)

    async def main() -> None:
        await collect()
        for _ in range(500):
            if counted_async:
                break
            await asyncio.sleep(0.01)

    asyncio.run(main())
    assert counted_async == [(1, ["one-shot:BTCUSDT:1704067800000"])]
    assert counted_sync in ([], [1]), counted_sync
