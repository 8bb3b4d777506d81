"""SQLite storage, the default (SPEC §15.6): one file, one ``records`` table, one worker thread per file.

Every statement of a file runs on that file's worker thread, whichever entity's adapter issued it; the four adapters
of a file share it, but for the record that a close was announced (``run_here``). The file is in WAL mode with
``synchronous=FULL`` (that record: ``NORMAL``) and every write is one transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from workstation.persist.adapter import InitOnce, Operation, check_entity_name, decode, encode, path_error
from workstation.persist.corrupt import CORRUPT_MARK, CorruptRecordError, aside_name, report_corrupt
from workstation.persist.worker import SerialWorker
from workstation.timeutil import now_ms

__all__ = ["SqliteAdapter", "SqliteDatabase", "close_databases", "close_databases_now", "sqlite_database"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    entity TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (entity, key)
)
"""
# instr() rather than LIKE: '#corrupt-' holds no wildcard, but keys may hold '%' and '_'.
_LIVE = "entity = ? AND instr(key, ?) = 0"


class SqliteDatabase:
    """One state file: a connection opened on the first job and the one thread every statement runs on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._worker = SerialWorker("workstation-sqlite-state")
        # One connection per thread (the worker's, and the caller's of run_here): after a close every thread opens
        # its own again.
        self._local = threading.local()
        self._connections: set[sqlite3.Connection] = set()
        self._connections_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SqliteDatabase({str(self.path)!r})"

    async def run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``job(connection)`` on the worker thread and return its result."""
        return await self._worker.run(lambda: job(self._connection()))

    @property
    def location(self) -> Path:
        """Return the state file."""
        return self.path

    @property
    def locks_folder(self) -> Path:
        """Return the folder of the pairs' lock files: ``<file name>.locks`` beside the file."""
        return self.path.with_name(f"{self.path.name}.locks")

    def run_here(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``job(connection)`` on the calling thread, blocking it: only for a write that must not wait for a hop.

        That write is the record that a close was announced, and the calling thread's connection commits it without
        an fsync (``synchronous=NORMAL``): a process killed between publishing a close and recording it announces
        that close again at its restart, so the gap must be as short as possible, and an fsync made it
        milliseconds long. A committed WAL transaction survives a killed process without one; only a power cut can
        lose it, which costs one repeated announcement, never a lost trade.
        """
        return job(self._connection(synchronous="NORMAL"))

    async def close(self) -> None:
        """Close the connections and stop the thread after the queued jobs; the next job reopens the file."""
        await self._worker.close(self._disconnect)
        # A connection opened by run_here while the worker was stopped is closed here.
        self._disconnect()

    def close_now(self) -> None:
        """Close like :meth:`close`, blocking the calling thread instead of awaiting."""
        self._worker.shutdown(self._disconnect)
        self._disconnect()

    async def apply(self, operations: Sequence[tuple[SqliteAdapter, Operation]]) -> None:
        """Apply the operations of several entities' adapters of this file in one transaction."""
        await self.run(lambda connection: _apply(connection, operations))

    def _connection(self, synchronous: str = "FULL") -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None or connection not in self._connections:
            connection = self._local.connection = self._open(synchronous)
            with self._connections_lock:
                self._connections.add(connection)
        return connection

    def _open(self, synchronous: str) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise path_error("create the folder of the live state database", self.path.parent, exc) from exc
        try:
            # Not bound to its thread: close() closes the connections of every thread from the worker.
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise OSError(f"cannot open the live state database {self.path}: {exc}") from exc
        try:
            (journal_mode,) = connection.execute("PRAGMA journal_mode=WAL").fetchone()
            if journal_mode != "wal":
                raise sqlite3.OperationalError(f"the file stays in {journal_mode!r} journal mode, WAL is needed")
            connection.execute(f"PRAGMA synchronous={synchronous}")
            connection.execute(_SCHEMA)
        except sqlite3.Error as exc:
            connection.close()
            raise OSError(f"cannot open the live state database {self.path}: {exc}") from exc
        return connection

    def _disconnect(self) -> None:
        with self._connections_lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            connection.close()


_databases: dict[Path, SqliteDatabase] = {}


def sqlite_database(path: str | Path) -> SqliteDatabase:
    """Return the shared database object of ``path``; nothing is opened until its first job."""
    path = Path(path).expanduser().absolute()
    database = _databases.get(path)
    if database is None:
        database = _databases[path] = SqliteDatabase(path)
    return database


async def close_databases() -> None:
    """Close every database file and stop its thread; adapters reopen their file on their next call."""
    while _databases:
        _, database = _databases.popitem()
        await database.close()


def close_databases_now() -> None:
    """Close every database file, blocking until each worker thread has finished its queued jobs."""
    while _databases:
        _, database = _databases.popitem()
        database.close_now()


def _apply(connection: sqlite3.Connection, operations: Sequence[tuple[SqliteAdapter, Operation]]) -> None:
    connection.execute("BEGIN IMMEDIATE")
    try:
        for adapter, operation in operations:
            if operation.text is None:
                adapter.delete_row(connection, operation.key)
            else:
                adapter.upsert_row(connection, operation.key, operation.text)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


@dataclass(frozen=True)
class _Moved:
    """An undecodable row that was re-keyed aside."""

    key: str
    aside_key: str
    cause: ValueError


@dataclass(frozen=True)
class _Read:
    found: bool
    value: Any = None
    moved: _Moved | None = None


class SqliteAdapter:
    """Store one entity's records as rows of the ``records`` table of one SQLite file.

    Parameters
    ----------
    entity
        The kind of record (``"signal"``, ``"schedule"``, ``"risk"``, ``"partial"``); the ``entity`` column.
    path
        The database file; it and its folder are created at :meth:`wait_for_init`.
    """

    def __init__(self, entity: str, path: str | Path) -> None:
        self.entity = check_entity_name(entity)
        self.path = Path(path).expanduser().absolute()
        self._init = InitOnce()

    def __repr__(self) -> str:
        return f"SqliteAdapter({self.entity!r}, {str(self.path)!r})"

    @property
    def database(self) -> SqliteDatabase:
        """Return the shared database of this adapter's file."""
        return sqlite_database(self.path)

    @property
    def store(self) -> SqliteDatabase:
        """Return where :func:`workstation.persist.commit` applies this adapter's part of a change: its file."""
        return self.database

    async def wait_for_init(self) -> None:
        """Open the file (WAL, ``synchronous=FULL``), create the table and re-key undecodable rows aside."""
        await self._init.run(self._initialise)

    async def read_value(self, key: str) -> Any:
        """Return the value under ``key``; raise ``KeyError(key)`` when there is none or it was undecodable."""
        await self.wait_for_init()
        read = await self.database.run(lambda connection: self._read(connection, key))
        if read.moved is not None:
            self._report(read.moved)
        if not read.found:
            raise KeyError(key)
        return read.value

    async def has_value(self, key: str) -> bool:
        """Tell whether a row exists for ``key``."""
        await self.wait_for_init()
        return await self.database.run(lambda connection: self._exists(connection, key))

    async def write_value(self, key: str, value: Any) -> None:
        """Upsert the row of ``key`` in one transaction; raise ``TypeError`` and write nothing for non-JSON."""
        text = encode(self.entity, key, value)
        await self.wait_for_init()
        await self.database.run(lambda connection: self.upsert_row(connection, key, text))

    def write_value_now(self, key: str, value: Any) -> None:
        """Upsert the row of ``key`` on the calling thread, after :meth:`wait_for_init`; blocks until written."""
        text = encode(self.entity, key, value)
        self.database.run_here(lambda connection: self.upsert_row(connection, key, text))

    async def remove_value(self, key: str) -> None:
        """Delete the row of ``key``; a missing one is fine."""
        await self.wait_for_init()
        await self.database.run(lambda connection: self.delete_row(connection, key))

    async def remove_all(self) -> None:
        """Delete every row of this entity except the moved-aside ones, in one transaction."""
        await self.wait_for_init()
        await self.database.run(
            lambda connection: connection.execute(f"DELETE FROM records WHERE {_LIVE}", (self.entity, CORRUPT_MARK))
        )

    async def keys(self) -> list[str]:
        """Return every key except the moved-aside ones, sorted."""
        await self.wait_for_init()
        rows = await self.database.run(
            lambda connection: connection.execute(
                f"SELECT key FROM records WHERE {_LIVE}", (self.entity, CORRUPT_MARK)
            ).fetchall()
        )
        return sorted(key for (key,) in rows)

    async def values(self) -> list[Any]:
        """Return every value in key order, re-keying undecodable ones aside instead."""
        await self.wait_for_init()
        reads = await self.database.run(self._read_all)
        for read in reads:
            if read.moved is not None:
                self._report(read.moved)
        return [read.value for read in reads if read.found]

    async def corrupt_keys(self) -> list[str]:
        """Return the keys of moved-aside rows, sorted."""
        await self.wait_for_init()
        rows = await self.database.run(
            lambda connection: connection.execute(
                "SELECT key FROM records WHERE entity = ? AND instr(key, ?) > 0", (self.entity, CORRUPT_MARK)
            ).fetchall()
        )
        return sorted(key for (key,) in rows)

    async def _initialise(self) -> None:
        for read in await self.database.run(self._read_all):
            if read.moved is not None:
                self._report(read.moved)
        # Open the calling thread's connection now, so a later write_value_now does not spend milliseconds opening
        # the file between the announcement it records and the record.
        self.database.run_here(lambda connection: None)

    def _report(self, moved: _Moved) -> None:
        error = CorruptRecordError(
            f'{self.entity} record "{moved.key}" in {self.path} is not valid JSON ({moved.cause}); '
            f'the row was re-keyed "{moved.aside_key}"'
        )
        error.__cause__ = moved.cause
        report_corrupt(error)

    # Everything below runs on the worker thread.

    def _exists(self, connection: sqlite3.Connection, key: str) -> bool:
        row = connection.execute("SELECT 1 FROM records WHERE entity = ? AND key = ?", (self.entity, key)).fetchone()
        return row is not None

    def _read(self, connection: sqlite3.Connection, key: str) -> _Read:
        row = connection.execute(
            "SELECT value FROM records WHERE entity = ? AND key = ?", (self.entity, key)
        ).fetchone()
        return _Read(found=False) if row is None else self._decode(connection, key, row[0])

    def _read_all(self, connection: sqlite3.Connection) -> list[_Read]:
        rows = connection.execute(
            f"SELECT key, value FROM records WHERE {_LIVE}", (self.entity, CORRUPT_MARK)
        ).fetchall()
        return [self._decode(connection, key, raw) for key, raw in sorted(rows, key=lambda row: str(row[0]))]

    def _decode(self, connection: sqlite3.Connection, key: str, raw: object) -> _Read:
        try:
            return _Read(found=True, value=decode(raw))
        except ValueError as exc:
            return _Read(found=False, moved=self._move_aside(connection, key, exc))

    def _move_aside(self, connection: sqlite3.Connection, key: str, cause: ValueError) -> _Moved:
        aside_key = aside_name(key, CORRUPT_MARK, lambda candidate: self._exists(connection, candidate))
        connection.execute(
            "UPDATE records SET key = ?, updated_at = ? WHERE entity = ? AND key = ?",
            (aside_key, now_ms(), self.entity, key),
        )
        return _Moved(key, aside_key, cause)

    def delete_row(self, connection: sqlite3.Connection, key: str) -> None:
        """Delete the row of ``key`` (worker thread only)."""
        connection.execute("DELETE FROM records WHERE entity = ? AND key = ?", (self.entity, key))

    def upsert_row(self, connection: sqlite3.Connection, key: str, text: str) -> None:
        """Insert or replace the row of ``key`` with the JSON ``text`` (worker thread only)."""
        connection.execute(
            "INSERT INTO records (entity, key, value, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (entity, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (self.entity, key, text, now_ms()),
        )
