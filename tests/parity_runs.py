"""The peer's parity cases on its 1-day candles as the tests of a stored run need them: registered for the window's Run
button, run and stored in a real history file as the window stores a run that ended, read back, and history files
made as a workstation wrote them before it kept command logs or limit orders."""

from __future__ import annotations

import asyncio
import sqlite3
import zlib
from contextlib import closing
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import qasync
from backtest_runs import run_to_end
from data_paths import BTC_1D_CSV
from loop_helpers import wait_until

import workstation as ws
from ui.backtest.run_tab import RunTab
from ui.charts import SignalMarks
from ui.main_window import MainWindow
from workstation.config import get_config
from workstation.examples.managed_sma import make_strategy
from workstation.exchanges.csv import CsvCandles, make_csv_exchange
from workstation.parity import EXCHANGE_NAME, SYMBOL, run_parity
from workstation.reports.backtest import backtest_report
from workstation.reports.html import render_backtest_html
from workstation.reports.trades_csv import trade_list_csv
from workstation.timeutil import MINUTE_MS, from_ms

#: The peer's ``managed`` case's strategy name.
MANAGED_STRATEGY = "sma-cross-managed"
#: A long of the managed run that averaged in, closed 40 % at a profit, trailed its stop twice and its take profit once.
MANAGED = "managed-1704112200000"
#: How many commands of each action the managed run's command log holds.
MANAGED_ACTIONS = {
    "trailing-stop": 22,
    "partial-profit": 11,
    "average-buy": 4,
    "breakeven": 4,
    "partial-loss": 2,
    "close-pending": 2,
    "trailing-take": 1,
}
#: The history file's tables a schema version added after the first (``workstation.history``).
ADDED_IN_VERSION = {"commands": 2, "limit_orders": 3}


def managed_strategy() -> ws.StrategySchema:
    """Return the built-in ``managed-sma`` (the peer's ``managed`` strategy) under the peer's case name."""
    return make_strategy({"variant": "market"}).model_copy(update={"strategy_name": MANAGED_STRATEGY})


async def register(strategy: ws.StrategySchema, csv: Path = BTC_1D_CSV) -> tuple[np.ndarray, ws.BacktestRequest]:
    """Register ``strategy`` and the peer's candles ``csv`` as ``workstation.parity`` does; return the candles and the
    request of the parity frame."""
    ws.reset()
    exchange = ws.add_exchange(make_csv_exchange(EXCHANGE_NAME, csv))
    assert isinstance(exchange.get_candles, CsvCandles)
    candles = await exchange.get_candles.load()
    registered = ws.add_strategy(strategy)
    first, last = int(candles["timestamp"][0]), int(candles["timestamp"][-1])
    request = ws.BacktestRequest(
        exchange_name=EXCHANGE_NAME,
        symbol=SYMBOL,
        strategy_name=registered.strategy_name,
        start=from_ms(first + 60 * MINUTE_MS),
        end=from_ms(last - 360 * MINUTE_MS),
    )
    return candles, request


@dataclass(frozen=True)
class Original:
    """What the engine held for the run when it ended, and the reports it wrote."""

    commands: tuple[ws.PositionCommand, ...]
    run: ws.BacktestRun
    closed: list[ws.ClosedResult]
    markdown: str
    html: str
    csv: str


def run_and_store(path: Path, variant: str) -> tuple[Original, int]:
    """Run the parity case ``variant`` on the 1-day file and store it in ``path`` as the window does when a run ends;
    return it and its id in the history."""

    async def scenario() -> tuple[Original, int]:
        await run_parity(BTC_1D_CSV, variant)
        strategy = f"sma-cross-{variant}"
        run = ws.Backtest.latest(SYMBOL, strategy)
        assert run is not None
        statistics, series = await run.get_data(), await run.get_series()
        original = Original(
            tuple(run.commands),
            run,
            statistics.signal_list,
            await run.get_report(),
            render_backtest_html(statistics, series),
            trade_list_csv(statistics.signal_list),
        )
        store = ws.RunHistory(path)
        try:
            # No ``run``: the history takes the pair's latest, its command log and limit orders included.
            run_id = await store.save_backtest(
                SYMBOL, strategy, exchange_name="csv-exchange", parameters={}, state="finished", started_at_ms=0
            )
        finally:
            store.close()
        return original, run_id

    return asyncio.run(scenario())


