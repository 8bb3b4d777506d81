"""``ws.Optimizer``: run, stop and report parameter sweeps and walk-forward analyses (SPEC §18)."""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from workstation import registry
from workstation.config import get_config
from workstation.engine.instances import Done
from workstation.errors import RunAlreadyActiveError
from workstation.optimizer.executors import executor_kind, open_job_pool, shutdown_default_pool
from workstation.optimizer.grid import count_jobs, job_indexes, params_at
from workstation.optimizer.jobs import OptimizerJobResult
from workstation.optimizer.models import (
    GridSearch,
    OptimizerResult,
    OptimizerRow,
    RandomSearch,
    SearchMode,
    WalkForwardResult,
)
from workstation.optimizer.progress import SweepProgress, call_back
from workstation.optimizer.report import optimizer_report
from workstation.optimizer.rows import best_params, job_row, rank_rows
from workstation.optimizer.scheduler import ScheduledJob, run_jobs
from workstation.optimizer.setup import SweepSetup, check_sweep
from workstation.optimizer.shared_candles import sharing_candles
from workstation.optimizer.walk_forward import WalkForwardRequest, plan_walk_forward, run_walk_forward
from workstation.reports.dump import dump_report

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["Optimizer", "OptimizerUtils"]

#: The default search: every parameter set of the grid.
EVERY_SET = GridSearch()

RUN_SOURCE = "Optimizer.run"
WALK_FORWARD_SOURCE = "Optimizer.walk_forward"


@dataclass
class _ActiveSweep:
    symbol: str
    stop_requested: bool = False


def _check_search(search: object) -> SearchMode:
    if not isinstance(search, GridSearch | RandomSearch):
        raise TypeError(f"search must be GridSearch() or RandomSearch(n_samples=...), got {search!r}")
    return search


