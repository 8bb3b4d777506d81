"""What a strategy returns (``Signal``) and what the engine tracks and emits (``SignalRow``)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from workstation.models.pnl import Pnl
from workstation.models.position import Entry, PartialClose

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


class Excursion(BaseModel):
    """A point of a position's excursion: the price, when, and its net PnL % there (backtest-kit 19.5's snapshot).

    ``SignalRow.peak_profit`` is the best point seen while the position was open (``pnl_percentage`` 0 at the entry
    price when it never showed a net profit), ``SignalRow.max_drawdown`` the worst (SPEC-statistics §4).
    """

    model_config = ConfigDict(frozen=True)

    price: float
    timestamp: int
    pnl_percentage: float


class SignalRow(BaseModel):
    """A signal as the engine holds it: a waiting limit order or an open position.

    ``price_open``, ``price_take_profit`` and ``price_stop_loss`` are the *effective* values: after averaging in,
    trailing and breakeven (SPEC-position P1); ``original_price_*`` are the values the signal was created with. A row
    of a position nobody managed has both equal, and ``price_open`` is the entry price as set (the effective entry of
    one entry, ``cost / (cost / price)``, can differ from it in the last bit: see ``Pnl.price_open``). Rows built
    without the ``original_*`` fields take them from the effective ones.
    """

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
    # Filled from the effective values when not given (see _originals_from_effective); the NaN default is left only
    # beside a missing effective value, which is already the error reported.
    original_price_open: float = math.nan
    original_price_take_profit: float = math.nan
    original_price_stop_loss: float = math.nan
    entries: tuple[Entry, ...] = ()
    partials: tuple[PartialClose, ...] = ()
    partial_executed: float = Field(0.0, description="Share closed by partial closes, in % of all money invested")
    pnl: Pnl | None = Field(None, description="PnL at the price the view was built for; empty outside views")
    # None on a waiting order, and on rows stored before the engine tracked excursions.
    peak_profit: Excursion | None = Field(None, description="Best net PnL point seen while open (SPEC-statistics §4)")
    max_drawdown: Excursion | None = Field(None, description="Worst net PnL point seen while open")

    @model_validator(mode="before")
    @classmethod
    def _originals_from_effective(cls, data: Any) -> Any:
        # Rows stored or written before positions could be managed have no originals: nothing moved them, so the
        # effective values are the original ones.
        if not isinstance(data, dict):
            return data
        missing = {
            f"original_{name}": data[name] for name in _LEVELS if f"original_{name}" not in data and name in data
        }
        return {**data, **missing} if missing else data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_entries(self) -> int:
        """Number of entries: the first one and every averaging in."""
        return len(self.entries)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_partials(self) -> int:
        """Number of partial closes."""
        return len(self.partials)


_LEVELS = ("price_open", "price_take_profit", "price_stop_loss")
