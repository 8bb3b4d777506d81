"""``ws.prepare_sweep`` and ``ws.SweepWorkers``: a sweep as the window asks for it, in real worker processes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

import workstation as ws

REQUEST = ws.SweepRequest(
    strategy_name="sma-cross-market",
    exchange_name="demo",
    symbol="BTCUSDT",
    start=datetime(2024, 1, 1, tzinfo=UTC),
    end=datetime(2024, 1, 1, 23, 59, tzinfo=UTC),
    metric="total_pnl",
)
GRID = {"fast": [5, 10], "slow": [30, 50]}


@pytest.fixture
def workers() -> Iterator[ws.SweepWorkers]:
    owner = ws.SweepWorkers()
    yield owner
    owner.close()


def test_a_prepared_sweep_runs_every_parameter_set_in_the_workers(workers: ws.SweepWorkers) -> None:
    finished: list[ws.OptimizerRow] = []
    prepared = asyncio.run(ws.prepare_sweep(REQUEST, GRID, on_job_complete=finished.append))

    result = asyncio.run(ws.Optimizer.run(prepared.symbol, prepared.optimizer_name, workers.pool(2)))

    assert prepared == ws.PreparedSweep("BTCUSDT", "sweep-1")
    (optimizer,) = ws.list_optimizers()
    assert (optimizer.exchange_name, optimizer.frame_name, optimizer.grid, optimizer.metric) == (
        "demo",
        "backtest-20240101T0000-20240101T2359",
        GRID,
        "total_pnl",
    )
    assert sorted(dict(row.params)["fast"] * 100 + dict(row.params)["slow"] for row in result.rows) == [
        530,
        550,
        1030,
        1050,
    ]
    assert len(finished) == 4
    assert all(row.error is None for row in result.rows)


def test_the_workers_are_kept_between_sweeps_and_replaced_for_another_count(workers: ws.SweepWorkers) -> None:
    first = workers.pool(2)
    assert workers.pool(2) is first
    assert workers.workers == 2

    other = workers.pool(1)

    assert other is not first
    assert workers.workers == 1
    with pytest.raises(RuntimeError):
        first.submit(int)  # the old pool was shut down
    workers.close()
    assert workers.workers == 0


def test_a_bad_worker_count_keeps_the_pool(workers: ws.SweepWorkers) -> None:
    pool = workers.pool(1)

    with pytest.raises(ValueError, match="workers must be an integer of at least 1, got 0"):
        workers.pool(0)

    assert workers.pool(1) is pool


def test_sweeps_are_numbered() -> None:
    first = asyncio.run(ws.prepare_sweep(REQUEST, GRID))
    second = asyncio.run(ws.prepare_sweep(REQUEST.model_copy(update={"symbol": "ETHUSDT"}), {"fast": [7]}))

    assert (first.optimizer_name, second.optimizer_name) == ("sweep-1", "sweep-2")
    assert ws.list_optimizers()[1].symbols == ["ETHUSDT"]
