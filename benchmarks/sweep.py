"""Parameter sweep throughput: jobs/s on one and two local worker processes and on a two-worker dask cluster.

Run ``python -m benchmarks.sweep`` from the repository root. The sweep is ``sma-cross-market`` over a fast × slow
grid of 8 × 8 = 64 jobs, each a backtest of 30 days of 1m demo BTCUSDT candles. Workers are warmed first (a short
sweep imports the engine in each of them), so the timing covers the sweep, not the pool's start-up. Scaling is
``jobs_per_s_2 / jobs_per_s_1`` (target ≥ 1.7 on two cores). Every executor must give identical rows, and every
eighth row must be the one its job gives run alone in this process on the exchange's own candles (sweeps share theirs
with the workers). On a shared,
noisy machine the wall figures move with the load; the CPU time the workers spend per job (``cpu_ms_per_job_*``, read
from ``/proc``, NaN elsewhere) does much less, and the parent's (``parent_cpu_ms_per_job_*``: building jobs, ranking
rows, and on dask the scheduler) tells what the sweep costs beside the runs. The last line holds the figures as
``name=value`` pairs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from distributed import Client, LocalCluster

import workstation as ws
from workstation.examples.sma_cross import make_strategy
from workstation.optimizer import Optimizer, OptimizerResult, OptimizerRow, local_process_pool, run_job
from workstation.optimizer.grid import params_at
from workstation.optimizer.rows import job_row
from workstation.optimizer.setup import check_sweep

SYMBOL = "BTCUSDT"
START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 30
FAST = [5, 10, 15, 20, 25, 30, 35, 40]
SLOW = [45, 60, 75, 90, 105, 120, 135, 150]


def register() -> None:
    """Register the demo exchange, the sweep's 30-day frame and a one-day warm-up frame, and both optimizers."""
    ws.reset()
    ws.add_exchange(ws.make_demo_exchange("demo"))
    last = START + timedelta(days=DAYS) - timedelta(minutes=1)
    ws.add_frame(frame_name="month", interval="1m", start_date=START, end_date=last)
    ws.add_frame(frame_name="warm-up", interval="1m", start_date=START, end_date=START + timedelta(hours=6))
    common: dict[str, Any] = {"strategy_factory": make_strategy, "exchange_name": "demo", "symbols": [SYMBOL]}
    ws.add_optimizer(optimizer_name="sweep", grid={"fast": FAST, "slow": SLOW}, frame_name="month", **common)
    ws.add_optimizer(optimizer_name="warm-up", grid={"fast": FAST[:4]}, frame_name="warm-up", **common)


@dataclass(frozen=True)
class Timed:
    """One timed sweep: its throughput, the CPU its workers and the parent spent per job, and its result."""

    jobs_per_s: float
    cpu_ms_per_job: float
    parent_cpu_ms_per_job: float
    result: OptimizerResult

    def line(self, where: str) -> str:
        """Return the sweep's figures as a line of the report."""
        return (
            f"{where:22s} {self.jobs_per_s:8.2f} jobs/s   workers {self.cpu_ms_per_job:6.1f} ms CPU per job, "
            f"parent {self.parent_cpu_ms_per_job:5.1f} ms"
        )


def cpu_seconds(pids: Iterable[int]) -> float:
    """Return the CPU seconds (user + system) the processes ``pids`` used so far; NaN without Linux's ``/proc``."""
    total = 0.0
    for pid in pids:
        try:
            # Fields after the command name: state is the first, utime the 12th and stime the 13th.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def timed_sweep(executor: Any, worker_pids: Callable[[], list[int]]) -> Timed:
    """Warm the executor's workers, then time the 64-job sweep."""
    await Optimizer.run(SYMBOL, "warm-up", executor)
    pids = worker_pids()
    workers_before, parent_before = cpu_seconds(pids), time.process_time()
    started = time.perf_counter()
    result = await Optimizer.run(SYMBOL, "sweep", executor)
    elapsed = time.perf_counter() - started
    workers, parent = cpu_seconds(pids) - workers_before, time.process_time() - parent_before
    if any(row.error for row in result.rows):
        raise RuntimeError(f"a job failed: {next(row.error for row in result.rows if row.error)}")
    jobs = len(result.rows)
    return Timed(jobs / elapsed, workers / jobs * 1000, parent / jobs * 1000, result)


def on_pool(workers: int) -> Timed:
    """Run the timed sweep on a fresh spawn pool of ``workers`` processes."""
    pool: ProcessPoolExecutor = local_process_pool(workers)
    try:
        return asyncio.run(timed_sweep(pool, lambda: list(pool._processes)))
    finally:
        pool.shutdown()


def on_dask(workers: int) -> Timed:
    """Run the timed sweep on a local dask cluster of ``workers`` single-threaded processes."""
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
    )
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        return asyncio.run(timed_sweep(client, lambda: list(client.run(os.getpid).values())))


def alone(rows: list[OptimizerRow], every: int = 8) -> bool:
    """Tell whether every ``every``-th job, run alone in this process without shared candles, gives its row.

    A job wipes the registries of the process it runs in: the benchmark's schemas are registered again after.
    """
    setup = check_sweep(SYMBOL, "sweep", main_allowed=False, source="benchmarks.sweep", first_index=None)
    by_index = {row.index: row for row in rows}
    try:
        for index in range(0, len(rows), every):
            outcome = run_job(setup.strict_job(index))
            row = job_row(params_at(setup.optimizer.grid, index), outcome, setup.optimizer.metric)
            if row.model_copy(update={"rank": by_index[index].rank}) != by_index[index]:
                return False
        return True
    finally:
        register()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--no-dask", action="store_true", help="skip the dask cluster")
    args = parser.parse_args(argv)
    register()
    jobs = Optimizer.count_jobs("sweep")
    print(f"sma-cross-market, {len(FAST)} fast × {len(SLOW)} slow = {jobs} jobs of {DAYS} days of 1m demo candles")
    one = on_pool(1)
    print(one.line("spawn pool, 1 worker"))
    two = on_pool(2)
    print(two.line("spawn pool, 2 workers"))
    reference = one.result.rows
    identical = two.result.rows == reference
    nan = float("nan")
    dask = Timed(nan, nan, nan, one.result)
    if not args.no_dask:
        dask = on_dask(2)
        identical = identical and dask.result.rows == reference
        print(dask.line("dask, 2 workers"))
    identical = identical and alone(reference)
    best = reference[0]
    print(f"best: {best.params} total_pnl {best.total_pnl} ({best.total_signals} signals); rows identical: {identical}")
    print(
        f"jobs_per_s_1={one.jobs_per_s:.2f} jobs_per_s_2={two.jobs_per_s:.2f} jobs_per_s_dask={dask.jobs_per_s:.2f} "
        f"scaling={two.jobs_per_s / one.jobs_per_s:.2f} identical={identical} "
        f"cpu_ms_per_job_1={one.cpu_ms_per_job:.1f} cpu_ms_per_job_2={two.cpu_ms_per_job:.1f} "
        f"cpu_ms_per_job_dask={dask.cpu_ms_per_job:.1f} parent_cpu_ms_per_job_2={two.parent_cpu_ms_per_job:.1f} "
        f"parent_cpu_ms_per_job_dask={dask.parent_cpu_ms_per_job:.1f}"
    )
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
