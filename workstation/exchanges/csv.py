"""An exchange that serves 1m candles from a CSV file in the peer's format (SPEC §4.7)."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from workstation.exchanges.aggregate import aggregate_candles, request_window
from workstation.models.candles import CANDLE_DTYPE, CANDLE_FIELDS
from workstation.schemas.exchange import ExchangeSchema
from workstation.timeutil import MINUTE_MS, iso, now_ms

logger = logging.getLogger("workstation.exchange")

#: The only accepted first line of a candle CSV.
CSV_HEADER = ",".join(CANDLE_FIELDS)


def load_candle_csv(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a candle CSV into a sorted ``CANDLE_DTYPE`` array.

    Numbers are parsed exactly as Python's ``float()`` would (numpy's text reader rounds correctly).
    Rows out of order are sorted; of rows with equal timestamps the first in the file wins (logged).

    Parameters
    ----------
    path
        File with the header ``timestamp,open,high,low,close,volume`` and one 1m candle per line,
        ``timestamp`` being the open time in epoch milliseconds.

    Returns
    -------
    numpy.ndarray
        The candles, strictly increasing by timestamp (possibly with gaps).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        For a wrong header, an unparsable row or a timestamp that is not on a minute boundary;
        the message starts with the path.
    """
    csv_path = Path(path)
    with csv_path.open(encoding="utf-8-sig") as file:
        header = file.readline()
    if [name.strip() for name in header.split(",")] != list(CANDLE_FIELDS):
        raise ValueError(f"{csv_path}: expected the header {CSV_HEADER!r}, got {header.rstrip()!r}")
    try:
        with warnings.catch_warnings():
            # A header-only file is a valid (empty) data set, not something to warn about.
            warnings.filterwarnings("ignore", message="loadtxt: input contained no data")
            candles = np.loadtxt(csv_path, delimiter=",", skiprows=1, dtype=CANDLE_DTYPE, ndmin=1, encoding="utf-8")
    except ValueError as exc:
        raise ValueError(f"{csv_path}: {exc}") from exc
    timestamps = candles["timestamp"]
    misaligned = np.flatnonzero(timestamps % MINUTE_MS)
    if len(misaligned):
        row = int(misaligned[0])
        raise ValueError(
            f"{csv_path}: data row {row + 1} has timestamp {int(timestamps[row])}, not on a minute boundary"
        )
    if len(candles) > 1 and not (np.diff(timestamps) > 0).all():
        candles = candles[np.argsort(timestamps, kind="stable")]
        keep = np.concatenate(([True], np.diff(candles["timestamp"]) != 0))
        if not keep.all():
            logger.warning("%s: dropped %d rows with duplicate timestamps", csv_path, len(keep) - int(keep.sum()))
        candles = candles[keep]
    return candles


class CsvCandles:
    """The ``get_candles`` of a CSV exchange: every symbol gets the file's candles.

    The file is read on the first call (in a worker thread, so the event loop keeps running) and kept.
    Pickling keeps only the path; an unpickled copy reads the file again on its first call.

    Parameters
    ----------
    path
        The candle CSV (see `load_candle_csv`).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._candles: np.ndarray | None = None
        self._load_lock = threading.Lock()

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
            candles = await asyncio.to_thread(self._load)
        timestamps = candles["timestamp"]
        first = int(np.searchsorted(timestamps, window.start_ms))
        last = int(np.searchsorted(timestamps, window.end_ms))
        return aggregate_candles(candles[first:last], window)

    def _load(self) -> np.ndarray:
        with self._load_lock:
            if self._candles is None:
                self._candles = load_candle_csv(self.path)
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
        CSV with the header ``timestamp,open,high,low,close,volume`` (the peer's format).

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
