"""Tick results: one frozen model per action, joined in the discriminated union ``TickResult``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from workstation.models.pnl import Pnl
from workstation.models.position import PartialPnl
from workstation.models.signal import SignalRow

#: ``closed``: a user close (``commit_close_pending``) or a full close by partial closes (SPEC-position P11, P7);
#: ``liquidation``: the isolated position's liquidation price came before its stop (SPEC-position P3 step 5).
CloseReason = Literal["take_profit", "stop_loss", "time_expired", "closed", "liquidation"]
#: ``user``: ``commit_cancel_scheduled``, or an activation its risk check refused (SPEC-position P12).
CancelReason = Literal["timeout", "price_reject", "stopped", "risk_reject", "user"]


class _ResultBase(BaseModel):
    model_config = ConfigDict(frozen=True)

    symbol: str
    strategy_name: str
    exchange_name: str
    frame_name: str
    backtest: bool
    timestamp: int
    current_price: float


class IdleResult(_ResultBase):
    """The strategy is flat after this tick."""

    action: Literal["idle"] = "idle"
    signal: None = None


class ScheduledResult(_ResultBase):
    """A limit order was created and waits for its fill."""

    action: Literal["scheduled"] = "scheduled"
    signal: SignalRow


class OpenedResult(_ResultBase):
    """A position opened (market order, immediate limit order, or fill)."""

    action: Literal["opened"] = "opened"
    signal: SignalRow


class ActiveResult(_ResultBase):
    """A live position or waiting order is still being managed."""

    action: Literal["active"] = "active"
    signal: SignalRow
    percent_tp: float
    percent_sl: float


class ClosedResult(_ResultBase):
    """A position closed by take profit, stop loss or expiry."""

    action: Literal["closed"] = "closed"
    signal: SignalRow
    close_reason: CloseReason
    close_timestamp: int
    pnl: Pnl
    #: What each partial close realised, in booking order; the rest of ``pnl`` was realised at the close.
    partial_pnl: tuple[PartialPnl, ...] = ()


class CancelledResult(_ResultBase):
    """A limit order ended without a fill."""

    action: Literal["cancelled"] = "cancelled"
    signal: SignalRow
    reason: CancelReason
    close_timestamp: int


TickResult = Annotated[
    IdleResult | ScheduledResult | OpenedResult | ActiveResult | ClosedResult | CancelledResult,
    Field(discriminator="action"),
]
