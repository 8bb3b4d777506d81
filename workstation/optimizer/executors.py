"""Where sweep jobs run: a spawn process pool or a dask cluster, both awaited without blocking the event loop.

A sweep hands its candles to the workers once (`JobPool.share`): a process pool through a block of shared memory
named ``ws-candles-<pid>-<token>``, a dask cluster through one broadcast scatter; `JobPool.release` lets them go.

``dask.distributed`` is imported only when a sweep or `connect_dask` uses it (it costs about half a second).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import re
import secrets
import sys
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from workstation.errors import OptimizerError
from workstation.optimizer.jobs import CandleBlock, OptimizerJob, OptimizerJobResult
from workstation.optimizer.shared_candles import shared_memory_block
from workstation.optimizer.worker import run_job

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "ExecutorKind",
    "JobHandle",
    "JobPool",
    "connect_dask",
    "executor_kind",
    "local_process_pool",
    "open_job_pool",
    "shutdown_default_pool",
]

#: ``process``: a process pool (ours or the caller's); ``dask``: a ``dask.distributed.Client``.
ExecutorKind = Literal["process", "dask"]

_DASK_ADDRESS = re.compile(r"tcp://[^\s:/]+:[0-9]{1,5}")

_default_pool: ProcessPoolExecutor | None = None


def local_process_pool(workers: int) -> ProcessPoolExecutor:
    """Create a process pool of ``workers`` processes started with ``spawn`` (safe beside Qt: nothing is forked).

    Parameters
    ----------
    workers
        Number of processes, at least 1. Each imports the engine once, on its first job.

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor
        The caller owns it (``shutdown()`` when done).

    Raises
    ------
    ValueError
        If ``workers`` is not an integer of at least 1.
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be an integer of at least 1, got {workers!r}")
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


def connect_dask(address: str, timeout: float = 5.0) -> Client:
    """Connect to a running dask scheduler, for ``Optimizer.run(..., executor=client)``.

    Parameters
    ----------
    address
        ``tcp://host:port`` of the scheduler.
    timeout
        Seconds to wait for the connection.

    Returns
    -------
    distributed.Client
        A synchronous client; close it when done.

    Raises
    ------
    OptimizerError
        If ``address`` does not look like ``tcp://host:port`` (the message names it), or
        ``cannot reach the dask scheduler at <address>: <reason>`` within ``timeout``.
    """
    if not isinstance(address, str) or not _DASK_ADDRESS.fullmatch(address):
        raise OptimizerError(f"the dask scheduler address must look like tcp://host:port, got {address!r}")
    from distributed import Client  # noqa: PLC0415 (half a second of import, paid by dask users only)

    try:
        return Client(address, timeout=timeout)  # type: ignore[no-untyped-call]
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        raise OptimizerError(f"cannot reach the dask scheduler at {address}: {reason}") from exc


def _dask_client_type() -> type[Any] | None:
    # A Client can only exist if distributed was imported already; never import it just to ask.
    module = sys.modules.get("distributed")
    client_type: type[Any] | None = getattr(module, "Client", None)
    return client_type


def executor_kind(executor: object) -> ExecutorKind:
    """Tell how jobs run on ``executor``, or refuse it.

    Raises
    ------
    OptimizerError
        For anything but None, a ``ProcessPoolExecutor`` or a ``dask.distributed.Client``; a ``ThreadPoolExecutor``
        is refused because each job registers schemas in a fresh process state.
    """
    if executor is None or isinstance(executor, ProcessPoolExecutor):
        return "process"
    client_type = _dask_client_type()
    if client_type is not None and isinstance(executor, client_type):
        return "dask"
    raise OptimizerError(
        f"executor must be a concurrent.futures.ProcessPoolExecutor or a dask.distributed.Client, got "
        f"{type(executor).__name__}: each job needs a process of its own (it registers schemas in a fresh state)"
    )


@dataclass(frozen=True)
class JobHandle:
    """A submitted job: its result on the event loop, and a way to withdraw it while it has not started."""

    result: asyncio.Future[OptimizerJobResult]
    cancel: Callable[[], bool]


class JobPool(Protocol):
    """Runs jobs somewhere else and hands their results back to the event loop."""

    workers: int

    def submit(self, job: OptimizerJob) -> JobHandle:
        """Start ``job``; the handle's future resolves on the event loop's thread."""
        ...

    async def share(self, symbol: str, candles: np.ndarray) -> CandleBlock:
        """Hand a sweep's contiguous 1m ``candles`` of ``symbol`` to the workers once; jobs name the returned block."""
        ...

    def release(self) -> None:
        """Let the shared candles go (shared memory is unlinked); safe to call when nothing is shared."""
        ...


def _block(symbol: str, candles: np.ndarray, *, in_shared_memory: bool) -> CandleBlock:
    return CandleBlock(
        name=f"ws-candles-{os.getpid()}-{secrets.token_hex(6)}",
        symbol=symbol,
        first_ms=int(candles["timestamp"][0]),
        length=len(candles),
        in_shared_memory=in_shared_memory,
    )


def _failed(job: OptimizerJob, exc: BaseException) -> OptimizerJobResult:
    return OptimizerJobResult(
        index=job.index, statistics=None, error=f"{type(exc).__name__}: {exc}", error_type=type(exc).__name__
    )


