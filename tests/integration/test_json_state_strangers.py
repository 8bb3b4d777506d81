"""Fault 19 (JSON state) of issue 13: a file whose name is not UTF-8, or a folder, inside the JSON state folder
aborted the run without naming it. The storage now leaves such strangers alone, names each once in the log, and the
run goes on with the real records.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import workstation as ws
from workstation.exchanges.aggregate import CandleWindow
from workstation.exchanges.demo import DemoCandles

SYMBOL = "BTCUSDT"
STRATEGY = "quiet"
START = datetime(2024, 3, 1, tzinfo=UTC)


def plant_strangers(state: Path) -> tuple[Path, Path, Path]:
    """A non-UTF-8 file name, a folder, and a folder named as the run's own open position record."""
    signal = state / "signal"
    signal.mkdir(parents=True)
    odd_name = os.path.join(os.fsencode(signal), b"\xff\xfe.json")
    with open(odd_name, "wb") as file:
        file.write(b"{}")
    folder = signal / "notes.json"
    folder.mkdir()
    lookalike = signal / "BTCUSDT%3Aquiet.json"
    lookalike.mkdir()
    return Path(os.fsdecode(odd_name)), folder, lookalike


def test_strangers_in_the_state_folder_are_named_once_and_left_alone_while_the_run_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    _odd, folder, lookalike = plant_strangers(state)
    ws.persist.use_json(state)
    first = int((START - timedelta(days=1)).timestamp() * 1000)
    candles = DemoCandles().candles(SYMBOL, CandleWindow(1, first, first + 2 * 86_400_000))
    clock = ws.ReplayClock(START)
    ws.add_exchange(ws.make_replay_exchange("replay", candles, clock))
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=lambda symbol, when: None)
    errors: list[Any] = []
    ws.listen_error(errors.append)

    async def run() -> list[Any]:
        until = START + timedelta(minutes=10)
        async for _ in ws.Live.run(SYMBOL, strategy_name=STRATEGY, exchange_name="replay", clock=clock, until=until):
            pass
        persisted = await ws.Live.persisted()
        await ws.persist.close_persistence()
        return persisted

    with caplog.at_level(logging.WARNING, logger="workstation.persist"):
        persisted = asyncio.run(asyncio.wait_for(run(), 60))
    assert errors == []
    assert persisted == []
    warnings = sorted(record.getMessage() for record in caplog.records if record.name == "workstation.persist")
    shown = repr(os.fsencode(state / "signal"))[2:-1]
    assert warnings == [
        f"the signal state folder holds {lookalike}, not a record: it is a folder; it is left alone",
        f"the signal state folder holds {shown}/\\xff\\xfe.json, not a record: its name is not UTF-8; it is left alone",
        f"the signal state folder holds {folder}, not a record: it is a folder; it is left alone",
    ]
    assert len(list((state / "signal").iterdir())) == 3
    assert asyncio.run(ws.persist.adapter("progress").keys()) == [f"{SYMBOL}:{STRATEGY}"]


def test_the_keys_and_values_of_a_folder_with_strangers_are_its_records(tmp_path: Path) -> None:
    state = tmp_path / "state"
    plant_strangers(state)
    ws.persist.use_json(state)

    async def scenario() -> tuple[list[str], list[Any], list[str]]:
        adapter = ws.persist.adapter("signal")
        await adapter.write_value("ETHUSDT:quiet", {"id": "a"})
        keys, values = await adapter.keys(), await adapter.values()
        corrupt = await adapter.corrupt_keys()  # type: ignore[attr-defined]
        await ws.persist.close_persistence()
        return keys, values, corrupt

    assert asyncio.run(scenario()) == (["ETHUSDT:quiet"], [{"id": "a"}], [])
