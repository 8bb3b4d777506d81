"""The engine's own report storages, subscribed to the event hub at import, before any user listener."""

from __future__ import annotations

from typing import Any

from workstation.config import get_config
from workstation.events import events
from workstation.models.events import PartialEvent, PerformanceEvent
from workstation.models.results import (
    ActiveResult,
    CancelledResult,
    ClosedResult,
    IdleResult,
    OpenedResult,
    ScheduledResult,
)
from workstation.reports.heat import HeatReportStorage
from workstation.reports.live import LiveReportStorage
from workstation.reports.partial import PartialReportStorage
from workstation.reports.performance import PerformanceReportStorage
from workstation.reports.schedule import ScheduleReportStorage

heat_storage = HeatReportStorage()
live_storage = LiveReportStorage()
partial_storage = PartialReportStorage()
performance_storage = PerformanceReportStorage()
schedule_storage = ScheduleReportStorage()


def _record_backtest(result: Any) -> None:
    # One subscriber per stream, not one per storage: every result crosses from Qt into Python once.
    # The statistics of a backtest are its run's own (``BacktestRun.publish``), not a storage's.
    if isinstance(result, ClosedResult):
        heat_storage.add_closed(result)
    elif isinstance(result, CancelledResult | ScheduledResult | OpenedResult):
        schedule_storage.add(result, max_rows=get_config().report_max_rows)


events.connect_internal("signal_backtest", _record_backtest)


def _record_live(result: Any) -> None:
    max_rows = get_config().report_max_rows
    if isinstance(result, ClosedResult):
        heat_storage.add_closed(result)
    if isinstance(result, ScheduledResult | OpenedResult | CancelledResult):
        schedule_storage.add(result, max_rows=max_rows)
    if isinstance(result, IdleResult | OpenedResult | ActiveResult | ClosedResult | CancelledResult):
        live_storage.add(result, max_rows=max_rows)


events.connect_internal("signal_live", _record_live)


def _record_partial_profit(event: Any) -> None:
    if isinstance(event, PartialEvent):
        partial_storage.add_profit(event)


def _record_partial_loss(event: Any) -> None:
    if isinstance(event, PartialEvent):
        partial_storage.add_loss(event)


def _record_performance(event: Any) -> None:
    if isinstance(event, PerformanceEvent):
        performance_storage.record(event)


events.connect_internal("partial_profit", _record_partial_profit)
events.connect_internal("partial_loss", _record_partial_loss)
events.connect_internal("performance", _record_performance)


def clear_pair(symbol: str, strategy_name: str, backtest: bool) -> None:
    """Forget what the storages hold for one pair in one mode, as a new run of it starts (SPEC §11.1)."""
    heat_storage.clear(symbol, strategy_name, backtest)
    partial_storage.clear(symbol, strategy_name, backtest)
    performance_storage.clear(symbol, strategy_name, backtest)
    schedule_storage.clear(symbol, strategy_name, backtest)


def clear_storages() -> None:
    """Empty every report storage."""
    heat_storage.clear_all()
    live_storage.clear_all()
    partial_storage.clear_all()
    performance_storage.clear_all()
    schedule_storage.clear_all()
