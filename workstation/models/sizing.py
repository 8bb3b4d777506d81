"""What a position-size calculation is asked (SPEC §10): the inputs, as ``on_calculate`` receives them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class _SizingParams(BaseModel):
    model_config = ConfigDict(frozen=True)

    symbol: str
    account_balance: float
    price_open: float


class FixedPercentageParams(_SizingParams):
    """Size a position so that reaching the stop loss costs a fixed share of the balance."""

    method: Literal["fixed_percentage"] = "fixed_percentage"
    price_stop_loss: float


class KellyCriterionParams(_SizingParams):
    """Size a position by the Kelly criterion of a win rate and a win/loss ratio."""

    method: Literal["kelly_criterion"] = "kelly_criterion"
    win_rate: float
    win_loss_ratio: float


class AtrBasedParams(_SizingParams):
    """Size a position so that a move of the ATR times the multiplier costs a fixed share of the balance."""

    method: Literal["atr_based"] = "atr_based"
    atr: float


SizingParams = FixedPercentageParams | KellyCriterionParams | AtrBasedParams
