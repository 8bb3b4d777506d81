"""Where and when a backtest ran, kept per pair so its series can be charted after the run (docs/series.md)."""

from __future__ import annotations

from dataclasses import dataclass

from workstation.clients.exchange import ClientExchange
from workstation.config import Config
from workstation.errors import CandleWindowError
from workstation.timeutil import MINUTE_MS

__all__ = ["RunFrame", "close_at"]


@dataclass(frozen=True, slots=True)
class RunFrame:
    """The exchange, first and last tick (epoch ms) and config snapshot of the last backtest of a pair."""

    exchange_name: str
    frame_start: int
    frame_end: int
    config: Config


async def close_at(exchange: ClientExchange, symbol: str, moment: int, config: Config) -> float | None:
    """Return the close of the 1m candle open at ``moment`` (epoch ms), or None when the data lacks it.

    Parameters
    ----------
    exchange
        The backtest exchange client of the run (its cache usually holds the candle already).
    symbol
        The traded symbol.
    moment
        A tick of the frame; the candle is the one whose minute contains it.
    config
        The run's config snapshot (retries of the exchange request).

    Returns
    -------
    float | None
        The candle's close; None if the exchange has no such candle (data ends, or it is in the future).
    """
    opening = moment // MINUTE_MS * MINUTE_MS
    try:
        candles = await exchange.get_candles(symbol, "1m", 1, opening + MINUTE_MS, config)
    except CandleWindowError:
        return None
    return float(candles["close"][0])
