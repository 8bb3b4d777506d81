"""The fake exchange's account and order book: binance's spot rules, fills matched against replayed candles.

Everything is exact decimal arithmetic, as binance's own strings are. A market order fills at once at the present
candle's close. A resting order is matched against each candle the market moves through, in the order the orders
were placed: a buy limit fills at its price when the candle's low reaches it (a sell limit when the high does); a
stop loss (sell) triggers when the low reaches its stop price and fills at the stop, or at the candle's open when
the market opened beyond it; a take profit (sell) triggers when the high reaches its stop price, likewise (buy
orders mirror both). The fee is 0.1 % of each fill's cost, charged in the quote asset. A resting buy holds its
quote asset (price × quantity plus the fee), a resting sell its base asset, as binance's ``locked``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from http import HTTPStatus
from typing import Literal

import numpy as np

from workstation.exchanges.fake_binance.markets import ORDER_TYPES, FakeMarket
from workstation.timeutil import MINUTE_MS

#: Binance's taker and maker fee without BNB: 0.1 % of the fill's cost.
FEE_RATE = Decimal("0.001")
#: Binance reports commissions with eight decimals.
_COMMISSION_QUANTUM = Decimal("1e-8")
_ZERO = Decimal(0)
_DECIMAL_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"

Side = Literal["BUY", "SELL"]
#: Binance's order statuses the fake exchange uses.
OrderState = Literal["NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED"]
WORKING: frozenset[str] = frozenset({"NEW", "PARTIALLY_FILLED"})


class BinanceError(Exception):
    """An error answer as binance sends it: an HTTP status and a JSON body ``{"code": ..., "msg": ...}``."""

    def __init__(self, code: int, msg: str, status: int = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status


def insufficient_balance() -> BinanceError:
    """Return binance's answer to an order the account cannot pay for (ccxt: ``InsufficientFunds``)."""
    return BinanceError(-2010, "Account has insufficient balance for requested action.")


def unknown_order() -> BinanceError:
    """Return binance's answer to a cancel of an order that is not open (ccxt: ``OrderNotFound``)."""
    return BinanceError(-2011, "Unknown order sent.")


@dataclass
class BookTrade:
    """One execution of an order (a row of ``/api/v3/myTrades``, an entry of a new order's ``fills``)."""

    trade_id: int
    order_id: int
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    quote_quantity: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_maker: bool


@dataclass
class BookOrder:
    """One order and what became of it."""

    order_id: int
    client_order_id: str
    symbol: str
    side: Side
    type: str
    quantity: Decimal
    price: Decimal
    stop_price: Decimal
    quote_order_quantity: Decimal
    status: OrderState
    time: int
    update_time: int
    executed: Decimal = _ZERO
    quote_executed: Decimal = _ZERO
    held: Decimal = _ZERO
    fill_cap: Decimal | None = None
    trades: list[BookTrade] = field(default_factory=list)

    @property
    def working(self) -> bool:
        """True while the order can still fill or be cancelled."""
        return self.status in WORKING

    @property
    def remaining(self) -> Decimal:
        """The quantity not filled yet."""
        return self.quantity - self.executed


@dataclass(frozen=True)
class NewOrder:
    """A ``POST /api/v3/order`` request, its parameters checked for presence and form."""

    symbol: str
    side: Side
    type: str
    quantity: Decimal | None
    quote_order_quantity: Decimal | None
    price: Decimal | None
    stop_price: Decimal | None
    client_order_id: str | None


def _decimal(params: Mapping[str, str], name: str) -> Decimal | None:
    text = params.get(name)
    if text is None or text == "":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal(0)
    if not value.is_finite() or value <= 0:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '{_DECIMAL_RANGE}'.")
    return value


