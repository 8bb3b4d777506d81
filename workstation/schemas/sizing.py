"""``SizingSchema``: how a position size is derived (discriminated on ``method``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from workstation.schemas.common import AnyCallable, CallbacksModel, Name, SchemaModel


class SizingCallbacks(CallbacksModel):
    """Callbacks of a sizing."""

    on_calculate: AnyCallable | None = None


class _SizingBase(SchemaModel):
    sizing_name: Name
    max_position_percentage: float | None = None
    min_position_size: float | None = None
    max_position_size: float | None = None
    callbacks: SizingCallbacks = Field(default_factory=SizingCallbacks)
    note: str = ""


class FixedPercentageSizing(_SizingBase):
    """Risk a fixed percentage of the balance between entry and stop loss."""

    method: Literal["fixed_percentage"] = "fixed_percentage"
    risk_percentage: float


class KellyCriterionSizing(_SizingBase):
    """Size by a fraction of the Kelly criterion."""

    method: Literal["kelly_criterion"] = "kelly_criterion"
    kelly_multiplier: float = 0.25


class AtrBasedSizing(_SizingBase):
    """Risk a fixed percentage of the balance per ATR multiple."""

    method: Literal["atr_based"] = "atr_based"
    risk_percentage: float
    atr_multiplier: float = 2.0


SizingSchema = Annotated[
    FixedPercentageSizing | KellyCriterionSizing | AtrBasedSizing,
    Field(discriminator="method"),
]
