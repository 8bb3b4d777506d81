"""Sweeps that run: failing jobs, refusals before starting, stop, random search, config snapshots, the event loop.

Jobs run on a real two-process spawn pool; the factories below are module-level so the workers import them.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
import pytest
from data_paths import BTC_1D_CSV

import workstation as ws
from workstation.examples.sma_cross import make_strategy
from workstation.exchanges.demo import DemoCandles
from workstation.optimizer import (
    Optimizer,
    OptimizerProgress,
    OptimizerResult,
    OptimizerRow,
    RandomSearch,
    local_process_pool,
    run_job,
)
from workstation.optimizer.executors import ProcessJobs
from workstation.optimizer.setup import check_sweep
from workstation.optimizer.shared_candles import read_sweep_candles

SYMBOL = "BTCUSDT"
JAN_1 = datetime(2024, 1, 1, tzinfo=UTC)
MINUTE_MS = 60_000

#: SPEC §19.5 O1 total_pnl of jobs 0..3 ({10,30}, {10,50}, {20,30}, {20,50}).
O1_TOTAL_PNL = [-2.3756448463741333, -3.1932031912030627, -4.745271652688299, -0.3931943911943412]

O1_PARAMS = [{"fast": 10, "slow": 30}, {"fast": 10, "slow": 50}, {"fast": 20, "slow": 30}, {"fast": 20, "slow": 50}]


# Factories and validations the worker processes import by reference.


def fails_in_workers(params: dict[str, Any]) -> ws.StrategySchema:
    """``make_strategy``, except that a worker process refuses ``fast=20``."""
    if multiprocessing.parent_process() is not None and params["fast"] == 20:
        raise RuntimeError("fast=20 is refused in the worker")
    return make_strategy(params)


def odd_factory(params: dict[str, Any]) -> Any:
    """``make_strategy`` for ``fast=10``, a number for ``fast=30`` and the (invalid) fields for ``fast=40``."""
    if params["fast"] == 30:
        return 42
    return make_strategy(params)


def guarded_factory(params: dict[str, Any]) -> ws.StrategySchema:
    """``make_strategy`` under the risk profile ``guard``."""
    return make_strategy(params).model_copy(update={"risk_name": "guard"})


def reject_everything(payload: Any) -> None:
    raise ws.RiskRejected("nothing passes")


class CountedDemoCandles(DemoCandles):
    """The demo's candles, noting every request made in this process."""

    requests: ClassVar[list[tuple[str, str, datetime, int]]] = []

    async def __call__(self, symbol: str, interval: str, since: datetime, limit: int) -> np.ndarray:
        self.requests.append((symbol, interval, since, limit))
        return await super().__call__(symbol, interval, since, limit)


class DemoCandlesRefusedInWorkers(DemoCandles):
    """The demo's candles, refused to a worker process: only the sweep itself may read them."""

    async def __call__(self, symbol: str, interval: str, since: datetime, limit: int) -> np.ndarray:
        if multiprocessing.parent_process() is not None:
            raise RuntimeError("a worker asked the exchange for candles")
        return await super().__call__(symbol, interval, since, limit)


#: The blocks of shared memory this process had when each job of a sweep finished.
BLOCKS_SEEN: list[list[str]] = []


def shared_blocks() -> list[str]:
    """The blocks of shared memory holding candles this process shares now."""
    return sorted(name for name in os.listdir("/dev/shm") if name.startswith(f"ws-candles-{os.getpid()}-"))


def note_shared_blocks(row: OptimizerRow) -> None:
    BLOCKS_SEEN.append(shared_blocks())


def _pristine_pool() -> ProcessPoolExecutor:
    return local_process_pool(2)


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    executor = _pristine_pool()
    yield executor
    executor.shutdown()


@pytest.fixture(autouse=True)
def _instant_retries() -> None:
    ws.set_config(get_candles_retry_delay_ms=0)


def register(
    factory: Any = make_strategy, grid: dict[str, Any] | None = None, name: str = "sweep", **fields: Any
) -> None:
    """Register the btc_1d exchange, the 01:00-17:59 frame and an optimizer (metric total_pnl)."""
    if not ws.list_frames():
        ws.add_exchange(ws.make_csv_exchange("csv-exchange", BTC_1D_CSV))
        ws.add_frame(
            frame_name="day",
            interval="1m",
            start_date=datetime(2024, 1, 1, 1, 0, tzinfo=UTC),
            end_date=datetime(2024, 1, 1, 17, 59, tzinfo=UTC),
        )
    ws.add_optimizer(
        optimizer_name=name,
        strategy_factory=factory,
        grid=grid if grid is not None else {"fast": [10, 20], "slow": [30, 50]},
        metric="total_pnl",
        exchange_name=fields.pop("exchange_name", "csv-exchange"),
        frame_name="day",
        symbols=[SYMBOL],
        **fields,
    )


