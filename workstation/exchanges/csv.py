"""An exchange that serves the 1m candles of a CSV file, read as the import dialog reads it (SPEC §4.7)."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from workstation.exchanges.aggregate import aggregate_candles, request_window
from workstation.exchanges.csv_import import CsvImportError, parse_candle_csv, preview_csv
from workstation.exchanges.held import HeldCandles
from workstation.schemas.exchange import ExchangeSchema
from workstation.timeutil import iso, now_ms

logger = logging.getLogger("workstation.exchange")


def read_candle_file(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a candle CSV as 1m candles with the import dialog's reader and its policy for bad rows.

    The layout is guessed as the import dialog guesses it (`preview_csv`: column names in any order, times in
    epoch milliseconds, seconds or ISO 8601 text); every row is checked as an import checks it (`parse_candle_csv`).
    A file with a bad, unsorted or repeated row is refused as a whole, naming the file's lines.

    Parameters
    ----------
    path
        A CSV whose first line is a header and whose rows are 1m candles.

    Returns
    -------
    numpy.ndarray
        The ``CANDLE_DTYPE`` candles, strictly increasing by open time (gaps allowed); read-only.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    CsvImportError
        If a row is not a valid 1m candle, or the file holds none; the message names the file and each bad line.
    ValueError
        If the file is not UTF-8 text or its header is not one of candles; the message starts with the path.
    """
    csv_path = Path(path)
    preview = preview_csv(csv_path)
    parsed = parse_candle_csv(csv_path, preview.mapping, "1m")
    if parsed.error_count:
        raise CsvImportError.for_rows(
            csv_path, parsed.errors, parsed.error_count, len(parsed.candles), outcome="the file was not used"
        )
    if parsed.total_rows == 0:
        raise CsvImportError(f"{csv_path.name}: no candle rows after the header")
    candles = parsed.candles
    # Nobody may change a file's candles: the engine shares them instead of copying them.
    candles.flags.writeable = False
    return candles


class CsvCandles(HeldCandles):
    """The ``get_candles`` of a CSV exchange: every symbol gets the file's candles.

    The file is read on the first call (in a worker thread, so the window stays responsive) and kept.
    Pickling keeps only the path; an unpickled copy reads the file again on its first call.

    Parameters
    ----------
    path
        The candle CSV (see `read_candle_file`).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._candles: np.ndarray | None = None
        self._loading: asyncio.Lock | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path,))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    async def __call__(self, symbol: str, interval: str, since: datetime, limit: int) -> np.ndarray:
        """Return the ``CANDLE_DTYPE`` candles with open times in ``[since, since + limit * interval)``.

        Parameters
        ----------
        symbol
            Ignored: the file holds one market.
        interval
            Candle interval; above ``1m`` complete epoch-aligned buckets are aggregated from the 1m rows.
        since
            Aware datetime of the first open time.
        limit
            Number of candles asked for.

        Returns
        -------
        numpy.ndarray
            Oldest first; fewer than ``limit`` where the file ends or has gaps, none that is not closed yet.
        """
        window = request_window(interval, since, limit, now_ms())
        candles = self._candles
        if candles is None:
            candles = await self.load()
        timestamps = candles["timestamp"]
        first = int(np.searchsorted(timestamps, window.start_ms))
        last = int(np.searchsorted(timestamps, window.end_ms))
        if window.step_minutes == 1:
            # A view of the read-only file array, which the engine caches without copying it.
            return candles[first:last]
        return aggregate_candles(candles[first:last], window)

    @property
    def loaded(self) -> np.ndarray | None:
        """The file's read-only candles once a call has read them, else None."""
        return self._candles

    async def load(self) -> np.ndarray:
        """Return the file's candles, reading the file on the first call (later calls return the same array)."""
        if self._loading is None:
            self._loading = asyncio.Lock()
        async with self._loading:
            if self._candles is None:
                self._candles = await asyncio.to_thread(read_candle_file, self.path)
                if len(self._candles):
                    logger.info(
                        "loaded %d candles from %s (%s to %s)",
                        len(self._candles),
                        self.path,
                        iso(int(self._candles["timestamp"][0])),
                        iso(int(self._candles["timestamp"][-1])),
                    )
            return self._candles


def make_csv_exchange(exchange_name: str, path: str | os.PathLike[str]) -> ExchangeSchema:
    """Create an exchange that serves the 1m candles of a CSV file for every symbol.

    Nothing is read until the first ``get_candles`` call.

    Parameters
    ----------
    exchange_name
        Name of the exchange schema.
    path
        A candle CSV in any layout `read_candle_file` reads (the peer's ``timestamp,open,high,low,close,volume``,
        a file with ISO dates …).

    Returns
    -------
    ExchangeSchema
        Its ``get_candles`` is a `CsvCandles`, so the schema pickles by reference.
    """
    return ExchangeSchema(
        exchange_name=exchange_name,
        get_candles=CsvCandles(path),
        note=f"1m candles from {path}",
    )
