"""A live run's replay clock that moves the fake exchange's market along with it."""

from __future__ import annotations

from datetime import datetime

import workstation as ws
from workstation.exchanges.fake_binance import FakeBinance
from workstation.timeutil import MINUTE_MS


class MarketClock(ws.ReplayClock):
    """The run's replay clock, moving ``exchange``'s market with it: each tick's newest closed candle is the present.

    A market order sent at a tick fills at the close of the minute before it; the exchange's resting orders are
    matched against every candle passed on the way.
    """

    def __init__(self, start: datetime, exchange: FakeBinance) -> None:
        super().__init__(start)
        self.exchange = exchange

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        self.exchange.advance_to(self.now_ms() // MINUTE_MS * MINUTE_MS - MINUTE_MS)