def run(executor: Any = None, name: str = "sweep", **options: Any) -> OptimizerResult:
    return asyncio.run(Optimizer.run(SYMBOL, name, executor, **options))


# ---------------------------------------------------------------------------------------------------------------
# Failing jobs
# ---------------------------------------------------------------------------------------------------------------


def test_a_job_failing_in_its_worker_is_a_row_with_the_error_and_the_sweep_goes_on(pool: ProcessPoolExecutor) -> None:
    register(fails_in_workers, callbacks={"on_job_complete": note_shared_blocks})
    BLOCKS_SEEN.clear()
    errors: list[ws.ErrorEvent] = []
    progress: list[OptimizerProgress] = []
    ws.listen_error(errors.append)
    ws.listen_progress_optimizer(progress.append)

    result = run(pool)

    assert [(row.rank, row.index, row.metric_value, row.error) for row in result.rows] == [
        (1, 0, O1_TOTAL_PNL[0], None),
        (2, 1, O1_TOTAL_PNL[1], None),
        (3, 2, None, "RuntimeError: fast=20 is refused in the worker"),
        (4, 3, None, "RuntimeError: fast=20 is refused in the worker"),
    ]
    failed = result.rows[2]
    assert (failed.total_signals, failed.win_rate, failed.total_pnl, failed.sharpe_ratio, failed.avg_fall_pnl) == (
        0,
        None,
        None,
        None,
        None,
    )
    assert result.best_params == {"fast": 10, "slow": 30}
    assert len(progress) == 4
    assert sorted((e.source, e.strategy_name, e.exception_type, e.message) for e in errors) == [
        (
            "Optimizer.run",
            f"sweep#{index}",
            "RuntimeError",
            f'job {index} of optimizer "sweep" failed: RuntimeError: fast=20 is refused in the worker',
        )
        for index in (2, 3)
    ]
    report = asyncio.run(Optimizer.get_report(SYMBOL, "sweep"))
    assert report.splitlines()[-3:] == [
        "**Failed jobs:** 2",
        "- job 2 (fast=20, slow=30): RuntimeError: fast=20 is refused in the worker",
        "- job 3 (fast=20, slow=50): RuntimeError: fast=20 is refused in the worker",
    ]
    assert "| 3 | 20 | 30 | N/A | 0 | N/A | N/A | N/A | N/A | N/A |" in report.splitlines()
    # The sweep shared its candles in one block of shared memory, unlinked at its end despite the failed jobs.
    assert len(BLOCKS_SEEN) == 4
    assert len(BLOCKS_SEEN[0]) == 1
    assert all(blocks == BLOCKS_SEEN[0] for blocks in BLOCKS_SEEN)
    assert shared_blocks() == []


def test_a_strategy_the_factory_cannot_build_is_that_jobs_error(pool: ProcessPoolExecutor) -> None:
    register(odd_factory, {"fast": [10, 30, 40], "slow": [35]})

    result = run(pool)

    assert [row.index for row in result.rows] == [0, 1, 2]
    assert result.rows[0].error is None
    assert result.rows[0].total_signals > 0
    assert result.rows[1].error == (
        "TypeError: strategy_factory returned int; expected a StrategySchema or a dict of its fields"
    )
    assert result.rows[2].error is not None
    assert result.rows[2].error.startswith("ValidationError: 1 validation error for SmaCrossParams")
    assert "slow must be above fast, got fast=40, slow=35" in result.rows[2].error


# ---------------------------------------------------------------------------------------------------------------
# Refusals before starting (SPEC §18.4)
# ---------------------------------------------------------------------------------------------------------------


def test_a_thread_pool_is_refused_before_anything_starts() -> None:
    register()
    progress: list[OptimizerProgress] = []
    ws.listen_progress_optimizer(progress.append)
    with ThreadPoolExecutor(2) as threads, pytest.raises(ws.OptimizerError) as refused:
        run(threads)
    assert str(refused.value) == (
        "executor must be a concurrent.futures.ProcessPoolExecutor or a dask.distributed.Client, got "
        "ThreadPoolExecutor: each job needs a process of its own (it registers schemas in a fresh state)"
    )
    assert progress == []
    assert not Optimizer.is_running("sweep")


