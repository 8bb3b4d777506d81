"""A live run with a broker that is killed while the broker has an order in flight (issue 16's write-ahead tries).

Usage: ``python broker_crash_child.py <state.sqlite3> <calls.log> <open | close | none>``. The run trades
``one-shot`` (signal L of SPEC §19: a market long from 00:10, its take profit reached at 00:25) on the replayed
``ladder`` to 00:40, on SQLite at ``state``, through a broker that appends every call to ``calls.log`` as one JSON
line (hook, signal id, attempt, tick) and, for the hook named, SIGKILLs the process on its first try (attempt 0):
the order went out, its answer never came back. ``DONE`` goes to stdout when the run has ended.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from fixtures import EXCHANGE, STRATEGY, SYMBOL, L, add_strategy, at, ladder  # run from its own folder

import workstation as ws


class KillingBroker:
    """Logs every call; dies in the first try of ``kill_in`` after logging it (the order is out, no answer)."""

    def __init__(self, log_path: str, kill_in: str) -> None:
        self.log = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - one line per call, to the end
        self.kill_in = kill_in

    async def _call(self, hook: str, payload: Any) -> None:
        attempt = getattr(payload, "attempt", 0)
        self.log.write(json.dumps({"hook": hook, "id": payload.signal_id, "attempt": attempt, "when": payload.when}))
        self.log.write("\n")
        if hook == self.kill_in and attempt == 0:
            os.kill(os.getpid(), signal.SIGKILL)

    async def wait_for_init(self) -> None:
        return None

    async def on_order_open(self, payload: ws.OrderOpen) -> None:
        await self._call("open", payload)

    async def on_order_close(self, payload: ws.OrderClose) -> None:
        await self._call("close", payload)

    async def on_order_check(self, payload: ws.OrderCheck) -> None:
        await self._call("check", payload)

    async def on_partial_close(self, payload: ws.BrokerPartialClose) -> None:
        await self._call("partial", payload)

    async def on_average_buy(self, payload: ws.AverageBuy) -> None:
        await self._call("average", payload)

    async def on_level_move(self, payload: ws.LevelMove) -> None:
        await self._call("level", payload)

    async def on_schedule_cancelled(self, payload: ws.ScheduleCancelled) -> None:
        await self._call("cancelled", payload)


def get_signal(symbol: str, when: Any) -> ws.Signal | None:
    """Signal L at 00:10 only: every restart of the run asks for the signals the uninterrupted run asked for."""
    return ws.Signal(**L) if when == at(10) else None


def main(state_path: str, log_path: str, kill_in: str) -> None:
    ws.persist.use_sqlite(Path(state_path))
    ws.set_config(get_candles_retry_delay_ms=0)
    clock = ws.ReplayClock(at(10))
    ws.add_exchange(ws.make_replay_exchange(EXCHANGE, ladder(steps={20: 42500}), clock))
    add_strategy(get_signal)
    broker = KillingBroker(log_path, kill_in)

    async def run() -> None:
        results = ws.Live.run(
            SYMBOL, strategy_name=STRATEGY, exchange_name=EXCHANGE, clock=clock, until=at(40), broker=broker
        )
        async for _ in results:
            pass
        await ws.persist.close_persistence()

    asyncio.run(run())
    print("DONE", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
