"""What the engine tells a broker at each gate and check (19.5's ``Broker*Payload`` types, in the trader's words).

Every payload names its signal (``signal_id``: the exchange's client order ids derive from it), the run
(``strategy_name``, ``exchange_name``) and the moment (``when``, ms). ``attempt`` counts the earlier failed tries of
the same gate or check (0: the first); it is stored before the hook runs, so a try cut short by a crash comes back
with ``attempt >= 1`` and the broker looks the order up before sending it again.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from workstation.models.pnl import Pnl
from workstation.models.signal import Position


class BrokerPayload(BaseModel):
    """The fields every gate and check carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str
    signal_id: str
    position: Position
    strategy_name: str
    exchange_name: str
    when: int


class OrderOpen(BrokerPayload):
    """The open gate: ``kind`` "schedule" places a resting limit order, "active" enters the position.

    An "active" open of a signal that waited as a limit order is the order's fill the engine saw on the price; the
    broker confirms it (or keeps it waiting by raising a transient error).
    """

    kind: Literal["schedule", "active"]
    cost: float
    price_open: float
    price_take_profit: float
    price_stop_loss: float
    current_price: float
    attempt: int


class OrderClose(BrokerPayload):
    """The close gate: the whole remaining position leaves at market (reason from the engine)."""

    close_reason: str
    cost: float
    current_price: float
    price_open: float
    price_take_profit: float
    price_stop_loss: float
    total_entries: int
    total_partials: int
    pnl: Pnl
    attempt: int


class OrderCheck(BrokerPayload):
    """A per-tick check: ``kind`` "active" of an open position's orders, "schedule" of a resting limit order."""

    kind: Literal["schedule", "active"]
    current_price: float
    price_open: float
    price_take_profit: float
    price_stop_loss: float
    total_entries: int
    total_partials: int
    attempt: int


class PositionChange(BrokerPayload):
    """The fields of the gates changing an open position: what it holds before the change.

    The broker derives the change's order id and the amount held from them, so a retry after a lost response finds
    the order of the first try instead of sending a second one.
    """

    total_entries: int
    total_partials: int


class PartialClose(PositionChange):
    """The gate of a partial close: ``cost`` dollars (``percent_to_close`` % of what is held) leave at market."""

    kind: Literal["profit", "loss"]
    percent_to_close: float
    cost: float
    current_price: float
    price_take_profit: float
    price_stop_loss: float


class AverageBuy(PositionChange):
    """The gate of averaging in: another entry of ``cost`` dollars at market."""

    cost: float
    current_price: float
    price_open: float
    price_take_profit: float
    price_stop_loss: float


class LevelMove(PositionChange):
    """The gate of a moved take profit or stop loss (trailing, breakeven): the protective orders follow."""

    kind: Literal["trailing_stop", "trailing_take", "breakeven"]
    current_price: float
    price_take_profit: float
    price_stop_loss: float


class ScheduleCancelled(BrokerPayload):
    """A resting limit order the engine dropped (timeout, price reject, user, stop): cancel it on the exchange.

    Informational, as in 19.5: the engine has already forgotten the order. The order may have filled meanwhile;
    the broker checks before cancelling and the reconciliation owns what it finds.
    """

    reason: str
