"""A live paper run for the crash test: killed at random moments and restarted, it must end as if never killed.

Usage: ``python live_crash_child.py <state.sqlite3> <events.log>``. Every ``opened`` result and partial level is
appended to the log as one line, after the engine has persisted it. The run replays four days of demo candles
as fast as it can; ``READY`` goes to stdout once the engine is imported, ``DONE`` when the run has ended.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import workstation as ws
from workstation.exchanges.aggregate import CandleWindow
from workstation.exchanges.demo import DemoCandles

SYMBOL = "BTCUSDT"
STRATEGY = "mean-reversion"
START = datetime(2024, 3, 1, tzinfo=UTC)
DAYS = 4


async def get_signal(symbol: str, when: datetime) -> ws.Signal | None:
    closes = (await ws.get_candles(symbol, "1m", 20))["close"]
    mean = sum(closes.tolist()) / len(closes)
    last = await ws.get_average_price(symbol)
    if abs(last - mean) / mean < 0.0005:
        return None
    long = last < mean
    distance = 0.008 * last
    return ws.Signal(
        position="long" if long else "short",
        price_take_profit=last + distance if long else last - distance,
        price_stop_loss=last - distance if long else last + distance,
        minute_estimated_time=90,
    )


def main(state_path: str, log_path: str) -> None:
    ws.persist.use_sqlite(Path(state_path))
    ws.set_config(get_candles_retry_delay_ms=0)
    first = int((START - timedelta(days=1)).timestamp() * 1000)
    # A position open at `until` is still managed to its close: the replay goes on for its lifetime.
    end = int((START + timedelta(days=DAYS + 1)).timestamp() * 1000)
    candles = DemoCandles().candles(SYMBOL, CandleWindow(1, first, end))
    clock = ws.ReplayClock(START)
    ws.add_exchange(ws.make_replay_exchange("replay", candles, clock))
    ws.add_strategy(strategy_name=STRATEGY, interval="15m", get_signal=get_signal)
    log = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - one line per event, to the end

    def record(kind: str, payload: Any) -> None:
        log.write(json.dumps({"kind": kind, **payload}) + "\n")

    ws.listen_signal_live(
        lambda result: record("opened", {"id": result.signal.id}) if result.action == "opened" else None
    )
    ws.listen_partial_profit(lambda event: record("profit", {"id": event.signal.id, "level": event.level}))
    ws.listen_partial_loss(lambda event: record("loss", {"id": event.signal.id, "level": event.level}))
    print("READY", flush=True)

    async def run() -> None:
        until = START + timedelta(days=DAYS) - timedelta(minutes=1)
        async for _ in ws.Live.run(SYMBOL, strategy_name=STRATEGY, exchange_name="replay", clock=clock, until=until):
            pass
        await ws.persist.close_persistence()

    asyncio.run(run())
    print("DONE", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
