"""Payloads of the event hub: immutable facts, timestamps in epoch ms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from workstation.models.pnl import Pnl
from workstation.models.position import CommandSource, CommitAction, PositionCommand
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


class PositionPriceEvent(_Event):
    """A position or waiting order seen at a candle (SPEC-position P17): a ping, or breakeven within reach.

    ``active_ping``: an open position's candle that did not close it; ``schedule_ping``: a waiting order's candle
    that did not fill or cancel it; ``breakeven_available``: the first candle whose price covers the costs of a
    breakeven (P10). ``signal`` is the public view at ``current_price``.
    """

    backtest: bool
    symbol: str
    strategy_name: str
    exchange_name: str
    frame_name: str
    signal: SignalRow
    current_price: float
    timestamp: int


class PartialEvent(PositionPriceEvent):
    """A profit or loss level was reached for the first time by an open position."""

    level: int


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


class CommitEvent(_Event):
    """A position command took effect (SPEC-position P17): which, on which position, and the position after it.

    ``timestamp`` is the candle (or tick) the event was emitted at, ``when`` the time the command was issued.
    ``signal`` is the position's public view at the end of that candle (effective and original levels, entries,
    partial closes), ``pnl`` its PnL at ``current_price``: the price the command was checked or booked at (for a
    deferred close or cancel, the price it was carried out at). The fields after ``note`` belong to some actions
    only (``percent_to_close``: partial closes; ``percent_shift``: trailing moves; ``cost`` and
    ``effective_price_open``: averaging in; the ids: the deferred actions) and are None for the others.
    """

    action: CommitAction
    backtest: bool
    symbol: str
    strategy_name: str
    exchange_name: str
    frame_name: str
    when: int
    timestamp: int
    signal: SignalRow
    pnl: Pnl
    current_price: float
    note: str | None
    percent_to_close: float | None
    percent_shift: float | None
    cost: float | None
    effective_price_open: float | None
    close_id: str | None
    cancel_id: str | None
    activate_id: str | None
    #: Who issued the command: the strategy, or the trader by hand (``ws.Live.command``).
    source: CommandSource = "strategy"

    def command(self) -> PositionCommand:
        """Return the command as a run's command log keeps it: what was done, at what price, and the position after."""
        return logged_command(
            self.signal.__dict__,
            self.action,
            self.timestamp,
            self.current_price,
            source=self.source,
            percent_to_close=self.percent_to_close,
            percent_shift=self.percent_shift,
            cost=self.cost,
        )


def logged_command(
    view: Mapping[str, Any],
    action: CommitAction,
    timestamp: int,
    current_price: float,
    *,
    source: CommandSource,
    percent_to_close: float | None = None,
    percent_shift: float | None = None,
    cost: float | None = None,
    **_: Any,
) -> PositionCommand:
    """Return `CommitEvent.command` of the event these figures make, from the fields of its position's view.

    A backtest nobody listens to for commit events logs its commands this way, without building the events. The
    event's other fields (``effective_price_open``, the ids) may be passed too: the log does not keep them.
    """
    argument = next((value for value in (percent_to_close, percent_shift, cost) if value is not None), None)
    return PositionCommand(
        signal_id=view["id"],
        time=timestamp,
        action=action,
        argument=argument,
        price=current_price,
        stop_loss=view["price_stop_loss"],
        take_profit=view["price_take_profit"],
        effective_entry=view["price_open"],
        held_percent=100 - view["partial_executed"],
        source=source,
    )


class PauseEvent(_Event):
    """A strategy's signal generation was paused or resumed (``set_strategy_paused``, SPEC-position P13).

    ``restored``: not a flip but the pause a restarted live or paper run was stored with, announced once after its
    first tick so that whoever shows the run shows it paused from then on.
    """

    backtest: bool
    symbol: str
    strategy_name: str
    exchange_name: str
    frame_name: str
    paused: bool
    timestamp: int
    restored: bool = False
