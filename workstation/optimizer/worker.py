"""``run_job``: one sweep job, run headless inside a worker process (SPEC §18.2).

A worker process belongs to the sweep: each job wipes the process's registries, clients and storages, registers its
own schemas and runs one backtest. Jobs of one process run one at a time (a dask worker with several threads would
otherwise run two against the same registry). When the sweep shares its candles, the job's exchange reads them first
(`SharedCandles`): from the sweep's shared memory, or (dask) from the array scattered to the worker.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import pickle
import threading

import numpy as np

from workstation import registry
from workstation.account.metrics import account_figures_of
from workstation.backtest import Backtest
from workstation.config import reset_config, set_config
from workstation.models.results import ClosedResult
from workstation.optimizer.jobs import CandleBlock, OptimizerJob, OptimizerJobResult, build_strategy
from workstation.optimizer.shared_candles import SharedCandles, attached_candles
from workstation.reports.statistics import compute_backtest_statistics
from workstation.schemas.exchange import ExchangeSchema
from workstation.services.connections import clear_connections
from workstation.storages import clear_storages

__all__ = ["run_job"]

#: A job runs alone in its process: it owns the registries while it runs.
_one_job_at_a_time = threading.Lock()

#: A worker's last exchange, by its pickled form and the sweep's shared candles: the next job of the same sweep reuses
#: it with the candles it has already read, generated or attached, instead of starting from an empty copy.
_last_exchange: tuple[tuple[bytes, CandleBlock | None], ExchangeSchema] | None = None


#: Whether this process has frozen what it held before its first job.
_frozen = False


def _freeze_once() -> None:
    """Take what a worker process holds before its first job out of the garbage collector's sight, once.

    The engine's modules, classes and constants are alive for the process's life; frozen, a full collection walks
    only what the jobs made (in a sweep of 30-day jobs it cost 4-6 ms a job on a process pool, 13 ms on dask). Only
    in a child process (a pool's or a dask nanny's worker): a job run in the main process (a test, a script) leaves
    that process's collector alone.
    """
    global _frozen
    if not _frozen and multiprocessing.parent_process() is not None:
        _frozen = True
        gc.collect()
        gc.freeze()


def run_job(job: OptimizerJob, candles: np.ndarray | None = None) -> OptimizerJobResult:
    """Run one job of a sweep: register its schemas in a fresh process state, backtest, return the statistics.

    Meant for a worker process (a process pool or a dask worker): it clears this process's registries, clients and
    report storages first.

    Parameters
    ----------
    job
        The job, as ``Optimizer.run`` built it.
    candles
        The sweep's shared candles when they travel beside the job (dask); with a process pool they are attached
        from the shared memory ``job.candles`` names.

    Returns
    -------
    OptimizerJobResult
        The statistics without the signal list, or the error (type and message) that ended the job.
    """
    with _one_job_at_a_time:
        _freeze_once()
        try:
            return asyncio.run(_run(job, candles))
        except Exception as exc:
            return OptimizerJobResult(
                index=job.index, statistics=None, error=f"{type(exc).__name__}: {exc}", error_type=type(exc).__name__
            )


def _fresh_state(job: OptimizerJob) -> None:
    Backtest.clear()
    registry.clear_registries()
    clear_connections()
    clear_storages()
    reset_config()
    set_config(**job.config.model_dump())
    # No window shares this loop: long turns between yields are pure throughput.
    Backtest.set_loop_turn(1.0)


def _exchange(job: OptimizerJob, candles: np.ndarray | None) -> ExchangeSchema:
    global _last_exchange
    key = (pickle.dumps(job.exchange), job.candles)
    if _last_exchange is not None and _last_exchange[0] == key:
        return _last_exchange[1]
    _last_exchange = None  # an earlier sweep's shared memory can be let go once nothing holds it
    exchange = job.exchange
    block = job.candles
    if block is not None:
        if candles is None and block.in_shared_memory:
            candles = attached_candles(block)
        if candles is not None:
            if isinstance(candles.base, np.ndarray):
                # Dask hands over a view of its byte frames: the run's cache shares, and judges once, only candle
                # arrays that own their memory (or map shared memory), so this worker keeps a copy of its own.
                candles = candles.copy()
            candles.flags.writeable = False
            shared = SharedCandles(exchange.get_candles, block, candles)
            exchange = exchange.model_copy(update={"get_candles": shared})
    _last_exchange = (key, exchange)
    return exchange


async def _run(job: OptimizerJob, candles: np.ndarray | None) -> OptimizerJobResult:
    _fresh_state(job)
    exchange = registry.add_exchange(_exchange(job, candles))
    frame = registry.add_frame(job.frame)
    for risk in job.risks:
        registry.add_risk(risk)
    strategy = registry.add_strategy(build_strategy(job.strategy_factory, job.params, job.strategy_name))
    closed: list[ClosedResult] = []
    run = Backtest.run(
        job.symbol,
        strategy_name=strategy.strategy_name,
        exchange_name=exchange.exchange_name,
        frame_name=frame.frame_name,
        config=job.config,
        account=job.account,
    )
    async for result in run:
        if isinstance(result, ClosedResult):
            closed.append(result)
    statistics = compute_backtest_statistics(closed)
    account = account_figures_of(await run.get_account())
    return OptimizerJobResult(
        index=job.index,
        statistics=statistics.model_dump(exclude={"signal_list"}) | account,
        closed_pnls=tuple(result.pnl.pnl_percentage for result in closed),
    )
