"""The profile benchmark's parts: the naive crossover, the callback clock and the engine's share of a profile."""

from __future__ import annotations

import asyncio
import cProfile
import json
import pstats
from typing import Any

import pytest
from data_paths import BTC_1D_CSV, EXPECTED

from benchmarks.naive_sma import average
from benchmarks.profile import StrategyClock, child_main, engine_hotspots, run_year
from workstation.parity import TRADE_FIELDS, compare_rows, read_rows
from workstation.timeutil import MINUTE_MS


def test_average_sums_from_the_left_as_the_example_does() -> None:
    assert average([0.1, 0.2, 0.3]) == (0.1 + 0.2 + 0.3) / 3
    assert average([1e16, 1.0, -1e16]) == 0.0


def test_the_naive_crossover_makes_the_examples_trades_on_the_peers_day() -> None:
    example = asyncio.run(run_year(BTC_1D_CSV, "example", 0.0))
    naive = asyncio.run(run_year(BTC_1D_CSV, "naive", 0.0))
    assert compare_rows(naive.rows, example.rows, TRADE_FIELDS) == []
    assert compare_rows(example.rows, read_rows(EXPECTED / "market_1d.jsonl"), TRADE_FIELDS) == []
    assert (naive.clock.signal_calls, naive.opened) == (example.clock.signal_calls, example.opened)
    assert naive.clock.callbacks == naive.clock.signal_calls
    assert naive.clock.signal_calls == naive.clock.flat_calls + naive.opened
    assert naive.position_minutes == sum(
        (row["closeTimestamp"] - row["pendingAt"]) // MINUTE_MS for row in read_rows(EXPECTED / "market_1d.jsonl")
    )


def test_the_clock_counts_every_callback_of_a_managed_run_and_sorts_the_engines_stretches() -> None:
    run = asyncio.run(run_year(BTC_1D_CSV, "managed", 0.0))
    clock = run.clock
    assert clock.callbacks > clock.signal_calls > clock.flat_calls > 0
    assert clock.signal_calls - clock.flat_calls == run.opened
    assert set(clock.engine) == {"start", "flat", "position", "end"}
    assert clock.engine["position"] > 0 and clock.engine["flat"] > 0


def test_the_child_prints_one_runs_wall_time_split_into_strategy_and_engine(
    capsys: pytest.CaptureFixture[str],
) -> None:
    child_main(BTC_1D_CSV, "example")
    figures = json.loads(capsys.readouterr().out)
    assert sorted(figures) == ["engine_seconds", "strategy_seconds", "wall_seconds"]
    assert 0 < figures["strategy_seconds"] < figures["wall_seconds"]
    assert 0 < figures["engine_seconds"] < figures["wall_seconds"]


def test_a_timed_callback_returns_its_result_and_a_sync_one_is_refused() -> None:
    clock = StrategyClock()
    clock.start()

    async def get_signal(symbol: str, when: int) -> str:
        return f"{symbol}@{when}"

    timed = clock.timed("get_signal", get_signal)
    assert asyncio.run(timed("BTCUSDT", 5)) == "BTCUSDT@5"
    assert (clock.callbacks, clock.signal_calls, clock.flat_calls) == (1, 1, 0)
    with pytest.raises(TypeError, match=r"^on_idle: the strategies profiled here have async callbacks, got "):
        clock.timed("on_idle", print)


# The "strategy" lives in a file of its own name, as a strategy module does; the loop in this file is the "engine".
STRATEGY_FILE = "strategy_under_test.py"
_strategy: dict[str, Any] = {}
exec(compile("def helper(values):\n    return sum(sorted(values))\n", STRATEGY_FILE, "exec"), _strategy)


def _engine_loop() -> int:
    total = 0
    for _ in range(50):
        total += _strategy["helper"](list(range(100)))
        total += len(sorted(range(10)))
    return total


def test_engine_hotspots_leave_out_the_strategys_frames_and_its_share_of_built_ins() -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    _engine_loop()
    profiler.disable()
    hotspots = {hotspot.function: hotspot for hotspot in engine_hotspots(pstats.Stats(profiler), {STRATEGY_FILE})}
    assert not any("helper" in name for name in hotspots)
    # sorted() ran 50 times from the engine's loop and 50 from the strategy: only the engine's 50 are kept.
    assert hotspots["<built-in method builtins.sorted>"].calls == 50
    assert "<built-in method builtins.sum>" not in hotspots
    engine_loop = f"tests/model/test_benchmark_profile.py:{_engine_loop.__code__.co_firstlineno}(_engine_loop)"
    assert hotspots[engine_loop].calls == 1
