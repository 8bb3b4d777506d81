"""Live runs trading on the fake binance through the whole chain: engine → SignalBroker → OrderDesk → CcxtVenue.

The market is tests/desk_market.py's candles (candle ``k`` opens at ``T0 + k`` minutes at ``42000 + k / 2`` and
closes 0.25 higher), served to the engine by a replay exchange and to the orders by the fake binance on 127.0.0.1.
The test moves one ``ws.DrivenClock`` minute by minute; each move also moves the fake's present to the candle that
just closed, so a market order fills at the close of the newest candle the engine has seen. Every strategy sends its
orders through a ``SignalBroker`` of its own over the one desk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from desk_market import MINUTE, T0, candles

import workstation as ws
from workstation.brokers.signal_broker import SignalBroker
from workstation.exchanges.api_keys import ApiCredentials
from workstation.exchanges.fake_binance import FAKE_BINANCE_OPTIONS, FakeBinance
from workstation.timeutil import from_ms

API_KEY = "DESK-LIVE-KEY-0b7d"
SECRET = "DESK-LIVE-SECRET-93e1"
EXCHANGE = "fake-binance-replay"
SYMBOL = "BTC/USDT"
#: The engine starts at minute 60 (candles 0-59 closed).
START_MINUTE = 60


def close_of(minute: int) -> float:
    """Return the close of the candle opening at ``minute``: what a market order fills at once it closed."""
    return 42000.0 + minute / 2 + 0.25


@dataclass
class DeskSession:
    """The fake exchange, the desk over it, the clock and the live runs started on them."""

    exchange: FakeBinance
    desk: ws.OrderDesk
    venue: ws.CcxtVenue
    clock: ws.DrivenClock
    stops: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list)

    @property
    def minute(self) -> int:
        """The minute the clock is at (candles before it are closed)."""
        return (self.clock.now_ms() - T0) // MINUTE

    async def step(self, minutes: int = 1) -> None:
        """Close the next candle ``minutes`` times: the fake's market moves, the runs tick, and all settle."""
        for _ in range(minutes):
            moment = T0 + (self.minute + 1) * MINUTE
            self.exchange.advance_to(moment - MINUTE)
            self.clock.move_to(moment)
            await self.settle()

    async def settle(self, timeout_s: float = 20.0) -> None:
        """Wait until every run is asleep until the next minute."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not self.clock.settled(len(self.stops)):
            if loop.time() > deadline:
                raise AssertionError(f"the runs did not settle within {timeout_s:g} s at minute {self.minute}")
            await asyncio.sleep(0.005)

    def start(self, strategy_names: Sequence[str]) -> None:
        """Start a live run of each strategy on :data:`SYMBOL`, each through a SignalBroker of its own."""
        for name in strategy_names:
            self.stops.append(
                ws.Live.background(
                    SYMBOL,
                    strategy_name=name,
                    exchange_name=EXCHANGE,
                    clock=self.clock,
                    broker=SignalBroker(self.desk),
                )
            )

    async def stop(self) -> None:
        """End every run (cancelled: a graceful stop would manage open positions to their close) and close the desk
        and the venue."""
        ws.Live.clear()
        await asyncio.gather(*(asyncio.all_tasks() - {asyncio.current_task()}), return_exceptions=True)
        await self.desk.aclose()
        await self.venue.aclose()

    def posted_orders(self, since: float = 0.0) -> list[dict[str, str]]:
        """Return the parameters of every new order that reached the fake exchange after ``since`` (monotonic)."""
        return [
            request.query
            for request in list(self.exchange.requests)
            if request.method == "POST" and request.path == "/api/v3/order" and request.arrived > since
        ]


@contextmanager
def fake_exchange(market: np.ndarray | None = None, usdt: float = 10_000.0) -> Iterator[FakeBinance]:
    """Serve ``market`` (by default tests/desk_market.py's candles) on the fake binance on 127.0.0.1 at the start
    minute, with ``usdt`` in the account."""
    with FakeBinance(
        candles() if market is None else market,
        balances={"USDT": usdt},
        api_key=API_KEY,
        secret=SECRET,
        present=T0 + (START_MINUTE - 1) * MINUTE,
    ) as exchange:
        yield exchange


def open_session(exchange: FakeBinance, journal: Path, limits: ws.RiskLimits | None = None) -> DeskSession:
    """Register the replay exchange of ``exchange``'s candles on a new clock; return a desk on a binance venue there.

    Call inside the event loop the runs will use; the engine's state is kept in memory.
    """
    ws.persist.use_memory()
    clock = ws.DrivenClock(from_ms(T0 + START_MINUTE * MINUTE))
    ws.add_exchange(ws.make_replay_exchange(EXCHANGE, exchange.candles, clock))
    venue = ws.CcxtVenue(
        "binance",
        credentials=ApiCredentials(api_key=API_KEY, secret=SECRET),
        api_url=exchange.url,
        enableRateLimit=False,
        **FAKE_BINANCE_OPTIONS,
    )
    desk = ws.OrderDesk(venue, limits=limits or ws.RiskLimits(), journal_path=journal, clock=clock.now_ms)
    session = DeskSession(exchange=exchange, desk=desk, venue=venue, clock=clock)
    ws.listen_error(session.errors.append)
    ws.listen_signal_live(session.results.append)
    return session


class Signals:
    """``get_signal`` returning the signals of a list, one per call while they last (None is a quiet tick)."""

    def __init__(self, *signals: ws.Signal | None) -> None:
        self.signals = list(signals)

    def __call__(self, symbol: str, when: datetime) -> ws.Signal | None:
        return self.signals.pop(0) if self.signals else None


def long_at_market(minute: int, lifetime: int = 240) -> ws.Signal:
    """A long at market after candle ``minute - 1`` closed: take profit 2 % above, stop loss 2 % below."""
    price = close_of(minute - 1)
    return ws.Signal(
        position="long",
        price_take_profit=round(price * 1.02, 2),
        price_stop_loss=round(price * 0.98, 2),
        minute_estimated_time=lifetime,
    )


def long_limit(minute: int, below: float = 0.01, lifetime: int = 240) -> ws.Signal:
    """A long limit order ``below`` (a fraction) under candle ``minute - 1``'s close: it rests on the exchange."""
    price_open = round(close_of(minute - 1) * (1 - below), 2)
    return ws.Signal(
        position="long",
        price_open=price_open,
        price_take_profit=round(price_open * 1.02, 2),
        price_stop_loss=round(price_open * 0.98, 2),
        minute_estimated_time=lifetime,
    )


def add_strategies(get_signals: Sequence[Signals], prefix: str = "desk") -> list[str]:
    """Register one 1m strategy per ``get_signal``, named ``<prefix>-<n>``; return their names."""
    names = []
    for number, get_signal in enumerate(get_signals):
        name = f"{prefix}-{number}"
        ws.add_strategy(strategy_name=name, interval="1m", get_signal=get_signal)
        names.append(name)
    return names
