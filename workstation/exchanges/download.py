"""Download a period of candle history from a ccxt exchange into the candle store, resumably.

Each page is written to the store the moment it arrives, so a download that is cancelled (or fails) keeps what it
got: the next download of the same period fetches only what is still missing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from workstation import registry
from workstation.config import get_config
from workstation.exchanges.candle_store import CandleStore
from workstation.exchanges.ccxt_exchange import CcxtCandles
from workstation.timeutil import CANDLE_INTERVAL_MINUTES, MINUTE_MS, iso, now_ms

__all__ = ["DownloadProgress", "DownloadSummary", "SymbolDownload", "download_history", "refetch_history"]

logger = logging.getLogger("workstation.exchange")


class DownloadProgress(BaseModel):
    """How far the download of one symbol has come.

    ``total_candles`` is the number of candle slots (interval steps) in the period; ``fetched_candles`` the slots
    the store now covers, whether they hold a candle or were answered as a gap. ``progress`` is their ratio
    (1.0 for an empty period); ``done`` is True on the symbol's last report.
    """

    model_config = ConfigDict(frozen=True)

    symbol: str
    fetched_candles: int
    total_candles: int
    progress: float
    done: bool


#: What hears a download's progress: called with a `DownloadProgress` when a symbol starts, after each page, and when
#: it is done.
OnProgress = Callable[[DownloadProgress], None]


class SymbolDownload(BaseModel):
    """What one symbol's download did: candles fetched from the exchange, requests made, slots already stored."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    downloaded_candles: int
    requests: int
    already_stored: int


class DownloadSummary(BaseModel):
    """The result of `download_history`: the period actually downloaded (epoch ms, ``[start, end)``) per symbol."""

    model_config = ConfigDict(frozen=True)

    exchange_name: str
    interval: str
    start: int
    end: int
    symbols: list[SymbolDownload]

    @property
    def downloaded_candles(self) -> int:
        """Return the candles fetched from the exchange over all symbols."""
        return sum(symbol.downloaded_candles for symbol in self.symbols)


async def download_history(
    exchange_name: str,
    symbols: list[str],
    interval: str,
    start: int,
    end: int,
    *,
    store: CandleStore,
    on_progress: OnProgress,
) -> DownloadSummary:
    """Fill the candle store with the candles of ``[start, end)`` for each symbol, one symbol after the other.

    Only ranges the store has not covered are fetched, page by page, each page stored as it arrives; cancel the
    task to stop, and call again to resume. Each page is tried ``get_candles_retry_count`` times, pausing
    ``get_candles_retry_delay_ms`` between tries.

    Parameters
    ----------
    exchange_name
        A registered exchange made by `make_ccxt_exchange`.
    symbols
        The symbols to download, e.g. ``["BTC/USDT"]``.
    interval
        A candle interval (``1m`` ... ``1d``).
    start, end
        Epoch ms; ``start`` is rounded down and ``end`` up to the interval's grid, and ``end`` is cut at the candle
        still forming now.
    store
        The store to fill.
    on_progress
        Called with a `DownloadProgress` when a symbol starts, after each page, and when it is done.

    Returns
    -------
    DownloadSummary
        What was downloaded.

    Raises
    ------
    SchemaNotFoundError
        If no exchange is registered under ``exchange_name``.
    TypeError
        If that exchange is not a ccxt exchange.
    ValueError
        For an unknown interval, no symbols, or ``end`` not after ``start``.
    """
    source = _ccxt_source(exchange_name, "download_history")
    first, last = _grid_period(interval, start, end)
    if not symbols or not all(isinstance(symbol, str) and symbol for symbol in symbols):
        raise ValueError(f"symbols must be a non-empty list of non-empty strings, got {symbols!r}")
    config = get_config()
    results = [
        await _download_symbol(
            source,
            symbol,
            interval,
            first,
            last,
            store=store,
            on_progress=on_progress,
            attempts=config.get_candles_retry_count,
            retry_delay_ms=config.get_candles_retry_delay_ms,
        )
        for symbol in symbols
    ]
    return DownloadSummary(exchange_name=exchange_name, interval=interval, start=first, end=last, symbols=results)


async def refetch_history(
    exchange_name: str, symbol: str, interval: str, start: int, end: int, *, store: CandleStore, on_progress: OnProgress
) -> DownloadSummary:
    """Forget what ``store`` holds of ``[start, end)`` for one series, then download that period again.

    For a series an exchange once answered wrongly (a gap that is not one, a bad candle stored by an older version):
    the candles, coverage and gaps of the period go, and `download_history` fetches it afresh. The parameters,
    result and errors are those of `download_history`; nothing is forgotten when they are refused.
    """
    _ccxt_source(exchange_name, "refetch_history")
    first, last = _grid_period(interval, start, end)
    forgotten = await store.worker.call(store.forget, exchange_name, symbol, interval, first, last)
    logger.info(
        "forgot %d stored %s candles of %s %s from %s to %s to fetch them again",
        forgotten,
        interval,
        exchange_name,
        symbol,
        iso(first),
        iso(last),
    )
    return await download_history(exchange_name, [symbol], interval, start, end, store=store, on_progress=on_progress)


def _ccxt_source(exchange_name: str, source: str) -> CcxtCandles:
    candles = registry.exchanges.get(exchange_name, source).get_candles
    if not isinstance(candles, CcxtCandles):
        raise TypeError(
            f'exchange "{exchange_name}" is not a ccxt exchange (make_ccxt_exchange); only those can download history'
        )
    return candles


def _grid_period(interval: str, start: int, end: int) -> tuple[int, int]:
    """Return ``[start, end)`` widened to the interval's grid and cut at the candle still forming."""
    minutes = CANDLE_INTERVAL_MINUTES.get(interval)
    if minutes is None:
        raise ValueError(f"interval must be one of {', '.join(CANDLE_INTERVAL_MINUTES)}, got {interval!r}")
    if end <= start:
        raise ValueError(f"end ({iso(end)}) must be after start ({iso(start)})")
    step = minutes * MINUTE_MS
    first = start // step * step
    return first, max(first, min(-(-end // step) * step, now_ms() // step * step))


async def _download_symbol(
    source: CcxtCandles,
    symbol: str,
    interval: str,
    first: int,
    last: int,
    *,
    store: CandleStore,
    on_progress: OnProgress,
    attempts: int,
    retry_delay_ms: int,
) -> SymbolDownload:
    step = CANDLE_INTERVAL_MINUTES[interval] * MINUTE_MS
    total = (last - first) // step
    missing = await store.worker.call(store.missing, source.exchange_name, symbol, interval, first, last)
    already = total - sum(end - begin for begin, end in missing) // step
    done = already
    requests = 0

    def report(finished: bool) -> None:
        progress = 1.0 if total == 0 else done / total
        on_progress(
            DownloadProgress(symbol=symbol, fetched_candles=done, total_candles=total, progress=progress, done=finished)
        )

    def page_stored(page_start: int, page_end: int, candles: int) -> None:
        nonlocal done, requests
        done += (page_end - page_start) // step
        requests += 1
        report(False)

    report(False)
    downloaded = await source.fetch_range(
        symbol,
        interval,
        first,
        last,
        store=store,
        on_page=page_stored,
        attempts=attempts,
        retry_delay_ms=retry_delay_ms,
    )
    report(True)
    logger.info(
        "downloaded %d %s candles of %s %s from %s to %s in %d requests",
        downloaded,
        interval,
        source.exchange_name,
        symbol,
        iso(first),
        iso(last),
        requests,
    )
    return SymbolDownload(symbol=symbol, downloaded_candles=downloaded, requests=requests, already_stored=already)
