"""The paper venue: orders filled on the live candles with the configured fee and slippage, a balance per asset.

Paper trading runs the same code path as real trading: the broker and the desk send their orders to a
:class:`PaperVenue` instead of an exchange. The venue reads the same 1m candles the live run reads and matches its
resting orders against every candle closed since it last looked, once each.

Money is reckoned in decimals of the numbers as written (``0.1`` is one tenth, not the nearest binary fraction), so
a fill of 0.3 at 100.1 costs exactly 30.03 and balances add up to the cent.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

import numpy as np

from workstation.brokers.errors import OrderRejectedError, OrderTransientError
from workstation.brokers.orders import Balance, Fill, MarketRules, OrderRecord, OrderRequest, OrderStatus
from workstation.clients.exchange import ClientExchange
from workstation.config import Config
from workstation.models.candles import CANDLE_DTYPE
from workstation.timeutil import MINUTE_MS, iso

#: Read the 1m candles of ``symbol`` opening in ``[since_ms, until_ms)`` (``CANDLE_DTYPE``, oldest first).
CandleReader = Callable[[str, int, int], Awaitable[np.ndarray]]

#: Quote assets recognised at the end of a symbol written without a slash (``BTCUSDT``), longest first.
_QUOTE_ASSETS: tuple[str, ...] = (
    "FDUSD",
    "USDT",
    "USDC",
    "BUSD",
    "TUSD",
    "USD",
    "EUR",
    "GBP",
    "TRY",
    "BTC",
    "ETH",
    "BNB",
)

#: Orders that protect a held amount: a stop loss and a take profit of one signal form a one-cancels-the-other pair.
_PROTECTIVE = ("stop_loss", "take_profit")

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


def live_candle_reader(exchange: ClientExchange, config: Config) -> CandleReader:
    """Return a reader of the candles a live run sees: its exchange client, through the run's cache and checks.

    Parameters
    ----------
    exchange
        The live run's exchange client (``LiveClientStrategy.exchange``): the venue then fills on the very candles
        the run decides on, and never reads a candle the run's clock has not closed.
    config
        The run's configuration (retries, anomaly checks).
    """

    async def read(symbol: str, since_ms: int, until_ms: int) -> np.ndarray:
        return await exchange.get_candles(symbol, "1m", (until_ms - since_ms) // MINUTE_MS, until_ms, config)

    return read


def _exact(value: float) -> Decimal:
    """Return ``value`` as the decimal it is written as (``0.1`` → ``Decimal("0.1")``)."""
    return Decimal(repr(float(value)))


def _to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    return (value / step).to_integral_value(rounding) * step


@dataclass
class _PaperOrder:
    """An order the venue took, and what became of it."""

    request: OrderRequest
    exchange_order_id: str
    rules: MarketRules
    amount: Decimal
    price: Decimal | None
    trigger: Decimal | None
    placed: int
    status: OrderStatus = "open"
    fill_price: Decimal | None = None
    fee: Decimal = _ZERO
    updated: int = 0
    pair: tuple[str, str] | None = field(init=False)

    def __post_init__(self) -> None:
        signal_id = self.request.signal_id
        self.pair = (self.request.symbol, signal_id) if self.request.type in _PROTECTIVE and signal_id else None
        self.updated = self.placed

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def record(self) -> OrderRecord:
        """Return the order as the venue reports it."""
        request = self.request
        filled = self.amount if self.fill_price is not None else _ZERO
        return OrderRecord(
            client_order_id=request.client_order_id,
            exchange_order_id=self.exchange_order_id,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            status=self.status,
            amount=float(self.amount),
            filled=float(filled),
            price=None if self.price is None else float(self.price),
            trigger_price=None if self.trigger is None else float(self.trigger),
            average=None if self.fill_price is None else float(self.fill_price),
            cost=float(filled * (self.fill_price or _ZERO)),
            fee=float(self.fee),
            fee_currency=self.rules.quote if self.fill_price is not None else None,
            timestamp=self.placed,
            updated=self.updated,
            purpose=request.purpose,
            signal_id=request.signal_id,
            strategy_name=request.strategy_name,
        )


class PaperVenue:
    """A simulated account that fills orders on the live candles (the default venue: no money moves).

    Before every operation the venue reads the candles closed since it last looked at the symbol (each once) and
    matches its resting orders against each in turn, counting only candles that closed after the order was placed:

    - a buy limit fills at its price when the candle's low reaches it, a sell limit when the high does; a candle
      opening beyond the price fills at the price all the same (the paper venue never fills better than asked);
    - a stop loss (selling a held amount) triggers when the low reaches its trigger and fills at the trigger less
      the slippage, or at the candle's open when the candle opened below that (a gap);
    - a take profit (selling a held amount) triggers when the high reaches its trigger and fills at the trigger;
    - a stop loss and a take profit of the same signal form a one-cancels-the-other pair, as Binance's OCO: they
      hold the amount once, and the fill of one cancels the other; when a candle reaches both levels the stop loss
      fills (a candle cannot tell which came first: assume the worse).

    A market order fills at once, whole, at the newest close plus (buy) or minus (sell) the slippage, rounded to the
    price step. Every fill pays ``percent_fee`` of its cost in the quote asset. A resting buy holds its cost and
    fee in the quote asset, a resting sell holds its amount of the base asset; an order the free balance cannot
    cover is refused.

    Parameters
    ----------
    candles
        Reads 1m candles, as :func:`live_candle_reader` does from a live run's exchange.
    clock
        The present in epoch ms (the live run's clock).
    balances
        What the account starts with, per asset (``{"USDT": 1000.0}``).
    percent_fee
        Fee of every fill, in percent of its cost.
    percent_slippage
        Adverse move of market and stop fills, in percent of the price.
    rules
        Market rules per symbol; by default the base and quote assets read from the symbol (``BTC/USDT``, or
        ``BTCUSDT`` ending in a common quote asset), steps of 1e-8, a minimum amount of 1e-8, no minimum cost, and
        both protective order kinds kept by the venue.

    Raises
    ------
    ValueError
        If a percentage is not within [0, 100) or a balance is negative or not a number.
    """

    name: str = "paper"
    real_money: bool = False
    destination: str = "paper account (simulated fills)"

    def __init__(
        self,
        *,
        candles: CandleReader,
        clock: Callable[[], int],
        balances: Mapping[str, float],
        percent_fee: float,
        percent_slippage: float,
        rules: Callable[[str], MarketRules] | None = None,
    ) -> None:
        for name, value in (("percent_fee", percent_fee), ("percent_slippage", percent_slippage)):
            if not (math.isfinite(value) and 0 <= value < 100):
                raise ValueError(f"{name} must be a percentage within [0, 100), got {value!r}")
        self._totals: dict[str, Decimal] = {}
        for asset, amount in balances.items():
            if not asset:
                raise ValueError("balances must name each asset, got an empty name")
            if not (math.isfinite(amount) and amount >= 0):
                raise ValueError(f"balances[{asset!r}] must be a finite amount >= 0, got {amount!r}")
            self._totals[asset] = _exact(amount)
        self._read_candles = candles
        self._clock = clock
        self._fee_rate = _exact(percent_fee) / _HUNDRED
        self._slippage_rate = _exact(percent_slippage) / _HUNDRED
        self._rules_of = rules
        self._rules: dict[str, MarketRules] = {}
        self._orders: dict[str, _PaperOrder] = {}
        self._fills: list[Fill] = []
        #: Per symbol: the open time of the first candle not matched yet.
        self._looked_until: dict[str, int] = {}
        self._newest_close: dict[str, Decimal] = {}
        #: The numbers of the last order and fill the account gave (``paper-<n>``, ``paper-fill-<n>``).
        self._order_number = 0
        self._fill_number = 0
        # One operation at a time: a candle matched by two interleaved catch-ups would fill twice.
        self._lock = asyncio.Lock()

    async def market_rules(self, symbol: str) -> MarketRules:
        """Return the rules of ``symbol`` (asked once per symbol).

        Raises
        ------
        OrderRejectedError
            If the default rules are used and ``symbol`` names no base and quote asset (``BTC/USDT`` and
            ``BTCUSDT`` do).
        """
        return self._rules_now(symbol)

    def _rules_now(self, symbol: str) -> MarketRules:
        rules = self._rules.get(symbol)
        if rules is None:
            rules = self._rules[symbol] = self._rules_of(symbol) if self._rules_of else _default_rules(symbol)
        return rules

    def continue_account(self, orders: Sequence[tuple[OrderRequest, OrderRecord]], fills: Sequence[Fill]) -> None:
        """Take up the account an earlier venue kept, from the orders and fills a desk's journal recorded of it.

        Call it once, on a new venue, before anything else. The balances given to the constructor are the account's
        opening balances; every order that filled moves them as its fill did (``fills`` tell the fill of an order
        whose last record was taken before it filled). Open orders rest again and are matched against every candle
        closed since they were placed: on the same candles (a replay, or the exchange's history) a fill the journal
        had not heard of happens again, at the same price and minute. Done orders are kept, so their client ids are
        not taken twice; numbering goes on after the highest order and fill numbers seen.

        Parameters
        ----------
        orders
            Each order the earlier venue took, as requested and as last recorded (orders it never took are left out).
        fills
            The fills recorded of those orders.
        """
        fill_of = {fill.client_order_id: fill for fill in fills}
        taken: list[_PaperOrder] = []
        for request, record in sorted(orders, key=lambda pair: pair[1].timestamp):
            paper = _PaperOrder(
                request=request,
                exchange_order_id=record.exchange_order_id,
                rules=self._rules_now(request.symbol),
                amount=_exact(record.amount),
                price=None if record.price is None else _exact(record.price),
                trigger=None if record.trigger_price is None else _exact(record.trigger_price),
                placed=record.timestamp,
                status=record.status,
            )
            paper.updated = record.updated
            fill = fill_of.get(request.client_order_id)
            if fill is not None:
                paper.status, paper.fill_price, paper.fee, paper.updated = (
                    "closed",
                    _exact(fill.price),
                    _exact(fill.fee),
                    fill.timestamp,
                )
            elif record.filled > 0 and record.average is not None:
                paper.fill_price, paper.fee = _exact(record.average), _exact(record.fee)
            if paper.fill_price is not None:
                self._book_fill(paper, paper.amount * paper.fill_price, paper.fee)
            self._orders[request.client_order_id] = paper
            self._order_number = max(self._order_number, _number(record.exchange_order_id))
            taken.append(paper)
        for paper in taken:
            if paper.fill_price is not None:
                self._cancel_pair_of(paper, paper.updated)
        known = sorted(fills, key=lambda fill: (fill.timestamp, _number(fill.trade_id)))
        self._fill_number = max((_number(fill.trade_id) for fill in known), default=0)
        self._fills = list(known)
        for paper in sorted(taken, key=lambda paper: paper.updated):
            if paper.fill_price is not None and paper.request.client_order_id not in fill_of:
                self._fills.append(self._fill_record(paper, paper.fill_price, paper.fee, paper.updated))
        for paper in taken:
            if paper.is_open:
                symbol = paper.request.symbol
                first = paper.placed // MINUTE_MS * MINUTE_MS - MINUTE_MS
                self._looked_until[symbol] = min(self._looked_until.get(symbol, first), first)

    async def place(self, order: OrderRequest) -> OrderRecord:
        """Take ``order``: a market order fills at once, the others rest until a candle reaches them.

        Raises
        ------
        OrderRejectedError
            If the client order id was used before, the amount or cost is below the symbol's minimum, the free
            balance cannot cover the order, or a stop loss or take profit would buy (spot holds no short).
        OrderTransientError
            If the candles cannot be read now, or a market order finds no closed candle to price it.
        """
        async with self._lock:
            if order.client_order_id in self._orders:
                raise OrderRejectedError(f"paper: duplicate client order id {order.client_order_id!r}")
            rules = await self.market_rules(order.symbol)
            if order.type in _PROTECTIVE and order.side == "buy":
                raise OrderRejectedError(
                    f"paper: a {order.type} order sells a held amount; a buy one protects a short position, "
                    "and this venue trades spot"
                )
            await self._catch_up(order.symbol)
            now = self._clock()
            fill_price = self._market_price(order, rules) if order.type == "market" else None
            amount = self._amount(order, rules, fill_price)
            price = _on_price_step(order.price, rules)
            trigger = _on_price_step(order.trigger_price, rules)
            paper = _PaperOrder(
                request=order,
                exchange_order_id=f"paper-{self._order_number + 1}",
                rules=rules,
                amount=amount,
                price=price,
                trigger=trigger,
                placed=now,
            )
            self._check_minimums(paper, fill_price or price or trigger)
            self._check_covered(paper, fill_price)
            self._orders[order.client_order_id] = paper
            self._order_number += 1
            if fill_price is not None:
                self._fill(paper, fill_price, now)
            return paper.record()

    async def cancel(self, symbol: str, client_order_id: str) -> OrderRecord:
        """Cancel the order and free what it held; an order already done is returned as it ended.

        Raises
        ------
        OrderRejectedError
            If the venue has no such order on ``symbol``.
        OrderTransientError
            If the candles cannot be read now (the order may have filled meanwhile).
        """
        async with self._lock:
            await self._catch_up(symbol)
            paper = self._orders.get(client_order_id)
            if paper is None or paper.request.symbol != symbol:
                raise OrderRejectedError(f"paper: no order with client order id {client_order_id!r} on {symbol}")
            if paper.is_open:
                paper.status = "canceled"
                paper.updated = self._clock()
            return paper.record()

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderRecord | None:
        """Return the order by its client id as it stands now; None when the venue never took it."""
        async with self._lock:
            await self._catch_up(symbol)
            paper = self._orders.get(client_order_id)
            return paper.record() if paper is not None and paper.request.symbol == symbol else None

    async def open_orders(self, symbol: str | None = None) -> list[OrderRecord]:
        """Return the resting orders (on ``symbol``, or all), oldest first."""
        async with self._lock:
            for resting in [symbol] if symbol is not None else self._resting_symbols():
                await self._catch_up(resting)
            return [
                paper.record()
                for paper in self._orders.values()
                if paper.is_open and (symbol is None or paper.request.symbol == symbol)
            ]

    async def fills(self, symbol: str, since: int | None = None) -> list[Fill]:
        """Return the fills on ``symbol`` from ``since`` (ms), oldest first."""
        async with self._lock:
            await self._catch_up(symbol)
            return [
                fill for fill in self._fills if fill.symbol == symbol and (since is None or fill.timestamp >= since)
            ]

    async def balances(self) -> list[Balance]:
        """Return every asset the account holds, by name: ``used`` is what resting orders hold."""
        async with self._lock:
            for symbol in self._resting_symbols():
                await self._catch_up(symbol)
            used = self._used()
            return [
                Balance(asset=asset, free=float(total - used.get(asset, _ZERO)), used=float(used.get(asset, _ZERO)))
                for asset, total in sorted(self._totals.items())
                if total > 0
            ]

    async def aclose(self) -> None:
        """Release nothing: the paper account lives in memory."""

    def _resting_symbols(self) -> list[str]:
        return list(dict.fromkeys(paper.request.symbol for paper in self._orders.values() if paper.is_open))

    async def _catch_up(self, symbol: str) -> None:
        """Match the resting orders of ``symbol`` against each candle closed since the venue last looked."""
        until = self._clock() // MINUTE_MS * MINUTE_MS
        # The first look reads the newest closed candle only: it prices market orders; older ones touch no order.
        since = self._looked_until.setdefault(symbol, until - MINUTE_MS)
        if since >= until:
            return
        try:
            candles = await self._read_candles(symbol, since, until)
        except Exception as error:
            raise OrderTransientError(
                f"paper: the candles of {symbol} from {iso(since)} to {iso(until)} cannot be read now: {error}"
            ) from error
        if candles.dtype != CANDLE_DTYPE:
            raise TypeError(f"the candle reader must return CANDLE_DTYPE rows, got dtype {candles.dtype}")
        stamps = candles["timestamp"]
        ordered = candles[np.argsort(stamps, kind="stable")]
        ordered = ordered[(ordered["timestamp"] >= since) & (ordered["timestamp"] < until)]
        resting = [paper for paper in self._orders.values() if paper.is_open and paper.request.symbol == symbol]
        for candle in ordered:
            if not resting:
                break  # nothing left to fill: the candles after only move the newest close
            self._match(candle, resting)
            resting = [paper for paper in resting if paper.is_open]
        if len(ordered):
            # A candle the exchange has not published yet is read on the next look, not skipped.
            self._looked_until[symbol] = int(ordered["timestamp"][-1]) + MINUTE_MS
            self._newest_close[symbol] = _exact(ordered["close"][-1])

    def _match(self, candle: np.void, resting: list[_PaperOrder]) -> None:
        """Fill the orders of ``resting`` (one symbol's open orders) that ``candle`` reached."""
        closed = int(candle["timestamp"]) + MINUTE_MS
        reachable = [paper for paper in resting if paper.placed < closed]
        reachable.sort(key=lambda paper: paper.request.type != "stop_loss")
        for paper in reachable:
            if not paper.is_open:
                continue  # its pair filled on this candle
            price = self._reached(paper, candle)
            if price is not None:
                self._fill(paper, price, closed)

    def _reached(self, paper: _PaperOrder, candle: np.void) -> Decimal | None:
        """Return the price ``paper`` fills at on ``candle``, or None when the candle did not reach it."""
        low, high = _exact(candle["low"]), _exact(candle["high"])
        kind, side = paper.request.type, paper.request.side
        if kind == "limit":
            assert paper.price is not None
            reached = low <= paper.price if side == "buy" else high >= paper.price
            return paper.price if reached else None
        assert paper.trigger is not None
        if kind == "stop_loss":
            if low > paper.trigger:
                return None
            return min(self._slipped(paper.trigger, "sell", paper.rules), _exact(candle["open"]))
        return paper.trigger if high >= paper.trigger else None

    def _fill(self, paper: _PaperOrder, price: Decimal, when: int) -> None:
        cost = paper.amount * price
        fee = cost * self._fee_rate
        self._book_fill(paper, cost, fee)
        paper.status, paper.fill_price, paper.fee, paper.updated = "closed", price, fee, when
        self._fills.append(self._fill_record(paper, price, fee, when))
        self._cancel_pair_of(paper, when)

    def _book_fill(self, paper: _PaperOrder, cost: Decimal, fee: Decimal) -> None:
        """Move the balances as the fill of ``paper`` at ``cost`` paying ``fee`` (quote asset) does."""
        rules = paper.rules
        if paper.request.side == "buy":
            self._add(rules.quote, -(cost + fee))
            self._add(rules.base, paper.amount)
        else:
            self._add(rules.base, -paper.amount)
            self._add(rules.quote, cost - fee)

    def _fill_record(self, paper: _PaperOrder, price: Decimal, fee: Decimal, when: int) -> Fill:
        """Return the next fill of the account: ``paper`` filled whole at ``price``."""
        request = paper.request
        self._fill_number += 1
        return Fill(
            trade_id=f"paper-fill-{self._fill_number}",
            client_order_id=request.client_order_id,
            exchange_order_id=paper.exchange_order_id,
            symbol=request.symbol,
            side=request.side,
            amount=float(paper.amount),
            price=float(price),
            cost=float(paper.amount * price),
            fee=float(fee),
            fee_currency=paper.rules.quote,
            timestamp=when,
        )

    def _cancel_pair_of(self, paper: _PaperOrder, when: int) -> None:
        """Cancel the open other half of the protective pair ``paper`` belongs to (it filled)."""
        if paper.pair is not None:
            for other in self._orders.values():
                if other.pair == paper.pair and other.is_open:
                    other.status, other.updated = "canceled", when

    def _add(self, asset: str, amount: Decimal) -> None:
        self._totals[asset] = self._totals.get(asset, _ZERO) + amount

    def _slipped(self, price: Decimal, side: str, rules: MarketRules) -> Decimal:
        moved = price * (1 + self._slippage_rate) if side == "buy" else price * (1 - self._slippage_rate)
        return _to_step(moved, _exact(rules.price_step), ROUND_HALF_EVEN)

    def _market_price(self, order: OrderRequest, rules: MarketRules) -> Decimal:
        close = self._newest_close.get(order.symbol)
        if close is None:
            raise OrderTransientError(
                f"paper: no closed candle of {order.symbol} before {iso(self._clock())} to price a market order"
            )
        return self._slipped(close, order.side, rules)

    def _amount(self, order: OrderRequest, rules: MarketRules, fill_price: Decimal | None) -> Decimal:
        """Return the order's amount rounded down to the amount step (a market order by cost: what the cost buys)."""
        if order.amount is not None:
            wanted = _exact(order.amount)
        else:
            assert order.cost is not None and fill_price is not None
            wanted = _exact(order.cost) / fill_price
        return _to_step(wanted, _exact(rules.amount_step), ROUND_DOWN)

    def _check_minimums(self, paper: _PaperOrder, price: Decimal | None) -> None:
        rules = paper.rules
        if paper.amount < _exact(rules.min_amount) or paper.amount <= 0:
            asked = paper.request.amount if paper.request.amount is not None else f"cost {paper.request.cost}"
            raise OrderRejectedError(
                f"paper: amount {_text(paper.amount)} {rules.base} (asked: {asked}) is below the minimum amount "
                f"{rules.min_amount} of {rules.symbol}"
            )
        assert price is not None
        cost = paper.amount * price
        if cost < _exact(rules.min_cost):
            raise OrderRejectedError(
                f"paper: cost {_text(cost)} {rules.quote} is below the minimum cost {rules.min_cost} of {rules.symbol}"
            )

    def _check_covered(self, paper: _PaperOrder, fill_price: Decimal | None) -> None:
        """Refuse ``paper`` unless the free balance covers what it spends (market) or holds (resting)."""
        rules = paper.rules
        used = self._used()
        if fill_price is not None:
            cost = paper.amount * fill_price
            asset, need = (
                (rules.quote, cost + cost * self._fee_rate)
                if paper.request.side == "buy"
                else (rules.base, paper.amount)
            )
        else:
            asset = self._held(paper)[0]
            need = self._used(paper).get(asset, _ZERO) - used.get(asset, _ZERO)
        free = self._totals.get(asset, _ZERO) - used.get(asset, _ZERO)
        if need > free:
            raise OrderRejectedError(
                f"paper: insufficient balance for {paper.request.side} {_text(paper.amount)} {rules.symbol}: "
                f"need {_text(need)} {asset}, free {_text(free)} {asset}"
            )

    def _held(self, paper: _PaperOrder) -> tuple[str, Decimal]:
        """Return the asset and amount a resting order holds."""
        if paper.request.side == "sell":
            return paper.rules.base, paper.amount
        assert paper.price is not None
        cost = paper.amount * paper.price
        return paper.rules.quote, cost + cost * self._fee_rate

    def _used(self, extra: _PaperOrder | None = None) -> dict[str, Decimal]:
        """Return what the resting orders (and ``extra``) hold per asset; a protective pair holds its amount once."""
        used: dict[str, Decimal] = {}
        pairs: dict[tuple[str, tuple[str, str]], Decimal] = {}
        resting = [paper for paper in self._orders.values() if paper.is_open]
        for paper in resting if extra is None else [*resting, extra]:
            asset, amount = self._held(paper)
            if paper.pair is None:
                used[asset] = used.get(asset, _ZERO) + amount
            else:
                pairs[(asset, paper.pair)] = max(pairs.get((asset, paper.pair), _ZERO), amount)
        for (asset, _), amount in pairs.items():
            used[asset] = used.get(asset, _ZERO) + amount
        return used


def _on_price_step(price: float | None, rules: MarketRules) -> Decimal | None:
    """Return ``price`` rounded to the nearest price step (None stays None)."""
    return None if price is None else _to_step(_exact(price), _exact(rules.price_step), ROUND_HALF_EVEN)


def _number(identifier: str) -> int:
    """Return the number at the end of a paper id (``paper-7``, ``paper-fill-7`` → 7; 0 when there is none)."""
    tail = identifier.rpartition("-")[2]
    return int(tail) if tail.isdigit() else 0


def _text(value: Decimal) -> str:
    """Write ``value`` as a trader reads it: ``799.5998``, not ``799.59980000``."""
    return format(value.normalize(), "f")


def _default_rules(symbol: str) -> MarketRules:
    base, quote = symbol_assets(symbol)
    return MarketRules(
        symbol=symbol,
        base=base,
        quote=quote,
        amount_step=1e-8,
        price_step=1e-8,
        min_amount=1e-8,
        min_cost=0.0,
        native_stop_loss=True,
        native_take_profit=True,
    )


def symbol_assets(symbol: str) -> tuple[str, str]:
    """Return the base and quote assets of ``symbol``: ``BTC/USDT``, ``BTC/USDT:USDT`` or ``BTCUSDT``."""
    base, slash, rest = symbol.partition("/")
    if slash:
        quote = rest.partition(":")[0]
        if base and quote:
            return base, quote
    else:
        for quote in _QUOTE_ASSETS:
            if symbol.endswith(quote) and len(symbol) > len(quote):
                return symbol[: -len(quote)], quote
    raise OrderRejectedError(
        f"paper: symbol {symbol!r} names no base and quote asset: write it BASE/QUOTE (e.g. BTC/USDT), or end it "
        f"in one of {', '.join(_QUOTE_ASSETS)} (e.g. BTCUSDT)"
    )