class ProcessJobs:
    """Jobs on a ``ProcessPoolExecutor``, awaited through ``asyncio.wrap_future``."""

    def __init__(self, pool: ProcessPoolExecutor) -> None:
        self.pool = pool
        self.workers = int(getattr(pool, "_max_workers", os.cpu_count() or 1))
        self._memory: SharedMemory | None = None

    async def share(self, symbol: str, candles: np.ndarray) -> CandleBlock:
        """Copy ``candles`` into a block of shared memory each worker attaches to once."""
        self.release()
        block = _block(symbol, candles, in_shared_memory=True)
        self._memory = shared_memory_block(block, candles)
        return block

    def release(self) -> None:
        """Close and unlink the block: workers keep their mapping until their next sweep, the name is gone now."""
        memory, self._memory = self._memory, None
        if memory is not None:
            memory.close()
            with contextlib.suppress(FileNotFoundError):
                memory.unlink()

    def submit(self, job: OptimizerJob) -> JobHandle:
        """Submit ``job``; a pool that cannot take it (shut down, broken) gives the job an error result."""
        try:
            future: Future[OptimizerJobResult] = self.pool.submit(run_job, job)
        except Exception as exc:
            future = Future()
            future.set_result(_failed(job, exc))
        return JobHandle(_outcome(job, asyncio.wrap_future(future)), future.cancel)


class DaskJobs:
    """Jobs on a ``dask.distributed.Client``: submitted with ``client.submit``, collected without blocking the loop.

    A synchronous client runs its own loop in a thread; a finished future's result is fetched in dask's callback
    thread and handed to our loop. An asynchronous client lives on our loop and its futures are awaited directly.
    """

    def __init__(self, client: Client, workers: int) -> None:
        self.client = client
        self.workers = workers
        self._shared: Any = None

    async def share(self, symbol: str, candles: np.ndarray) -> CandleBlock:
        """Scatter ``candles`` to every worker once; each job then receives the worker's copy beside it."""
        self.release()
        if self.client.asynchronous:
            self._shared = await self.client.scatter(candles, broadcast=True)  # type: ignore[no-untyped-call]
        else:
            self._shared = await asyncio.to_thread(self.client.scatter, candles, broadcast=True)
        return _block(symbol, candles, in_shared_memory=False)

    def release(self) -> None:
        """Drop the scattered candles from the cluster."""
        shared, self._shared = self._shared, None
        if shared is not None:
            shared.release()

    @classmethod
    async def open(cls, client: Client) -> DaskJobs:
        """Count the cluster's worker threads, refusing workers that run inside this process.

        Raises
        ------
        OptimizerError
            If a worker runs in this process (a ``LocalCluster(processes=False)``): its jobs would wipe this
            process's registries.
        """
        if client.asynchronous:
            pids: dict[str, int] = await client.run(os.getpid)
            threads: dict[str, int] = await client.nthreads()  # type: ignore[no-untyped-call]
        else:
            pids = await asyncio.to_thread(client.run, os.getpid)
            threads = await asyncio.to_thread(client.nthreads)
        for address, pid in pids.items():
            if pid == os.getpid():
                raise OptimizerError(
                    f"the dask worker {address} runs inside this process; sweeps need worker processes "
                    "(LocalCluster(processes=True))"
                )
        return cls(client, max(sum(threads.values()), 1))

    def submit(self, job: OptimizerJob) -> JobHandle:
        """Submit ``job`` with ``client.submit``."""
        loop = asyncio.get_running_loop()
        shared = () if self._shared is None or job.candles is None else (self._shared,)
        dask_future = self.client.submit(run_job, job, *shared, pure=False)
        if self.client.asynchronous:
            return JobHandle(_outcome(job, asyncio.ensure_future(_awaited(dask_future))), lambda: False)
        delivered: asyncio.Future[OptimizerJobResult] = loop.create_future()

        def deliver(finished: Any) -> None:
            # Runs in dask's callback thread, where waiting for the transfer blocks nobody.
            try:
                outcome: OptimizerJobResult = finished.result()
            except BaseException as exc:
                outcome = _failed(job, exc)
            # A loop closed while the job ran has nobody waiting for it any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, delivered, outcome)

        dask_future.add_done_callback(deliver)  # type: ignore[no-untyped-call]
        return JobHandle(delivered, lambda: False)


async def _awaited(dask_future: Any) -> OptimizerJobResult:
    outcome: OptimizerJobResult = await dask_future
    return outcome


def _settle(target: asyncio.Future[OptimizerJobResult], outcome: OptimizerJobResult) -> None:
    if not target.done():
        target.set_result(outcome)


def _outcome(job: OptimizerJob, future: asyncio.Future[OptimizerJobResult]) -> asyncio.Future[OptimizerJobResult]:
    """Turn a job whose transport failed (a crashed worker, an unpicklable result) into an error result."""

    async def settle() -> OptimizerJobResult:
        try:
            return await future
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return _failed(job, exc)

    return asyncio.ensure_future(settle())


def default_pool() -> ProcessPoolExecutor:
    """Return the shared spawn pool of ``os.cpu_count()`` workers, starting a new one if it broke or was shut down.

    It lives across sweeps, so workers import the engine once per session, not once per sweep.
    """
    global _default_pool
    pool = _default_pool
    if pool is None or getattr(pool, "_broken", False) or getattr(pool, "_shutdown_thread", False):
        pool = _default_pool = local_process_pool(os.cpu_count() or 1)
    return pool


def shutdown_default_pool() -> None:
    """Stop the shared pool's workers (queued jobs are dropped); the next sweep starts a new pool."""
    global _default_pool
    if _default_pool is not None:
        _default_pool.shutdown(wait=False, cancel_futures=True)
        _default_pool = None


async def open_job_pool(executor: ProcessPoolExecutor | Client | None) -> JobPool:
    """Wrap the sweep's executor (None: the shared spawn pool) as a `JobPool`."""
    if executor is None:
        return ProcessJobs(default_pool())
    if isinstance(executor, ProcessPoolExecutor):
        return ProcessJobs(executor)
    return await DaskJobs.open(executor)
