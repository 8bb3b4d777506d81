"""The engine's own report storages, subscribed to the event hub at import, before any user listener."""

from __future__ import annotations

from typing import Any

from workstation.events import events
from workstation.models.results import CancelledResult, ClosedResult
from workstation.reports.backtest import BacktestReportStorage

backtest_storage = BacktestReportStorage()


def _record_backtest(result: Any) -> None:
    if isinstance(result, ClosedResult):
        backtest_storage.add_closed(result)
    elif isinstance(result, CancelledResult):
        backtest_storage.add_cancelled(result)


events.connect_internal("signal_backtest", _record_backtest)


def clear_storages() -> None:
    """Empty every report storage."""
    backtest_storage.clear_all()