def test_unknown_names_and_symbols_are_refused_naming_them() -> None:
    with pytest.raises(ws.SchemaNotFoundError) as no_optimizer:
        run(name="ghost")
    assert str(no_optimizer.value) == 'optimizer "ghost" not found (source: Optimizer.run); registered: []'

    register(exchange_name="nowhere")
    with pytest.raises(ws.SchemaNotFoundError) as no_exchange:
        run()
    assert (
        str(no_exchange.value) == 'exchange "nowhere" not found (source: Optimizer.run); registered: ["csv-exchange"]'
    )

    with pytest.raises(ValueError) as wrong_symbol:
        asyncio.run(Optimizer.run("ETHUSDT", "sweep"))
    assert str(wrong_symbol.value) == "symbol 'ETHUSDT' is not one of the symbols of optimizer \"sweep\": ['BTCUSDT']"


def test_an_exchange_function_workers_cannot_import_is_refused() -> None:
    ws.add_exchange(exchange_name="inline", get_candles=lambda symbol, interval, since, limit: [])
    register(exchange_name="inline")
    with pytest.raises(ws.OptimizerError) as refused:
        run()
    assert str(refused.value) == (
        'get_candles of exchange "inline" is not importable by reference; define it at module level'
    )


def test_risk_profiles_named_by_the_strategy_travel_with_the_job(pool: ProcessPoolExecutor) -> None:
    threshold = 0

    def closure(payload: Any) -> None:
        if threshold == 0:
            raise ws.RiskRejected("closure")

    ws.add_risk(risk_name="guard", validations=[closure])
    register(guarded_factory)
    with pytest.raises(ws.OptimizerError) as refused:
        run(pool)
    assert str(refused.value) == (
        'validations[0] of risk "guard" is not importable by reference; define it at module level'
    )

    ws.reset()
    ws.set_config(get_candles_retry_delay_ms=0)
    ws.add_risk(risk_name="guard", validations=[reject_everything])
    register(guarded_factory)
    result = run(pool)
    assert [(row.index, row.total_signals, row.metric_value, row.error) for row in result.rows] == [
        (0, 0, None, None),
        (1, 0, None, None),
        (2, 0, None, None),
        (3, 0, None, None),
    ]
    assert result.best_params is None


# ---------------------------------------------------------------------------------------------------------------
# Stop, size, concurrency
# ---------------------------------------------------------------------------------------------------------------


async def _stop_sweep(row: OptimizerRow) -> None:
    await Optimizer.stop("sweep")


def test_stop_drops_jobs_not_started_and_keeps_those_that_finished(pool: ProcessPoolExecutor) -> None:
    register(grid={"fast": [5, 10, 15, 20], "slow": [30, 40, 50]}, callbacks={"on_job_complete": _stop_sweep})
    progress: list[OptimizerProgress] = []
    ws.listen_progress_optimizer(progress.append)

    result = run(pool)

    assert result.stopped
    assert result.total_jobs == 12
    # At most 2 × workers jobs were submitted when the first one finished.
    assert 1 <= len(result.rows) <= 4
    assert len(progress) == len(result.rows)
    assert not Optimizer.is_running("sweep")
    report = asyncio.run(Optimizer.get_report(SYMBOL, "sweep"))
    assert f"**Jobs finished:** {len(result.rows)} of 12 (stopped)" in report.splitlines()


def test_a_ten_million_job_grid_runs_lazily_and_stops_at_once(pool: ProcessPoolExecutor) -> None:
    register(grid={"fast": range(5, 10), "slow": range(50, 2_000_050)}, callbacks={"on_job_complete": _stop_sweep})
    started = time.perf_counter()
    result = run(pool)
    assert time.perf_counter() - started < 10
    assert result.total_jobs == 10_000_000
    assert result.stopped
    assert 1 <= len(result.rows) <= 4
    assert {row.index for row in result.rows} <= {0, 1, 2, 3}


