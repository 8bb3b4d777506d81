"""A stored run keeps the limit orders its trades do not show (issue 14): the orders it cancelled and those that filled
in the minute they were placed, given back value for value, so a reopened run's chart marks every order the run
placed; a history file written before still opens, its runs draw what they have; the reports stay the run's own.

The runs are the peer's ``limit`` and ``managed-limit`` strategies on its 1-day file through the parity harness
(they match the peer bit for bit, tests/acceptance/test_parity.py), stored in a real SQLite file.
"""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path

import pytest
from parity_runs import (
    Original,
    assert_reports_are_the_runs_own,
    copy_history,
    delete_only_run,
    load,
    only_run,
    packed,
    run_and_store,
    sql,
    trades_size,
)

import workstation as ws
from workstation import history
from workstation.stored_orders import pack_orders, unpack_orders

#: The limit run's one cancelled order: placed 09:40, it waited its 120 minutes without a fill (the peer's row).
CANCELLED = "limit-1704102000000"
#: Each run's order placed at 16:30 that filled in the same minute: its closed trade alone looks like a market order.
LIMIT_SAME_MINUTE = "limit-1704126600000"
MANAGED_SAME_MINUTE = "managed-limit-1704126600000"


@pytest.fixture(scope="module")
def limit_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Original, ws.StoredRun, Path]:
    path = tmp_path_factory.mktemp("history") / "runs.sqlite3"
    original, run_id = run_and_store(path, "limit")
    return original, load(path, run_id), path


def test_a_run_keeps_its_cancelled_orders_and_the_orders_filled_in_the_minute_placed(
    limit_run: tuple[Original, ws.StoredRun, Path],
) -> None:
    original, _, _ = limit_run
    [cancelled] = original.run.cancelled
    signal = cancelled.signal
    assert (signal.id, cancelled.reason, signal.scheduled_at, cancelled.close_timestamp) == (
        CANCELLED,
        "timeout",
        1704102000000,
        1704109200000,
    )
    assert (signal.position, signal.price_open, cancelled.current_price) == (
        "long",
        40703.69139994971,
        41027.514678448075,
    )
    assert original.run.same_minute_fills == [LIMIT_SAME_MINUTE]
    [same_minute] = [result.signal for result in original.closed if result.signal.id == LIMIT_SAME_MINUTE]
    assert same_minute.scheduled_at == same_minute.pending_at == 1704126600000


def test_a_stored_run_gives_back_its_limit_orders_exactly(limit_run: tuple[Original, ws.StoredRun, Path]) -> None:
    original, stored, _ = limit_run
    assert stored.cancelled_results == tuple(original.run.cancelled)
    assert stored.same_minute_fills == (LIMIT_SAME_MINUTE,)
    assert stored.closed_results == original.closed
    # In the order the run ended them (the peer's rows' order): the cancelled order between the trades around it.
    assert [(result.action, result.signal.id) for result in stored.ended_results()] == [
        ("closed", "limit-1704075900000"),
        ("closed", "limit-1704083700000"),
        ("cancelled", CANCELLED),
        ("closed", "limit-1704109800000"),
        ("closed", LIMIT_SAME_MINUTE),
        ("closed", "limit-1704130500000"),
    ]


def test_the_reports_of_a_reopened_run_with_a_cancelled_order_are_the_runs_own(
    limit_run: tuple[Original, ws.StoredRun, Path],
) -> None:
    original, stored, _ = limit_run
    assert stored.summary.strategy_name == "sma-cross-limit"
    assert_reports_are_the_runs_own(stored, original)
    # backtest-kit 19.5's statistics leave cancelled orders out; the run keeps its one.
    assert "Cancelled signals" not in original.markdown
    assert len(original.run.cancelled) == 1


def test_the_limit_orders_are_stored_compactly(limit_run: tuple[Original, ws.StoredRun, Path]) -> None:
    original, _, path = limit_run
    orders, text = packed(path, "SELECT orders FROM limit_orders")
    data = json.loads(text)
    assert data == {
        "cancelled": [original.run.cancelled[0].model_dump(mode="json")],
        "same_minute_fills": [LIMIT_SAME_MINUTE],
    }
    # A cancelled order takes less than a trade (its five trades: 7 347 bytes); stored, less than half of that.
    assert (len(text), trades_size(path)) == (1038, 7347)
    assert len(orders) * 2 < len(text)