def _mandatory(name: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def parse_new_order(params: Mapping[str, str], markets: Mapping[str, FakeMarket]) -> NewOrder:
    """Return the order ``params`` ask for, or raise binance's error for the first missing or malformed one."""
    symbol = params.get("symbol", "")
    if not symbol:
        raise _mandatory("symbol")
    if symbol not in markets:
        raise BinanceError(-1121, "Invalid symbol.")
    side = params.get("side", "")
    if side not in ("BUY", "SELL"):
        raise _mandatory("side") if not side else BinanceError(-1117, "Invalid side.")
    order_type = params.get("type", "")
    if order_type not in ORDER_TYPES:
        raise _mandatory("type") if not order_type else BinanceError(-1116, "Invalid orderType.")
    if order_type not in markets[symbol].order_types:
        raise BinanceError(-2010, "Order type not supported for this symbol.")
    quantity = _decimal(params, "quantity")
    quote_quantity = _decimal(params, "quoteOrderQty")
    price = _decimal(params, "price")
    stop_price = _decimal(params, "stopPrice")
    if order_type == "MARKET":
        if (quantity is None) == (quote_quantity is None):
            raise BinanceError(-1106, "Parameter 'quantity' or 'quoteOrderQty' must be sent, but not both.")
    elif quantity is None:
        raise _mandatory("quantity")
    if order_type == "LIMIT":
        if price is None:
            raise _mandatory("price")
        if params.get("timeInForce", "") != "GTC":
            raise BinanceError(-1115, "Invalid timeInForce.")
    if order_type in ("STOP_LOSS", "TAKE_PROFIT") and stop_price is None:
        raise _mandatory("stopPrice")
    return NewOrder(
        symbol=symbol,
        side="BUY" if side == "BUY" else "SELL",
        type=order_type,
        quantity=quantity,
        quote_order_quantity=quote_quantity,
        price=price if order_type == "LIMIT" else None,
        stop_price=stop_price if order_type in ("STOP_LOSS", "TAKE_PROFIT") else None,
        client_order_id=params.get("newClientOrderId") or None,
    )


def as_decimal(value: float) -> Decimal:
    """Return a candle price as the shortest decimal that reads back as the same float (what binance would print)."""
    return Decimal(repr(float(value)))


def _is_multiple(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


class Book:
    """The account (free and locked balance per asset) and every order and trade of the fake exchange.

    Not thread-safe: the server calls it under its lock.

    Parameters
    ----------
    markets
        The listed markets by market id.
    balances
        The free balance per asset at the start.
    """

    def __init__(self, markets: Mapping[str, FakeMarket], balances: Mapping[str, float]) -> None:
        self.markets = dict(markets)
        self.free: dict[str, Decimal] = {asset: Decimal(repr(float(amount))) for asset, amount in balances.items()}
        self.locked: dict[str, Decimal] = {asset: _ZERO for asset in self.free}
        self.orders: list[BookOrder] = []
        self.trades: list[BookTrade] = []
        self._next_order_id = 1
        self._next_trade_id = 1

    def place(
        self, request: NewOrder, last_price: Decimal | None, now: int, *, fill_fraction: Decimal | None = None
    ) -> BookOrder:
        """Accept ``request`` and fill what fills at once at ``last_price`` (the present candle's close).

        ``fill_fraction`` (a fault) fills only that part of the quantity at the first match: a market order's
        rest expires, a limit order's rest stays on the book.

        Raises
        ------
        BinanceError
            Duplicate client order id of an open order, a filter failure, no price to fill a market order at, a
            stop that would trigger at once, or a balance that cannot pay for the order.
        """
        market = self.markets[request.symbol]
        client_id = request.client_order_id or f"fake{self._next_order_id}"
        if any(order.working and order.client_order_id == client_id for order in self.orders):
            raise BinanceError(-2010, "Duplicate order sent.")
        reference = request.price or request.stop_price or last_price
        if request.type == "MARKET" and last_price is None:
            raise BinanceError(-2010, "Market is closed.")
        assert reference is not None
        quantity = request.quantity
        if quantity is None:
            assert request.quote_order_quantity is not None
            quantity = (request.quote_order_quantity / reference).quantize(market.step_size, rounding=ROUND_DOWN)
        self._check_filters(market, request, quantity, reference)
        if request.stop_price is not None and last_price is not None and _triggers(request, last_price, last_price):
            raise BinanceError(-2010, "Order would trigger immediately.")
        order = BookOrder(
            order_id=self._next_order_id,
            client_order_id=client_id,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            quantity=quantity,
            price=request.price or _ZERO,
            stop_price=request.stop_price or _ZERO,
            quote_order_quantity=request.quote_order_quantity or _ZERO,
            status="NEW",
            time=now,
            update_time=now,
            fill_cap=None if fill_fraction is None else _part(quantity, fill_fraction, market),
        )
        if request.type == "MARKET":
            assert last_price is not None
            self._check_covers(market, request.side, quantity, last_price)
        else:
            self._hold(market, order, reference)
        self._next_order_id += 1
        self.orders.append(order)
        if request.type == "MARKET":
            assert last_price is not None
            self._execute(order, last_price, now, is_maker=False)
            if order.working:
                order.status = "EXPIRED"
        elif request.type == "LIMIT" and last_price is not None and _crosses(order, last_price):
            # A limit order priced through the market takes the market's price, as on any order book.
            self._execute(order, last_price, now, is_maker=False)
        return order

    def match(self, symbol: str, candle: np.void) -> None:
        """Fill the resting orders of ``symbol`` the candle reaches, in the order they were placed."""
        open_price = as_decimal(candle["open"])
        high = as_decimal(candle["high"])
        low = as_decimal(candle["low"])
        time = int(candle["timestamp"]) + MINUTE_MS - 1
        for order in self.orders:
            if not order.working or order.symbol != symbol:
                continue
            if order.type == "LIMIT":
                reached = low <= order.price if order.side == "BUY" else high >= order.price
                if reached:
                    self._execute(order, order.price, time, is_maker=True)
            elif _triggers(order, low, high):
                self._execute(order, _trigger_fill_price(order, open_price), time, is_maker=False)
                if order.working:
                    order.status = "EXPIRED"
                    self._release(order, order.held)

    def fill_now(self, order: BookOrder, last_price: Decimal | None, now: int) -> None:
        """Fill the whole rest of a working order at once: at its limit or stop price, else at ``last_price``."""
        price = order.price or order.stop_price or last_price
        assert price is not None
        order.fill_cap = None
        self._execute(order, price, now, is_maker=order.type == "LIMIT")

    def cancel(self, order: BookOrder, now: int) -> None:
        """Cancel a working order and free what it held."""
        order.status = "CANCELED"
        order.update_time = now
        self._release(order, order.held)

    def find(self, symbol: str, order_id: str | None, client_order_id: str | None) -> BookOrder | None:
        """Return the newest order of ``symbol`` with that order id or client order id, None if there is none."""
        for order in reversed(self.orders):
            if order.symbol != symbol:
                continue
            if (order_id is not None and str(order.order_id) == order_id) or (
                order_id is None and order.client_order_id == client_order_id
            ):
                return order
        return None

    def _check_filters(self, market: FakeMarket, request: NewOrder, quantity: Decimal, reference: Decimal) -> None:
        for price in (request.price, request.stop_price):
            if price is not None and not _is_multiple(price, market.tick_size):
                raise BinanceError(-1013, "Filter failure: PRICE_FILTER")
        if request.quantity is not None and not _is_multiple(quantity, market.step_size):
            raise BinanceError(-1013, "Filter failure: LOT_SIZE")
        if quantity < market.step_size:
            raise BinanceError(-1013, "Filter failure: LOT_SIZE")
        if quantity * reference < market.min_notional:
            raise BinanceError(-1013, "Filter failure: NOTIONAL")

    def _check_covers(self, market: FakeMarket, side: Side, quantity: Decimal, price: Decimal) -> None:
        if side == "BUY":
            need, asset = _with_fee(quantity * price), market.quote
        else:
            need, asset = quantity, market.base
        if self.free.get(asset, _ZERO) < need:
            raise insufficient_balance()

    def _hold(self, market: FakeMarket, order: BookOrder, price: Decimal) -> None:
        asset = market.quote if order.side == "BUY" else market.base
        amount = _with_fee(order.quantity * price) if order.side == "BUY" else order.quantity
        if self.free.get(asset, _ZERO) < amount:
            raise insufficient_balance()
        self.free[asset] = self.free.get(asset, _ZERO) - amount
        self.locked[asset] = self.locked.get(asset, _ZERO) + amount
        order.held = amount

    def _release(self, order: BookOrder, amount: Decimal) -> None:
        if amount == 0:
            return
        market = self.markets[order.symbol]
        asset = market.quote if order.side == "BUY" else market.base
        self.locked[asset] -= amount
        self.free[asset] += amount
        order.held -= amount

    def _execute(self, order: BookOrder, price: Decimal, time: int, *, is_maker: bool) -> None:
        """Fill the order's rest (or the part a fault allows) at ``price``, moving the balances."""
        market = self.markets[order.symbol]
        quantity = order.remaining if order.fill_cap is None else min(order.remaining, order.fill_cap)
        order.fill_cap = None
        if quantity == 0:
            return
        # What the order held for this part is spent now; any rounding left over stays held for the rest.
        self._release(order, order.held if quantity == order.remaining else order.held * quantity / order.remaining)
        cost = quantity * price
        commission = (cost * FEE_RATE).quantize(_COMMISSION_QUANTUM, rounding=ROUND_HALF_UP)
        base, quote = market.base, market.quote
        if order.side == "BUY":
            if self.free.get(quote, _ZERO) < cost + commission:
                # A stop triggered into a gap may cost more than it held: the market order fails as on binance.
                order.status = "EXPIRED"
                order.update_time = time
                self._release(order, order.held)
                return
            self.free[quote] = self.free.get(quote, _ZERO) - cost - commission
            self.free[base] = self.free.get(base, _ZERO) + quantity
        else:
            self.free[base] = self.free.get(base, _ZERO) - quantity
            self.free[quote] = self.free.get(quote, _ZERO) + cost - commission
        for asset in (base, quote):
            self.locked.setdefault(asset, _ZERO)
        trade = BookTrade(
            trade_id=self._next_trade_id,
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            quantity=quantity,
            quote_quantity=cost,
            commission=commission,
            commission_asset=quote,
            time=time,
            is_maker=is_maker,
        )
        self._next_trade_id += 1
        self.trades.append(trade)
        order.trades.append(trade)
        order.executed += quantity
        order.quote_executed += cost
        order.update_time = time
        order.status = "FILLED" if order.remaining == 0 else "PARTIALLY_FILLED"
        if order.status == "FILLED":
            self._release(order, order.held)


def _with_fee(cost: Decimal) -> Decimal:
    return cost + (cost * FEE_RATE).quantize(_COMMISSION_QUANTUM, rounding=ROUND_HALF_UP)


def _part(quantity: Decimal, fraction: Decimal, market: FakeMarket) -> Decimal:
    return (quantity * fraction).quantize(market.step_size, rounding=ROUND_DOWN)


def _crosses(order: BookOrder, price: Decimal) -> bool:
    return price <= order.price if order.side == "BUY" else price >= order.price


def _triggers(order: BookOrder | NewOrder, low: Decimal, high: Decimal) -> bool:
    """Return True when a stop loss or take profit order's stop price lies within ``[low, high]``'s reach."""
    stop = order.stop_price
    assert stop is not None
    falls_to_stop = (order.type == "STOP_LOSS") == (order.side == "SELL")
    return low <= stop if falls_to_stop else high >= stop


def _trigger_fill_price(order: BookOrder, open_price: Decimal) -> Decimal:
    """Return the stop price, or the candle's open when the market opened beyond it (the market order fills there)."""
    falls_to_stop = (order.type == "STOP_LOSS") == (order.side == "SELL")
    return min(order.stop_price, open_price) if falls_to_stop else max(order.stop_price, open_price)
