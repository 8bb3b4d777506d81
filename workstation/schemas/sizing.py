"""``SizingSchema``: how a position size is derived (discriminated on ``method``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from workstation.schemas.common import AnyCallable, CallbacksModel, Name, SchemaModel

#: A risk share of the balance, in percent: a negative or infinite one would size a position absurdly.
RiskPercentage = Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]


class SizingCallbacks(CallbacksModel):
    """Callbacks of a sizing."""

    on_calculate: AnyCallable | None = None


class _SizingBase(SchemaModel):
    sizing_name: Name
    max_position_percentage: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] | None = None
    min_position_size: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    max_position_size: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    callbacks: SizingCallbacks = Field(default_factory=SizingCallbacks)
    note: str = ""

    @model_validator(mode="after")
    def _limits_in_order(self) -> _SizingBase:
        low, high = self.min_position_size, self.max_position_size
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_position_size ({low}) must not exceed max_position_size ({high})")
        return self


class FixedPercentageSizing(_SizingBase):
    """Risk a fixed percentage of the balance between entry and stop loss."""

    method: Literal["fixed_percentage"] = "fixed_percentage"
    risk_percentage: RiskPercentage


class KellyCriterionSizing(_SizingBase):
    """Size by a fraction of the Kelly criterion."""

    method: Literal["kelly_criterion"] = "kelly_criterion"
    kelly_multiplier: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.25


class AtrBasedSizing(_SizingBase):
    """Risk a fixed percentage of the balance per ATR multiple."""

    method: Literal["atr_based"] = "atr_based"
    risk_percentage: RiskPercentage
    atr_multiplier: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 2.0


SizingSchema = Annotated[
    FixedPercentageSizing | KellyCriterionSizing | AtrBasedSizing,
    Field(discriminator="method"),
]
