"""The account view of a run in money (``ws.AccountReport``): its trades, its balance and equity curves, its figures."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EquityPoint(BaseModel):
    """The value of the balance or the equity at one moment (epoch ms)."""

    model_config = ConfigDict(frozen=True)

    timestamp: int
    value: float


class AccountTrade(BaseModel):
    """One closed trade in money, as the account booked it (every entry and partial close counted)."""

    model_config = ConfigDict(frozen=True)

    signal_id: str
    opened_at: int = Field(description="When the position opened (epoch ms)")
    closed_at: int = Field(description="When it closed (epoch ms)")
    invested: float = Field(description="Money put in: every entry, averaging in included")
    pnl_money: float = Field(description="Net money made, fees included, partial closes included")
    fees_money: float = Field(description="Fees paid, opening and closing")
    equity_before: float = Field(description="Equity when the position opened")
    equity_after: float = Field(description="Equity after it closed")


class AccountReport(BaseModel):
    """A run's account: what the money did under its starting balance and sizing.

    Percentages are in percent (12.5 means 12.5 %). The drawdowns are measured on the equity curve (marked to market
    at each UTC midnight, each opening, partial close and close): as a share of the equity peak before them, and in
    money. Sharpe and Sortino ratios are of the daily equity returns (the equity at each UTC midnight of the frame and
    at its end), annualised with sqrt(365); None with fewer than two returns or no deviation. ``cagr_percent`` is
    None for a frame shorter than a day or an account without equity left.
    """

    model_config = ConfigDict(frozen=True)

    starting_balance: float
    final_equity: float
    net_profit: float
    return_percent: float
    max_drawdown_percent: float
    max_drawdown_money: float
    cagr_percent: float | None
    exposure_percent: float = Field(description="Share of the frame's time spent in a position")
    fees_paid: float
    sharpe_ratio: float | None
    sortino_ratio: float | None
    longest_drawdown_days: float = Field(description="Longest time from an equity peak to its recovery (or the end)")
    equity_spent_at: int | None = Field(description="When the run stopped opening positions: equity spent (epoch ms)")
    trades: tuple[AccountTrade, ...]
    balance_curve: tuple[EquityPoint, ...]
    equity_curve: tuple[EquityPoint, ...]
    buy_and_hold_curve: tuple[EquityPoint, ...] = Field(
        default=(),
        description="The starting balance held in the asset from the frame's start, marked at the close of the 1m "
        "candle at each UTC midnight and the frame's end, and at each trade's close price (empty without a price at "
        "the frame's start)",
    )
