"""ws.Backtest.get_progress: the position of a run, published at each turn it gives the loop, for views to poll."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import workstation as ws

from .fixtures import EXCHANGE, FRAME, STRATEGY, SYMBOL, L, collect, counted, register_scenario, run_backtest, ts


def test_no_run_no_progress() -> None:
    assert ws.Backtest.get_progress(SYMBOL, STRATEGY) is None


def test_after_b1_the_run_is_complete_at_its_last_tick() -> None:
    run_backtest(L, steps={20: 42500})
    progress = ws.Backtest.get_progress(SYMBOL, STRATEGY)
    assert progress == ws.BacktestProgress(
        symbol=SYMBOL,
        strategy_name=STRATEGY,
        exchange_name=EXCHANGE,
        frame_name=FRAME,
        total_frames=170,
        processed_frames=170,
        progress=1.0,
        when=ts(179),
    )


def test_a_poller_sees_the_run_advance_while_it_works() -> None:
    """A strategy that works 2 ms per call on every 1m tick keeps the run busy for about 0.35 s: the engine gives
    the loop a turn every 20 ms, so a task polling every 5 ms sees intermediate positions, never going back."""

    @counted
    def busy(symbol: str, when: Any) -> None:
        time.sleep(0.002)

    register_scenario(get_signal=busy, interval="1m")
    seen: list[int] = []

    async def poll(run: asyncio.Task[list[Any]]) -> None:
        while not run.done():
            progress = ws.Backtest.get_progress(SYMBOL, STRATEGY)
            if progress is not None:
                seen.append(progress.processed_frames)
            await asyncio.sleep(0.005)

    async def scenario() -> None:
        run = asyncio.create_task(collect())
        await asyncio.gather(run, poll(run))

    asyncio.run(scenario())
    assert seen == sorted(seen)
    assert any(0 < processed < 170 for processed in seen), seen
    final = ws.Backtest.get_progress(SYMBOL, STRATEGY)
    assert final is not None
    assert (final.processed_frames, final.progress) == (170, 1.0)


def test_shorter_loop_turns_let_a_poller_in_more_often() -> None:
    """The same busy run (2 ms per tick, 170 ticks) with turns every 20 ms and then every 5 ms: the poller gets
    in at least twice as often with the shorter turns."""

    @counted
    def busy(symbol: str, when: Any) -> None:
        time.sleep(0.002)

    register_scenario(get_signal=busy, interval="1m")

    def polls() -> int:
        seen = 0

        async def scenario() -> None:
            nonlocal seen
            run = asyncio.create_task(collect())
            while not run.done():
                seen += 1
                await asyncio.sleep(0)
            await run

        asyncio.run(scenario())
        return seen

    default = polls()
    ws.Backtest.set_loop_turn(0.005)
    shorter = polls()
    assert shorter >= 2 * default, (default, shorter)


@pytest.mark.parametrize("seconds", [0, -0.01, 1.5, float("nan"), True, "0.01"])
def test_a_loop_turn_outside_zero_to_one_second_is_refused(seconds: Any) -> None:
    with pytest.raises(ValueError, match=r"seconds must be a number in \(0, 1\], got "):
        ws.Backtest.set_loop_turn(seconds)


def test_reset_restores_the_default_loop_turn() -> None:
    ws.Backtest.set_loop_turn(0.005)
    ws.reset()
    assert ws.Backtest.loop_turn_seconds == 0.02
