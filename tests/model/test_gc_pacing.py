"""Full garbage collections wait while a backtest works, headless or in the window, and come back after."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime

import numpy as np

import workstation as ws


async def flat_market(symbol: str, interval: str, since: datetime, limit: int) -> np.ndarray:
    """1m candles at 100 (high 101, low 99)."""
    first = int(since.timestamp() * 1000)
    candles = np.zeros(limit, dtype=ws.CANDLE_DTYPE)
    candles["timestamp"] = first + np.arange(limit) * 60_000
    candles["open"] = candles["close"] = 100.0
    candles["high"], candles["low"], candles["volume"] = 101.0, 99.0, 1.0
    return candles


def test_a_headless_run_defers_full_collections_to_its_end() -> None:
    before = gc.get_threshold()
    seen: list[tuple[int, int, int]] = []

    def get_signal(symbol: str, when: datetime) -> ws.Signal:
        seen.append(gc.get_threshold())
        return ws.Signal(position="long", price_take_profit=110.0, price_stop_loss=90.0, minute_estimated_time=10)

    ws.add_exchange(exchange_name="flat", get_candles=flat_market)
    ws.add_frame(
        frame_name="an-hour",
        interval="1m",
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        end_date=datetime(2024, 1, 1, 1, 0, tzinfo=UTC),
    )
    ws.add_strategy(strategy_name="always-long", interval="1m", get_signal=get_signal)

    async def run() -> int:
        backtest = ws.Backtest.run("FLAT", strategy_name="always-long", exchange_name="flat", frame_name="an-hour")
        return len([result async for result in backtest if isinstance(result, ws.ClosedResult)])

    assert asyncio.run(run()) == 6  # a position every 11 minutes over 61 minutes
    assert seen == [(before[0], before[1], ws.DEFERRED_THRESHOLD)] * 6
    assert gc.get_threshold() == before


def test_overlapping_runs_restore_the_thresholds_when_the_last_one_ends() -> None:
    before = gc.get_threshold()
    with ws.full_collections_deferred():
        with ws.full_collections_deferred():
            assert gc.get_threshold() == (before[0], before[1], ws.DEFERRED_THRESHOLD)
        assert gc.get_threshold() == (before[0], before[1], ws.DEFERRED_THRESHOLD)
    assert gc.get_threshold() == before