class OptimizerUtils:
    """Parameter sweeps, one active run per optimizer, the last result kept per ``symbol:optimizer_name``."""

    def __init__(self) -> None:
        self._results: dict[str, OptimizerResult] = {}
        self._active: dict[str, _ActiveSweep] = {}

    def count_jobs(self, optimizer_name: str, search: SearchMode = EVERY_SET) -> int:
        """Return how many jobs a sweep of ``optimizer_name`` runs, without building any parameter set.

        Raises
        ------
        SchemaNotFoundError
            If the optimizer is not registered.
        """
        optimizer = registry.optimizers.get(optimizer_name, "Optimizer.count_jobs")
        return count_jobs(optimizer.grid, _check_search(search))

    async def run(
        self,
        symbol: str,
        optimizer_name: str,
        executor: ProcessPoolExecutor | Client | None = None,
        *,
        search: SearchMode = EVERY_SET,
    ) -> OptimizerResult:
        """Backtest ``strategy_factory(params)`` for every parameter set of the search and rank the results.

        Jobs run in worker processes; the event loop only waits for them, so a window on the same loop stays live.
        Before the first job, the symbol's 1m candles over the frame are read and checked once here and shared with
        the workers (a block of shared memory, unlinked when the sweep ends; on dask one broadcast scatter): each
        job reads them from there instead of asking the exchange (`workstation.optimizer.shared_candles`).
        After each finished job (in completion order) ``progress_optimizer`` is emitted and ``on_job_complete(row)``
        called with the row (rank 0: ranks exist once the sweep ends); a failed job also emits ``error``. At the end
        ``on_complete(result)`` is called.

        Parameters
        ----------
        symbol
            One of the optimizer's ``symbols``.
        optimizer_name
            A registered optimizer.
        executor
            None for the shared spawn process pool (``os.cpu_count()`` workers, kept across sweeps), a
            ``ProcessPoolExecutor`` (used as is, not shut down), or a ``dask.distributed.Client`` whose workers are
            processes.
        search
            ``GridSearch()`` (every set) or ``RandomSearch(n_samples, seed)``.

        Returns
        -------
        OptimizerResult
            The finished jobs' rows ranked best first; ``stopped`` when `stop` cut the sweep short.

        Raises
        ------
        SchemaNotFoundError
            If the optimizer, its exchange, frame or a risk profile of the first job is not registered.
        ValueError
            If ``symbol`` is not one of the optimizer's symbols.
        OptimizerError
            For a thread pool or other executor, or a callable workers cannot import (SPEC §18.4); nothing has
            started then.
        RunAlreadyActiveError
            If a sweep of the same optimizer is running.
        """
        optimizer = registry.optimizers.get(optimizer_name, RUN_SOURCE)
        search = _check_search(search)
        kind = executor_kind(executor)
        total = count_jobs(optimizer.grid, search)
        indexes = job_indexes(optimizer.grid, search)
        first = next(indexes, None)
        setup = check_sweep(symbol, optimizer_name, main_allowed=kind == "dask", source=RUN_SOURCE, first_index=first)
        sweep = self._begin(symbol, optimizer_name)
        try:
            pool = await open_job_pool(executor)
            progress = SweepProgress(optimizer_name, symbol, total, RUN_SOURCE)
            rows: list[OptimizerRow] = []

            async def on_finished(index: int, outcome: OptimizerJobResult) -> tuple[()]:
                row = job_row(params_at(optimizer.grid, index), outcome, optimizer.metric)
                rows.append(row)
                progress.job_finished(outcome)
                await call_back(optimizer.callbacks.on_job_complete, row, "Optimizer.on_job_complete")
                return ()

            jobs = _jobs(setup, chain([] if first is None else [first], indexes))
            async with sharing_candles(setup, pool):
                await run_jobs(pool, jobs, on_finished, lambda: sweep.stop_requested)
        finally:
            self._end(optimizer_name, sweep)
        ranked = rank_rows(rows)
        result = OptimizerResult(
            optimizer_name=optimizer_name,
            symbol=symbol,
            metric=optimizer.metric,
            rows=ranked,
            best_params=best_params(ranked),
            total_jobs=total,
            stopped=len(rows) < total,
        )
        self._results[f"{symbol}:{optimizer_name}"] = result
        await call_back(optimizer.callbacks.on_complete, result, "Optimizer.on_complete")
        return result

    async def walk_forward(
        self,
        symbol: str,
        optimizer_name: str,
        *,
        train_days: float,
        test_days: float,
        step_days: float,
        executor: ProcessPoolExecutor | Client | None = None,
        search: SearchMode = EVERY_SET,
    ) -> WalkForwardResult:
        """Walk forward over the optimizer's frame: sweep each training window, test its best parameters after it.

        Window ``k`` trains on ``[start + k·step_days, + train_days)`` and tests on the following ``test_days``;
        windows stop before a test period would pass the frame's end. The best parameters of a window are those
        of its best row (metric descending, ties by lower job index; none when no row has a metric) and run as one
        backtest on the test period. ``progress_optimizer`` counts every training and test job; the optimizer's
        callbacks are not called.

        Parameters
        ----------
        symbol, optimizer_name, executor, search
            As `run`.
        train_days, test_days, step_days
            Spans in days (fractions allowed), each a positive whole number of the frame's intervals.

        Returns
        -------
        WalkForwardResult
            The tested windows and the out-of-sample result stitched over their test periods.

        Raises
        ------
        ValueError
            For an invalid span or a frame too short for one window, besides everything `run` raises.
        """
        optimizer = registry.optimizers.get(optimizer_name, WALK_FORWARD_SOURCE)
        search = _check_search(search)
        kind = executor_kind(executor)
        setup = check_sweep(
            symbol,
            optimizer_name,
            main_allowed=kind == "dask",
            source=WALK_FORWARD_SOURCE,
            first_index=next(job_indexes(optimizer.grid, search), None),
        )
        request = WalkForwardRequest(train_days, test_days, step_days, search)
        windows, total = plan_walk_forward(setup, request)
        sweep = self._begin(symbol, optimizer_name)
        try:
            pool = await open_job_pool(executor)
            progress = SweepProgress(optimizer_name, symbol, total, WALK_FORWARD_SOURCE)
            async with sharing_candles(setup, pool):
                return await run_walk_forward(setup, request, windows, pool, progress, lambda: sweep.stop_requested)
        finally:
            self._end(optimizer_name, sweep)

    def stop(self, optimizer_name: str) -> Awaitable[None]:
        """Stop the running sweep of ``optimizer_name``: jobs not started are dropped, running ones finish.

        The sweep then returns what finished, with ``stopped`` set. The request takes effect at once; awaiting the
        returned object is optional. Without a running sweep it does nothing.
        """
        sweep = self._active.get(optimizer_name)
        if sweep is not None:
            sweep.stop_requested = True
        return Done()

    def is_running(self, optimizer_name: str) -> bool:
        """Tell whether a sweep or walk-forward analysis of ``optimizer_name`` is running."""
        return optimizer_name in self._active

    async def get_data(self, symbol: str, optimizer_name: str) -> OptimizerResult:
        """Return the result of the last sweep of ``optimizer_name`` on ``symbol``.

        Raises
        ------
        ValueError
            If no sweep of the pair finished since the last reset.
        """
        result = self._results.get(f"{symbol}:{optimizer_name}")
        if result is None:
            raise ValueError(f"no optimizer run recorded for symbol {symbol!r} and optimizer {optimizer_name!r}")
        return result

    async def get_report(self, symbol: str, optimizer_name: str) -> str:
        """Return the markdown report of the last sweep of the pair (SPEC §18.3); raises as `get_data`."""
        result = await self.get_data(symbol, optimizer_name)
        return optimizer_report(result, max_rows=get_config().report_max_rows)

    async def dump(self, symbol: str, optimizer_name: str, path: str | Path | None = None) -> Path:
        """Write the markdown report to ``path``, by default ``<user data dir>/reports/optimizer/<symbol>_<name>.md``.

        Raises
        ------
        ValueError
            If no sweep of the pair finished since the last reset.
        OSError
            If the file cannot be written; the error names the path.
        """
        text = await self.get_report(symbol, optimizer_name)
        return await dump_report(text, "optimizer", symbol, optimizer_name, path)

    def clear(self) -> None:
        """Stop running sweeps, forget every result and shut the shared process pool down."""
        for sweep in self._active.values():
            sweep.stop_requested = True
        self._active.clear()
        self._results.clear()
        shutdown_default_pool()

    def _begin(self, symbol: str, optimizer_name: str) -> _ActiveSweep:
        active = self._active.get(optimizer_name)
        if active is not None:
            raise RunAlreadyActiveError(f"Optimizer run for {active.symbol}:{optimizer_name} is already active")
        sweep = self._active[optimizer_name] = _ActiveSweep(symbol)
        return sweep

    def _end(self, optimizer_name: str, sweep: _ActiveSweep) -> None:
        if self._active.get(optimizer_name) is sweep:
            del self._active[optimizer_name]


def _jobs(setup: SweepSetup, indexes: Iterator[int]) -> Iterator[ScheduledJob[int]]:
    for index in indexes:
        yield index, setup.job(index)


Optimizer = OptimizerUtils()
