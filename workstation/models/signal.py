"""What a strategy returns (``Signal``) and what the engine tracks and emits (``SignalRow``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Position = Literal["long", "short"]


class Signal(BaseModel):
    """A trade idea returned by ``get_signal``; without ``price_open`` it is a market order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    position: Position = Field(title="Position", description="long or short")
    price_open: float | None = Field(None, title="Entry price", description="Limit price; empty for a market order")
    price_take_profit: float = Field(title="Take profit", description="Exit price in profit")
    price_stop_loss: float = Field(title="Stop loss", description="Exit price in loss")
    minute_estimated_time: int = Field(title="Lifetime (min)", description="Minutes before the position expires")
    note: str = Field("", title="Note")
    id: str | None = Field(None, min_length=1, title="Signal id", description="Empty: derived from the tick")


class SignalRow(BaseModel):
    """A signal as the engine holds it: a waiting limit order or an open position."""

    model_config = ConfigDict(frozen=True)

    id: str
    position: Position
    note: str
    price_open: float
    price_take_profit: float
    price_stop_loss: float
    minute_estimated_time: int
    symbol: str
    exchange_name: str
    strategy_name: str
    frame_name: str
    scheduled_at: int
    pending_at: int | None
    is_scheduled: bool
