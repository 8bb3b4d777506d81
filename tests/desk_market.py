"""A real order desk on a real paper venue over fixed 1m candles, for the desk's window tests.

Candle ``k`` of BTC/USDT opens at ``T0 + k`` minutes with ``open = 42000 + k / 2``, ``high = open + 10``,
``low = open - 10``, ``close = open + 0.25`` (all exact in binary). The clock starts 30 s into minute 60, so candles
0-59 are closed and a market order fills at candle 59's close, 42029.75. Fee 0.1 %, no slippage; the account starts
with 1000 USDT.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import workstation as ws
from workstation.brokers.paper_venue import PaperVenue
from workstation.models.candles import CANDLE_DTYPE

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
MINUTE = 60_000
SYMBOL = "BTC/USDT"
CANDLE_COUNT = 240
#: The close of candle 59, the newest closed one at the start: what a market order fills at.
FIRST_CLOSE = 42029.75


def candles(count: int = CANDLE_COUNT, first: int = 0, rise: float = 0.5) -> np.ndarray:
    """Return ``count`` of the market's 1m candles from candle ``first`` (see the module's docstring; a negative
    ``first`` starts before T0, as the history a live chart reads), opening ``rise`` higher each minute."""
    index = np.arange(first, first + count)
    rows = np.empty(count, dtype=CANDLE_DTYPE)
    rows["timestamp"] = T0 + index * MINUTE
    rows["open"] = 42000.0 + index * rise
    rows["high"] = rows["open"] + 10
    rows["low"] = rows["open"] - 10
    rows["close"] = rows["open"] + 0.25
    rows["volume"] = 1.0 + index % 7
    return rows


class Market:
    """The candles as a live exchange serves them: only the ones closed at ``now``."""

    def __init__(self) -> None:
        self.candles = candles()
        self.now = T0 + 60 * MINUTE + 30_000

    def at_minute(self, minute: int) -> None:
        """Move the clock to 30 s into ``minute``."""
        self.now = T0 + minute * MINUTE + 30_000

    def closed(self) -> np.ndarray:
        """Return the candles closed now."""
        result: np.ndarray = self.candles[self.candles["timestamp"] + MINUTE <= self.now]
        return result

    async def read(self, symbol: str, since: int, until: int) -> np.ndarray:
        """Serve ``symbol``'s closed candles opening in ``[since, until)``."""
        stamps = self.candles["timestamp"]
        served: np.ndarray = self.candles[(stamps >= since) & (stamps < min(until, self.now // MINUTE * MINUTE))]
        return served


def paper_desk(
    market: Market, journal: Path, *, limits: ws.RiskLimits | None = None, usdt: float = 1000.0
) -> tuple[ws.OrderDesk, PaperVenue]:
    """Return a desk on a paper venue over ``market``, journalled in ``journal``."""
    venue = PaperVenue(
        candles=market.read, clock=lambda: market.now, balances={"USDT": usdt}, percent_fee=0.1, percent_slippage=0.0
    )
    desk = ws.OrderDesk(venue, limits=limits or ws.RiskLimits(), journal_path=journal, clock=lambda: market.now)
    return desk, venue
