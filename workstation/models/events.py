"""Payloads of the event hub: immutable facts, timestamps in epoch ms."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from workstation.models.signal import SignalRow

RiskStage = Literal["pre_check", "open", "activation"]
MetricType = Literal["backtest_total", "backtest_timeframe", "backtest_signal", "live_tick"]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)


class ErrorEvent(_Event):
    """An error caught in user code or in the engine."""

    source: str
    message: str
    exception_type: str
    symbol: str = ""
    strategy_name: str = ""
    backtest: bool = True
    #: The backtest run whose code raised (``BacktestRun.run_id``); None outside one. Runs of one pair may work
    #: side by side, so the pair alone does not tell whose error it is.
    run_id: int | None = None
    timestamp: int = 0
    exception: Any = None


class DoneEvent(_Event):
    """A background run ended (finished or stopped)."""

    symbol: str
    strategy_name: str
    exchange_name: str
    frame_name: str
    backtest: bool
    walker_name: str = ""


class BacktestProgress(_Event):
    """Progress of a backtest over its frame."""

    symbol: str
    strategy_name: str
    exchange_name: str
    frame_name: str
    total_frames: int
    processed_frames: int
    progress: float
    when: int


class PartialEvent(_Event):
    """A profit or loss level was reached for the first time by an open position."""

    symbol: str
    strategy_name: str
    exchange_name: str
    frame_name: str
    signal: SignalRow
    current_price: float
    level: int
    backtest: bool
    timestamp: int


class RiskEvent(_Event):
    """A risk profile rejected a signal."""

    symbol: str
    strategy_name: str
    exchange_name: str
    risk_name: str
    stage: RiskStage
    current_price: float
    timestamp: int
    active_position_count: int
    reason: str
    backtest: bool
    signal_id: str | None


class PerformanceEvent(_Event):
    """Duration of one unit of engine work."""

    timestamp: int
    previous_timestamp: int | None
    metric_type: MetricType
    duration: float
    symbol: str
    strategy_name: str
    exchange_name: str
    frame_name: str
    backtest: bool
