"""``WalkerSchema``: strategies compared on one exchange and frame by one metric."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from workstation.account.settings import AccountSettings
from workstation.schemas.common import AnyCallable, CallbacksModel, Name, SchemaModel

#: The account figures a walk or a sweep may rank by (``ws.AccountReport``'s, of each run's account): net profit,
#: return, max drawdown of the equity peak (ranked smallest first: its metric value is the drawdown negated) and the
#: Sharpe ratio of the daily equity returns.
AccountMetric = Literal["net_profit", "return_percent", "max_drawdown_percent", "daily_sharpe_ratio"]

WalkerMetric = Literal[
    "sharpe_ratio",
    "annualized_sharpe_ratio",
    "win_rate",
    "total_pnl",
    "certainty_ratio",
    "avg_pnl",
    "expected_yearly_returns",
    AccountMetric,
]


class WalkerCallbacks(CallbacksModel):
    """Callbacks of a walker."""

    on_strategy_start: AnyCallable | None = None
    on_strategy_complete: AnyCallable | None = None
    on_strategy_error: AnyCallable | None = None
    on_complete: AnyCallable | None = None


class WalkerSchema(SchemaModel):
    """A comparison of strategies, run one after the other."""

    walker_name: Name
    exchange_name: Name
    frame_name: Name
    strategies: list[Name] = Field(min_length=1)
    metric: WalkerMetric = "sharpe_ratio"
    account: AccountSettings = Field(default_factory=AccountSettings)
    callbacks: WalkerCallbacks = Field(default_factory=WalkerCallbacks)
    note: str = ""

    @field_validator("strategies")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for name in value:
            if name in seen:
                raise ValueError(f"strategy {name!r} is listed twice")
            seen.add(name)
        return value
