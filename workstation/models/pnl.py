"""The profit and loss of a position (SPEC §7, SPEC-position P15)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Pnl(BaseModel):
    """Net result of a position closed (or valued) at ``price_close`` (SPEC §7, SPEC-position P15).

    ``fee_cost`` is the money paid in fees, open and close together: ``fee * (1 + pc / po) / 100 * cost``, the fee
    share the PnL formula subtracts, in units of the position cost. ``pnl_entries`` is the money invested: the
    position cost, or the sum of every entry's cost after averaging in. ``price_open`` is the effective entry.
    """

    model_config = ConfigDict(frozen=True)

    pnl_percentage: float
    pnl_cost: float
    pnl_entries: float
    price_open: float
    price_close: float
    fee_cost: float
