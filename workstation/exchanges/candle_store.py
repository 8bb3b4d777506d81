"""A SQLite cache of downloaded candles, one series per (exchange, symbol, interval).

Besides the candles, the store remembers which time ranges were asked of the exchange (*covered*): a step inside a
covered range that has no candle is a *gap* the exchange answered with nothing, recorded as such and never filled
with invented candles. What is not covered is *missing* and has to be fetched. So a second backtest over a range
already downloaded needs no network at all.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs
from pydantic import BaseModel, ConfigDict

from workstation.atomic_file import open_text_atomically
from workstation.errors import WorkstationError
from workstation.models.candles import CANDLE_DTYPE, CANDLE_FIELDS
from workstation.persist.worker import SerialWorker
from workstation.timeutil import CANDLE_INTERVAL_MINUTES, MINUTE_MS, iso

__all__ = ["CandleStore", "CandleStoreFileError", "StoredSeries"]

#: The schema version this module writes (``PRAGMA user_version``).
SCHEMA_VERSION = 1

_STORE_FILE_NAME = "candles.sqlite3"

_SCHEMA = """
CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    exchange TEXT NOT NULL,
    symbol TEXT NOT NULL,
    interval TEXT NOT NULL,
    UNIQUE (exchange, symbol, interval)
);
CREATE TABLE candles (
    series_id INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    timestamp INTEGER NOT NULL,
    open REAL NOT NULL,
    high REAL NOT NULL,
    low REAL NOT NULL,
    close REAL NOT NULL,
    volume REAL NOT NULL,
    PRIMARY KEY (series_id, timestamp)
) WITHOUT ROWID;
CREATE TABLE ranges (
    series_id INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('covered', 'gap')),
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL
);
CREATE INDEX ranges_by_series ON ranges (series_id, kind);
"""

_UPSERT = (
    "INSERT INTO candles (series_id, timestamp, open, high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (series_id, timestamp) DO UPDATE SET open = excluded.open, high = excluded.high, "
    "low = excluded.low, close = excluded.close, volume = excluded.volume"
)

#: Candles read per batch while exporting a series to CSV.
_EXPORT_BATCH = 50_000

Ranges = list[tuple[int, int]]


class CandleStoreFileError(WorkstationError, ValueError):
    """The candle store file cannot be used: it is not SQLite, or a newer workstation wrote it."""


#: Candles converted to Python rows at a time when writing (tens of milliseconds of work).
_ROWS_PER_BATCH = 50_000


class StoredSeries(BaseModel):
    """What the store holds of one (exchange, symbol, interval).

    ``first`` and ``last`` are the open times (epoch ms) of the oldest and newest stored candle, None when the
    series holds none. ``gaps`` are the ``[start, end)`` ranges inside the covered span that the exchange answered
    with no candles; ``covered`` are the ``[start, end)`` ranges already fetched (gaps included), oldest first.
    """

    model_config = ConfigDict(frozen=True)

    exchange: str
    symbol: str
    interval: str
    first: int | None
    last: int | None
    count: int
    gaps: list[tuple[int, int]]
    covered: list[tuple[int, int]] = []


class CandleStore:
    """SQLite cache of downloaded candles per (exchange, symbol, interval).

    Parameters
    ----------
    path
        The database file; by default ``<user data dir>/candles.sqlite3``. Nothing is created until first use.

    Notes
    -----
    The store has its own thread, :attr:`worker` (a ``SerialWorker``), and a caller on an event loop runs every
    method there: ``await store.worker.call(store.read, ...)``, so the file is opened, read and written on that
    thread and never on the GUI's. Called directly a method runs on the caller's thread (one lock serialises
    them). The file is in WAL mode, so readers in other processes do not wait for a writer. A store pickles as
    its path; the copy opens its own connection on its own thread.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(platformdirs.user_data_dir("workstation")) / _STORE_FILE_NAME if path is None else Path(path)
        self.worker = SerialWorker("candle-store")
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path,))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def write(
        self, exchange: str, symbol: str, interval: str, candles: np.ndarray, *, covered: tuple[int, int]
    ) -> None:
        """Store candles and record ``[covered[0], covered[1])`` as fetched, in one transaction.

        Every step of the covered range without a candle (stored now or before) becomes a gap. Writing the same
        candles again replaces them (an upsert), so a repeated write changes nothing.

        Parameters
        ----------
        exchange, symbol, interval
            The series.
        candles
            ``CANDLE_DTYPE`` candles, all inside ``covered`` and on the interval's grid.
        covered
            The ``[start, end)`` epoch-ms range the exchange answered for; both ends on the interval's grid.

        Raises
        ------
        ValueError
            For an unknown interval, a range or candle off the grid, a candle outside ``covered`` or a price or
            volume that is NaN or infinite; nothing is written.
        TypeError
            If ``candles`` is not a one-dimensional ``CANDLE_DTYPE`` array.
        """
        step = _step_ms(interval)
        start, end = (int(covered[0]), int(covered[1]))
        if start > end or start % step or end % step:
            raise ValueError(f"covered must be a [start, end) range on the {interval} grid, got ({start}, {end})")
        rows = _checked_rows(candles, start, end, step, interval)
        with self._transaction() as connection:
            series_id = _series_id(connection, exchange, symbol, interval, create=True)
            assert series_id is not None
            connection.executemany(_UPSERT, ((series_id, *row) for row in rows))
            if start == end:
                return
            present = _column(
                connection.execute(
                    "SELECT timestamp FROM candles WHERE series_id = ? AND timestamp >= ? AND timestamp < ? "
                    "ORDER BY timestamp",
                    (series_id, start, end),
                )
            )
            gaps = _merge(
                [*_subtract(_ranges(connection, series_id, "gap"), start, end), *_holes(present, start, end, step)]
            )
            coverage = _merge([*_ranges(connection, series_id, "covered"), (start, end)])
            connection.execute("DELETE FROM ranges WHERE series_id = ?", (series_id,))
            connection.executemany(
                "INSERT INTO ranges (series_id, kind, start_ms, end_ms) VALUES (?, ?, ?, ?)",
                [(series_id, "covered", a, b) for a, b in coverage] + [(series_id, "gap", a, b) for a, b in gaps],
            )

    def read(self, exchange: str, symbol: str, interval: str, since: int, until: int) -> np.ndarray:
        """Return the stored candles with ``since <= timestamp < until``, oldest first, as a new array."""
        with self._locked() as connection:
            series_id = _series_id(connection, exchange, symbol, interval, create=False)
            if series_id is None:
                return np.empty(0, dtype=CANDLE_DTYPE)
            cursor = connection.execute(
                "SELECT timestamp, open, high, low, close, volume FROM candles "
                "WHERE series_id = ? AND timestamp >= ? AND timestamp < ? ORDER BY timestamp",
                (series_id, int(since), int(until)),
            )
            return np.fromiter(cursor, dtype=CANDLE_DTYPE)

    def missing(self, exchange: str, symbol: str, interval: str, since: int, until: int) -> list[tuple[int, int]]:
        """Return the sub-ranges of ``[since, until)`` not fetched yet, oldest first (gaps count as fetched)."""
        if since >= until:
            return []
        with self._locked() as connection:
            series_id = _series_id(connection, exchange, symbol, interval, create=False)
            coverage = [] if series_id is None else _ranges(connection, series_id, "covered")
        holes: Ranges = []
        cursor = int(since)
        for start, end in coverage:
            if end <= cursor:
                continue
            if start >= until:
                break
            if start > cursor:
                holes.append((cursor, start))
            cursor = max(cursor, end)
        if cursor < until:
            holes.append((cursor, int(until)))
        return holes

    def series(self) -> list[StoredSeries]:
        """Return one entry per stored series, sorted by exchange, symbol, then interval length."""
        with self._locked() as connection:
            rows = connection.execute(
                "SELECT s.id, s.exchange, s.symbol, s.interval, COUNT(c.timestamp), MIN(c.timestamp), "
                "MAX(c.timestamp) FROM series AS s LEFT JOIN candles AS c ON c.series_id = s.id GROUP BY s.id"
            ).fetchall()
            ranges: dict[tuple[int, str], Ranges] = {}
            for series_id, kind, start, end in connection.execute(
                "SELECT series_id, kind, start_ms, end_ms FROM ranges ORDER BY start_ms"
            ):
                ranges.setdefault((series_id, kind), []).append((start, end))
        stored = [
            StoredSeries(
                exchange=exchange,
                symbol=symbol,
                interval=interval,
                first=first,
                last=last,
                count=count,
                gaps=ranges.get((series_id, "gap"), []),
                covered=ranges.get((series_id, "covered"), []),
            )
            for series_id, exchange, symbol, interval, count, first, last in rows
        ]
        stored.sort(key=lambda s: (s.exchange, s.symbol, CANDLE_INTERVAL_MINUTES.get(s.interval, 0), s.interval))
        return stored

    def exchanges(self, interval: str = "1m") -> list[str]:
        """Return the exchanges with at least one candle of ``interval`` stored, sorted by name."""
        with self._locked() as connection:
            rows = connection.execute(
                "SELECT DISTINCT s.exchange FROM series AS s WHERE s.interval = ? "
                "AND EXISTS (SELECT 1 FROM candles AS c WHERE c.series_id = s.id) ORDER BY s.exchange",
                (interval,),
            ).fetchall()
        return [str(exchange) for (exchange,) in rows]

    def bounds(self, exchange: str, symbol: str, interval: str) -> tuple[int, int] | None:
        """Return the open times of the first and last stored candle of a series, None when it holds none."""
        with self._locked() as connection:
            first, last = connection.execute(
                "SELECT MIN(c.timestamp), MAX(c.timestamp) FROM series AS s JOIN candles AS c ON c.series_id = s.id "
                "WHERE s.exchange = ? AND s.symbol = ? AND s.interval = ?",
                (exchange, symbol, interval),
            ).fetchone()
        return None if first is None else (int(first), int(last))

    def symbols(self, exchange: str, interval: str = "1m") -> list[str]:
        """Return the symbols of ``exchange`` with at least one candle of ``interval`` stored, sorted."""
        with self._locked() as connection:
            rows = connection.execute(
                "SELECT s.symbol FROM series AS s WHERE s.exchange = ? AND s.interval = ? "
                "AND EXISTS (SELECT 1 FROM candles AS c WHERE c.series_id = s.id) ORDER BY s.symbol",
                (exchange, interval),
            ).fetchall()
        return [str(symbol) for (symbol,) in rows]

    def delete(self, exchange: str, symbol: str, interval: str) -> int:
        """Forget a series (candles, coverage and gaps); return the number of candles deleted."""
        with self._transaction() as connection:
            series_id = _series_id(connection, exchange, symbol, interval, create=False)
            if series_id is None:
                return 0
            deleted = connection.execute("DELETE FROM candles WHERE series_id = ?", (series_id,)).rowcount
            connection.execute("DELETE FROM ranges WHERE series_id = ?", (series_id,))
            connection.execute("DELETE FROM series WHERE id = ?", (series_id,))
            return int(deleted)

    def forget(self, exchange: str, symbol: str, interval: str, start: int, end: int) -> int:
        """Forget ``[start, end)`` of a series (candles, coverage, gaps) to fetch it again; return candles deleted."""
        with self._transaction() as connection:
            series_id = _series_id(connection, exchange, symbol, interval, create=False)
            if series_id is None:
                return 0
            deleted = connection.execute(
                "DELETE FROM candles WHERE series_id = ? AND timestamp >= ? AND timestamp < ?",
                (series_id, start, end),
            ).rowcount
            kept = {kind: _subtract(_ranges(connection, series_id, kind), start, end) for kind in ("covered", "gap")}
            connection.execute("DELETE FROM ranges WHERE series_id = ?", (series_id,))
            connection.executemany(
                "INSERT INTO ranges (series_id, kind, start_ms, end_ms) VALUES (?, ?, ?, ?)",
                [(series_id, kind, a, b) for kind, ranges in kept.items() for a, b in ranges],
            )
            return int(deleted)

    def export_csv(self, exchange: str, symbol: str, interval: str, path: Path) -> int:
        """Write a series to a CSV in the peer's format and return the number of candles written.

        The header is ``timestamp,open,high,low,close,volume``; numbers print as Python's ``repr`` so they read
        back bit for bit. The file is replaced atomically (a temporary file in the same folder, then a rename).
        """
        written = 0
        with self._locked() as connection, open_text_atomically(path, make_folders=True) as stream:
            stream.write(",".join(CANDLE_FIELDS) + "\n")
            series_id = _series_id(connection, exchange, symbol, interval, create=False)
            if series_id is not None:
                cursor = connection.execute(
                    "SELECT timestamp, open, high, low, close, volume FROM candles WHERE series_id = ? "
                    "ORDER BY timestamp",
                    (series_id,),
                )
                while batch := cursor.fetchmany(_EXPORT_BATCH):
                    stream.writelines(f"{t},{o!r},{h!r},{lo!r},{c!r},{v!r}\n" for t, o, h, lo, c, v in batch)
                    written += len(batch)
        return written

    def close(self) -> None:
        """Close the database connection on the store's thread and end that thread; the next call opens both again."""
        self.worker.shutdown(last_job=self._close_connection)

    def _close_connection(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._connection is None:
                self._connection = self._open()
            yield self._connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Yield the connection inside ``BEGIN IMMEDIATE``; commit on success, roll back on any exception."""
        with self._locked() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: every transaction is an explicit BEGIN ... COMMIT, so none starts by surprise.
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        try:
            try:
                version = int(connection.execute("PRAGMA user_version").fetchone()[0])
            except sqlite3.DatabaseError as error:
                raise CandleStoreFileError(
                    f"{self.path} is not a candle store (not an SQLite database: {error})"
                ) from error
            if version > SCHEMA_VERSION:
                raise CandleStoreFileError(
                    f"{self.path} has candle store schema version {version}, newer than version {SCHEMA_VERSION} "
                    "that this workstation reads; open it with a newer workstation or choose another file"
                )
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA foreign_keys = ON")
            if version < SCHEMA_VERSION:
                _create_schema(connection)
        except BaseException:
            connection.close()
            raise
        return connection


def _create_schema(connection: sqlite3.Connection) -> None:
    connection.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have created the tables while this one waited for the write lock.
        if int(connection.execute("PRAGMA user_version").fetchone()[0]) == 0:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            # PRAGMA takes no bound parameters; the version is a module constant.
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _step_ms(interval: str) -> int:
    minutes = CANDLE_INTERVAL_MINUTES.get(interval)
    if minutes is None:
        raise ValueError(f"unknown candle interval {interval!r}; expected one of {', '.join(CANDLE_INTERVAL_MINUTES)}")
    return minutes * MINUTE_MS


def _checked_rows(candles: np.ndarray, start: int, end: int, step: int, interval: str) -> Iterable[tuple[Any, ...]]:
    """Return the candles as row tuples after refusing anything the store must not hold."""
    if not isinstance(candles, np.ndarray) or candles.dtype != CANDLE_DTYPE or candles.ndim != 1:
        described = candles.dtype if isinstance(candles, np.ndarray) else type(candles).__name__
        raise TypeError(f"candles must be a one-dimensional CANDLE_DTYPE array, got {described}")
    if len(candles) == 0:
        return ()
    stamps = candles["timestamp"]
    outside = np.flatnonzero((stamps < start) | (stamps >= end) | (stamps % step != 0))
    if len(outside):
        stamp = int(stamps[outside[0]])
        raise ValueError(
            f"candle timestamp {stamp} ({iso(stamp)}) is outside covered [{iso(start)}, {iso(end)}) "
            f"or not on the {interval} grid"
        )
    values = np.column_stack([candles[name] for name in CANDLE_FIELDS[1:]])
    invalid = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if len(invalid):
        stamp = int(stamps[invalid[0]])
        raise ValueError(f"candle at {iso(stamp)} has invalid numeric values (NaN or Infinity)")
    # Converted batch by batch as SQLite takes them: one tolist() of millions of rows would hold the interpreter
    # lock for a second, and the window on the main thread with it.
    return itertools.chain.from_iterable(
        candles[first : first + _ROWS_PER_BATCH].tolist() for first in range(0, len(candles), _ROWS_PER_BATCH)
    )


def _series_id(
    connection: sqlite3.Connection, exchange: str, symbol: str, interval: str, *, create: bool
) -> int | None:
    row = connection.execute(
        "SELECT id FROM series WHERE exchange = ? AND symbol = ? AND interval = ?", (exchange, symbol, interval)
    ).fetchone()
    if row is not None:
        return int(row[0])
    if not create:
        return None
    cursor = connection.execute(
        "INSERT INTO series (exchange, symbol, interval) VALUES (?, ?, ?)", (exchange, symbol, interval)
    )
    return cursor.lastrowid


def _ranges(connection: sqlite3.Connection, series_id: int, kind: str) -> Ranges:
    return [
        (int(start), int(end))
        for start, end in connection.execute(
            "SELECT start_ms, end_ms FROM ranges WHERE series_id = ? AND kind = ? ORDER BY start_ms",
            (series_id, kind),
        )
    ]


def _column(cursor: sqlite3.Cursor) -> np.ndarray:
    return np.fromiter((row[0] for row in cursor), dtype=np.int64)


def _holes(present: np.ndarray, start: int, end: int, step: int) -> Ranges:
    """Return the ``[a, b)`` runs of grid steps in ``[start, end)`` without a timestamp in sorted ``present``."""
    if len(present) == 0:
        return [(start, end)]
    bounds = np.concatenate(([start - step], present, [end]))
    after = bounds[:-1] + step
    jumps = np.flatnonzero(bounds[1:] > after)
    return [(int(after[i]), int(bounds[i + 1])) for i in jumps]


def _subtract(ranges: Ranges, start: int, end: int) -> Ranges:
    """Return ``ranges`` with ``[start, end)`` cut out."""
    kept: Ranges = []
    for a, b in ranges:
        if a < start:
            kept.append((a, min(b, start)))
        if b > end:
            kept.append((max(a, end), b))
    return kept


def _merge(ranges: Ranges) -> Ranges:
    """Return sorted ranges with overlapping or touching ones joined."""
    merged: Ranges = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged
