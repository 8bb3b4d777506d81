"""The desk's pre-trade risk gate: the limits, and the refusal an order that breaks one gets."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from workstation.brokers.errors import OrderRejectedError
from workstation.brokers.orders import OrderPurpose, OrderRequest

#: Orders that take risk off; the limits, the kill switch and a disagreeing reconciliation never refuse them.
EXIT_PURPOSES: frozenset[OrderPurpose] = frozenset({"exit", "stop_loss", "take_profit", "partial", "flatten"})


def is_entry(order: OrderRequest) -> bool:
    """Tell whether ``order`` may add risk (everything but an exit: entries, averaging, manual and adopting orders)."""
    return order.purpose not in EXIT_PURPOSES


class RiskLimits(BaseModel):
    """What the desk lets new entries do; None leaves a limit off. Exits are never refused by these limits.

    Parameters
    ----------
    max_order_notional
        Quote money per order: ``cost``, or ``amount`` times the limit, trigger or newest known price.
    max_open_positions
        Positions the desk holds, one per strategy and symbol with a net holding the desk's fills opened; a resting
        entry order counts as the position it will open.
    max_orders_per_minute
        Orders sent to the venue (every purpose) within the 60 s up to the desk's clock, the new one included.
    daily_loss_limit
        Quote money lost since 00:00 UTC of the desk's clock: realised on today's fills plus the open loss of what
        the desk holds, marked at the newest known price.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_order_notional: float | None = Field(
        None, gt=0, allow_inf_nan=False, title="Max order notional (quote)", description="Quote money per order"
    )
    max_open_positions: int | None = Field(
        None, ge=0, title="Max open positions", description="Strategies × symbols holding at once"
    )
    max_orders_per_minute: int | None = Field(
        None, ge=1, title="Max orders per minute", description="Orders sent within any 60 s"
    )
    daily_loss_limit: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        title="Daily loss limit (quote)",
        description="Quote money lost since 00:00 UTC",
    )


#: What refused an order: a field of :class:`RiskLimits`, the kill switch, or a disagreeing reconciliation.
RefusalLimit = Literal[
    "max_order_notional",
    "max_open_positions",
    "max_orders_per_minute",
    "daily_loss_limit",
    "kill_switch",
    "reconciliation",
]


class OrderRefusal(BaseModel):
    """An order the desk refused before sending it: the request, the limit that refused it and why, in words."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request: OrderRequest
    limit: RefusalLimit
    message: str


class OrderRefused(OrderRejectedError):
    """The desk refused the order before it reached the venue (a gate verdict of "rejected": retrying is pointless).

    ``limit`` names what refused it: ``max_order_notional``, ``max_open_positions``, ``max_orders_per_minute``,
    ``daily_loss_limit``, ``kill_switch`` or ``reconciliation``; the message gives the setting and the value that
    broke it.
    """

    def __init__(self, refusal: OrderRefusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal
        self.limit = refusal.limit
