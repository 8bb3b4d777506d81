"""How a run's account is set up: its starting balance and how it sizes each position (``ws.AccountSettings``).

The engine trades in percentages: a trade's % PnL does not depend on the money in it. The account turns them into
money: each position gets the money its sizing gives it, out of the equity the run has when it opens.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

#: A share of the equity, in percent: above 0, at most all of it (an account without leverage).
EquityPercent = Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]


class FixedCostSizing(BaseModel):
    """Every position gets the config's ``position_entry_cost``: the engine's own figures, what parity runs use."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["fixed_cost"] = "fixed_cost"


class EquityShareSizing(BaseModel):
    """Every position gets ``percent`` % of the equity at its opening: the account compounds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["equity_share"] = "equity_share"
    percent: EquityPercent = Field(10.0, title="Share of equity (%)", description="Money put into each position.")


class RiskSizing(BaseModel):
    """Every position loses ``percent`` % of the equity at its opening if its stop loss is hit.

    The quantity is ``ws.PositionSize``'s fixed-percentage formula, ``equity * percent / 100 / |open - stop|`` at the
    signal's original entry and stop; the money put in is that quantity at the entry, at most the whole equity.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["risk"] = "risk"
    percent: EquityPercent = Field(1.0, title="Risk per trade (%)", description="Equity lost at the stop loss.")


#: How a run sizes its positions: ``{"method": "fixed_cost"}``, ``{"method": "equity_share", "percent": 10.0}`` or
#: ``{"method": "risk", "percent": 1.0}``.
AccountSizing = Annotated[FixedCostSizing | EquityShareSizing | RiskSizing, Field(discriminator="method")]

#: A run's starting balance, in the quote currency.
StartingBalance = Annotated[float, Field(gt=0, le=1e15, allow_inf_nan=False)]


class AccountSettings(BaseModel):
    """A run's account: the money it starts with and how it sizes positions (fixed cost, the default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    starting_balance: StartingBalance = Field(
        10_000.0, title="Starting balance", description="Money in the account at the start, in the quote currency."
    )
    sizing: AccountSizing = Field(
        default_factory=FixedCostSizing, title="Sizing", description="Money put into each position."
    )
