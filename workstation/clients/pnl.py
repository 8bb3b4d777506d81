"""Profit and loss of a position without partial closes (SPEC §7, SPEC-position P15.1: the 19.5.0 formula)."""

from __future__ import annotations

from workstation.config import Config
from workstation.models.fast import construct_from
from workstation.models.pnl import Pnl
from workstation.models.signal import Position


def compute_pnl(position: Position, price_open: float, price_close: float, config: Config) -> Pnl:
    """Return the net PnL of one entry at ``price_open`` closed at ``price_close`` (SPEC §7)."""
    cost = config.position_entry_cost
    # The library's effective entry of one entry: its weighted harmonic mean, which can differ from it in the last bit.
    return entries_pnl(position, cost / (cost / price_open), cost, price_close, config)


def entries_pnl(position: Position, effective_open: float, invested: float, price_close: float, config: Config) -> Pnl:
    """Return the net PnL after slippage and fees on both sides of the money ``invested`` at ``effective_open``.

    The P15.1 program, evaluated in the peer's exact order. Also returns the fees in money (``fee_cost``): the fee
    share subtracted from the percentage, times the money invested.
    """
    return entries_pnl_of(position == "long", effective_open, invested, price_close, config)


def entries_pnl_of(long: bool, effective_open: float, invested: float, price_close: float, config: Config) -> Pnl:
    """`entries_pnl` of a long (``long``) or short position."""
    pnl_percentage, fee_percent = net_move(long, effective_open, price_close, config)
    return construct_from(
        Pnl,
        {
            "pnl_percentage": pnl_percentage,
            "pnl_cost": pnl_percentage / 100 * invested,
            "pnl_entries": invested,
            "price_open": effective_open,
            "price_close": price_close,
            "fee_cost": fee_percent / 100 * invested,
        },
    )


def net_move(long: bool, effective_open: float, price_close: float, config: Config) -> tuple[float, float]:
    """Return the net PnL in % of `entries_pnl_of` and the fees in % it subtracted: the figures without the model.

    A managed walk asks for the PnL % alone at every new peak or fall of a position.
    """
    percent, open_with_slip, close_with_slip = slipped_move(long, effective_open, price_close, config)
    # The close fee is charged on the slipped close value, hence the pc / po scaling of the second fee.
    fee_percent = config.percent_fee * (1 + close_with_slip / open_with_slip)
    # The library multiplies by the leverage (1 here, an exact no-op) after subtracting the fees.
    return percent - fee_percent, fee_percent


def slipped_move(long: bool, price_open: float, price_close: float, config: Config) -> tuple[float, float, float]:
    """Return the move from ``price_open`` to ``price_close`` in %, both slipped against the trader, and the two prices.

    The gross return of one leg of P15: ``(percent, slipped open, slipped close)``.
    """
    slippage = config.percent_slippage
    if long:
        open_with_slip = price_open * (1 + slippage / 100)
        close_with_slip = price_close * (1 - slippage / 100)
        return ((close_with_slip - open_with_slip) / open_with_slip) * 100, open_with_slip, close_with_slip
    open_with_slip = price_open * (1 - slippage / 100)
    close_with_slip = price_close * (1 + slippage / 100)
    return ((open_with_slip - close_with_slip) / open_with_slip) * 100, open_with_slip, close_with_slip
