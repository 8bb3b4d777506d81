"""``FrameSchema``: the backtest period and the step between ticks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from workstation.schemas.common import AnyCallable, CallbacksModel, Name, SchemaModel

FrameInterval = Literal["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d"]


class FrameCallbacks(CallbacksModel):
    """Callbacks of a frame."""

    on_timeframe: AnyCallable | None = None


class FrameSchema(SchemaModel):
    """A backtest period: ticks from ``start_date`` to ``end_date`` (both inclusive) every ``interval``."""

    frame_name: Name
    interval: FrameInterval
    start_date: AwareDatetime
    end_date: AwareDatetime
    callbacks: FrameCallbacks = Field(default_factory=FrameCallbacks)
    note: str = ""

    @field_validator("start_date", "end_date")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _ordered(self) -> FrameSchema:
        if self.start_date > self.end_date:
            raise ValueError(
                f"start_date ({self.start_date.isoformat()}) must not be after end_date ({self.end_date.isoformat()})"
            )
        return self
