"""A live run trading on the fake binance for the orders crash test: killed at random moments and restarted.

Usage: ``python orders_crash_child.py <folder> <exchange url> [intent:N]``. The run trades ``dipper`` (long only:
a market entry, or a limit buy a little under the market every third signal, with a stop loss the exchange keeps
and a take profit the engine watches) on the demo market's BTC/USDT, replayed as fast as it can from `START` to
`END`, through the pieces a real run uses: ``ws.Live.run(broker=SignalBroker(OrderDesk(CcxtVenue(...))))``, the
venue pointed at the fake binance at ``exchange url``. Its signed requests carry the replay clock's time, so the
exchange (``follow_client_time``) fills at the market time the engine decided at, whatever the wall clock.

The engine's state (``state.sqlite3``) and the desk's journal (``desk.sqlite3``) live in ``folder``. At every start,
before the run resumes, the desk reconciles the engine's held positions with the exchange: its stored positions and
limit orders (``ws.Live.persisted()``) and an open it has not confirmed, which it tries again first
(``unconfirmed_live_opens``). The outcome goes to ``reconciliations.log`` as one JSON line; a disagreement ends the
child with exit status 3. ``READY`` goes to stdout once the stores are open, ``DONE`` when the run has ended; then
``summary.json`` holds what the desk saw.

``intent:N`` makes the process kill itself right after the N-th order the desk wrote to its journal before sending
it (the intent is on disk, the venue has not seen the order).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

import workstation as ws
from workstation.brokers.ccxt_venue import CcxtVenue
from workstation.desk.journal import JournalEntry, OrderJournal
from workstation.exchanges.aggregate import CandleWindow
from workstation.exchanges.api_keys import ApiCredentials
from workstation.exchanges.demo import DemoCandles
from workstation.exchanges.fake_binance import FAKE_API_KEY, FAKE_BINANCE_OPTIONS, FAKE_SECRET
from workstation.services.live_records import unconfirmed_live_opens
from workstation.timeutil import to_ms

SYMBOL = "BTC/USDT"
STRATEGY = "dipper"
START = datetime(2024, 3, 1, tzinfo=UTC)
#: The last tick that may open a position; the one held then is managed to its close (``ORDERS_CRASH_HOURS``: how
#: many hours after `START`, 16 unless set; at most four days).
END = START + timedelta(hours=int(os.environ.get("ORDERS_CRASH_HOURS", "16")))
MINUTE_MS = 60_000
#: What the account holds at the start.
BALANCES = {"USDT": 10_000.0}
ENGINE_ENTITIES = ("signal", "schedule", "closed", "progress", "partial", "risk", "management", "pause", "broker")


def market() -> np.ndarray:
    """Return the replayed 1m candles of BTC/USDT: a day of history before `START`, six days from it."""
    first = to_ms(START - timedelta(days=1))
    return DemoCandles().candles(SYMBOL, CandleWindow(1, first, to_ms(START + timedelta(days=6))))


async def get_signal(symbol: str, when: datetime) -> ws.Signal | None:
    """Go long after a dip under the 20-minute mean; every third signal with a limit buy under the market."""
    closes = (await ws.get_candles(symbol, "1m", 20))["close"]
    mean = float(np.mean(closes))
    last = await ws.get_average_price(symbol)
    if last > mean * 0.9995:
        return None
    limit = when.minute % 3 == 0
    price = last * 0.9992 if limit else last
    return ws.Signal(
        position="long",
        price_open=price if limit else None,
        price_take_profit=price * 1.007,
        price_stop_loss=price * 0.993,
        minute_estimated_time=60,
    )


def die_after_intent(number: int) -> None:
    """Kill this process right after the ``number``-th order intent the desk writes (before the venue sees it)."""
    seen = 0
    write_entry = OrderJournal.write_entry

    async def write_then_die(self: OrderJournal, entry: JournalEntry) -> None:
        nonlocal seen
        await write_entry(self, entry)
        if entry.state == "pending":
            seen += 1
            if seen == number:
                os.kill(os.getpid(), signal.SIGKILL)

    OrderJournal.write_entry = write_then_die  # type: ignore[method-assign]


def main(folder: Path, url: str, moment: str | None) -> None:
    ws.persist.use_sqlite(folder / "state.sqlite3")
    ws.set_config(get_candles_retry_delay_ms=0)
    if moment is not None:
        kind, _, number = moment.partition(":")
        assert kind == "intent", moment
        die_after_intent(int(number))
    clock = ws.ReplayClock(START)
    ws.add_exchange(ws.make_replay_exchange("replayed", market(), clock))
    ws.add_strategy(strategy_name=STRATEGY, interval="5m", get_signal=get_signal)
    venue = CcxtVenue(
        "binance",
        credentials=ApiCredentials(api_key=FAKE_API_KEY, secret=FAKE_SECRET),
        api_url=url,
        clock=clock.now_ms,
        enableRateLimit=False,
        **FAKE_BINANCE_OPTIONS,
    )
    desk = ws.OrderDesk(venue, limits=ws.RiskLimits(), journal_path=folder / "desk.sqlite3", clock=clock.now_ms)

    async def run() -> None:
        for entity in ENGINE_ENTITIES:
            await ws.persist.adapter(entity).wait_for_init()
        print("READY", flush=True)
        # The engine holds its stored positions and limit orders, and an open it tries again first (killed inside
        # the open gate): what the exchange filled of it is the engine's.
        held = await desk.held_positions(await ws.Live.persisted(), await unconfirmed_live_opens())
        reconciliation = await desk.reconcile(held)
        balances = {balance.asset: balance.total for balance in desk.balances()}
        line = {
            "agrees": reconciliation.agrees,
            "disagreements": reconciliation.describe(),
            "held": [[position.signal_id, position.amount, list(position.order_ids)] for position in held],
            "btc": balances.get("BTC", 0.0),
        }
        with (folder / "reconciliations.log").open("a", encoding="utf-8") as log:
            log.write(json.dumps(line) + "\n")
        if not reconciliation.agrees:
            print(reconciliation.describe(), file=sys.stderr, flush=True)
            os._exit(3)
        broker = ws.SignalBroker(desk)
        results = ws.Live.run(
            SYMBOL, strategy_name=STRATEGY, exchange_name="replayed", clock=clock, until=END, broker=broker
        )
        async for _ in results:
            pass
        await desk.refresh()
        summary: dict[str, Any] = {
            "fills": sorted(fill.trade_id for fill in desk.fills()),
            "orders": sorted(
                [order.client_order_id, order.status, order.filled, order.signal_id] for order in desk.orders()
            ),
            "unclaimed": [order.client_order_id for order in broker.unclaimed_fills],
        }
        (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
        await desk.aclose()
        await venue.aclose()
        await ws.persist.close_persistence()

    asyncio.run(run())
    print("DONE", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
