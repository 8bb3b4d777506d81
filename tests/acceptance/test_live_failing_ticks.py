"""Fault 15 of issue 13: a live run whose every tick fails ends, with one clear error, and ``until`` and Stop work.

Before, a read-only state folder, a state table missing a column or a paper session restarted with fewer days than
its stored clock made every tick fail forever: hundreds of thousands of error events, the clock past ``until`` and
past the data, and Stop stuck at "stopping". Each scenario runs under a timeout, so the old behaviour fails.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import workstation as ws

from .fixtures import L, OneShot, add_ladder_exchange, add_strategy, at, signal
from .live_fixtures import LiveRun, run_live

SYMBOL = "BTCUSDT"
STRATEGY = "one-shot"
#: Far more than any of these runs needs; the old engine never ended.
TIMEOUT_SECONDS = 60


def run_bounded(clock: ws.ReplayClock, run: LiveRun, *, until: int = 179) -> LiveRun:
    async def bounded() -> LiveRun:
        return await asyncio.wait_for(run_live(clock, run, until=until), TIMEOUT_SECONDS)

    return asyncio.run(bounded())


def listening() -> LiveRun:
    run = LiveRun()
    run.listen()
    return run


def register(get_signal: Any) -> ws.ReplayClock:
    clock = ws.ReplayClock(at(10))
    add_ladder_exchange()
    ws.list_exchanges()[0].get_candles.clock = clock
    add_strategy(get_signal)
    return clock


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A JSON state folder whose entity folders exist but accept no new file (chattr +i as root, else chmod)."""
    folder = tmp_path / "state"
    folders = [folder, *(folder / entity for entity in ("signal", "schedule", "closed", "progress", "partial"))]
    for each in folders:
        each.mkdir(parents=True, exist_ok=True)
    as_root = os.geteuid() == 0
    for each in folders:
        if as_root:
            subprocess.run(["chattr", "+i", str(each)], check=True)
        else:
            each.chmod(0o555)
    try:
        yield folder
    finally:
        for each in folders:
            if as_root:
                subprocess.run(["chattr", "-i", str(each)], check=True)
            else:
                each.chmod(0o755)


def test_a_read_only_state_folder_refuses_the_start_with_one_error_naming_the_file(read_only_folder: Path) -> None:
    ws.persist.use_json(read_only_folder)
    clock = register(lambda symbol, when: None)
    run = listening()
    with pytest.raises(PermissionError) as refused:
        run_bounded(clock, run)
    assert (
        str(refused.value)
        == (
            f"[Errno 1] cannot create the lock file {read_only_folder / '.locks' / 'BTCUSDT%3Aone-shot.lock'}: "
            "Operation not permitted"
        )
        or os.geteuid() != 0
    )
    assert run.ticks == run.errors == []


def test_a_state_table_missing_a_column_stops_the_run_with_one_error(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE records (entity TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL)")
    ws.persist.use_sqlite(path)
    clock = register(OneShot(signal(L)))
    run = listening()
    with pytest.raises(ws.LiveRunFailedError) as failed:
        run_bounded(clock, run)
    assert str(failed.value) == (
        f"live run of {SYMBOL}:{STRATEGY} stopped: 5 ticks in a row failed with "
        "OperationalError: table records has no column named updated_at"
    )
    assert [error.message for error in run.errors] == ["table records has no column named updated_at"]
    assert run.results == []


def test_until_ends_a_run_whose_ticks_keep_failing_differently() -> None:
    failures = iter(range(1_000_000))

    def broken(symbol: str, interval: str, since: datetime, limit: int) -> list[Any]:
        raise ConnectionError(f"exchange down (attempt {next(failures)})")

    clock = ws.ReplayClock(at(10))
    ws.add_exchange(exchange_name="ladder", get_candles=broken)
    add_strategy(lambda symbol, when: None)
    run = listening()
    run_bounded(clock, run, until=40)
    assert run.results == []
    # Paused 1, 2, 4, 8, 16 ticks after the failures at 00:10, 00:11, 00:13, 00:17 and 00:25; at 00:41 the run
    # is past `until`, flat, and ends.
    assert [error.message for error in run.errors] == [f"exchange down (attempt {n})" for n in (2, 5, 8, 11, 14, 17)]
    assert clock.now() == at(41)


def test_stop_ends_a_run_whose_ticks_keep_failing() -> None:
    failures = iter(range(1_000_000))

    def broken(symbol: str, interval: str, since: datetime, limit: int) -> list[Any]:
        raise ConnectionError(f"exchange down (attempt {next(failures)})")

    ws.add_exchange(exchange_name="ladder", get_candles=broken)
    add_strategy(lambda symbol, when: None)
    run = listening()
    done: list[Any] = []
    ws.listen_done_live(done.append)

    async def scenario() -> None:
        clock = ws.ReplayClock(at(10), 600)
        ws.Live.background(SYMBOL, strategy_name=STRATEGY, exchange_name="ladder", clock=clock)
        while len(run.errors) < 3:
            await asyncio.sleep(0.01)
        await ws.Live.stop(SYMBOL, STRATEGY)
        while not done:
            await asyncio.sleep(0.01)

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT_SECONDS))
    assert [(status.strategy_name, status.status) for status in ws.Live.list()] == [(STRATEGY, "fulfilled")]
    assert len(run.errors) == 4


def test_a_paper_session_restarted_with_fewer_days_than_its_stored_clock_ends_at_once_saying_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ws.persist.use_memory()
    start = datetime(2024, 3, 1, tzinfo=UTC)
    add_strategy(lambda symbol, when: None, name="quiet")
    request = ws.PaperTradingRequest(
        strategy_name="quiet", symbol=SYMBOL, start=start, speed=600, days=1, session="resume"
    )
    reached = int((start + timedelta(days=2, hours=3)).timestamp() * 1000)
    # What the same session run with three days had stored when it was stopped.
    stored = {
        "last_tick": reached,
        "last_bucket": None,
        "last_signal_id": None,
        "exchange_name": "paper-demo-BTCUSDT-20240301T0000-600x",
    }
    asyncio.run(ws.persist.adapter("progress").write_value(f"{SYMBOL}:quiet", stored))
    paper = asyncio.run(ws.prepare_paper_trading(request))
    run = listening()

    async def scenario() -> None:
        async for result in ws.Live.run(
            paper.symbol,
            strategy_name=paper.strategy_name,
            exchange_name=paper.exchange_name,
            clock=paper.clock,
            until=paper.until,
        ):
            run.results.append(result)

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT_SECONDS))
    assert run.results == run.ticks == run.errors == []
    assert paper.clock.now() == start
    assert [record.getMessage() for record in caplog.records if record.name == "workstation.live"] == [
        f"live run of {SYMBOL}:quiet ends at once: its stored state had already reached 2024-03-03T03:00:00.000Z, "
        "at or past its end 2024-03-01T23:59:00.000Z"
    ]
