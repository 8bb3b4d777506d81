"""A live paper run for the crash test: killed at random moments and restarted, it must end as if never killed.

Usage: ``python live_crash_child.py <state.sqlite3> <events.log> [fill:N | close:N | command:N | pause:N]``
(``CRASH_TEST_DAYS``: how many days, 4 unless set; ``CRASH_TEST_STRATEGY``: ``mean-reversion``, limit orders, unless
set to ``managed``, the peer's managed strategy: market entries whose positions its callbacks manage with every
command). Every ``opened`` result, partial level, position command and announced close or cancel is appended to the
log as one line, after the engine has persisted it. The run replays days of demo candles as fast as it can;
``READY`` goes to stdout once the state store is open (so a kill after it hits the run, not the start-up), ``DONE``
when the run has ended.

``fill:N`` makes the process kill itself right after the N-th store job that saved a position while a limit order
was stored (a fill: the position's write and the order's removal, one transaction or two writes); ``close:N`` right
after the N-th store job that saved a close or cancel not yet announced (before anyone could hear of it);
``command:N`` right after the N-th store job that changed a stored open position (a tick's commands, before their
events); ``pause:N`` right after the N-th store job that flipped the pause flag (before the pause was announced).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from live_managed import add_managed_strategy  # the child runs as a script from its own folder

import workstation as ws
from workstation.exchanges.aggregate import CandleWindow
from workstation.exchanges.demo import DemoCandles
from workstation.persist.sqlite import SqliteDatabase

SYMBOL = "BTCUSDT"
STRATEGY = os.environ.get("CRASH_TEST_STRATEGY", "mean-reversion")
START = datetime(2024, 3, 1, tzinfo=UTC)
#: Days of market the run replays; the storm of the slow test needs more than the suite's dozen kills.
DAYS = int(os.environ.get("CRASH_TEST_DAYS", "4"))
T = TypeVar("T")


async def get_signal(symbol: str, when: datetime) -> ws.Signal | None:
    closes = (await ws.get_candles(symbol, "1m", 20))["close"]
    mean = sum(closes.tolist()) / len(closes)
    last = await ws.get_average_price(symbol)
    if abs(last - mean) / mean < 0.0005:
        return None
    long = last < mean
    distance = 0.008 * last
    # A limit order a little better than the market, so the run has many fills.
    price_open = last * (0.9995 if long else 1.0005)
    return ws.Signal(
        position="long" if long else "short",
        price_open=price_open,
        price_take_profit=price_open + distance if long else price_open - distance,
        price_stop_loss=price_open - distance if long else price_open + distance,
        minute_estimated_time=90,
    )


def _count(connection: sqlite3.Connection, sql: str) -> int:
    (count,) = connection.execute(sql).fetchone()
    return int(count)


def _without_excursions(value: str) -> Any:
    record = json.loads(value)
    if isinstance(record, dict):
        for holder in (record, record.get("signal")):
            if isinstance(holder, dict):
                holder.pop("peak_profit", None)
                holder.pop("max_drawdown", None)
    return record


def die_in(moment: str) -> None:
    """Kill this process right after the store job that makes the ``moment`` (``fill:N`` or ``close:N``)."""
    kind, _, number = moment.partition(":")
    seen = 0
    run = SqliteDatabase.run

    def fill_waits(connection: sqlite3.Connection) -> bool:
        return _count(connection, "SELECT count(*) FROM records WHERE entity = 'schedule'") == 1 and not _count(
            connection, "SELECT count(*) FROM records WHERE entity = 'signal'"
        )

    def stored(connection: sqlite3.Connection, entity: str) -> list[Any]:
        rows = connection.execute("SELECT key, value FROM records WHERE entity = ? ORDER BY key", (entity,)).fetchall()
        # A new peak or fall of a position (its excursions) is written with its tick, and is no command's change.
        return [(key, _without_excursions(value)) for key, value in rows]

    def unannounced(connection: sqlite3.Connection) -> int:
        sql = "SELECT count(*) FROM records WHERE entity = 'closed' AND value LIKE '%\"announced\": false%'"
        return _count(connection, sql)

    async def run_then_die(self: SqliteDatabase, job: Callable[[sqlite3.Connection], T]) -> T:
        def watched(connection: sqlite3.Connection) -> T:
            nonlocal seen
            if kind == "fill":
                before = fill_waits(connection)
                result = job(connection)
                made = before and _count(connection, "SELECT count(*) FROM records WHERE entity = 'signal'") == 1
            elif kind in ("command", "pause"):
                entity = "signal" if kind == "command" else "pause"
                before_records = stored(connection, entity)
                result = job(connection)
                after = stored(connection, entity)
                # A command changes a stored position (not an open or a close); a pause flips the stored flag.
                made = after != before_records and (kind == "pause" or bool(before_records and after))
            else:
                before_count = unannounced(connection)
                result = job(connection)
                made = unannounced(connection) > before_count
            if made:
                seen += 1
                if seen == int(number):
                    os.kill(os.getpid(), signal.SIGKILL)
            return result

        return await run(self, watched)

    SqliteDatabase.run = run_then_die  # type: ignore[method-assign]


def main(state_path: str, log_path: str, moment: str | None) -> None:
    ws.persist.use_sqlite(Path(state_path))
    ws.set_config(get_candles_retry_delay_ms=0)
    if moment is not None:
        die_in(moment)
    first = int((START - timedelta(days=1)).timestamp() * 1000)
    # A position open at `until` is still managed to its close: the replay goes on for its lifetime.
    end = int((START + timedelta(days=DAYS + 1)).timestamp() * 1000)
    candles = DemoCandles().candles(SYMBOL, CandleWindow(1, first, end))
    clock = ws.ReplayClock(START)
    ws.add_exchange(ws.make_replay_exchange("replay", candles, clock))
    if STRATEGY == "managed":
        add_managed_strategy(STRATEGY)
    else:
        ws.add_strategy(strategy_name=STRATEGY, interval="15m", get_signal=get_signal)
    log = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - one line per event, to the end

    def record(kind: str, payload: Any) -> None:
        log.write(json.dumps({"kind": kind, **payload}) + "\n")

    def on_result(result: Any) -> None:
        if result.action in ("opened", "closed", "cancelled"):
            record(result.action, {"id": result.signal.id})

    ws.listen_signal_live(on_result)
    ws.listen_partial_profit(lambda event: record("profit", {"id": event.signal.id, "level": event.level}))
    ws.listen_partial_loss(lambda event: record("loss", {"id": event.signal.id, "level": event.level}))
    ws.listen_commit(
        lambda event: record("commit", {"id": event.signal.id, "action": event.action, "when": event.when})
    )

    async def run() -> None:
        for entity in ("signal", "schedule", "closed", "progress", "partial", "risk", "management", "pause"):
            await ws.persist.adapter(entity).wait_for_init()
        print("READY", flush=True)
        until = START + timedelta(days=DAYS) - timedelta(minutes=1)
        async for _ in ws.Live.run(SYMBOL, strategy_name=STRATEGY, exchange_name="replay", clock=clock, until=until):
            pass
        await ws.persist.close_persistence()

    asyncio.run(run())
    print("DONE", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
