"""Profit and loss of a closed position (SPEC §7, the backtest-kit 19.5.0 formula)."""

from __future__ import annotations

from workstation.config import Config
from workstation.models.fast import construct
from workstation.models.results import Pnl
from workstation.models.signal import Position


def compute_pnl(position: Position, price_open: float, price_close: float, config: Config) -> Pnl:
    """Return the net PnL after slippage and fees on both sides, evaluated in the peer's exact order.

    Also returns the fees in money (``fee_cost``): the fee share subtracted from the percentage, times the cost.
    """
    cost = config.position_entry_cost
    slippage = config.percent_slippage
    effective_open = cost / (cost / price_open)
    if position == "long":
        open_with_slip = effective_open * (1 + slippage / 100)
        close_with_slip = price_close * (1 - slippage / 100)
        percent = ((close_with_slip - open_with_slip) / open_with_slip) * 100
    else:
        open_with_slip = effective_open * (1 - slippage / 100)
        close_with_slip = price_close * (1 + slippage / 100)
        percent = ((open_with_slip - close_with_slip) / open_with_slip) * 100
    # The close fee is charged on the slipped close value, hence the pc / po scaling of the second fee.
    fee_percent = config.percent_fee * (1 + close_with_slip / open_with_slip)
    percent = percent - fee_percent
    pnl_percentage = percent * 1
    return construct(
        Pnl,
        pnl_percentage=pnl_percentage,
        pnl_cost=pnl_percentage / 100 * cost,
        pnl_entries=cost,
        price_open=effective_open,
        price_close=price_close,
        fee_cost=fee_percent / 100 * cost,
    )
