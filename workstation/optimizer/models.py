"""What a parameter sweep is asked for and what it reports (SPEC §18): search modes, rows, results, progress."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workstation.schemas.walker import WalkerMetric

__all__ = [
    "GridSearch",
    "OptimizerProgress",
    "OptimizerResult",
    "OptimizerRow",
    "OutOfSampleStats",
    "RandomSearch",
    "SearchMode",
    "WalkForwardResult",
    "WalkForwardWindow",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GridSearch(_Frozen):
    """Run every parameter set of the grid (``itertools.product`` order)."""

    kind: Literal["grid"] = "grid"


class RandomSearch(_Frozen):
    """Run ``n_samples`` distinct parameter sets drawn without replacement from the grid.

    The draw is seeded (a numpy ``Generator``), so the same seed picks the same sets. When ``n_samples`` is at least
    the grid's size, the whole grid runs in grid order. Job indexes stay the sets' positions in the grid.
    """

    kind: Literal["random"] = "random"
    n_samples: int = Field(ge=1, strict=True)
    seed: int = Field(0, strict=True)


#: How a sweep chooses its parameter sets.
SearchMode = GridSearch | RandomSearch


class OptimizerRow(_Frozen):
    """The outcome of one job: its parameters and the statistics of its backtest (SPEC §18.3).

    ``rank`` is 1-based after sorting by ``metric_value`` descending (None last, ties by job ``index``). A job that
    failed has ``error`` set and every statistic None (``total_signals`` 0).
    """

    rank: int
    index: int
    params: dict[str, Any]
    metric_value: float | None
    total_signals: int
    win_rate: float | None
    total_pnl: float | None
    sharpe_ratio: float | None
    avg_fall_pnl: float | None
    error: str | None = None
    #: The job's account: its return and its max drawdown in % of the equity peak (None for a failed job).
    return_percent: float | None = None
    max_drawdown_percent: float | None = None


class OptimizerResult(_Frozen):
    """A finished (or stopped) sweep of one symbol: its rows ranked best first."""

    optimizer_name: str
    symbol: str
    metric: WalkerMetric
    rows: list[OptimizerRow]
    best_params: dict[str, Any] | None
    total_jobs: int
    stopped: bool


class OptimizerProgress(_Frozen):
    """Payload of ``progress_optimizer``: emitted after each finished job, in completion order."""

    optimizer_name: str
    symbol: str
    total_jobs: int
    processed_jobs: int
    progress: float


class OutOfSampleStats(_Frozen):
    """The backtest of a walk-forward window's chosen parameters on its test period.

    All counts are 0 and every statistic None when the window chose no parameters (no training row had a metric).
    """

    total_signals: int
    total_pnl: float | None
    win_rate: float | None
    sharpe_ratio: float | None
    #: The test run's account: its return and its max drawdown in % of the equity peak.
    return_percent: float | None
    max_drawdown_percent: float | None
    metric_value: float | None
    error: str | None = None


class WalkForwardWindow(_Frozen):
    """One walk-forward step: a training sweep and a test of its best parameters on the period after it.

    Bounds are epoch milliseconds of the first and last tick of each period (both inclusive).
    """

    index: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int
    best_params: dict[str, Any] | None
    in_sample_metric: float | None
    in_sample_total_pnl: float | None
    out_of_sample: OutOfSampleStats


class WalkForwardResult(_Frozen):
    """Every evaluated window and the out-of-sample result stitched over their test periods.

    ``out_of_sample_total_pnl`` adds the closed PnLs of every test period left to right (window order, then
    arrival order); ``out_of_sample_sharpe`` is ``mean / population std`` of those PnLs (0.0 when they do not vary,
    None without any); ``in_sample_total_pnl`` adds the training totals of the chosen parameter sets.
    """

    optimizer_name: str
    symbol: str
    metric: WalkerMetric
    train_days: float
    test_days: float
    step_days: float
    windows: list[WalkForwardWindow]
    out_of_sample_total_pnl: float
    out_of_sample_total_signals: int
    out_of_sample_sharpe: float | None
    in_sample_total_pnl: float
    total_jobs: int
    stopped: bool
