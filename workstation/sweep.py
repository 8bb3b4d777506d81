"""A sweep as the window asks for it, made runnable, and the worker processes sweeps share.

``prepare_sweep`` registers the optimizer; `SweepWorkers` owns the local worker processes::

    workers = ws.SweepWorkers()
    prepared = await ws.prepare_sweep(request, {"fast": [5, 10], "slow": [30, 50]})
    result = await ws.Optimizer.run(prepared.symbol, prepared.optimizer_name, workers.pool(4))
    workers.close()  # when the window closes
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from workstation.backtest_request import prepare_backtest
from workstation.examples.catalogue import available_builtin_strategies
from workstation.optimizer.executors import local_process_pool
from workstation.optimizer.models import OptimizerRow
from workstation.registry import add_optimizer, list_optimizers
from workstation.run_requests import SweepRequest, comparison_backtest


@dataclass(frozen=True)
class PreparedSweep:
    """A registered optimizer: the symbol to sweep and the optimizer's name."""

    symbol: str
    optimizer_name: str


async def prepare_sweep(
    request: SweepRequest,
    grid: Mapping[str, Sequence[Any]],
    *,
    on_job_complete: Callable[[OptimizerRow], Any] | None = None,
) -> PreparedSweep:
    """Register the exchange and the frame of a sweep (as its backtests would be), then an optimizer ``sweep-N``.

    Parameters
    ----------
    request
        The built-in strategy, exchange, symbol, period and metric.
    grid
        The values of each swept parameter (``{"fast": [5, 10], "slow": [30, 50]}``).
    on_job_complete
        Called with each finished job's row, as it finishes.

    Raises
    ------
    PreparationError
        If the period does not fit the candles (named by the request's field).
    """
    prepared = await prepare_backtest(comparison_backtest(request, request.strategy_name))
    taken = {schema.optimizer_name for schema in list_optimizers()}
    number = len(taken) + 1
    while f"sweep-{number}" in taken:
        number += 1
    optimizer = add_optimizer(
        optimizer_name=f"sweep-{number}",
        strategy_factory=available_builtin_strategies()[request.strategy_name].factory,
        grid={name: list(values) for name, values in grid.items()},
        metric=request.metric,
        account=prepared.account,
        exchange_name=prepared.exchange_name,
        frame_name=prepared.frame_name,
        symbols=[request.symbol],
        callbacks={} if on_job_complete is None else {"on_job_complete": on_job_complete},
    )
    return PreparedSweep(request.symbol, optimizer.optimizer_name)


class SweepWorkers:
    """The local worker processes of sweeps, kept from one sweep to the next: each imports the engine once.

    The owner (the optimizer view) calls `close` when it goes away.
    """

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._workers = 0

    @property
    def workers(self) -> int:
        """How many processes the pool has (0 without a pool)."""
        return self._workers if self._pool is not None else 0

    def pool(self, workers: int) -> ProcessPoolExecutor:
        """Return the pool of ``workers`` processes: the last one if it has that many, else a new one.

        Raises
        ------
        ValueError
            If ``workers`` is not an integer of at least 1.
        """
        if self._pool is None or self._workers != workers:
            new_pool = local_process_pool(workers)
            self.close()
            self._pool, self._workers = new_pool, workers
        return self._pool

    def close(self) -> None:
        """Stop the processes; jobs not started are dropped. A later `pool` starts new ones."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