def test_the_event_loop_keeps_turning_while_jobs_run(pool: ProcessPoolExecutor) -> None:
    register(grid={"fast": [5, 10, 15, 20, 25, 30], "slow": [35, 40, 45, 50, 55, 60]})

    async def main() -> tuple[OptimizerResult, float, int, float]:
        gaps: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        started = time.perf_counter()
        result = await Optimizer.run(SYMBOL, "sweep", pool)
        elapsed = time.perf_counter() - started
        done.set()
        await ticking
        return result, max(gaps), len(gaps), elapsed

    result, longest_gap, ticks, elapsed = asyncio.run(main())
    assert len(result.rows) == 36
    # A 5 ms sleep comes back at least every 50 ms, and never more than 100 ms late, while 36 jobs run.
    assert ticks >= elapsed / 0.05
    assert longest_gap < 0.1


def test_a_second_sweep_of_the_same_optimizer_is_refused_while_one_runs(pool: ProcessPoolExecutor) -> None:
    register()

    async def main() -> OptimizerResult:
        first = asyncio.create_task(Optimizer.run(SYMBOL, "sweep", pool))
        await asyncio.sleep(0)
        assert Optimizer.is_running("sweep")
        with pytest.raises(ws.RunAlreadyActiveError) as refused:
            await Optimizer.run(SYMBOL, "sweep", pool)
        assert str(refused.value) == "Optimizer run for BTCUSDT:sweep is already active"
        return await first

    assert [row.total_pnl for row in sorted(asyncio.run(main()).rows, key=lambda r: r.index)] == O1_TOTAL_PNL


def test_random_search_runs_the_drawn_sets_with_their_grid_indexes(pool: ProcessPoolExecutor) -> None:
    register()
    result = run(pool, search=RandomSearch(n_samples=2, seed=5))
    drawn = sorted(int(k) for k in np.random.default_rng(5).choice(4, size=2, replace=False))
    assert sorted(row.index for row in result.rows) == drawn
    assert result.total_jobs == 2
    for row in result.rows:
        assert row.total_pnl == O1_TOTAL_PNL[row.index]
        assert row.params == O1_PARAMS[row.index]


def test_each_job_runs_with_the_config_of_the_sweeps_start(pool: ProcessPoolExecutor) -> None:
    register(grid={"fast": [20], "slow": [50]})
    ws.set_config(percent_fee=0.0, percent_slippage=0.0)

    async def main() -> tuple[OptimizerResult, ws.BacktestStatistics]:
        sweep = asyncio.create_task(Optimizer.run(SYMBOL, "sweep", pool))
        await asyncio.sleep(0)
        ws.set_config(percent_fee=5.0)  # after the start: the sweep does not see it
        result = await sweep
        ws.set_config(percent_fee=0.0)
        ws.add_strategy(make_strategy({"fast": 20, "slow": 50}))
        async for _ in ws.Backtest.run(
            SYMBOL, strategy_name="sma-cross-market", exchange_name="csv-exchange", frame_name="day"
        ):
            pass
        return result, await ws.Backtest.get_data(SYMBOL, "sma-cross-market")

    result, direct = asyncio.run(main())
    (row,) = result.rows
    assert row.total_pnl == direct.total_pnl
    assert row.total_signals == direct.total_signals == 6
    assert row.total_pnl != O1_TOTAL_PNL[3]


def test_callbacks_may_be_async_and_their_errors_do_not_stop_the_sweep(pool: ProcessPoolExecutor) -> None:
    seen: list[int] = []

    async def on_job_complete(row: OptimizerRow) -> None:
        await asyncio.sleep(0)
        seen.append(row.index)
        if row.index == 1:
            raise RuntimeError("callback trouble")

    completed: list[OptimizerResult] = []
    register(callbacks={"on_job_complete": on_job_complete, "on_complete": completed.append})
    errors: list[ws.ErrorEvent] = []
    ws.listen_error(errors.append)

    result = run(pool)

    assert sorted(seen) == [0, 1, 2, 3]
    assert completed == [result]
    assert [(e.source, e.message) for e in errors] == [("Optimizer.on_job_complete", "callback trouble")]


# ---------------------------------------------------------------------------------------------------------------
# The job itself
# ---------------------------------------------------------------------------------------------------------------


