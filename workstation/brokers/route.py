"""The way a broker's orders take to a venue (the order desk, with its kill switch, risk gate and journal)."""

from __future__ import annotations

from typing import Protocol

from workstation.brokers.orders import MarketRules, OrderRecord, OrderRequest


class OrderRoute(Protocol):
    """Takes a broker's orders to one venue and reports them back, by client order id.

    Failures raise the broker errors, as a :class:`~workstation.brokers.venue.Venue` does:
    :class:`~workstation.brokers.errors.OrderTransientError` when the outcome is unknown,
    :class:`~workstation.brokers.errors.OrderRejectedError` when the order was refused.
    """

    async def submit(self, order: OrderRequest) -> OrderRecord:
        """Send ``order``; return the venue's record of it (it may already be filled)."""

    async def cancel(self, symbol: str, client_order_id: str) -> OrderRecord:
        """Cancel the order; return its final record (filled meanwhile: status ``closed``)."""

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderRecord | None:
        """Return the order by its client id; None when the venue has never seen it."""

    async def market_rules(self, symbol: str) -> MarketRules:
        """Return the rules of ``symbol`` on the venue."""