def assert_reports_are_the_runs_own(stored: ws.StoredRun, original: Original) -> None:
    """Check that the reports of the run read back are those the run wrote: markdown, HTML and trade list."""
    markdown = backtest_report(
        stored.statistics, SYMBOL, stored.summary.strategy_name, max_rows=get_config().report_max_rows
    )
    assert markdown == original.markdown
    assert render_backtest_html(stored.statistics, stored.series) == original.html
    assert trade_list_csv(stored.closed_results) == original.csv


def load(path: Path, run_id: int) -> ws.StoredRun:
    """Read the run ``run_id`` back from the history file ``path``."""
    reader = ws.RunHistory(path)
    try:
        return reader.load(run_id)
    finally:
        reader.close()


def sql(path: Path, statement: str) -> list[tuple[object, ...]]:
    """Run ``statement`` on the SQLite file ``path``; return its rows."""
    with closing(sqlite3.connect(path)) as connection, connection:
        return connection.execute(statement).fetchall()


def packed(path: Path, statement: str) -> tuple[bytes, bytes]:
    """Return the one compressed value ``statement`` selects from the history file ``path``, and that value unpacked."""
    [(value,)] = sql(path, statement)
    assert isinstance(value, bytes)
    return value, zlib.decompress(value)


def trades_size(path: Path) -> int:
    """Return how many bytes the stored trades of the history file ``path`` take."""
    [(size,)] = sql(path, "SELECT sum(length(result)) FROM trades")
    assert isinstance(size, int)
    return size


def make_schema(path: Path, version: int) -> None:
    """Turn the history file ``path`` into the one a workstation of schema ``version`` wrote: version 1 before it kept
    command logs, version 2 before it kept limit orders."""
    with closing(sqlite3.connect(path)) as connection, connection:
        for table, added in ADDED_IN_VERSION.items():
            if added > version:
                connection.execute(f"DROP TABLE {table}")
        connection.execute(f"PRAGMA user_version = {version}")


def copy_history(source: Path, path: Path, version: int | None = None) -> Path:
    """Copy the history file ``source`` to ``path`` (as a workstation of schema ``version`` wrote it, if given)."""
    with closing(sqlite3.connect(source)) as origin, closing(sqlite3.connect(path)) as target:
        origin.backup(target)
    if version is not None:
        make_schema(path, version)
    return path


def only_run(path: Path) -> ws.StoredRun:
    """Read back the one run the history file ``path`` holds."""
    history = ws.RunHistory(path)
    try:
        [summary] = history.list_runs()
        return history.load(summary.id)
    finally:
        history.close()


def assert_same_marks(mine: SignalMarks, theirs: SignalMarks) -> None:
    """Check that two charts' marks are the same, value for value."""
    for item in fields(mine):
        assert np.array_equal(getattr(mine, item.name), getattr(theirs, item.name)), item.name


def delete_only_run(path: Path) -> None:
    """Delete the one run the history file ``path`` holds."""
    history = ws.RunHistory(path)
    try:
        [summary] = history.list_runs()
        history.delete(summary.id)
    finally:
        history.close()


def run_and_reopen(window: MainWindow, qloop: qasync.QEventLoop, strategy: ws.StrategySchema) -> tuple[RunTab, RunTab]:
    """Run ``strategy`` on the peer's 1-day candles in the window (which stores the run when it ends), then reopen it
    from the history; return the tab of the run and the reopened one."""
    _, request = qloop.run_until_complete(register(strategy))
    ran = run_to_end(qloop, window, request)
    assert ran.state == "Finished"
    [stored] = window.history.list_runs()
    assert stored.strategy_name == request.strategy_name
    reopened = qloop.run_until_complete(window.stored_runs.open(stored.id))
    assert reopened is not None
    assert reopened.status.text() == f"Finished (from the history, run #{stored.id})"
    # The candles are read back in the background; the marks are placed on them.
    wait_until(qloop, lambda: len(reopened.chart.candles()) > 0)
    return ran, reopened
