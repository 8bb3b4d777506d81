"""What the fake exchange holds, as plain values for a test's asserts (floats, binance's names for statuses)."""

from __future__ import annotations

from dataclasses import dataclass

from workstation.exchanges.fake_binance.matching import BookOrder, BookTrade


@dataclass(frozen=True)
class ExchangeOrder:
    """An order on the fake exchange as it stands.

    ``status`` is binance's: NEW, PARTIALLY_FILLED, FILLED, CANCELED or EXPIRED; ``type`` MARKET, LIMIT, STOP_LOSS
    or TAKE_PROFIT; ``price`` and ``stop_price`` are 0 where the type has none; ``quote_quantity`` is the cost of
    what filled.
    """

    order_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    status: str
    quantity: float
    price: float
    stop_price: float
    executed_quantity: float
    quote_quantity: float
    time: int
    update_time: int

    @classmethod
    def of(cls, order: BookOrder) -> ExchangeOrder:
        """Return the values of a book order."""
        return cls(
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            type=order.type,
            status=order.status,
            quantity=float(order.quantity),
            price=float(order.price),
            stop_price=float(order.stop_price),
            executed_quantity=float(order.executed),
            quote_quantity=float(order.quote_executed),
            time=order.time,
            update_time=order.update_time,
        )


@dataclass(frozen=True)
class ExchangeTrade:
    """One fill on the fake exchange; ``commission`` is in ``commission_asset`` (the market's quote asset)."""

    trade_id: int
    order_id: int
    symbol: str
    side: str
    price: float
    quantity: float
    quote_quantity: float
    commission: float
    commission_asset: str
    time: int
    is_maker: bool

    @classmethod
    def of(cls, trade: BookTrade) -> ExchangeTrade:
        """Return the values of a book trade."""
        return cls(
            trade_id=trade.trade_id,
            order_id=trade.order_id,
            symbol=trade.symbol,
            side=trade.side,
            price=float(trade.price),
            quantity=float(trade.quantity),
            quote_quantity=float(trade.quote_quantity),
            commission=float(trade.commission),
            commission_asset=trade.commission_asset,
            time=trade.time,
            is_maker=trade.is_maker,
        )


@dataclass(frozen=True)
class ExchangeBalance:
    """One asset of the fake account: ``free`` to trade, ``locked`` by resting orders."""

    free: float
    locked: float

    @property
    def total(self) -> float:
        """Free plus locked."""
        return self.free + self.locked
