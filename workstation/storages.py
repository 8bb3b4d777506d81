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


def clear_pair(symbol: str, strategy_name: str, backtest: bool) -> None:
    """Forget what the storages hold for one pair in one mode, as a new run of it starts (SPEC §11.1)."""
    backtest_storage.clear(symbol, strategy_name, backtest)


def clear_storages() -> None:
    """Empty every report storage."""
    backtest_storage.clear_all()
