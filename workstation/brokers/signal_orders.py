"""The orders of the engine's signals on one route: each leg sent at most once, found again by its client id."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from workstation.brokers.errors import OrderTransientError
from workstation.brokers.orders import OrderRecord, OrderRequest, client_order_id
from workstation.brokers.route import OrderRoute


def numbered(leg: str, number: int) -> str:
    """Return the name of the ``number``-th order of ``leg`` (the first keeps the bare name: ``stop_loss-2``)."""
    return leg if number == 1 else f"{leg}-{number}"


class SignalOrders:
    """Send, cancel and look up the orders of signals by ``(signal_id, leg)``; a lost answer never sends twice.

    A record that can no longer change (filled, cancelled, rejected, expired) is kept, so the amounts held are
    counted from the venue's fills without asking it again for every leg on every tick.
    """

    def __init__(self, route: OrderRoute) -> None:
        self._route = route
        #: Per signal: the records that can no longer change, by client order id.
        self._final: dict[str, dict[str, OrderRecord]] = {}

    async def find(self, symbol: str, signal_id: str, leg: str) -> OrderRecord | None:
        """Return the venue's record of the signal's ``leg``; None when the venue has never seen it."""
        identifier = client_order_id(signal_id, leg)
        known = self._final.get(signal_id, {}).get(identifier)
        if known is not None:
            return known
        return self._keep(await self._route.fetch_order(symbol, identifier), signal_id)

    async def place(self, order: OrderRequest, *, look_first: bool) -> OrderRecord:
        """Send ``order`` unless the venue already has it; return its record.

        ``look_first`` asks the venue first, by client id: an earlier try (before a crash, or whose answer was lost)
        may have reached it. A timeout of this try is answered the same way: the order is looked up, and the timeout
        raised again only when the venue has never seen it.
        """
        signal_id = order.signal_id or ""
        if look_first:
            found = await self._fetch(order)
            if found is not None:
                return found
        try:
            return self._settled(await self._route.submit(order), signal_id)
        except OrderTransientError:
            found = await self._fetch(order)
            if found is None:
                raise
            return found

    async def cancel(self, signal_id: str, record: OrderRecord) -> OrderRecord:
        """Cancel the open order of ``record`` (of ``signal_id``); return its final record (``closed``: it filled)."""
        settled = await self._route.cancel(record.symbol, record.client_order_id)
        return self._settled(settled, signal_id)

    async def held(
        self,
        symbol: str,
        signal_id: str,
        legs: Iterable[str],
        *,
        base: str,
        seen: Mapping[str, OrderRecord | None] | None = None,
    ) -> float:
        """Return the base amount the signal's ``legs`` brought in: bought less sold, net of fees paid in base.

        ``seen`` holds the records of legs just looked up (by leg name), which are not asked for again.
        """
        seen = seen or {}
        total = 0.0
        for leg in legs:
            record = seen[leg] if leg in seen else await self.find(symbol, signal_id, leg)
            if record is not None:
                fee = record.fee if record.fee_currency == base else 0.0
                total += record.filled - fee if record.side == "buy" else -(record.filled + fee)
        return total

    def forget(self, signal_id: str) -> None:
        """Drop the records kept of a signal that is over."""
        self._final.pop(signal_id, None)

    async def _fetch(self, order: OrderRequest) -> OrderRecord | None:
        return self._keep(await self._route.fetch_order(order.symbol, order.client_order_id), order.signal_id or "")

    def _keep(self, record: OrderRecord | None, signal_id: str) -> OrderRecord | None:
        return None if record is None else self._settled(record, signal_id)

    def _settled(self, record: OrderRecord, signal_id: str) -> OrderRecord:
        if not record.is_open:
            self._final.setdefault(signal_id, {})[record.client_order_id] = record
        return record
