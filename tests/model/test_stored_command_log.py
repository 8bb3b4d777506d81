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
import zlib
from collections import Counter
from pathlib import Path

import pytest
from parity_runs import (
    MANAGED,
    MANAGED_ACTIONS,
    MANAGED_STRATEGY,
    Original,
    assert_reports_are_the_runs_own,
    copy_history,
    delete_only_run,
    load,
    make_schema,
    only_run,
    packed,
    run_and_store,
    sql,
    trades_size,
)

import workstation as ws
from workstation import history
from workstation.parity import SYMBOL
from workstation.stored_commands import pack_commands, unpack_commands


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Original, ws.StoredRun, Path]:
    path = tmp_path_factory.mktemp("history") / "runs.sqlite3"
    original, run_id = run_and_store(path, "managed")
    return original, load(path, run_id), path


def test_a_stored_run_gives_back_its_command_log_exactly(stored: tuple[Original, ws.StoredRun, Path]) -> None:
    original, run, _ = stored
    assert run.commands == original.commands
    assert Counter(command.action for command in original.commands) == MANAGED_ACTIONS
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
    assert run.summary.strategy_name == MANAGED_STRATEGY
    assert_reports_are_the_runs_own(run, original)
    assert "| Entries |" in original.markdown


def test_the_command_log_is_stored_compactly(stored: tuple[Original, ws.StoredRun, Path]) -> None:
    original, _, path = stored
    log, text = packed(path, "SELECT log FROM commands")
    data = json.loads(text)
    # Each signal id once; each command a row of its values, the signal by its index, the strategy's source unsaid.
    assert len(data["signals"]) == len({command.signal_id for command in original.commands}) == 9
    assert [*data["rows"][0][1:], "strategy"] == list(original.commands[0][1:])
    assert len(data["rows"]) == len(original.commands) == 46
    # The same commands as JSON objects would take about as much as the trades; stored, a small part of it.
    objects = len(json.dumps([command._asdict() for command in original.commands]))
    assert len(text) == 5931 < objects / 2
    assert len(log) * 3 < len(text)
    assert len(log) * 10 < trades_size(path)


def test_an_old_history_file_opens_and_its_runs_have_no_command_log(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    original, run_id = run_and_store(path, "managed")
    make_schema(path, 1)
    assert sql(path, "PRAGMA user_version") == [(1,)]

    run = load(path, run_id)

    assert sql(path, "PRAGMA user_version") == [(history.SCHEMA_VERSION,)] == [(3,)]
    assert (run.commands, run.commands_of(MANAGED)) == (None, None)
    assert run.closed_results == original.closed
    # A run stored after the upgrade keeps its log in the same file.
    store = ws.RunHistory(path)
    newer = asyncio.run(
        store.save_backtest(
            SYMBOL, MANAGED_STRATEGY, exchange_name="csv-exchange", parameters={}, state="finished", started_at_ms=1
        )
    )
    assert store.load(newer).commands == original.commands
    assert store.load(run_id).commands is None
    store.close()


def test_deleting_a_run_deletes_its_command_log(stored: tuple[Original, ws.StoredRun, Path], tmp_path: Path) -> None:
    path = copy_history(stored[2], tmp_path / "runs.sqlite3")
    delete_only_run(path)
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
    path = copy_history(stored[2], tmp_path / "runs.sqlite3")
    sql(path, "UPDATE commands SET log = x'00ff'")
    with pytest.raises(ValueError, match=rf"^run 1 in {path}: not a stored command log \(error: "):
        only_run(path)


def test_a_log_stored_before_the_source_was_kept_reads_as_the_strategys_commands() -> None:
    rows = [
        [0, 60_000, "partial-profit", 25.0, 101.5, 95.0, 110.0, 100.0, 75.0],
        [0, 120_000, "breakeven", None, 103.0, 100.2, 110.0, 100.0, 75.0],
    ]
    blob = zlib.compress(json.dumps({"signals": ["s-1"], "rows": rows}).encode("utf-8"))

    assert unpack_commands(blob) == (
        ws.PositionCommand("s-1", 60_000, "partial-profit", 25.0, 101.5, 95.0, 110.0, 100.0, 75.0, "strategy"),
        ws.PositionCommand("s-1", 120_000, "breakeven", None, 103.0, 100.2, 110.0, 100.0, 75.0, "strategy"),
    )


def test_a_command_issued_by_hand_is_stored_with_its_source() -> None:
    by_hand = ws.PositionCommand("s-1", 60_000, "partial-profit", 25.0, 101.5, 95.0, 110.0, 100.0, 75.0, "trader")
    trailed = ws.PositionCommand("s-1", 120_000, "trailing-stop", -1.5, 103.0, 98.5, 110.0, 100.0, 75.0)

    blob = pack_commands([by_hand, trailed])

    assert json.loads(zlib.decompress(blob))["rows"] == [
        [0, 60_000, "partial-profit", 25.0, 101.5, 95.0, 110.0, 100.0, 75.0, "trader"],
        [0, 120_000, "trailing-stop", -1.5, 103.0, 98.5, 110.0, 100.0, 75.0],
    ]
    assert unpack_commands(blob) == (by_hand, trailed)
    assert [command.source for command in unpack_commands(blob)] == ["trader", "strategy"]


def test_a_stored_command_of_an_unknown_source_is_refused() -> None:
    rows = [[0, 60_000, "breakeven", None, 103.0, 100.2, 110.0, 100.0, 75.0, "robot"]]
    blob = zlib.compress(json.dumps({"signals": ["s-1"], "rows": rows}).encode("utf-8"))
    with pytest.raises(ValueError, match=r"^not a stored command log: unknown sources \['robot'\]$"):
        unpack_commands(blob)
