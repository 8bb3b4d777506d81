"""Order latency: from a candle closing to the order reaching the exchange, with ten strategies live on it.

Run ``python -m benchmarks.order_latency`` from the repository root. Ten strategies run live through the whole
execution chain a trader's run takes (engine → SignalBroker → OrderDesk with its SQLite journal → CcxtVenue, ccxt's
real code path) to the fake binance on 127.0.0.1. The engine's clock and the fake's market move together one candle
at a time: the benchmark moves the fake's present to the candle about to close, notes the moment (``time.monotonic``),
then moves the engine's clock past the candle's close, which is when the engine can first see it. Every strategy
enters at market on that candle (a long with its stop loss resting on the exchange; the position expires a minute
later and the strategy enters again once flat), so ten entries follow the same close. The latency of an entry is the
time from that moment to the fake exchange reading its order request (``RecordedRequest.arrived``, the same clock).
The first entry round of each run is left out (ccxt loads the markets then). Target: ``order_latency_ms``, the median
over every run, ≤ 50.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

import workstation as ws
from workstation.brokers.orders import client_order_id
from workstation.brokers.signal_broker import SignalBroker
from workstation.exchanges.api_keys import ApiCredentials
from workstation.exchanges.fake_binance import FAKE_API_KEY, FAKE_BINANCE_OPTIONS, FAKE_SECRET, ORDER, FakeBinance
from workstation.models.candles import CANDLE_DTYPE
from workstation.timeutil import from_ms

SYMBOL = "BTC/USDT"
EXCHANGE = "order-latency-replay"
STRATEGIES = 10
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
MINUTE_MS = 60_000
#: The engine starts with this many candles closed (enough for its price, the VWAP of the last five).
START_MINUTE = 60
#: Minutes replayed per run, and runs; each strategy enters every other minute (buy, expire, buy again).
MINUTES = 36
RUNS = 3


def market(count: int) -> np.ndarray:
    """Return ``count`` 1m candles from T0 opening 0.5 higher each minute, 10 either side, closing 0.25 up."""
    index = np.arange(count)
    rows = np.empty(count, dtype=CANDLE_DTYPE)
    rows["timestamp"] = T0 + index * MINUTE_MS
    rows["open"] = 42000.0 + index * 0.5
    rows["high"] = rows["open"] + 10
    rows["low"] = rows["open"] - 10
    rows["close"] = rows["open"] + 0.25
    rows["volume"] = 1.0
    return rows


def entry_signal(symbol: str, when: datetime) -> ws.Signal:
    """Return a long at market on the candle that just closed, 2 % either side, expiring after a minute."""
    minute = (int(when.timestamp() * 1000) - T0) // MINUTE_MS
    price = 42000.0 + (minute - 1) * 0.5 + 0.25
    return ws.Signal(
        position="long",
        price_take_profit=round(price * 1.02, 2),
        price_stop_loss=round(price * 0.98, 2),
        minute_estimated_time=1,
    )


async def settle(clock: ws.DrivenClock, runs: int) -> None:
    """Wait until every run has ticked and sleeps until the next minute."""
    while not clock.settled(runs):
        await asyncio.sleep(0.001)


async def measure(folder: Path) -> list[float]:
    """Replay :data:`MINUTES` candles with ten strategies live; return each measured entry's latency in ms."""
    ws.reset()
    ws.persist.use_memory()
    candles = market(START_MINUTE + MINUTES + 2)
    clock = ws.DrivenClock(from_ms(T0 + START_MINUTE * MINUTE_MS))
    ws.add_exchange(ws.make_replay_exchange(EXCHANGE, candles, clock))
    closed_at: dict[int, float] = {}
    with FakeBinance(candles, balances={"USDT": 100_000.0}, present=T0 + (START_MINUTE - 1) * MINUTE_MS) as exchange:
        venue = ws.CcxtVenue(
            "binance",
            credentials=ApiCredentials(api_key=FAKE_API_KEY, secret=FAKE_SECRET),
            api_url=exchange.url,
            enableRateLimit=False,
            **FAKE_BINANCE_OPTIONS,
        )
        desk = ws.OrderDesk(venue, limits=ws.RiskLimits(), journal_path=folder / "desk.sqlite3", clock=clock.now_ms)
        names = [f"latency-{number}" for number in range(STRATEGIES)]
        for name in names:
            ws.add_strategy(strategy_name=name, interval="1m", get_signal=entry_signal)
        closed_at[clock.now_ms()] = time.monotonic()
        for name in names:
            broker = SignalBroker(desk)
            ws.Live.background(SYMBOL, strategy_name=name, exchange_name=EXCHANGE, clock=clock, broker=broker)
        await settle(clock, STRATEGIES)
        for _ in range(MINUTES):
            moment = clock.now_ms() + MINUTE_MS
            exchange.advance_to(moment - MINUTE_MS)
            closed_at[moment] = time.monotonic()
            clock.move_to(moment)
            await settle(clock, STRATEGIES)
        ws.Live.clear()
        await asyncio.gather(*(asyncio.all_tasks() - {asyncio.current_task()}), return_exceptions=True)
        await desk.aclose()
        await venue.aclose()
        entries = {
            client_order_id(f"{name}:{SYMBOL}:{moment}", "entry"): moment for name in names for moment in closed_at
        }
        arrived = {
            request.query["newClientOrderId"]: request.arrived
            for request in exchange.requests
            if request.method == "POST" and request.path == ORDER and request.query.get("newClientOrderId") in entries
        }
    rounds = sorted({entries[order_id] for order_id in arrived})
    measured = [order_id for order_id in arrived if entries[order_id] != rounds[0]]
    return [(arrived[order_id] - closed_at[entries[order_id]]) * 1000 for order_id in measured]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.order_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help=f"runs of {MINUTES} minutes (default {RUNS})")
    args = parser.parse_args(argv)
    every: list[float] = []
    with tempfile.TemporaryDirectory(prefix="workstation-order-latency-") as home:
        for run in range(args.runs):
            folder = Path(home) / f"run-{run}"
            folder.mkdir()
            latencies = asyncio.run(measure(folder))
            every.extend(latencies)
            print(
                f"run {run + 1}: {len(latencies)} entries, median {statistics.median(latencies):.1f} ms, "
                f"p95 {np.percentile(latencies, 95):.1f} ms, max {max(latencies):.1f} ms",
                flush=True,
            )
    median, p95 = statistics.median(every), float(np.percentile(every, 95))
    print(f"order_latency_ms={median:.1f} p95_ms={p95:.1f} strategies={STRATEGIES} orders={len(every)}")


if __name__ == "__main__":
    main()
