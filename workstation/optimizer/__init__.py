"""Parameter sweeps (SPEC §18): a strategy factory backtested over a grid of parameters, in worker processes.

``run_job`` is the module-level function every worker runs; ``Optimizer`` runs, stops and reports sweeps and
walk-forward analyses.
"""

from __future__ import annotations

from workstation.optimizer.executors import connect_dask, local_process_pool
from workstation.optimizer.jobs import OptimizerJob, OptimizerJobResult
from workstation.optimizer.models import (
    GridSearch,
    OptimizerProgress,
    OptimizerResult,
    OptimizerRow,
    OutOfSampleStats,
    RandomSearch,
    SearchMode,
    WalkForwardResult,
    WalkForwardWindow,
)
from workstation.optimizer.service import Optimizer, OptimizerUtils
from workstation.optimizer.worker import run_job

__all__ = [
    "GridSearch",
    "Optimizer",
    "OptimizerJob",
    "OptimizerJobResult",
    "OptimizerProgress",
    "OptimizerResult",
    "OptimizerRow",
    "OptimizerUtils",
    "OutOfSampleStats",
    "RandomSearch",
    "SearchMode",
    "WalkForwardResult",
    "WalkForwardWindow",
    "connect_dask",
    "local_process_pool",
    "run_job",
]
