"""What a sweep tells the event hub as jobs finish: ``progress_optimizer``, and ``error`` for a failed job."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from workstation.events import events, report_error
from workstation.models.events import ErrorEvent
from workstation.optimizer.jobs import OptimizerJobResult, job_strategy_name
from workstation.optimizer.models import OptimizerProgress
from workstation.timeutil import now_ms

__all__ = ["SweepProgress", "call_back"]


class SweepProgress:
    """Count a sweep's finished jobs and publish each one (SPEC §16 ``progress_optimizer``).

    Parameters
    ----------
    optimizer_name, symbol
        The sweep.
    total_jobs
        Jobs the sweep plans to run.
    source
        Names the sweep in the ``error`` events of failed jobs (``Optimizer.run``).
    """

    def __init__(self, optimizer_name: str, symbol: str, total_jobs: int, source: str) -> None:
        self.optimizer_name = optimizer_name
        self.symbol = symbol
        self.total_jobs = total_jobs
        self.source = source
        self.processed_jobs = 0

    def job_finished(self, outcome: OptimizerJobResult) -> None:
        """Count a finished job; a failed one is reported on ``error`` first."""
        if outcome.error is not None:
            events.error.emit(
                ErrorEvent(
                    source=self.source,
                    message=f'job {outcome.index} of optimizer "{self.optimizer_name}" failed: {outcome.error}',
                    exception_type=outcome.error_type or "Exception",
                    symbol=self.symbol,
                    strategy_name=job_strategy_name(self.optimizer_name, outcome.index),
                    backtest=True,
                    timestamp=now_ms(),
                )
            )
        self.job_skipped()

    def job_skipped(self) -> None:
        """Count a planned job that had no need to run."""
        self.processed_jobs += 1
        events.progress_optimizer.emit(
            OptimizerProgress(
                optimizer_name=self.optimizer_name,
                symbol=self.symbol,
                total_jobs=self.total_jobs,
                processed_jobs=self.processed_jobs,
                progress=self.processed_jobs / self.total_jobs,
            )
        )


async def call_back(callback: Callable[[Any], Any] | None, payload: Any, source: str) -> None:
    """Call an optimizer callback (sync or async) with ``payload``; what it raises is reported, not propagated."""
    if callback is None:
        return
    try:
        outcome = callback(payload)
        if inspect.isawaitable(outcome):
            await outcome
    except Exception as exc:
        report_error(source, exc)
