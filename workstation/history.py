"""Run history: every finished backtest saved to SQLite, reopened later without running it again.

One file (``<user data dir>/history.sqlite3`` unless told otherwise) holds a row per run, a row per closed trade,
the run's command log (every command that changed one of its positions, packed by :mod:`workstation.stored_commands`)
and the limit orders its trades do not show (cancelled, or filled in the minute placed:
:mod:`workstation.stored_orders`).
The trades are the single source of truth: statistics and chart series are recomputed from them on load by the
same pure functions the engine uses (:func:`compute_backtest_statistics`, :func:`compute_run_series`), so a stored
run reads exactly, float for float, as the run did. The summary columns of ``runs`` duplicate a few figures only so
a list of thousands of runs needs no trade.

Before anything is written, :meth:`RunHistory.save_backtest` proves that point: it rebuilds the statistics and the
series from the JSON it is about to store, unpacks the command log and limit orders it is about to store, and
refuses to save a run that would not read back identically.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import platformdirs
from pydantic import BaseModel, ConfigDict, SkipValidation

from workstation.account.report import AccountReport
from workstation.account.stored import stored_account
from workstation.backtest import Backtest
from workstation.backtest_run import BacktestRun
from workstation.errors import WorkstationError
from workstation.models.position import PositionCommand
from workstation.models.results import CancelledResult, ClosedResult
from workstation.models.series import RunSeries, SeriesFrame
from workstation.persist.corrupt import aside_name
from workstation.persist.worker import SerialWorker
from workstation.reports.series import compute_run_series
from workstation.reports.statistics import BacktestStatistics, compute_backtest_statistics
from workstation.stored_commands import pack_commands, unpack_commands
from workstation.stored_orders import pack_orders, unpack_orders
from workstation.timeutil import now_ms

__all__ = ["SCHEMA_VERSION", "HistoryFileError", "RunHistory", "RunState", "RunSummary", "StoredRun"]

#: How a run ended: it ran to the end of its frame, the user stopped it, or it raised.
RunState = Literal["finished", "stopped", "failed"]

_RUN_STATES: tuple[str, ...] = get_args(RunState)

_HISTORY_FILE_NAME = "history.sqlite3"

#: A history that cannot be read is kept under ``<name>.unreadable-<UTC time>`` beside it.
_UNREADABLE_MARK = ".unreadable-"

#: SQLite's companions of a database file in WAL mode: they belong to it and move with it.
_COMPANION_SUFFIXES = ("-wal", "-shm")

logger = logging.getLogger("workstation.history")


class HistoryFileError(WorkstationError, ValueError):
    """The history file cannot be used: it is not SQLite, or a newer workstation wrote it."""


class RunSummary(BaseModel):
    """One stored run as a list shows it: when, what, and its headline figures.

    Times are epoch ms (UTC). ``created_at`` is when the run started, ``finished_at`` when it was saved.
    ``total_pnl``, ``win_rate`` and ``sharpe_ratio`` are None when the run closed no trade.
    """

    model_config = ConfigDict(frozen=True)

    id: int
    created_at: int
    finished_at: int
    state: RunState
    symbol: str
    strategy_name: str
    exchange_name: str
    frame_start: int
    frame_end: int
    total_signals: int
    total_pnl: float | None
    win_rate: float | None
    sharpe_ratio: float | None


class StoredRun(BaseModel):
    """A stored run, whole: what ``ws.Backtest.get_data`` and ``get_series`` returned when it ended.

    ``parameters`` is the request the caller saved with the run, as JSON data. ``closed_results`` are the trades in
    close order (the same list as ``statistics.signal_list``). ``commands`` is the run's command log as
    ``BacktestRun.commands`` held it (every command that changed one of its positions, in order), or None for a run
    stored before the history kept command logs. ``cancelled_results`` are the limit orders the run cancelled, in
    order, and ``same_minute_fills`` the ids of its limit orders that filled in the minute they were placed (as
    ``BacktestRun.cancelled`` and ``same_minute_fills`` held them); both None for a run stored before the history
    kept them (its chart then marks only the orders its trades show).
    """

    model_config = ConfigDict(frozen=True)

    summary: RunSummary
    parameters: dict[str, Any]
    statistics: BacktestStatistics
    series: RunSeries
    closed_results: list[ClosedResult]
    # Read back by unpack_commands, which checks them: validating a year's 25 000 again would take a quarter second.
    commands: SkipValidation[tuple[PositionCommand, ...] | None]
    # Read back by unpack_orders, which validates them.
    cancelled_results: SkipValidation[tuple[CancelledResult, ...] | None]
    same_minute_fills: SkipValidation[tuple[str, ...] | None]

    def commands_of(self, signal_id: str) -> list[PositionCommand] | None:
        """Return the commands that changed signal ``signal_id``, in order (as ``BacktestRun.commands_of`` does).

        None when the run was stored without its command log.
        """
        if self.commands is None:
            return None
        return [command for command in self.commands if command.signal_id == signal_id]

    async def get_account(self) -> AccountReport:
        """Return the run's account in money, as ``BacktestRun.get_account`` gave it (``ws.AccountReport``).

        The starting balance, the sizing and the costs are the ones stored in ``parameters`` (the run's request);
        a run stored without them has 10,000 at a fixed cost.
        """
        summary = self.summary
        return await stored_account(
            self.parameters,
            self.closed_results,
            symbol=summary.symbol,
            exchange_name=summary.exchange_name,
            frame_start=summary.frame_start,
            frame_end=summary.frame_end,
        )

    def ended_results(self) -> list[ClosedResult | CancelledResult]:
        """Return the closed trades and cancelled orders in the order the run ended them.

        A run stored without its cancelled orders gives its closed trades alone. A backtest works on one signal at
        a time, so that order is the order the signals were created in.
        """
        closed: list[ClosedResult | CancelledResult] = list(self.closed_results)
        cancelled: list[ClosedResult | CancelledResult] = list(self.cancelled_results or ())
        return list(heapq.merge(closed, cancelled, key=_created_at))


def _created_at(result: ClosedResult | CancelledResult) -> int:
    return result.signal.scheduled_at


@dataclass(frozen=True, slots=True)
class _RunRow:
    """Everything ``runs`` stores about one run, ready to insert."""

    created_at: int
    finished_at: int
    state: str
    symbol: str
    strategy_name: str
    exchange_name: str
    frame_start: int
    frame_end: int
    parameters: str
    statistics: str
    total_signals: int
    total_cancelled: int
    total_pnl: float | None
    win_rate: float | None
    sharpe_ratio: float | None
    first_close: float | None
    last_close: float | None


def _create_version_1(connection: sqlite3.Connection) -> None:
    connection.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            created_at INTEGER NOT NULL,
            finished_at INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('finished', 'stopped', 'failed')),
            symbol TEXT NOT NULL,
            strategy_name TEXT NOT NULL,
            exchange_name TEXT NOT NULL,
            frame_start INTEGER NOT NULL,
            frame_end INTEGER NOT NULL,
            parameters TEXT NOT NULL,
            statistics TEXT NOT NULL,
            total_signals INTEGER NOT NULL,
            total_cancelled INTEGER NOT NULL,
            total_pnl REAL,
            win_rate REAL,
            sharpe_ratio REAL,
            first_close REAL,
            last_close REAL
        )
        """
    )
    connection.execute("CREATE INDEX runs_by_creation ON runs (created_at DESC, id DESC)")
    connection.execute(
        """
        CREATE TABLE trades (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            result TEXT NOT NULL,
            PRIMARY KEY (run_id, seq)
        ) WITHOUT ROWID
        """
    )


