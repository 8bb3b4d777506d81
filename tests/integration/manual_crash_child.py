"""A paper run a trader closes part of by hand, for the manual-command crash test (SPEC §15.6 write-ahead).

Usage: ``python manual_crash_child.py <state.sqlite3> <events.log> <reference | kill | resume>``. A short opens at
the start; at minute 100 (in profit) the trader closes 40 % of it through ``ws.Live.command``; it expires after 240
minutes. ``reference`` runs it all; ``kill`` issues the command and kills the process right after the store job
that wrote its change (before its commit event); ``resume`` restarts from the store without issuing anything.
Commit events and the command's outcome are appended to the log; ``READY`` and ``DONE`` go to stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from live_crash_child import die_in  # the child runs as a script from its own folder

import workstation as ws
from workstation.exchanges.aggregate import CandleWindow
from workstation.exchanges.demo import DemoCandles
from workstation.timeutil import MINUTE_MS, to_ms

SYMBOL = "BTCUSDT"
STRATEGY = "short-by-hand"
START = datetime(2024, 3, 1, tzinfo=UTC)
HOLD_MS = to_ms(START) + 100 * MINUTE_MS


async def get_signal(symbol: str, when: datetime) -> ws.Signal | None:
    if when != START:
        return None
    price = await ws.get_average_price(symbol)
    return ws.Signal(position="short", price_take_profit=price * 0.8, price_stop_loss=price * 1.2,
                     minute_estimated_time=240)  # fmt: skip


def main(state_path: str, log_path: str, mode: str) -> None:
    ws.persist.use_sqlite(Path(state_path))
    ws.set_config(get_candles_retry_delay_ms=0)
    if mode == "kill":
        die_in("command:1")
    first = to_ms(START - timedelta(days=1))
    candles = DemoCandles().candles(SYMBOL, CandleWindow(1, first, to_ms(START + timedelta(hours=6))))
    clock = ws.ReplayClock(START)
    ws.add_exchange(ws.make_replay_exchange("replay", candles, clock))
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=get_signal)
    log = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - one line per event, to the end

    def record(kind: str, payload: dict[str, Any]) -> None:
        log.write(json.dumps({"kind": kind, **payload}) + "\n")

    ws.listen_commit(lambda event: record("commit", {"action": event.action, "when": event.when}))
    issued: list[asyncio.Future[None]] = []

    async def close_part() -> None:
        outcome = await ws.Live.command(SYMBOL, STRATEGY, ws.ManualCommand(action="close_part", percent=40))
        record("outcome", outcome.model_dump())

    def at_the_minute(result: Any) -> None:
        if mode != "resume" and result.timestamp >= HOLD_MS and not issued:
            issued.append(asyncio.ensure_future(close_part()))

    ws.listen_signal_live(at_the_minute)

    async def run() -> None:
        for entity in ("signal", "schedule", "closed", "progress", "partial", "risk", "management", "pause"):
            await ws.persist.adapter(entity).wait_for_init()
        print("READY", flush=True)
        until = START + timedelta(hours=3)
        async for _ in ws.Live.run(SYMBOL, strategy_name=STRATEGY, exchange_name="replay", clock=clock, until=until):
            pass
        await asyncio.gather(*issued)
        await ws.persist.close_persistence()

    asyncio.run(run())
    print("DONE", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
