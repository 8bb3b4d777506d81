"""A stored run keeps its command log (issue 14): the run history stores every command of a managed run, compactly,
and gives it back value for value with the run; a history file written before it kept command logs still opens,
its runs simply have none; the reports of a reopened run are the run's own.

The managed run is the peer's ``managed`` strategy on its 1-day file through the parity harness (it matches the peer
bit for bit, tests/acceptance/test_parity.py), stored in a real SQLite file.
"""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import zlib
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from data_paths import BTC_1D_CSV

import workstation as ws
from workstation import history
from workstation.config import get_config
from workstation.parity import SYMBOL, run_parity
from workstation.reports.backtest import backtest_report
from workstation.reports.html import render_backtest_html
from workstation.reports.trades_csv import trade_list_csv
from workstation.stored_commands import pack_commands, unpack_commands

STRATEGY = "sma-cross-managed"
#: A long that averaged in, closed 40 % at a profit, trailed its stop twice and its take profit once.
MANAGED = "managed-1704112200000"


@dataclass(frozen=True)
class Original:
    """What the engine held for the run when it ended, and the reports it wrote."""

    commands: tuple[ws.PositionCommand, ...]
    run: ws.BacktestRun
    closed: list[ws.ClosedResult]
    markdown: str
    html: str
    csv: str


def run_and_store(path: Path) -> tuple[Original, int]:
    """Run the managed case, store it in ``path`` as the window does when a run ends; return it and its id."""

    async def scenario() -> tuple[Original, int]:
        await run_parity(BTC_1D_CSV, "managed")
        run = ws.Backtest.latest(SYMBOL, STRATEGY)
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
            # No ``run``: the history takes the pair's latest, its command log included.
            run_id = await store.save_backtest(
                SYMBOL, STRATEGY, exchange_name="csv-exchange", parameters={}, state="finished", started_at_ms=0
            )
        finally:
            store.close()
        return original, run_id

    return asyncio.run(scenario())


def load(path: Path, run_id: int) -> ws.StoredRun:
    reader = ws.RunHistory(path)
    try:
        return reader.load(run_id)
    finally:
        reader.close()


def sql(path: Path, statement: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as connection, connection:
        return connection.execute(statement).fetchall()


def make_old(path: Path) -> None:
    """Turn ``path`` into the history file a workstation wrote before it kept command logs (schema version 1)."""
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("DROP TABLE limit_orders")
        connection.execute("DROP TABLE commands")
        connection.execute("PRAGMA user_version = 1")


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Original, ws.StoredRun, Path]:
    path = tmp_path_factory.mktemp("history") / "runs.sqlite3"
    original, run_id = run_and_store(path)
    return original, load(path, run_id), path


def test_a_stored_run_gives_back_its_command_log_exactly(stored: tuple[Original, ws.StoredRun, Path]) -> None:
    original, run, _ = stored
    assert run.commands == original.commands
    assert Counter(command.action for command in original.commands) == {
        "trailing-stop": 22,
        "partial-profit": 11,
        "average-buy": 4,
        "breakeven": 4,
        "partial-loss": 2,
        "close-pending": 2,
        "trailing-take": 1,
    }
    # Bit for bit: every float of every command.
    for mine, theirs in zip(run.commands or (), original.commands, strict=True):
        assert [value.hex() if isinstance(value, float) else value for value in mine] == [
            value.hex() if isinstance(value, float) else value for value in theirs
        ]
    for result in run.closed_results:
        assert run.commands_of(result.signal.id) == original.run.commands_of(result.signal.id)
    assert [command.action for command in run.commands_of(MANAGED) or ()] == [
        "average-buy",
        "partial-profit",
        "trailing-stop",
        "trailing-stop",
        "trailing-take",
    ]
    assert run.commands_of("not-a-signal-of-this-run") == []


def test_the_reports_of_a_reopened_managed_run_are_the_runs_own(stored: tuple[Original, ws.StoredRun, Path]) -> None:
    original, run, _ = stored
    max_rows = get_config().report_max_rows
    assert backtest_report(run.statistics, SYMBOL, STRATEGY, max_rows=max_rows) == original.markdown
    assert "| Entries |" in original.markdown
    assert render_backtest_html(run.statistics, run.series) == original.html
    assert trade_list_csv(run.closed_results) == original.csv


def test_the_command_log_is_stored_compactly(stored: tuple[Original, ws.StoredRun, Path]) -> None:
    original, _, path = stored
    [(log,)] = sql(path, "SELECT log FROM commands")
    assert isinstance(log, bytes)
    text = zlib.decompress(log)
    data = json.loads(text)
    # Each signal id once; each command a row of its values, the signal by its index.
    assert len(data["signals"]) == len({command.signal_id for command in original.commands}) == 9
    assert data["rows"][0][1:] == list(original.commands[0][1:])
    assert len(data["rows"]) == len(original.commands) == 46
    [(trades,)] = sql(path, "SELECT sum(length(result)) FROM trades")
    assert isinstance(trades, int)
    # The same commands as JSON objects would take about as much as the trades; stored, a small part of it.
    objects = len(json.dumps([command._asdict() for command in original.commands]))
    assert len(text) == 5931 < objects / 2
    assert len(log) * 3 < len(text)
    assert len(log) * 10 < trades


def test_an_old_history_file_opens_and_its_runs_have_no_command_log(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    original, run_id = run_and_store(path)
    make_old(path)
    assert sql(path, "PRAGMA user_version") == [(1,)]

    run = load(path, run_id)

    assert sql(path, "PRAGMA user_version") == [(history.SCHEMA_VERSION,)] == [(3,)]
    assert (run.commands, run.commands_of(MANAGED)) == (None, None)
    assert run.closed_results == original.closed
    # A run stored after the upgrade keeps its log in the same file.
    store = ws.RunHistory(path)
    newer = asyncio.run(
        store.save_backtest(
            SYMBOL, STRATEGY, exchange_name="csv-exchange", parameters={}, state="finished", started_at_ms=1
        )
    )
    assert store.load(newer).commands == original.commands
    assert store.load(run_id).commands is None
    store.close()


def test_deleting_a_run_deletes_its_command_log(stored: tuple[Original, ws.StoredRun, Path], tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    path.write_bytes(stored[2].read_bytes())
    store = ws.RunHistory(path)
    [summary] = store.list_runs()
    store.delete(summary.id)
    store.close()
    assert sql(path, "SELECT count(*) FROM commands") == [(0,)]


def test_a_run_without_commands_stores_an_empty_log_not_none() -> None:
    assert unpack_commands(pack_commands(())) == ()


def test_a_command_with_a_number_json_cannot_hold_is_refused_naming_it() -> None:
    command = ws.PositionCommand("s-1", 60_000, "trailing-stop", math.nan, 1.0, 0.5, 2.0, 1.0, 100.0)
    with pytest.raises(ValueError, match=r"^command log not stored: PositionCommand\(signal_id='s-1', .*argument=nan"):
        pack_commands([command])


def test_a_damaged_command_log_is_an_error_naming_the_run_not_a_wrong_log(
    stored: tuple[Original, ws.StoredRun, Path], tmp_path: Path
) -> None:
    path = tmp_path / "runs.sqlite3"
    path.write_bytes(stored[2].read_bytes())
    sql(path, "UPDATE commands SET log = x'00ff'")
    store = ws.RunHistory(path)
    [summary] = store.list_runs()
    with pytest.raises(ValueError, match=rf"^run {summary.id} in {path}: not a stored command log \(error: "):
        store.load(summary.id)
    store.close()