def _add_command_logs(connection: sqlite3.Connection) -> None:
    # A run stored before this table has no row in it: its command log was not kept.
    connection.execute(
        """
        CREATE TABLE commands (
            run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
            log BLOB NOT NULL
        )
        """
    )


def _add_limit_orders(connection: sqlite3.Connection) -> None:
    # A run stored before this table has no row in it: its cancelled orders were only counted.
    connection.execute(
        """
        CREATE TABLE limit_orders (
            run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
            orders BLOB NOT NULL
        )
        """
    )


#: ``_MIGRATIONS[v]`` upgrades a file from schema version ``v`` to ``v + 1``; a new file is version 0. A schema
#: change appends one function here, and every older file is upgraded step by step when it is opened.
_MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _create_version_1,
    _add_command_logs,
    _add_limit_orders,
)

#: The schema version this workstation writes (``PRAGMA user_version`` of the file).
SCHEMA_VERSION = len(_MIGRATIONS)

# The columns of ``runs`` that make a RunSummary, in its field order.
_SUMMARY_COLUMNS = ", ".join(RunSummary.model_fields)
_SUMMARY_WIDTH = len(RunSummary.model_fields)


class RunHistory:
    """A SQLite file of finished backtests: save one when it ends, list them, load one back exactly.

    Parameters
    ----------
    path
        The history file; None for ``<user data dir>/history.sqlite3``, looked up now (never at import). Its
        folder is created if needed, and a new file gets the current schema.

    Raises
    ------
    HistoryFileError
        If the file is not an SQLite database or has a schema newer than :data:`SCHEMA_VERSION`; the message
        names the path, and the file is left as it was.

    Attributes
    ----------
    path : Path
        The history file.
    recovery_note : str or None
        Set by :meth:`open_or_start_fresh` when the file could not be read and a fresh history was started: what
        happened and where the unreadable file was kept, for the window to show.

    Notes
    -----
    The file is opened, read and written on the history's own thread, :attr:`worker` (a ``SerialWorker``): the
    constructor and :meth:`close` wait for it, :meth:`save_backtest` awaits it, and a caller on an event loop
    awaits the other methods there: ``await history.worker.call(history.load, run_id)``. Called directly they
    run on the caller's thread (one lock serialises them). The file is in WAL mode: readers in other processes do
    not wait for a writer.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = _history_path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.recovery_note: str | None = None
        self.worker = SerialWorker("run-history")
        self._lock = threading.Lock()
        try:
            self._connection = self.worker.call_blocking(self._open)
        except BaseException:
            self.worker.shutdown()
            raise

    def _open(self) -> sqlite3.Connection:
        # Autocommit mode: every transaction below is an explicit BEGIN ... COMMIT, so none starts by surprise.
        self._connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._prepare()
        except BaseException:
            self._connection.close()
            raise
        return self._connection

    @classmethod
    def open_or_start_fresh(cls, path: str | Path | None = None) -> RunHistory:
        """Open the history at ``path``; if it cannot be read, keep it aside and start a fresh one there.

        The unreadable file (and its ``-wal`` and ``-shm`` companions) is renamed to
        ``<name>.unreadable-<UTC time>`` in the same folder, never deleted, and the new history's
        :attr:`recovery_note` says so. Errors other than an unreadable file (a folder that cannot be written)
        are raised as they are.
        """
        try:
            return cls(path)
        except HistoryFileError as error:
            target = (
                Path(platformdirs.user_data_dir("workstation")) / _HISTORY_FILE_NAME if path is None else Path(path)
            )
            aside = target.with_name(
                aside_name(target.name, _UNREADABLE_MARK, lambda name: (target.parent / name).exists())
            )
            for suffix in ("", *_COMPANION_SUFFIXES):
                if (target.parent / f"{target.name}{suffix}").exists():
                    os.replace(target.parent / f"{target.name}{suffix}", target.parent / f"{aside.name}{suffix}")
            history = cls(target)
            history.recovery_note = (
                f"The run history could not be read ({error}). It was kept as {aside} and a new, empty history "
                "was started; runs from now on are saved in the new one."
            )
            logger.warning("%s", history.recovery_note)
            return history

    def _prepare(self) -> None:
        # An OperationalError (a lock held by another process, a full disk) says nothing about the file itself: it
        # is raised as it is, never taken for an unreadable history.
        try:
            version = int(self._connection.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as error:
            raise HistoryFileError(f"{self.path} is not a run history (not an SQLite database: {error})") from error
        if version > SCHEMA_VERSION:
            raise HistoryFileError(
                f"{self.path} has run history schema version {version}, newer than version {SCHEMA_VERSION} that "
                "this workstation reads; open it with a newer workstation or choose another file"
            )
        try:
            self._connection.execute("PRAGMA journal_mode = WAL")
            self._connection.execute("PRAGMA foreign_keys = ON")
            for step in range(version, SCHEMA_VERSION):
                with self._transaction() as connection:
                    _MIGRATIONS[step](connection)
                    # PRAGMA takes no bound parameters; ``step`` is an int from range(), never user input.
                    connection.execute(f"PRAGMA user_version = {step + 1}")
            # The window lists the runs first thing: a damaged table fails here, where it can be set aside.
            self._connection.execute("SELECT count(*) FROM runs").fetchone()
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as error:
            raise HistoryFileError(f"{self.path} is a damaged run history ({error})") from error

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Yield the connection inside ``BEGIN IMMEDIATE``; commit on success, roll back on any exception."""
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            yield self._connection
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    async def save_backtest(
        self,
        symbol: str,
        strategy_name: str,
        *,
        exchange_name: str,
        parameters: dict[str, Any],
        state: str,
        started_at_ms: int,
        run: BacktestRun | None = None,
    ) -> int:
        """Store the last backtest of ``symbol:strategy_name`` (or ``run``) as the engine holds it now; return its id.

        Call it once the run has ended (finished, stopped or failed after its frame was known). The results are
        read from ``ws.Backtest.get_data`` and ``get_series`` on the loop, its command log and limit orders from the
        run's ``commands``, ``cancelled`` and ``same_minute_fills``; checking and writing happen in a worker thread,
        so the loop keeps running.

        Parameters
        ----------
        symbol, strategy_name
            The pair whose last backtest to store.
        exchange_name
            The exchange the run used; the buy-and-hold closes are read again through its backtest client.
        parameters
            The request that started the run, as JSON-serialisable data (e.g. a config's ``model_dump(mode="json")``).
        state
            ``"finished"``, ``"stopped"`` or ``"failed"``.
        started_at_ms
            When the run started (epoch ms); stored as ``created_at``.
        run
            The run to store, when another run of the pair may have started since (a second tab, a walker).

        Returns
        -------
        int
            The id of the new run.

        Raises
        ------
        ValueError
            If ``state`` is unknown, no backtest of the pair has run, ``parameters`` is not JSON, or the stored form
            would not reproduce the run's statistics, series, command log and limit orders exactly (nothing is
            written then).
        """
        if state not in _RUN_STATES:
            raise ValueError(f"state must be one of {', '.join(map(repr, _RUN_STATES))}, got {state!r}")
        statistics = await (Backtest.get_data(symbol, strategy_name) if run is None else run.get_data())
        stored = Backtest.latest(symbol, strategy_name) if run is None else run
        commands = () if stored is None else tuple(stored.commands)
        cancelled = () if stored is None else tuple(stored.cancelled)
        same_minute_fills = () if stored is None else tuple(stored.same_minute_fills)
        # Each figure of a long run takes tens of ms: give the loop (and the GUI on it) a turn in between.
        await asyncio.sleep(0)
        series = await (Backtest.get_series(symbol, strategy_name) if run is None else run.get_series())
        if exchange_name != series.exchange_name:
            raise ValueError(
                f"run {symbol}:{strategy_name} not saved: it ran on {series.exchange_name!r} "
                f"(is {exchange_name!r} the exchange the run used?)"
            )
        await asyncio.sleep(0)
        return await self.worker.call(
            self._save,
            statistics,
            series,
            commands,
            cancelled,
            same_minute_fills,
            parameters=parameters,
            state=state,
            started_at_ms=started_at_ms,
        )

    def _save(
        self,
        statistics: BacktestStatistics,
        series: RunSeries,
        commands: tuple[PositionCommand, ...],
        cancelled: tuple[CancelledResult, ...],
        same_minute_fills: tuple[str, ...],
        *,
        parameters: dict[str, Any],
        state: str,
        started_at_ms: int,
    ) -> int:
        try:
            parameters_json = json.dumps(parameters, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"parameters of a stored run must be JSON data: {error}") from error
        trades = [json.dumps(result.model_dump(mode="json"), allow_nan=False) for result in statistics.signal_list]
        restored = _restore(trades, series)
        if restored[0] != statistics:
            raise ValueError(
                f"run {series.symbol}:{series.strategy_name} not saved: its stored trades would not give back the "
                "same statistics"
            )
        if not _values_equal(restored[1], series):
            raise ValueError(
                f"run {series.symbol}:{series.strategy_name} not saved: its stored trades and closes would not give "
                "back the same chart series"
            )
        log = pack_commands(commands)
        if unpack_commands(log) != commands:
            raise ValueError(
                f"run {series.symbol}:{series.strategy_name} not saved: its stored command log would not give back "
                "the same commands"
            )
        orders = pack_orders(cancelled, same_minute_fills)
        if unpack_orders(orders) != (cancelled, same_minute_fills):
            raise ValueError(
                f"run {series.symbol}:{series.strategy_name} not saved: its stored limit orders would not give back "
                f"the same {len(cancelled)} cancelled orders and fills"
            )
        row = _RunRow(
            created_at=started_at_ms,
            finished_at=now_ms(),
            state=state,
            symbol=series.symbol,
            strategy_name=series.strategy_name,
            exchange_name=series.exchange_name,
            frame_start=series.frame_start,
            frame_end=series.frame_end,
            parameters=parameters_json,
            # A readable snapshot for tools outside the workstation; load() recomputes from the trades instead.
            statistics=json.dumps(statistics.model_dump(mode="json", exclude={"signal_list"}), allow_nan=False),
            total_signals=statistics.total_signals,
            total_cancelled=len(cancelled),
            total_pnl=statistics.total_pnl,
            win_rate=statistics.win_rate,
            sharpe_ratio=statistics.sharpe_ratio,
            first_close=series.first_close,
            last_close=series.last_close,
        )
        with self._lock, self._transaction() as connection:
            run_id = _insert_run(connection, row)
            _insert_trades(connection, run_id, trades)
            connection.execute("INSERT INTO commands (run_id, log) VALUES (?, ?)", (run_id, log))
            connection.execute("INSERT INTO limit_orders (run_id, orders) VALUES (?, ?)", (run_id, orders))
        return run_id

    def list_runs(self) -> list[RunSummary]:
        """Return every stored run, newest first (by start time, then by id)."""
        with self._lock:
            rows = self._connection.execute(
                f"SELECT {_SUMMARY_COLUMNS} FROM runs ORDER BY created_at DESC, id DESC"
            ).fetchall()
        return [_summary(row) for row in rows]

    def load(self, run_id: int) -> StoredRun:
        """Return stored run ``run_id``: statistics and series recomputed from its trades, command log, limit orders.

        Raises
        ------
        LookupError
            If there is no run ``run_id``: ``run 42 not found in <path>``.
        ValueError
            If its stored command log or limit orders are damaged.
        """
        with self._lock:
            row = self._connection.execute(
                f"SELECT {_SUMMARY_COLUMNS}, parameters, first_close, last_close FROM runs WHERE id = ?",
                (run_id,),
            ).fetchone()
            trades = [
                text
                for (text,) in self._connection.execute(
                    "SELECT result FROM trades WHERE run_id = ? ORDER BY seq", (run_id,)
                )
            ]
            log = self._connection.execute("SELECT log FROM commands WHERE run_id = ?", (run_id,)).fetchone()
            orders = self._connection.execute("SELECT orders FROM limit_orders WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise LookupError(f"run {run_id} not found in {self.path}")
        summary = _summary(row[:_SUMMARY_WIDTH])
        parameters_json, first_close, last_close = row[_SUMMARY_WIDTH:]
        frame = SeriesFrame.model_validate(
            summary.model_dump(include=set(SeriesFrame.model_fields))
            | {"first_close": first_close, "last_close": last_close}
        )
        statistics, series = _restore(trades, frame)
        try:
            commands = None if log is None else unpack_commands(log[0])
            cancelled, same_minute_fills = (None, None) if orders is None else unpack_orders(orders[0])
        except ValueError as error:
            raise ValueError(f"run {run_id} in {self.path}: {error}") from error
        return StoredRun(
            summary=summary,
            parameters=json.loads(parameters_json),
            statistics=statistics,
            series=series,
            closed_results=statistics.signal_list,
            commands=commands,
            cancelled_results=cancelled,
            same_minute_fills=same_minute_fills,
        )

    def delete(self, run_id: int) -> None:
        """Remove run ``run_id`` with everything stored with it; an unknown id is not an error (it is gone anyway)."""
        with self._lock, self._transaction() as connection:
            connection.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    def close(self) -> None:
        """Close the file on the history's thread and end that thread; the object must not be used afterwards."""
        self.worker.shutdown(last_job=self._close_connection)

    def _close_connection(self) -> None:
        with self._lock:
            self._connection.close()


def _history_path(path: str | Path | None) -> Path:
    return Path(platformdirs.user_data_dir("workstation")) / _HISTORY_FILE_NAME if path is None else Path(path)


def _insert_run(connection: sqlite3.Connection, row: _RunRow) -> int:
    cursor = connection.execute(
        """
        INSERT INTO runs (
            created_at, finished_at, state, symbol, strategy_name, exchange_name, frame_start, frame_end,
            parameters, statistics, total_signals, total_cancelled, total_pnl, win_rate, sharpe_ratio,
            first_close, last_close
        ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (
            row.created_at,
            row.finished_at,
            row.state,
            row.symbol,
            row.strategy_name,
            row.exchange_name,
            row.frame_start,
            row.frame_end,
            row.parameters,
            row.statistics,
            row.total_signals,
            row.total_cancelled,
            row.total_pnl,
            row.win_rate,
            row.sharpe_ratio,
            row.first_close,
            row.last_close,
        ),
    )
    run_id = cursor.lastrowid
    assert run_id is not None  # an INSERT into a rowid table always sets it
    return run_id


def _insert_trades(connection: sqlite3.Connection, run_id: int, trades: Sequence[str]) -> None:
    connection.executemany(
        "INSERT INTO trades (run_id, seq, result) VALUES (?, ?, ?)",
        [(run_id, seq, text) for seq, text in enumerate(trades)],
    )


def _summary(row: Sequence[Any]) -> RunSummary:
    return RunSummary.model_validate(dict(zip(RunSummary.model_fields, row, strict=True)))


def _restore(trades: Sequence[str], frame: SeriesFrame) -> tuple[BacktestStatistics, RunSeries]:
    """Rebuild statistics and series from stored trade JSON, exactly as ``Backtest.get_data``/``get_series`` do."""
    closed = [ClosedResult.model_validate(json.loads(text)) for text in trades]
    statistics = compute_backtest_statistics(closed)
    return statistics, compute_run_series(closed, **frame.series_arguments())


def _values_equal(left: object, right: object) -> bool:
    """Compare two field values, arrays by dtype, shape and content (NaN equal to NaN), models field by field."""
    if isinstance(left, np.ndarray) or isinstance(right, np.ndarray):
        return (
            isinstance(left, np.ndarray)
            and isinstance(right, np.ndarray)
            and left.dtype == right.dtype
            and np.array_equal(left, right, equal_nan=left.dtype.kind == "f")
        )
    if isinstance(left, BaseModel) and isinstance(right, BaseModel):
        return type(left) is type(right) and all(
            _values_equal(getattr(left, name), getattr(right, name)) for name in type(left).model_fields
        )
    return left == right
