"""A small scripted venue for the desk's tests: fills market orders at a set price, rests limit orders, fails on cue."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workstation.brokers.errors import OrderRejectedError
from workstation.brokers.orders import (
    Balance,
    Fill,
    MarketRules,
    OrderRecord,
    OrderRequest,
    OrderStatus,
    client_order_id,
)
from workstation.desk import OrderDesk, RiskLimits

FEE_RATE = 0.001


@dataclass
class ScriptedVenue:
    """An in-memory venue on ``X/USDT`` symbols: market orders fill at ``prices[symbol]``, 0.1 % fee in USDT.

    ``failures[method]`` holds exceptions raised by the next calls of ``method`` (``place`` failures marked
    ``after_accept`` keep the order, as a response lost after the exchange accepted it). ``calls`` records every call.
    """

    prices: dict[str, float]
    assets: dict[str, float]
    clock: Callable[[], int]
    name: str = "scripted"
    real_money: bool = False
    destination: str = "scripted venue (in this process)"
    calls: list[tuple[str, str]] = field(default_factory=list)
    failures: dict[str, list[BaseException]] = field(default_factory=dict)
    accept_then_fail: list[BaseException] = field(default_factory=list)
    orders: dict[str, OrderRecord] = field(default_factory=dict)
    trades: list[Fill] = field(default_factory=list)
    on_place: Callable[[OrderRequest], None] | None = None
    #: When set, ``place`` waits for it before the venue takes the order (an answer on its way).
    hold: asyncio.Event | None = None

    def _fail(self, method: str) -> None:
        queue = self.failures.get(method)
        if queue:
            raise queue.pop(0)

    async def market_rules(self, symbol: str) -> MarketRules:
        self.calls.append(("market_rules", symbol))
        self._fail("market_rules")
        base, quote = symbol.split("/")
        return MarketRules(
            symbol=symbol,
            base=base,
            quote=quote,
            amount_step=0.001,
            price_step=0.01,
            min_amount=0.001,
            min_cost=5.0,
            native_stop_loss=True,
            native_take_profit=True,
        )

    async def place(self, order: OrderRequest) -> OrderRecord:
        self.calls.append(("place", order.client_order_id))
        if self.on_place is not None:
            self.on_place(order)
        self._fail("place")
        if self.hold is not None:
            await self.hold.wait()
        if order.client_order_id in self.orders:
            raise OrderRejectedError(f"duplicate client order id {order.client_order_id}")
        base, quote = order.symbol.split("/")
        now = self.clock()
        price = self.prices[order.symbol]
        amount = order.amount if order.amount is not None else (order.cost or 0.0) / price
        if order.type != "market":
            record = self._record(order, amount, status="open", filled=0.0, average=None, fee=0.0, now=now)
            self.orders[order.client_order_id] = record
            if order.side == "sell":
                self._move(base, -amount)
            else:
                self._move(quote, -amount * (order.price or price))
            self._after_accept()
            return record
        cost = amount * price
        if order.side == "buy" and self.assets.get(quote, 0.0) < cost * (1 + FEE_RATE):
            raise OrderRejectedError(f"insufficient {quote}: need {cost * (1 + FEE_RATE):g}")
        if order.side == "sell" and self.assets.get(base, 0.0) < amount - 1e-12:
            raise OrderRejectedError(f"insufficient {base}: need {amount:g}, free {self.assets.get(base, 0.0):g}")
        record = self._fill(order, amount, price, now)
        self._after_accept()
        return record

    def _after_accept(self) -> None:
        if self.accept_then_fail:
            raise self.accept_then_fail.pop(0)

    def _move(self, asset: str, amount: float) -> None:
        self.assets[asset] = self.assets.get(asset, 0.0) + amount

    def _record(
        self,
        order: OrderRequest,
        amount: float,
        *,
        status: OrderStatus,
        filled: float,
        average: float | None,
        fee: float,
        now: int,
    ) -> OrderRecord:
        return OrderRecord(
            client_order_id=order.client_order_id,
            exchange_order_id=f"scripted-{len(self.orders) + 1}",
            symbol=order.symbol,
            side=order.side,
            type=order.type,
            status=status,
            amount=amount,
            filled=filled,
            price=order.price,
            trigger_price=order.trigger_price,
            average=average,
            cost=filled * (average or 0.0),
            fee=fee,
            fee_currency="USDT" if fee else None,
            timestamp=now,
            updated=now,
            purpose="manual",
        )

    def _fill(self, order: OrderRequest, amount: float, price: float, now: int) -> OrderRecord:
        base, quote = order.symbol.split("/")
        fee = amount * price * FEE_RATE
        record = self._record(order, amount, status="closed", filled=amount, average=price, fee=fee, now=now)
        sign = 1 if order.side == "buy" else -1
        self._move(base, sign * amount)
        self._move(quote, -sign * amount * price - fee)
        self.orders[order.client_order_id] = record
        self.trades.append(
            Fill(
                trade_id=f"t{len(self.trades) + 1}",
                client_order_id=order.client_order_id,
                exchange_order_id=record.exchange_order_id,
                symbol=order.symbol,
                side=order.side,
                amount=amount,
                price=price,
                cost=amount * price,
                fee=fee,
                fee_currency="USDT",
                timestamp=now,
            )
        )
        return record

    def fill_resting(self, client_order_id: str) -> None:
        """Fill a resting limit order at its price, as the market crossing it would."""
        record = self.orders[client_order_id]
        base, quote = record.symbol.split("/")
        price = record.price or self.prices[record.symbol]
        request = OrderRequest(
            client_order_id=client_order_id,
            symbol=record.symbol,
            side=record.side,
            type="market",
            amount=record.amount,
            purpose="manual",
        )
        if record.side == "sell":
            self._move(base, record.amount)
        else:
            self._move(quote, record.amount * price)
        del self.orders[client_order_id]
        filled = self._fill(request, record.amount, price, self.clock())
        self.orders[client_order_id] = filled.model_copy(update={"type": record.type, "price": record.price})

    async def cancel(self, symbol: str, client_order_id: str) -> OrderRecord:
        self.calls.append(("cancel", client_order_id))
        self._fail("cancel")
        record = self.orders.get(client_order_id)
        if record is None:
            raise OrderRejectedError(f"unknown order {client_order_id}")
        if not record.is_open:
            return record
        base, quote = symbol.split("/")
        if record.side == "sell":
            self._move(base, record.amount)
        else:
            self._move(quote, record.amount * (record.price or 0.0))
        cancelled = record.model_copy(update={"status": "canceled", "updated": self.clock()})
        self.orders[client_order_id] = cancelled
        return cancelled

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderRecord | None:
        self.calls.append(("fetch_order", client_order_id))
        self._fail("fetch_order")
        return self.orders.get(client_order_id)

    async def open_orders(self, symbol: str | None = None) -> list[OrderRecord]:
        self.calls.append(("open_orders", symbol or ""))
        self._fail("open_orders")
        return [order for order in self.orders.values() if order.is_open and symbol in (None, order.symbol)]

    async def fills(self, symbol: str, since: int | None = None) -> list[Fill]:
        self.calls.append(("fills", symbol))
        self._fail("fills")
        return [fill for fill in self.trades if fill.symbol == symbol and (since is None or fill.timestamp >= since)]

    async def balances(self) -> list[Balance]:
        self.calls.append(("balances", ""))
        self._fail("balances")
        used: dict[str, float] = {}
        for order in self.orders.values():
            if order.is_open:
                base, quote = order.symbol.split("/")
                if order.side == "sell":
                    used[base] = used.get(base, 0.0) + order.amount
                else:
                    used[quote] = used.get(quote, 0.0) + order.amount * (order.price or 0.0)
        return [
            Balance(asset=asset, free=free, used=used.get(asset, 0.0))
            for asset, free in sorted(self.assets.items())
            if free or used.get(asset)
        ]

    async def aclose(self) -> None:
        self.calls.append(("aclose", ""))

    def placed(self) -> list[str]:
        """Return the client ids of every place call, in order."""
        return [order_id for method, order_id in self.calls if method == "place"]


NOW = 1_765_000_000_000  # 2025-12-06 05:46:40 UTC


class Clock:
    """The desk's present, moved by the test."""

    def __init__(self, now: int = NOW) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def make_venue(clock: Clock, **assets: float) -> ScriptedVenue:
    return ScriptedVenue(
        prices={"BTC/USDT": 50_000.0, "ETH/USDT": 2_000.0}, assets=dict(assets or {"USDT": 10_000.0}), clock=clock
    )


def make_desk(venue: ScriptedVenue, path: Path, clock: Clock, limits: RiskLimits | None = None) -> OrderDesk:
    return OrderDesk(venue, limits=limits or RiskLimits(), journal_path=path, clock=clock)


def buy(leg: str = "entry", *, cost: float = 1_000.0, signal: str = "sig-1", strategy: str = "sma") -> OrderRequest:
    return OrderRequest(
        client_order_id=client_order_id(signal, leg),
        symbol="BTC/USDT",
        side="buy",
        type="market",
        cost=cost,
        purpose="entry",
        signal_id=signal,
        strategy_name=strategy,
    )


def sell(amount: float, *, signal: str = "sig-1", purpose: Any = "exit") -> OrderRequest:
    return OrderRequest(
        client_order_id=client_order_id(signal, purpose),
        symbol="BTC/USDT",
        side="sell",
        type="market",
        amount=amount,
        purpose=purpose,
        signal_id=signal,
        strategy_name="sma",
    )
