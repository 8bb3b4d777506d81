"""Which candles a source holds, and whether a backtest period fits them.

The first tick of a run prices with the VWAP of the 1m candles just before it, so a period cannot start on the
source's first candle: it can start ``avg_price_candles_count`` minutes later at the earliest. A period that
starts earlier, or ends after the last candle, is refused before anything runs, naming the first usable start or
the last candle (a run would otherwise fail at its first tick with an incomplete candle window).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from workstation.errors import PreparationError
from workstation.exchanges.csv import CsvCandles
from workstation.exchanges.demo import DEMO_START_MS, DemoCandles
from workstation.exchanges.stored import StoredCandles
from workstation.schemas.exchange import ExchangeSchema
from workstation.timeutil import MINUTE_MS, iso, now_ms, to_ms


@dataclass(frozen=True)
class CandleSpan:
    """The open times of the first and last 1m candle a source holds, and the source in words (for messages)."""

    first_ms: int
    last_ms: int
    source: str

    def first_usable_start_ms(self, vwap_candles: int) -> int:
        """Return the earliest tick that has ``vwap_candles`` 1m candles before it."""
        return self.first_ms + vwap_candles * MINUTE_MS


async def candle_span(exchange: ExchangeSchema, symbol: str) -> CandleSpan | None:
    """Return what ``exchange`` holds of ``symbol``, None when only asking it would tell (a live exchange).

    The demo exchange holds every minute since 2020-01-01 up to the last closed minute; a candle file holds its
    rows (it is read now, and kept); a stored exchange holds what the candle store has of the symbol.

    Raises
    ------
    PreparationError
        On ``symbol`` when a stored exchange holds no 1m candles of it (the symbols it does hold are named); on
        ``candle_file`` when the file cannot be read as candles.
    """
    candles = exchange.get_candles
    if isinstance(candles, DemoCandles):
        return CandleSpan(DEMO_START_MS, (now_ms() // MINUTE_MS - 1) * MINUTE_MS, "the demo exchange")
    if isinstance(candles, CsvCandles):
        try:
            loaded = await candles.load()
        except (OSError, ValueError) as error:
            raise PreparationError("candle_file", str(error)) from error
        if not len(loaded):
            raise PreparationError("candle_file", f"{candles.path} holds no candles")
        stamps = loaded["timestamp"]
        return CandleSpan(int(stamps[0]), int(stamps[-1]), candles.path.name)
    if isinstance(candles, StoredCandles):
        store = candles.store
        bounds = await store.worker.call(store.bounds, candles.source, symbol, "1m")
        if bounds is None:
            held = await store.worker.call(store.symbols, candles.source)
            raise PreparationError(
                "symbol",
                f"the candle store holds no 1m candles of {symbol} from {candles.source!r} "
                f"(it holds {', '.join(held) or 'none'}); download or import them first (Data menu)",
            )
        return CandleSpan(*bounds, f"the stored candles of {candles.source} {symbol}")
    return None


def check_period(span: CandleSpan, start: datetime, end: datetime, *, vwap_candles: int) -> None:
    """Refuse a period the candles of ``span`` cannot run.

    Parameters
    ----------
    span
        What the source holds.
    start, end
        The period's first and last tick (aware).
    vwap_candles
        The 1m candles the first tick prices with (``Config.avg_price_candles_count``).

    Raises
    ------
    PreparationError
        On ``start`` when it lies before the first usable start (named), on ``end`` when it lies after the last
        candle (named).
    """
    usable = span.first_usable_start_ms(vwap_candles)
    if to_ms(start) < usable:
        raise PreparationError(
            "start",
            f"{_minute(to_ms(start))} is too early for {span.source}: its first candle opens at "
            f"{_minute(span.first_ms)} and the first tick needs {vwap_candles} candles before it; "
            f"the first usable start is {_minute(usable)}",
        )
    if to_ms(end) > span.last_ms:
        raise PreparationError(
            "end", f"{_minute(to_ms(end))} is after the last candle of {span.source} ({_minute(span.last_ms)})"
        )


def _minute(timestamp: int) -> str:
    return iso(timestamp)[:16].replace("T", " ") + " UTC"
