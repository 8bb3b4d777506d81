"""Where orders go: the paper venue or an exchange (the order-level contract under every broker)."""

from __future__ import annotations

from typing import Protocol

from workstation.brokers.orders import Balance, Fill, MarketRules, OrderRecord, OrderRequest


class Venue(Protocol):
    """An account at an exchange (or a simulated one) that takes, cancels and reports orders.

    Failures raise the broker errors: :class:`~workstation.brokers.errors.OrderTransientError` when the outcome is
    unknown (timeout, 5xx, 429, disconnect), :class:`~workstation.brokers.errors.OrderRejectedError` when the venue
    refused (funds, minimums, unknown symbol). ``place`` never looks an order up first: the caller does, by
    ``client_order_id``, when an earlier try may have reached the venue.
    """

    #: The venue's name on screen and in records: ``paper``, or the ccxt exchange id.
    name: str
    #: Orders move real money (not paper, not a sandbox or testnet, not the fake exchange).
    real_money: bool

    @property
    def destination(self) -> str:
        """Return where the orders go, in words: ``binance testnet``, ``paper account (simulated fills)``..."""

    async def market_rules(self, symbol: str) -> MarketRules:
        """Return the rules of ``symbol`` (loaded once)."""

    async def place(self, order: OrderRequest) -> OrderRecord:
        """Send ``order``; return the venue's record of it (it may already be filled)."""

    async def cancel(self, symbol: str, client_order_id: str) -> OrderRecord:
        """Cancel the order; return its final record (filled meanwhile: status ``closed``)."""

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderRecord | None:
        """Return the order by its client id; None when the venue has never seen it."""

    async def open_orders(self, symbol: str | None = None) -> list[OrderRecord]:
        """Return the orders resting on the venue (on ``symbol``, or all)."""

    async def fills(self, symbol: str, since: int | None = None) -> list[Fill]:
        """Return the account's executions on ``symbol`` from ``since`` (ms), oldest first."""

    async def balances(self) -> list[Balance]:
        """Return every asset the account holds."""

    async def aclose(self) -> None:
        """Release the connection."""