def test_a_job_pickles_small_and_run_job_registers_everything_it_needs() -> None:
    register()
    job = check_sweep(SYMBOL, "sweep", main_allowed=False, source="test", first_index=3).job(3)
    payload = pickle.dumps(job)
    assert len(payload) < 8_000
    ws.reset()  # the job carries its own schemas: nothing needs to be registered here
    outcome = run_job(pickle.loads(payload))
    assert outcome.error is None
    assert outcome.index == 3
    assert outcome.statistics is not None
    assert outcome.statistics["total_pnl"] == O1_TOTAL_PNL[3]
    assert outcome.statistics["sharpe_ratio"] is None  # 6 trades: backtest-kit 19.5 gives no ratio below 10
    assert outcome.statistics["avg_fall_pnl"] == -0.8505124953557663
    assert "signal_list" not in outcome.statistics
    assert len(outcome.closed_pnls) == 6


def test_a_job_reads_the_sweeps_shared_candles_not_the_exchange_and_gives_the_same_result() -> None:
    ws.add_exchange(exchange_name="counted-demo", get_candles=CountedDemoCandles())
    ws.add_frame(
        frame_name="day",
        interval="1m",
        start_date=datetime(2024, 1, 1, 1, 0, tzinfo=UTC),
        end_date=datetime(2024, 1, 1, 17, 59, tzinfo=UTC),
    )
    register(exchange_name="counted-demo")
    setup = check_sweep(SYMBOL, "sweep", main_allowed=False, source="test", first_index=1)
    alone = run_job(setup.job(1))
    jobs = ProcessJobs(ProcessPoolExecutor(max_workers=1))  # never started: only its shared memory is used
    candles = asyncio.run(read_sweep_candles(setup.exchange, SYMBOL, setup.frame, setup.config))
    assert candles is not None
    # From a day before the frame to a day and a read-ahead (1,001 minutes) past its last minute, every minute.
    first, last = (datetime(2023, 12, 31, 1, 0, tzinfo=UTC), datetime(2024, 1, 3, 10, 40, tzinfo=UTC))
    assert int(candles["timestamp"][0]) == int(first.timestamp() * 1000)
    assert int(candles["timestamp"][-1]) == int(last.timestamp() * 1000)
    assert len(candles) == (last - first).total_seconds() / 60 + 1
    setup.candles = asyncio.run(jobs.share(SYMBOL, candles))
    try:
        CountedDemoCandles.requests.clear()
        shared = run_job(pickle.loads(pickle.dumps(setup.job(1))))
        assert CountedDemoCandles.requests == []
    finally:
        jobs.release()
    assert shared == alone
    assert alone.error is None
    assert alone.statistics is not None
    assert (alone.statistics["total_signals"], alone.statistics["total_pnl"]) == (10, -6.904284142032941)
    assert shared_blocks() == []


def test_pool_workers_read_the_shared_candles_and_never_ask_the_exchange(pool: ProcessPoolExecutor) -> None:
    ws.add_exchange(exchange_name="sweep-only-demo", get_candles=DemoCandlesRefusedInWorkers())
    ws.add_frame(
        frame_name="day",
        interval="1m",
        start_date=datetime(2024, 1, 1, 1, 0, tzinfo=UTC),
        end_date=datetime(2024, 1, 1, 17, 59, tzinfo=UTC),
    )
    register(grid={"fast": [10], "slow": [50]}, exchange_name="sweep-only-demo")

    result = run(pool)

    # The same figures as the job run alone in this process on the demo's own candles (the test above).
    assert [(row.error, row.total_signals, row.total_pnl) for row in result.rows] == [(None, 10, -6.904284142032941)]
    assert shared_blocks() == []


def test_dask_is_not_imported_with_the_engine() -> None:
    probe = "import sys, workstation, workstation.optimizer; print(sorted({'dask', 'distributed'} & set(sys.modules)))"
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"


def test_a_stopped_walk_forward_keeps_only_tested_windows(pool: ProcessPoolExecutor) -> None:
    register()
    progress: list[OptimizerProgress] = []

    def stop_at_once(update: OptimizerProgress) -> None:
        progress.append(update)
        Optimizer.stop("sweep")

    ws.listen_progress_optimizer(stop_at_once)
    result = asyncio.run(
        Optimizer.walk_forward(SYMBOL, "sweep", executor=pool, train_days=0.25, test_days=0.125, step_days=0.125)
    )
    # The stop came with the first finished training job, before window 0 could choose and test its parameters.
    assert result.windows == []
    assert result.stopped
    assert result.total_jobs == 15
    assert 1 <= len(progress) <= 4
    assert (result.out_of_sample_total_pnl, result.out_of_sample_total_signals, result.out_of_sample_sharpe) == (
        0.0,
        0,
        None,
    )
    assert not Optimizer.is_running("sweep")
