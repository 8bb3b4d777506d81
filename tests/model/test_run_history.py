"""The run history: a real backtest saved to SQLite reads back exactly, in a new process-like RunHistory."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import workstation as ws
from workstation import history
from workstation.examples.sma_cross import make_strategy

SYMBOL = "BTCUSDT"
STRATEGY = "sma-cross-market"
FRAME_START = 1_704_067_200_000  # 2024-01-01T00:00:00Z
FRAME_END = 1_704_153_600_000  # 2024-01-02T00:00:00Z, the frame's last tick
STARTED_AT = 1_717_200_000_000  # 2024-06-01T00:00:00Z
PARAMETERS: dict[str, Any] = {"symbol": SYMBOL, "strategy": {"variant": "market"}, "frame": "day", "fee": 0.1}
SERIES_ARRAYS = (
    "close_times",
    "trade_pnl",
    "trade_pnl_money",
    "step_times",
    "equity",
    "equity_money",
    "underwater",
    "histogram_edges",
    "histogram_counts",
)


def run_one_day_backtest() -> tuple[ws.BacktestStatistics, ws.RunSeries]:
    """Run the SMA cross (market) over one day of demo BTCUSDT 1m candles; return what the engine holds."""
    ws.add_exchange(ws.make_demo_exchange())
    ws.add_strategy(make_strategy({"variant": "market"}))
    ws.add_frame(
        frame_name="day",
        interval="1m",
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        end_date=datetime(2024, 1, 2, tzinfo=UTC),
    )

    async def scenario() -> tuple[ws.BacktestStatistics, ws.RunSeries]:
        async for _ in ws.Backtest.run(SYMBOL, strategy_name=STRATEGY, exchange_name="demo", frame_name="day"):
            pass
        return await ws.Backtest.get_data(SYMBOL, STRATEGY), await ws.Backtest.get_series(SYMBOL, STRATEGY)

    return asyncio.run(scenario())


def sql(path: Path, statement: str) -> list[tuple[Any, ...]]:
    """Run one statement on ``path`` through a separate connection, as another program would, and close it."""
    with closing(sqlite3.connect(path)) as connection, connection:
        return connection.execute(statement).fetchall()


def save(store: ws.RunHistory, *, state: str = "finished", started_at: int = STARTED_AT) -> int:
    return asyncio.run(
        store.save_backtest(
            SYMBOL, STRATEGY, exchange_name="demo", parameters=PARAMETERS, state=state, started_at_ms=started_at
        )
    )


def test_a_saved_run_loads_back_exactly_in_a_new_history(tmp_path: Path) -> None:
    statistics, series = run_one_day_backtest()
    path = tmp_path / "runs.sqlite3"
    writer = ws.RunHistory(path)
    run_id = save(writer)
    writer.close()

    reader = ws.RunHistory(path)
    stored = reader.load(run_id)

    assert run_id == 1
    assert statistics.total_signals == 13
    assert statistics.total_pnl == -6.18202437766817
    for name in type(statistics).model_fields:
        assert getattr(stored.statistics, name) == getattr(statistics, name), name
    assert stored.statistics == statistics
    assert stored.closed_results == statistics.signal_list
    assert stored.parameters == PARAMETERS
    for name in SERIES_ARRAYS:
        original, restored = getattr(series, name), getattr(stored.series, name)
        assert restored.dtype == original.dtype, name
        assert np.array_equal(restored, original), name
    assert np.array_equal(stored.series.monthly_returns.table, series.monthly_returns.table, equal_nan=True)
    assert stored.series.monthly_returns.years == series.monthly_returns.years == [2024]
    assert stored.series.worst_drawdowns == series.worst_drawdowns
    assert stored.series.pnl_by_close_reason == series.pnl_by_close_reason
    assert stored.series.pnl_by_side == series.pnl_by_side
    assert stored.series.buy_and_hold == series.buy_and_hold == 3.0684792644273484
    assert (stored.series.exposure, stored.series.average_holding_minutes, stored.series.longest_flat_minutes) == (
        series.exposure,
        series.average_holding_minutes,
        series.longest_flat_minutes,
    )
    assert (stored.series.symbol, stored.series.strategy_name) == (SYMBOL, STRATEGY)
    assert (stored.series.frame_start, stored.series.frame_end) == (FRAME_START, FRAME_END)

    [summary] = reader.list_runs()
    assert summary == stored.summary
    assert summary.model_dump(exclude={"finished_at"}) == {
        "id": 1,
        "created_at": STARTED_AT,
        "state": "finished",
        "symbol": SYMBOL,
        "strategy_name": STRATEGY,
        "exchange_name": "demo",
        "frame_start": FRAME_START,
        "frame_end": FRAME_END,
        "total_signals": 13,
        "total_pnl": -6.18202437766817,
        "win_rate": 46.15384615384615,
        "sharpe_ratio": -0.48720861862867704,  # 19.5: sample deviation (SPEC §11: -0.5071028080230895)
    }
    assert summary.finished_at >= STARTED_AT
    reader.close()


def test_the_default_file_is_in_the_user_data_dir(tmp_path: Path) -> None:
    store = ws.RunHistory()
    assert store.path == tmp_path / "user_data_dir" / "history.sqlite3"
    assert store.path.is_file()
    store.close()


def test_runs_list_newest_first_and_keep_their_state(tmp_path: Path) -> None:
    run_one_day_backtest()
    store = ws.RunHistory(tmp_path / "runs.sqlite3")
    first = save(store, state="stopped", started_at=STARTED_AT)
    second = save(store, state="finished", started_at=STARTED_AT + 60_000)
    third = save(store, state="failed", started_at=STARTED_AT)

    assert [(run.id, run.state) for run in store.list_runs()] == [
        (second, "finished"),
        (third, "failed"),
        (first, "stopped"),
    ]
    assert store.load(first).summary.state == "stopped"
    store.close()


def test_an_unknown_state_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    store = ws.RunHistory(tmp_path / "runs.sqlite3")
    with pytest.raises(ValueError, match=r"^state must be one of 'finished', 'stopped', 'failed', got 'done'$"):
        save(store, state="done")
    store.close()


def test_parameters_that_are_not_json_are_refused(tmp_path: Path) -> None:
    run_one_day_backtest()
    store = ws.RunHistory(tmp_path / "runs.sqlite3")
    with pytest.raises(ValueError, match=r"^parameters of a stored run must be JSON data: "):
        asyncio.run(
            store.save_backtest(
                SYMBOL, STRATEGY, exchange_name="demo", parameters={"when": object()}, state="finished", started_at_ms=0
            )
        )
    assert store.list_runs() == []
    store.close()


def test_a_wrong_exchange_name_is_refused_because_the_series_would_differ(tmp_path: Path) -> None:
    run_one_day_backtest()
    ws.add_exchange(ws.make_demo_exchange("other-demo", seed=7))
    store = ws.RunHistory(tmp_path / "runs.sqlite3")
    with pytest.raises(ValueError, match=r"is 'other-demo' the exchange the run used\?\)$"):
        asyncio.run(
            store.save_backtest(
                SYMBOL, STRATEGY, exchange_name="other-demo", parameters={}, state="finished", started_at_ms=0
            )
        )
    assert store.list_runs() == []
    store.close()


def test_delete_removes_the_run_and_its_trades(tmp_path: Path) -> None:
    run_one_day_backtest()
    path = tmp_path / "runs.sqlite3"
    store = ws.RunHistory(path)
    kept, deleted = save(store), save(store)

    store.delete(deleted)

    assert [run.id for run in store.list_runs()] == [kept]
    store.close()
    assert sql(path, "SELECT run_id, count(*) FROM trades GROUP BY run_id") == [(kept, 13)]


def test_an_unknown_run_id_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    store = ws.RunHistory(path)
    with pytest.raises(LookupError) as raised:
        store.load(42)
    assert str(raised.value) == f"run 42 not found in {path}"
    store.close()


def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    content = b"these are my trading notes, not a database\n" * 40
    path.write_bytes(content)

    with pytest.raises(ws.HistoryFileError) as raised:
        ws.RunHistory(path)

    assert str(raised.value) == (f"{path} is not a run history (not an SQLite database: file is not a database)")
    assert isinstance(raised.value, ValueError)
    assert path.read_bytes() == content


def test_a_file_with_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    ws.RunHistory(path).close()
    sql(path, "PRAGMA user_version = 4")

    with pytest.raises(ws.HistoryFileError) as raised:
        ws.RunHistory(path)

    assert str(raised.value) == (
        f"{path} has run history schema version 4, newer than version 3 that this workstation reads; "
        "open it with a newer workstation or choose another file"
    )
    assert sql(path, "PRAGMA user_version") == [(4,)]


def test_a_new_file_gets_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    ws.RunHistory(path).close()
    assert sql(path, "PRAGMA user_version") == [(history.SCHEMA_VERSION,)] == [(3,)]
    assert sql(path, "PRAGMA journal_mode") == [("wal",)]
    assert sql(path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") == [
        ("commands",),
        ("limit_orders",),
        ("runs",),
        ("trades",),
    ]


def test_a_failure_after_the_run_row_leaves_no_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_one_day_backtest()
    path = tmp_path / "runs.sqlite3"
    store = ws.RunHistory(path)
    inserted: list[int] = []
    insert_run = history._insert_run

    def insert_run_then_fail(connection: sqlite3.Connection, row: Any) -> int:
        run_id = insert_run(connection, row)
        inserted.append(run_id)
        raise OSError("disk unplugged")

    monkeypatch.setattr(history, "_insert_run", insert_run_then_fail)
    with pytest.raises(OSError, match=r"^disk unplugged$"):
        save(store)
    monkeypatch.undo()

    assert inserted == [1]
    assert store.list_runs() == []
    assert sql(path, "SELECT count(*) FROM runs") == sql(path, "SELECT count(*) FROM trades") == [(0,)]
    # The store stays usable after the rollback.
    assert save(store) == 1
    store.close()


def test_a_run_without_trades_is_stored_with_empty_figures(tmp_path: Path) -> None:
    ws.add_exchange(ws.make_demo_exchange())
    ws.add_strategy(strategy_name="never", interval="1m", get_signal=lambda symbol, when: None)
    ws.add_frame(
        frame_name="hour",
        interval="1m",
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        end_date=datetime(2024, 1, 1, 1, tzinfo=UTC),
    )

    async def scenario() -> int:
        async for _ in ws.Backtest.run(SYMBOL, strategy_name="never", exchange_name="demo", frame_name="hour"):
            pass
        store = ws.RunHistory(tmp_path / "runs.sqlite3")
        try:
            return await store.save_backtest(
                SYMBOL, "never", exchange_name="demo", parameters={}, state="finished", started_at_ms=STARTED_AT
            )
        finally:
            store.close()

    run_id = asyncio.run(scenario())
    store = ws.RunHistory(tmp_path / "runs.sqlite3")
    stored = store.load(run_id)
    assert stored.closed_results == []
    assert stored.statistics.total_signals == 0
    assert stored.statistics.total_pnl is None
    assert stored.series.trade_pnl.shape == (0,)
    assert stored.series.longest_flat_minutes == 61.0
    assert (stored.summary.total_pnl, stored.summary.win_rate, stored.summary.sharpe_ratio) == (None, None, None)
    store.close()
