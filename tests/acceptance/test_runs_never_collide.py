"""Runs never collide (issue 13): backtests of the same ``symbol:strategy_name`` run side by side.

Run state was process-global, keyed by ``"symbol:strategy_name"``: a second run of the pair was refused, and its
progress, frame, strategy client and risk position would have replaced the first's. Now ``Backtest.run`` returns a
``BacktestRun`` holding all of it; ``Backtest.get_data(symbol, strategy_name)`` keeps its SPEC meaning, the latest
run of that pair.
"""

from __future__ import annotations

import asyncio
from typing import Any

import workstation as ws

from .fixtures import EXCHANGE, FRAME, STRATEGY, SYMBOL, L, OneShot, add_frame, add_ladder_exchange, add_strategy, ts

EARLY, LATE = "early", "late"


def register(*, risk_name: str | None = None) -> None:
    """The flat ladder, one-shot firing L on every call, and frames F (00:10-02:59), early and late."""
    add_ladder_exchange()
    add_frame()
    add_frame(10, 100, name=EARLY)
    add_frame(150, 300, name=LATE)
    add_strategy(OneShot(ws.Signal(**L), every_call=True), risk_name=risk_name)


def start(frame_name: str) -> ws.BacktestRun:
    return ws.Backtest.run(SYMBOL, strategy_name=STRATEGY, exchange_name=EXCHANGE, frame_name=frame_name)


def facts(results: list[Any]) -> list[tuple[Any, ...]]:
    return [(r.action, r.signal.id, getattr(r, "close_reason", None), getattr(r, "pnl", None)) for r in results]


async def alone(frame_name: str) -> list[Any]:
    return [result async for result in start(frame_name)]


def test_one_strategy_runs_on_two_periods_at_once_each_as_if_alone() -> None:
    register()

    async def interleaved() -> tuple[dict[str, list[Any]], ws.BacktestRun, ws.BacktestRun]:
        runs = {EARLY: start(EARLY), LATE: start(LATE)}
        got: dict[str, list[Any]] = {EARLY: [], LATE: []}
        working = dict(runs)
        while working:
            for name, run in list(working.items()):
                try:
                    got[name].append(await anext(run))
                except StopAsyncIteration:
                    del working[name]
        return got, runs[EARLY], runs[LATE]

    got, early, late = asyncio.run(interleaved())
    early_data, late_data = asyncio.run(early.get_data()), asyncio.run(late.get_data())
    latest = asyncio.run(ws.Backtest.get_data(SYMBOL, STRATEGY))
    solo_early, solo_late = asyncio.run(alone(EARLY)), asyncio.run(alone(LATE))

    assert facts(got[EARLY]) == facts(solo_early)
    assert facts(got[LATE]) == facts(solo_late)
    assert [r.action for r in got[EARLY]] == ["opened", "closed"]
    assert [r.action for r in got[LATE]] == ["opened", "closed", "opened", "closed"]
    assert early_data.signal_list == [r for r in got[EARLY] if r.action == "closed"]
    assert late_data.signal_list == [r for r in got[LATE] if r.action == "closed"]
    # The pair's figures are those of its latest run: the solo late run started last.
    assert latest.signal_list == [r for r in solo_late if r.action == "closed"]
    assert late.run_id > early.run_id


def test_each_run_has_its_own_progress_and_stop() -> None:
    register()

    async def scenario() -> tuple[Any, ...]:
        whole, late = start(FRAME), start(LATE)
        assert (whole.get_progress(), late.get_progress()) == (None, None)
        await anext(whole)
        await anext(late)
        late.stop()
        late_rest = [result.action async for result in late]
        whole_rest = [result.action async for result in whole]
        return whole, late, whole_rest, late_rest

    whole, late, whole_rest, late_rest = asyncio.run(scenario())

    # The stopped run resolves its open signal and ends; the other runs its whole period (two trades).
    assert (whole_rest, late_rest) == (["closed", "opened", "closed"], ["closed"])
    whole_progress, late_progress = whole.get_progress(), late.get_progress()
    assert whole_progress is not None and late_progress is not None
    assert (whole_progress.frame_name, late_progress.frame_name) == (FRAME, LATE)
    assert whole_progress.processed_frames == whole_progress.total_frames == 170
    assert late_progress.total_frames == 151
    assert ws.Backtest.get_progress(SYMBOL, STRATEGY) == late_progress


def test_the_pair_s_stop_stops_every_run_of_the_pair() -> None:
    register()

    async def scenario() -> tuple[list[Any], list[Any]]:
        early, late = start(EARLY), start(LATE)
        await anext(early)
        await anext(late)
        ws.Backtest.stop(SYMBOL, STRATEGY)
        return [r.action async for r in early], [r.action async for r in late]

    assert asyncio.run(scenario()) == (["closed"], ["closed"])


def test_runs_of_one_pair_count_their_own_risk_positions() -> None:
    """A run that ends forgets its own position only: the other run's open position is still counted."""
    seen: list[list[str]] = []

    def validation(payload: ws.RiskCheckPayload) -> bool:
        if payload.stage == "pre_check":
            seen.append([position.signal_id for position in payload.active_positions])
        return True

    ws.add_risk(risk_name="book", validations=[validation])
    register(risk_name="book")

    async def scenario() -> None:
        first = start(FRAME)
        assert (await anext(first)).action == "opened"  # at 00:10, open for 120 minutes
        seen.append(["-- second run"])
        await alone(EARLY)  # starts at 00:10 too, and ends with its position closed
        seen.append(["-- third run"])
        third = start(LATE)
        await anext(third)
        await first.aclose()
        await third.aclose()

    asyncio.run(scenario())

    # The second run opens at 00:10 too, under the same signal id, and closes past its period's end.
    first_id = f"{STRATEGY}:{SYMBOL}:{ts(10)}"
    assert seen == [[], ["-- second run"], [first_id], ["-- third run"], [first_id]]
