"""Walk-forward analysis: a sweep per training window, its best parameters tested on the period after it.

Every window's training jobs go through one job stream; as soon as a window's last training job finishes, its test
job jumps the queue. Results never depend on completion order: each window keeps its best row by the ranking key
(metric descending, ties by the lower job index) and windows are reported in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from workstation.optimizer.executors import JobPool
from workstation.optimizer.grid import count_jobs, job_indexes, params_at
from workstation.optimizer.jobs import OptimizerJobResult
from workstation.optimizer.models import OptimizerRow, SearchMode, WalkForwardResult, WalkForwardWindow
from workstation.optimizer.progress import SweepProgress
from workstation.optimizer.rows import job_row, out_of_sample_stats, rank_key
from workstation.optimizer.scheduler import ScheduledJob, run_jobs
from workstation.optimizer.setup import SweepSetup
from workstation.optimizer.windows import WindowBounds, plan_windows
from workstation.reports.formatting import safe
from workstation.reports.statistics import population_std, sequential_mean, sequential_sum, sharpe_ratio
from workstation.schemas.walker import WalkerMetric

__all__ = ["WalkForwardRequest", "plan_walk_forward", "run_walk_forward"]

#: ``(period, window index, job index)``.
_Tag = tuple[Literal["train", "test"], int, int]


@dataclass(frozen=True)
class WalkForwardRequest:
    """The spans of a walk-forward analysis, in days, and how each training window searches the grid."""

    train_days: float
    test_days: float
    step_days: float
    search: SearchMode


@dataclass
class _Training:
    """A training window's finished jobs: how many, and the best row so far."""

    finished: int = 0
    best: OptimizerRow | None = None


@dataclass
class _Progress:
    windows: dict[int, WalkForwardWindow] = field(default_factory=dict)
    test_pnls: dict[int, tuple[float, ...]] = field(default_factory=dict)
    training: dict[int, _Training] = field(default_factory=dict)


def plan_walk_forward(setup: SweepSetup, request: WalkForwardRequest) -> tuple[list[WindowBounds], int]:
    """Return the windows of a walk-forward analysis and its job count (every training job plus one test each).

    Raises
    ------
    ValueError
        If a span is invalid or the frame holds no window (see `plan_windows`).
    """
    windows = plan_windows(setup.frame, request.train_days, request.test_days, request.step_days)
    return windows, len(windows) * (count_jobs(setup.optimizer.grid, request.search) + 1)


async def run_walk_forward(
    setup: SweepSetup,
    request: WalkForwardRequest,
    windows: list[WindowBounds],
    pool: JobPool,
    progress: SweepProgress,
    is_stopped: Callable[[], bool],
) -> WalkForwardResult:
    """Run every window's training sweep and test job on ``pool`` and stitch the test periods together.

    Parameters
    ----------
    setup
        The checked sweep.
    request
        The spans and the search mode.
    windows
        From `plan_walk_forward`.
    pool
        Where jobs run.
    progress
        Counts every training and test job (a window without a best row counts its test job as done).
    is_stopped
        A stop keeps the windows already tested and drops the rest.

    Returns
    -------
    WalkForwardResult
        The tested windows in order and the stitched out-of-sample figures.
    """
    grid = setup.optimizer.grid
    metric = setup.optimizer.metric
    per_window = count_jobs(grid, request.search)
    state = _Progress()

    def jobs() -> Iterator[ScheduledJob[_Tag]]:
        for window in windows:
            frame = window.train_frame(setup.frame)
            for index in job_indexes(grid, request.search):
                yield ("train", window.index, index), setup.job(index, frame)

    async def on_finished(tag: _Tag, outcome: OptimizerJobResult) -> Iterable[ScheduledJob[_Tag]]:
        period, window_index, index = tag
        progress.job_finished(outcome)
        window = windows[window_index]
        if period == "test":
            state.test_pnls[window_index] = outcome.closed_pnls
            state.windows[window_index] = _window(window, state.training[window_index].best, outcome, metric)
            return ()
        training = state.training.setdefault(window_index, _Training())
        training.finished += 1
        row = job_row(params_at(grid, index), outcome, metric)
        if training.best is None or rank_key(row) < rank_key(training.best):
            training.best = row
        if training.finished < per_window:
            return ()
        best = training.best
        if best is None or best.metric_value is None:
            progress.job_skipped()
            state.windows[window_index] = _window(window, None, None, metric)
            return ()
        return [(("test", window_index, best.index), setup.job(best.index, window.test_frame(setup.frame)))]

    await run_jobs(pool, jobs(), on_finished, is_stopped)
    tested = [state.windows[index] for index in sorted(state.windows)]
    pnls = [pnl for index in sorted(state.windows) for pnl in state.test_pnls.get(index, ())]
    sharpe = None
    if pnls:
        mean = sequential_mean(pnls)
        sharpe = safe(sharpe_ratio(mean, population_std(pnls, mean)))
    return WalkForwardResult(
        optimizer_name=setup.optimizer_name,
        symbol=setup.symbol,
        metric=metric,
        train_days=request.train_days,
        test_days=request.test_days,
        step_days=request.step_days,
        windows=tested,
        out_of_sample_total_pnl=sequential_sum(pnls),
        out_of_sample_total_signals=len(pnls),
        out_of_sample_sharpe=sharpe,
        in_sample_total_pnl=sequential_sum(
            window.in_sample_total_pnl for window in tested if window.in_sample_total_pnl is not None
        ),
        total_jobs=progress.total_jobs,
        stopped=len(tested) < len(windows),
    )


def _window(
    bounds: WindowBounds, best: OptimizerRow | None, test: OptimizerJobResult | None, metric: WalkerMetric
) -> WalkForwardWindow:
    chosen = best if best is not None and best.metric_value is not None else None
    return WalkForwardWindow(
        index=bounds.index,
        train_start=bounds.train_start,
        train_end=bounds.train_end,
        test_start=bounds.test_start,
        test_end=bounds.test_end,
        best_params=None if chosen is None else dict(chosen.params),
        in_sample_metric=None if chosen is None else chosen.metric_value,
        in_sample_total_pnl=None if chosen is None else chosen.total_pnl,
        out_of_sample=out_of_sample_stats(test, metric),
    )
