"""Parameter sweep throughput: jobs/s on one and two local worker processes and on a two-worker dask cluster.

Run ``python -m benchmarks.sweep`` from the repository root. The sweep is ``sma-cross-market`` over a fast × slow
grid of 8 × 8 = 64 jobs, each a backtest of 30 days of 1m demo BTCUSDT candles. Workers are warmed first (a short
sweep imports the engine in each of them), so the timing covers the sweep, not the pool's start-up. Scaling is
``jobs_per_s_2 / jobs_per_s_1`` (target ≥ 1.7 on two cores). Every executor must give identical rows. The last line
holds the figures as ``name=value`` pairs.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from distributed import Client, LocalCluster

import workstation as ws
from workstation.examples.sma_cross import make_strategy
from workstation.optimizer import Optimizer, OptimizerResult, local_process_pool

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


async def timed_sweep(executor: Any) -> tuple[float, OptimizerResult]:
    """Warm the executor's workers, then time the 64-job sweep; return jobs/s and the result."""
    await Optimizer.run(SYMBOL, "warm-up", executor)
    started = time.perf_counter()
    result = await Optimizer.run(SYMBOL, "sweep", executor)
    elapsed = time.perf_counter() - started
    if any(row.error for row in result.rows):
        raise RuntimeError(f"a job failed: {next(row.error for row in result.rows if row.error)}")
    return len(result.rows) / elapsed, result


def on_pool(workers: int) -> tuple[float, OptimizerResult]:
    """Run the timed sweep on a fresh spawn pool of ``workers`` processes."""
    pool: ProcessPoolExecutor = local_process_pool(workers)
    try:
        return asyncio.run(timed_sweep(pool))
    finally:
        pool.shutdown()


def on_dask(workers: int) -> tuple[float, OptimizerResult]:
    """Run the timed sweep on a local dask cluster of ``workers`` single-threaded processes."""
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
    )
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        return asyncio.run(timed_sweep(client))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--no-dask", action="store_true", help="skip the dask cluster")
    args = parser.parse_args(argv)
    register()
    jobs = Optimizer.count_jobs("sweep")
    print(f"sma-cross-market, {len(FAST)} fast × {len(SLOW)} slow = {jobs} jobs of {DAYS} days of 1m demo candles")
    one, reference = on_pool(1)
    print(f"spawn pool, 1 worker   {one:8.2f} jobs/s")
    two, result = on_pool(2)
    print(f"spawn pool, 2 workers  {two:8.2f} jobs/s")
    identical = result.rows == reference.rows
    dask = float("nan")
    if not args.no_dask:
        dask, result = on_dask(2)
        identical = identical and result.rows == reference.rows
        print(f"dask, 2 workers        {dask:8.2f} jobs/s")
    best = reference.rows[0]
    print(f"best: {best.params} total_pnl {best.total_pnl} ({best.total_signals} signals); rows identical: {identical}")
    print(
        f"jobs_per_s_1={one:.2f} jobs_per_s_2={two:.2f} jobs_per_s_dask={dask:.2f} scaling={two / one:.2f} "
        f"identical={identical}"
    )
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