def test_a_managed_limit_run_stores_its_order_filled_in_the_minute_placed(tmp_path: Path) -> None:
    original, run_id = run_and_store(tmp_path / "runs.sqlite3", "managed-limit")
    stored = load(tmp_path / "runs.sqlite3", run_id)
    assert (original.run.cancelled, original.run.same_minute_fills) == ([], [MANAGED_SAME_MINUTE])
    assert (stored.cancelled_results, stored.same_minute_fills) == ((), (MANAGED_SAME_MINUTE,))
    assert stored.ended_results() == original.closed
    assert len(original.closed) == 7


def test_a_file_written_before_opens_and_its_runs_have_no_limit_orders(
    limit_run: tuple[Original, ws.StoredRun, Path], tmp_path: Path
) -> None:
    original, stored, source = limit_run
    path = copy_history(source, tmp_path / "runs.sqlite3", version=2)

    old = only_run(path)

    assert sql(path, "PRAGMA user_version") == [(history.SCHEMA_VERSION,)] == [(3,)]
    assert (old.cancelled_results, old.same_minute_fills) == (None, None)
    # It draws what it has: the closed trades and their statistics; the file still counts the cancelled order.
    assert old.ended_results() == old.closed_results == original.closed
    assert old.statistics == stored.statistics
    assert sql(path, "SELECT total_cancelled FROM runs") == [(1,)]
    assert old.commands == stored.commands
    # A run stored after the upgrade keeps its limit orders in the same file.
    again, newer = run_and_store(path, "limit")
    assert load(path, newer).cancelled_results == tuple(again.run.cancelled) == tuple(original.run.cancelled)
    assert load(path, old.summary.id).cancelled_results is None


def test_a_file_of_the_first_schema_is_upgraded_step_by_step(
    limit_run: tuple[Original, ws.StoredRun, Path], tmp_path: Path
) -> None:
    _, stored, source = limit_run
    path = copy_history(source, tmp_path / "runs.sqlite3", version=1)

    old = only_run(path)

    assert (old.commands, old.cancelled_results, old.same_minute_fills) == (None, None, None)
    assert old.statistics == stored.statistics
    assert sql(path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") == [
        ("commands",),
        ("limit_orders",),
        ("runs",),
        ("trades",),
    ]


def test_deleting_a_run_deletes_its_limit_orders(
    limit_run: tuple[Original, ws.StoredRun, Path], tmp_path: Path
) -> None:
    path = copy_history(limit_run[2], tmp_path / "runs.sqlite3")
    delete_only_run(path)
    assert sql(path, "SELECT count(*) FROM limit_orders") == [(0,)]


def test_damaged_limit_orders_are_an_error_naming_the_run(
    limit_run: tuple[Original, ws.StoredRun, Path], tmp_path: Path
) -> None:
    path = copy_history(limit_run[2], tmp_path / "runs.sqlite3")
    sql(path, "UPDATE limit_orders SET orders = x'00ff'")
    with pytest.raises(ValueError, match=rf"^run 1 in {path}: not a run's stored limit orders \(error: "):
        only_run(path)


def test_limit_orders_that_are_not_cancelled_results_are_refused_naming_the_field() -> None:
    blob = zlib.compress(json.dumps({"cancelled": [{"action": "cancelled"}], "same_minute_fills": []}).encode())
    with pytest.raises(ValueError, match=r"^not a run's stored limit orders \(0\.symbol: Field required\)$"):
        unpack_orders(blob)


def test_a_run_without_limit_orders_stores_empty_ones() -> None:
    assert unpack_orders(pack_orders((), ())) == ((), ())


def test_a_cancelled_order_with_a_number_json_cannot_hold_is_refused_naming_it(
    limit_run: tuple[Original, ws.StoredRun, Path],
) -> None:
    cancelled = limit_run[0].run.cancelled[0].model_copy(update={"current_price": math.inf})
    with pytest.raises(ValueError, match=rf"^limit orders not stored: cancelled order {CANCELLED} holds a number JSON"):
        pack_orders([cancelled], ())
