"""Fault 18 of issue 13: a close saved by a process that died before announcing it is announced once, and only once.

The death is simulated in-process: the close is committed, then the run is torn down by an exception no handler
catches (``Killed`` derives from ``BaseException``), before any listener, the blotter or the report hears of it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import workstation as ws
from workstation.services.live_records import LiveRecords

from .fixtures import LL, STRATEGY, SYMBOL, L, at, ts
from .live_fixtures import LiveRun, register_live, run_live


class Killed(BaseException):
    """The process died here."""


def _killed_after_saving_an_end(clock: ws.ReplayClock, monkeypatch: pytest.MonkeyPatch) -> LiveRun:
    """Run live on ``clock`` until the process dies right after saving a close or a cancel; return what it heard."""
    save_end = LiveRecords.end

    async def end_then_die(self: LiveRecords, result: Any) -> None:
        await save_end(self, result)
        raise Killed

    first = LiveRun()
    first.listen()
    with monkeypatch.context() as patch:
        patch.setattr(LiveRecords, "end", end_then_die)
        with pytest.raises(Killed):
            asyncio.run(run_live(clock, first))
    return first


def _restart(start: int) -> tuple[ws.ReplayClock, LiveRun]:
    """The same store and registrations, a fresh process for the strategy: clock at ``start``."""
    clock = ws.ReplayClock(at(start))
    ws.Live.clear()
    ws.list_exchanges()[0].get_candles.clock = clock
    run = LiveRun()
    run.listen()
    return clock, run


def _ended(run: LiveRun) -> list[tuple[str, str]]:
    return [(result.action, result.signal.id) for result in run.ticks if result.action in ("closed", "cancelled")]


@pytest.mark.parametrize("storage", ["sqlite", "json"])
def test_a_saved_close_the_killed_run_never_announced_is_announced_once_after_the_restart(
    storage: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    if storage == "json":
        ws.persist.use_json(tmp_path / "state")
    clock, _ = register_live(L, steps={20: 42500})
    first = _killed_after_saving_an_end(clock, monkeypatch)
    signal_id = f"{STRATEGY}:{SYMBOL}:{ts(10)}"
    assert first.actions() == ["opened"]
    assert _ended(first) == []

    clock, second = _restart(26)
    asyncio.run(run_live(clock, second))
    assert second.actions() == ["closed"]
    closed = second.results[0]
    assert (closed.signal.id, closed.close_reason, closed.close_timestamp) == (signal_id, "take_profit", ts(25))
    assert _ended(second) == [("closed", signal_id)]
    statistics = asyncio.run(ws.Live.get_data(SYMBOL, STRATEGY))
    assert [result.signal.id for result in statistics.signal_list] == [signal_id]
    assert [event.signal_id for event in statistics.event_list if event.action == "closed"] == [signal_id]
    assert signal_id in asyncio.run(ws.Live.get_report(SYMBOL, STRATEGY))

    clock, third = _restart(30)
    asyncio.run(run_live(clock, third))
    assert third.results == []
    assert _ended(third) == []
    assert second.errors == third.errors == []


def test_a_saved_cancel_is_announced_once_after_the_restart(monkeypatch: pytest.MonkeyPatch) -> None:
    clock, _ = register_live(LL)
    first = _killed_after_saving_an_end(clock, monkeypatch)
    assert first.actions() == ["scheduled"]
    clock, second = _restart(131)
    asyncio.run(run_live(clock, second))
    assert [(result.action, result.reason) for result in second.results] == [("cancelled", "timeout")]
    clock, third = _restart(132)
    asyncio.run(run_live(clock, third))
    assert third.results == []


def test_a_close_announced_before_the_kill_is_not_announced_again() -> None:
    clock, _ = register_live(L, steps={20: 42500})
    first = LiveRun()
    first.listen()
    asyncio.run(run_live(clock, first))
    assert first.actions() == ["opened", "closed"]
    clock, second = _restart(30)
    asyncio.run(run_live(clock, second))
    assert second.results == []
    assert _ended(second) == []
