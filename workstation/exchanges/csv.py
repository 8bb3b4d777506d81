"""An exchange that serves 1m candles from a CSV file in the peer's format (SPEC §4.7)."""

from __future__ import annotations

import asyncio
import logging
import os
import warnings
from collections.abc import Generator
from dataclasses import dataclass
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


#: Rows parsed between two turns of the event loop (about 20 ms of work).
CHUNK_ROWS = 50_000


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
        The candles, strictly increasing by timestamp (possibly with gaps); read-only.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        For a wrong header, an unparsable row or a timestamp that is not on a minute boundary;
        the message starts with the path.
    """
    chunks = parse_candle_csv(path)
    while True:
        try:
            next(chunks)
        except StopIteration as finished:
            candles: np.ndarray = finished.value
            return candles


def parse_candle_csv(path: str | os.PathLike[str]) -> Generator[None, None, np.ndarray]:
    """Parse a candle CSV ``CHUNK_ROWS`` rows at a time, pausing (``yield``) after each chunk.

    The caller decides what a pause is: `load_candle_csv` runs straight through, the exchange gives the event
    loop a turn. The result fills one array sized from a line count, so there is no final concatenation.
    """
    csv_path = Path(path)
    with csv_path.open(encoding="utf-8-sig") as file:
        header = file.readline()
        if [name.strip() for name in header.split(",")] != list(CANDLE_FIELDS):
            raise ValueError(f"{csv_path}: expected the header {CSV_HEADER!r}, got {header.rstrip()!r}")
        candles = np.empty(_count_data_lines(csv_path), dtype=CANDLE_DTYPE)
        filled = 0
        while True:
            try:
                with warnings.catch_warnings():
                    # The end of the file is an empty chunk, not something to warn about.
                    warnings.filterwarnings("ignore", message="loadtxt: input contained no data")
                    chunk = np.loadtxt(file, delimiter=",", dtype=CANDLE_DTYPE, ndmin=1, max_rows=CHUNK_ROWS)
            except ValueError as exc:
                raise ValueError(f"{csv_path}: after data row {filled}: {exc}") from exc
            if len(chunk) == 0:
                break
            candles[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
            yield
    if filled < len(candles):
        # Shrink in place: a slice would keep the longer buffer as its owner.
        candles.resize(filled, refcheck=False)
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
    # Nobody may change a file's candles: the engine shares them instead of copying them.
    candles.flags.writeable = False
    return candles


def _count_data_lines(path: Path) -> int:
    """Count the lines after the header (an upper bound of the rows: blank lines are counted too)."""
    lines = 0
    last = b"\n"
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


@dataclass(frozen=True)
class CsvSpan:
    """The open times of the first and last candle of a CSV, and its number of candles."""

    first_ms: int
    last_ms: int
    candles: int


def read_csv_span(path: str | Path) -> CsvSpan:
    """Scan a candle CSV for its first and last open time without loading the candles.

    Parameters
    ----------
    path
        CSV with the header ``timestamp,open,high,low,close,volume``.

    Returns
    -------
    CsvSpan
        The earliest and latest ``timestamp`` (rows may be in any order) and the row count.

    Raises
    ------
    ValueError
        If a row's timestamp is not an integer or the file has no rows; the message names the file and line.
    """
    first = last = None
    count = 0
    with Path(path).open("rb") as file:
        file.readline()
        for number, line in enumerate(file, start=2):
            if not line.strip():
                continue
            try:
                timestamp = int(line.split(b",", 1)[0])
            except ValueError:
                raise ValueError(f"{path}: line {number} does not start with an integer timestamp") from None
            first = timestamp if first is None else min(first, timestamp)
            last = timestamp if last is None else max(last, timestamp)
            count += 1
    if first is None or last is None:
        raise ValueError(f"{path}: no candles")
    return CsvSpan(first, last, count)


class CsvCandles:
    """The ``get_candles`` of a CSV exchange: every symbol gets the file's candles.

    The file is read on the first call and kept. It is parsed on the event loop's thread in chunks, giving the
    loop a turn after each, so the window stays responsive; parsing in a worker thread instead left ~10 MB in a
    second malloc arena for the life of the process.
    Pickling keeps only the path; an unpickled copy reads the file again on its first call.

    Parameters
    ----------
    path
        The candle CSV (see `load_candle_csv`).
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

    async def load(self) -> np.ndarray:
        """Return the file's candles, reading the file on the first call (later calls return the same array)."""
        if self._loading is None:
            self._loading = asyncio.Lock()
        async with self._loading:
            if self._candles is None:
                chunks = parse_candle_csv(self.path)
                while True:
                    try:
                        next(chunks)
                    except StopIteration as finished:
                        self._candles = finished.value
                        break
                    await asyncio.sleep(0)
                assert self._candles is not None
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
