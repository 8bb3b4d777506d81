"""Orders on an exchange through ccxt's asynchronous API: the venue of real trading, a sandbox, or the fake exchange.

Amounts and prices go through ccxt's precision (``amount_to_precision`` cuts to the step, ``price_to_precision``
rounds to the tick) and the market's minimum amount and minimum cost (notional) are checked *before* anything is
sent. Every order carries the caller's client order id (ccxt's unified ``clientOrderId`` param; binance's
``newClientOrderId``), and orders are looked up and cancelled by it, so a try whose answer was lost is found again
instead of placed twice. The venue therefore needs an exchange that looks orders up by client id, as binance does.

Stop loss and take profit orders are the exchange's own (binance spot: ``STOP_LOSS`` / ``TAKE_PROFIT`` market
orders with ``stopPrice``) where ccxt says the exchange creates them and the market lists the type. A spot account
holds the base asset once, and this venue sends no OCO pairs, so on a spot market where the stop loss is native the
take profit is reported as *not* kept by the venue (:attr:`MarketRules.native_take_profit` False): the engine
watches it and closes at market.

ccxt's errors become the broker's (see :mod:`workstation.brokers.ccxt_errors`); keys never appear in a message.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from workstation.brokers.ccxt_errors import order_error
from workstation.brokers.errors import OrderError, OrderRejectedError
from workstation.brokers.orders import (
    Balance,
    Fill,
    MarketRules,
    OrderPurpose,
    OrderRecord,
    OrderRequest,
    OrderStatus,
    OrderType,
)
from workstation.errors import WorkstationError
from workstation.exchanges.api_keys import KEYRING_SERVICE, ApiCredentials, load_api_key, redact_secrets
from workstation.exchanges.ccxt_exchange import _CREDENTIAL_OPTIONS, CcxtConnection

__all__ = ["ApiKeyMissingError", "CcxtVenue"]

logger = logging.getLogger("workstation.brokers.ccxt")

#: ccxt options every venue needs: the desk asks for the open orders of every symbol at once.
_VENUE_OPTIONS: dict[str, Any] = {"warnOnFetchOpenOrdersWithoutSymbol": False}

#: ccxt's order statuses in the records' words; ``canceling`` still rests until the exchange confirms.
_STATUSES: dict[str, OrderStatus] = {
    "open": "open",
    "canceling": "open",
    "closed": "closed",
    "canceled": "canceled",
    "rejected": "rejected",
    "expired": "expired",
}

#: The exchange's own trigger orders, by ccxt capability and the order type a market lists (binance's exchangeInfo).
_NATIVE: dict[OrderType, tuple[str, str]] = {
    "stop_loss": ("createStopLossOrder", "STOP_LOSS"),
    "take_profit": ("createTakeProfitOrder", "TAKE_PROFIT"),
}

#: Trades asked per ``fetch_my_trades`` page.
_TRADES_PAGE = 500

#: The step when the market gives none, or counts significant digits (ccxt still rounds each value itself).
_FINEST_STEP = 1e-8


class ApiKeyMissingError(WorkstationError, LookupError):
    """The OS keyring holds no API key (or no secret) for the exchange."""


class CcxtVenue:
    """An exchange account reached through ccxt: places, cancels and looks up orders, reads fills and balances.

    Parameters
    ----------
    exchange_id
        The ccxt exchange id, e.g. ``"binance"``; also the venue's ``name``.
    credentials
        The API key and secret (see :meth:`from_keyring`); they are scrubbed from every message and log line.
    sandbox
        Trade on the exchange's sandbox (testnet), through ccxt's ``set_sandbox_mode``: no real money.
    api_url
        Re-point every API URL to this scheme and host (the fake exchange on 127.0.0.1: no real money).
    clock
        The present in epoch ms that signed requests carry as their ``timestamp`` (ccxt's ``milliseconds``); None:
        the wall clock. A replayed run on the fake exchange passes its replay clock, so the exchange (with
        ``follow_client_time``) trades at the market time the run decided at.
    **options
        ccxt constructor options (``timeout`` in ms, ``enableRateLimit``, ``options``); never credentials.

    Raises
    ------
    ValueError
        For an exchange id ccxt does not know, or a credential among ``options``.

    Notes
    -----
    Creating a venue imports ccxt (half a second or more): on the GUI's event loop, await
    :func:`~workstation.exchanges.ccxt_exchange.load_ccxt` first. Nothing touches the network until the first call.
    """

    def __init__(
        self,
        exchange_id: str,
        *,
        credentials: ApiCredentials,
        sandbox: bool = False,
        api_url: str | None = None,
        clock: Callable[[], int] | None = None,
        **options: Any,
    ) -> None:
        import ccxt.async_support as ccxt_async  # noqa: PLC0415 (half a second of import, paid on first use only)

        if exchange_id not in ccxt_async.exchanges:
            raise ValueError(f"exchange_id {exchange_id!r} is not a ccxt exchange id (e.g. 'binance', 'kraken')")
        given = sorted(_CREDENTIAL_OPTIONS & options.keys())
        if given:
            raise ValueError(f"option {given[0]!r}: pass the keys as credentials=, or use CcxtVenue.from_keyring")
        config = dict(options)
        config["options"] = {**_VENUE_OPTIONS, **dict(options.get("options") or {})}
        self.name = exchange_id
        self.sandbox = sandbox
        self.api_url = api_url
        self.real_money = not sandbox and not _is_loopback(api_url)
        self._clock = clock
        self._connection = CcxtConnection(
            exchange_id, config, api_url=api_url, credentials=credentials, sandbox=sandbox
        )
        self._rules: dict[str, MarketRules] = {}
        # What this venue was asked, by client id: the purpose and signal the exchange does not keep.
        self._requests: dict[str, OrderRequest] = {}
        self._client_ids: dict[str, str] = {}
        self._exchange_ids: dict[str, str] = {}

    @classmethod
    def from_keyring(
        cls, exchange_id: str, *, sandbox: bool = False, api_url: str | None = None, **options: Any
    ) -> CcxtVenue:
        """Return the venue of ``exchange_id`` with its API key read from the OS keyring (and from nowhere else).

        Raises
        ------
        ApiKeyMissingError
            If the keyring holds no key or no secret for the exchange.
        KeyringUnavailableError
            If the machine has no usable keyring.
        """
        credentials = load_api_key(exchange_id)
        if credentials is None:
            raise ApiKeyMissingError(
                f"{exchange_id}: no API key in the OS keyring (service {KEYRING_SERVICE!r}); store the key and "
                f"secret with set_api_key({exchange_id!r}, ...) before trading on {exchange_id}"
            )
        return cls(exchange_id, credentials=credentials, sandbox=sandbox, api_url=api_url, **options)

    @property
    def destination(self) -> str:
        """Return where the orders go, in words: the exchange's id and its testnet, local address or real money.

        ``binance (real money)``, ``binance testnet``, ``binance at http://127.0.0.1:8765 (local fake exchange)``;
        an address elsewhere than this machine may reach the exchange itself, so it says real money too.
        """
        kind = "real money" if self.real_money else "local fake exchange" if _is_loopback(self.api_url) else ""
        if self.api_url:
            return f"{self.name} at {self.api_url} ({kind or 'testnet'})"
        return f"{self.name} ({kind})" if kind else f"{self.name} testnet"

    def __repr__(self) -> str:
        where = " sandbox" if self.sandbox else ""
        where += f" at {self.api_url}" if self.api_url else ""
        return f"{type(self).__name__}({self.name!r}{where})"

    async def market_rules(self, symbol: str) -> MarketRules:
        """Return the steps, minimums and native protective orders of ``symbol`` (from ccxt's markets, loaded once).

        Raises
        ------
        OrderRejectedError
            If the exchange has no such market.
        OrderTransientError
            If the markets could not be loaded.
        """
        rules = self._rules.get(symbol)
        if rules is None:
            instance = await self._exchange()
            with self._translated(f"read the market rules of {symbol}"):
                market = instance.market(symbol)
            rules = self._rules[symbol] = _rules_of(instance, market)
        return rules

    async def place(self, order: OrderRequest) -> OrderRecord:
        """Send ``order`` with its client order id; return the exchange's record (a market order is filled already).

        Raises
        ------
        OrderRejectedError
            Before sending, when the amount is below the minimum amount or the cost below the minimum cost (the
            message names the limit, the value and the minimum), or the exchange keeps no such order; after sending,
            when the exchange refused it (funds, filters, a client id already in use).
        OrderTransientError
            When the outcome is unknown (timeout, 5xx, 429): look the order up by its client id before resending.
        ExchangeKeyRefusedError
            When the exchange refused the API key.
        """
        instance = await self._exchange()
        rules = await self.market_rules(order.symbol)
        action = f"place {order.side} {order.type} {order.symbol} order {order.client_order_id}"
        self._requests[order.client_order_id] = order
        with self._translated(action):
            raw = await self._send(instance, rules, order)
        return await self._record(instance, raw, action, order.client_order_id)

    async def cancel(self, symbol: str, client_order_id: str) -> OrderRecord:
        """Cancel the order; return its final record: ``canceled`` (maybe partly filled), or ``closed`` if it filled.

        An order that filled or was cancelled before the cancel arrived (binance answers "unknown order" then) is
        looked up and its record returned.

        Raises
        ------
        OrderRejectedError
            If the exchange has no order with that client id, or refused to cancel one that is still open.
        OrderTransientError
            When the outcome is unknown.
        """
        import ccxt  # noqa: PLC0415 (imported with ccxt.async_support already)

        instance = await self._exchange()
        action = f"cancel {symbol} order {client_order_id}"
        with self._translated(action):
            try:
                raw = await instance.cancel_order(
                    self._exchange_ids.get(client_order_id), symbol, {"clientOrderId": client_order_id}
                )
            except (ccxt.InvalidOrder, ccxt.OperationRejected):
                record = await self.fetch_order(symbol, client_order_id)
                if record is None:
                    raise OrderRejectedError(f"{self.name}: {action}: the exchange has no such order") from None
                if record.is_open:
                    raise
                return record
        return await self._record(instance, raw, action, client_order_id)

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderRecord | None:
        """Return the order by its client id as the exchange reports it now; None when the exchange never saw it."""
        import ccxt  # noqa: PLC0415 (imported with ccxt.async_support already)

        instance = await self._exchange()
        action = f"look up {symbol} order {client_order_id}"
        with self._translated(action):
            try:
                raw = await instance.fetch_order(
                    self._exchange_ids.get(client_order_id), symbol, {"clientOrderId": client_order_id}
                )
            except ccxt.OrderNotFound:
                return None
        return await self._record(instance, raw, action, client_order_id)

    async def open_orders(self, symbol: str | None = None) -> list[OrderRecord]:
        """Return the orders resting on the exchange (on ``symbol``, or on every market)."""
        instance = await self._exchange()
        action = f"list the open orders{f' of {symbol}' if symbol else ''}"
        with self._translated(action):
            raws = await instance.fetch_open_orders(symbol)
        return [await self._record(instance, raw, action) for raw in raws]

    async def fills(self, symbol: str, since: int | None = None) -> list[Fill]:
        """Return the account's executions on ``symbol`` from ``since`` (ms), oldest first, each with its fee."""
        instance = await self._exchange()
        action = f"list the fills of {symbol}"
        trades: dict[str, dict[str, Any]] = {}
        cursor = since
        while True:
            with self._translated(action):
                page = await instance.fetch_my_trades(symbol, cursor, _TRADES_PAGE)
            fresh = [trade for trade in page if str(trade["id"]) not in trades]
            trades.update((str(trade["id"]), trade) for trade in fresh)
            if len(page) < _TRADES_PAGE or not fresh:
                break
            # The next page starts at the last trade's millisecond: trades sharing it come again and are skipped.
            cursor = int(page[-1]["timestamp"])
        fills = []
        for trade in sorted(trades.values(), key=lambda trade: (int(trade["timestamp"]), str(trade["id"]))):
            exchange_order_id = str(trade["order"])
            fee = trade.get("fee") or {}
            fills.append(
                Fill(
                    trade_id=str(trade["id"]),
                    client_order_id=await self._client_id_of(instance, symbol, exchange_order_id),
                    exchange_order_id=exchange_order_id,
                    symbol=str(trade["symbol"]),
                    side=trade["side"],
                    amount=float(trade["amount"]),
                    price=float(trade["price"]),
                    cost=float(trade["cost"]),
                    fee=float(fee.get("cost") or 0.0),
                    fee_currency=fee.get("currency"),
                    timestamp=int(trade["timestamp"]),
                )
            )
        return fills

    async def balances(self) -> list[Balance]:
        """Return every asset the account holds (free or held by open orders), by asset name."""
        instance = await self._exchange()
        with self._translated("read the balances"):
            raw = await instance.fetch_balance()
        free: Mapping[str, Any] = raw.get("free") or {}
        used: Mapping[str, Any] = raw.get("used") or {}
        balances = [
            Balance(asset=asset, free=float(free.get(asset) or 0.0), used=float(used.get(asset) or 0.0))
            for asset in sorted(set(free) | set(used))
        ]
        return [balance for balance in balances if balance.total > 0]

    async def aclose(self) -> None:
        """Close the HTTP session; the next call opens a new one."""
        await self._connection.aclose()

    async def _exchange(self) -> Any:
        with self._translated("connect and load the markets"):
            instance = await self._connection.exchange()
        if self._clock is not None:
            # binance signs ``nonce()``, which reads ``milliseconds()``: the instance's own, for this venue.
            instance.milliseconds = self._clock
        return instance

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """Raise ccxt's errors inside as the broker's, named after ``action``; let other errors through."""
        try:
            yield
        except OrderError:
            raise
        except Exception as error:
            translated = order_error(error, venue=self.name, action=action)
            if translated is None:
                raise
            # A message carrying a key must not survive in the chained traceback either.
            if redact_secrets(str(error)) != str(error):
                raise translated from None
            raise translated from error

    async def _send(self, instance: Any, rules: MarketRules, order: OrderRequest) -> Any:
        """Check ``order`` against the market's limits and send it; return ccxt's order."""
        params: dict[str, Any] = {"clientOrderId": order.client_order_id}
        if order.cost is not None:
            self._check_minimum_cost(rules, order, order.cost, f"cost {order.cost:g} {rules.quote}")
            return await self._send_by_cost(instance, rules, order, order.cost, params)
        assert order.amount is not None  # OrderRequest holds exactly one of amount and cost
        amount = self._rounded_amount(instance, rules, order, order.amount)
        if order.type == "limit":
            assert order.price is not None  # OrderRequest requires it for a limit order
            price = float(instance.price_to_precision(order.symbol, order.price))
            self._check_notional(rules, order, amount, price)
            return await instance.create_order(order.symbol, "limit", order.side, amount, price, params)
        if order.type in _NATIVE:
            assert order.trigger_price is not None  # OrderRequest requires it for a stop or take profit order
            if not _can_keep(instance, instance.market(order.symbol), order.type):
                raise OrderRejectedError(
                    f"{self.name} {order.symbol}: the exchange keeps no {order.type} orders here; the engine has to "
                    "watch that level; not sent"
                )
            trigger = float(instance.price_to_precision(order.symbol, order.trigger_price))
            self._check_notional(rules, order, amount, trigger)
            params["stopLossPrice" if order.type == "stop_loss" else "takeProfitPrice"] = trigger
            return await instance.create_order(order.symbol, "market", order.side, amount, None, params)
        if order.price is not None:
            self._check_notional(rules, order, amount, order.price)
        # No price for a market order: ccxt would turn amount × price into binance's quoteOrderQty.
        return await instance.create_order(order.symbol, "market", order.side, amount, None, params)

    async def _send_by_cost(
        self, instance: Any, rules: MarketRules, order: OrderRequest, cost: float, params: dict[str, Any]
    ) -> Any:
        has = instance.has
        if has.get("createMarketOrderWithCost"):
            return await instance.create_market_order_with_cost(order.symbol, order.side, cost, params)
        if order.side == "buy" and has.get("createMarketBuyOrderWithCost"):
            return await instance.create_market_buy_order_with_cost(order.symbol, cost, params)
        if order.side == "sell" and has.get("createMarketSellOrderWithCost"):
            return await instance.create_market_sell_order_with_cost(order.symbol, cost, params)
        if order.price is None:
            raise OrderRejectedError(
                f"{self.name} {order.symbol}: the exchange sizes market orders by amount only; give an amount, or "
                f"the price to convert cost {cost:g} {rules.quote} at; not sent"
            )
        amount = self._rounded_amount(instance, rules, order, cost / order.price)
        return await instance.create_order(order.symbol, "market", order.side, amount, None, params)

    def _rounded_amount(self, instance: Any, rules: MarketRules, order: OrderRequest, amount: float) -> float:
        """Return ``amount`` cut to the market's step; refuse it below the minimum amount."""
        import ccxt  # noqa: PLC0415 (imported with ccxt.async_support already)

        try:
            rounded = float(instance.amount_to_precision(order.symbol, amount))
        except ccxt.InvalidOrder:
            # ccxt refuses an amount that its precision cuts to nothing.
            rounded = 0.0
        if rounded < rules.min_amount:
            raise OrderRejectedError(
                f"{self.name} {order.symbol} order {order.client_order_id}: amount {amount:.12g} {rules.base} "
                f"(cut to the step {rules.amount_step:g}: {rounded:.12g}) is below the minimum amount "
                f"{rules.min_amount:g} {rules.base}; not sent"
            )
        return rounded

    def _check_notional(self, rules: MarketRules, order: OrderRequest, amount: float, price: float) -> None:
        notional = amount * price
        self._check_minimum_cost(
            rules, order, notional, f"cost (notional) {amount:.12g} × {price:.12g} = {notional:.12g} {rules.quote}"
        )

    def _check_minimum_cost(self, rules: MarketRules, order: OrderRequest, cost: float, what: str) -> None:
        if cost < rules.min_cost:
            raise OrderRejectedError(
                f"{self.name} {order.symbol} order {order.client_order_id}: {what} is below the minimum cost "
                f"{rules.min_cost:g} {rules.quote}; not sent"
            )

    async def _record(
        self, instance: Any, raw: Mapping[str, Any], action: str, client_order_id: str | None = None
    ) -> OrderRecord:
        """Return ccxt's order as a record, with the fee from its fills (asked for when the answer had none).

        ``client_order_id`` is the id the order was asked by: binance's cancel answer carries the cancel's own
        client id where ccxt looks for the order's.
        """
        if client_order_id is None:
            client_order_id = str(raw.get("clientOrderId") or "")
        exchange_order_id = str(raw["id"])
        symbol = str(raw["symbol"])
        self._client_ids[exchange_order_id] = client_order_id
        self._exchange_ids[client_order_id] = exchange_order_id
        order_type = _order_type(raw)
        filled = float(raw.get("filled") or 0.0)
        # ccxt gives the fees one by one (``fees``) and, when it can, their sum (``fee``): count one of them.
        fees = _fees_of(raw.get("fees") or [raw.get("fee")])
        if filled > 0 and not fees and instance.has.get("fetchOrderTrades"):
            # binance reports fees only with the fills of a new order's answer; a looked-up order has none.
            with self._translated(action):
                trades = await instance.fetch_order_trades(exchange_order_id, symbol)
            fees = _fees_of([trade.get("fee") for trade in trades])
        fee, fee_currency = self._fee_total(fees, exchange_order_id)
        timestamp = int(raw.get("timestamp") or 0)
        request = self._requests.get(client_order_id)
        return OrderRecord(
            client_order_id=client_order_id,
            exchange_order_id=exchange_order_id,
            symbol=symbol,
            side=raw["side"],
            type=order_type,
            status=_STATUSES.get(str(raw.get("status")), "open"),
            amount=float(raw.get("amount") or filled),
            filled=filled,
            price=float(raw["price"]) if order_type == "limit" and raw.get("price") else None,
            trigger_price=float(raw["triggerPrice"]) if raw.get("triggerPrice") else None,
            average=float(raw["average"]) if raw.get("average") else None,
            cost=float(raw.get("cost") or 0.0),
            fee=fee,
            fee_currency=fee_currency,
            timestamp=timestamp,
            updated=int(raw.get("lastUpdateTimestamp") or raw.get("lastTradeTimestamp") or timestamp),
            purpose=request.purpose if request is not None else _purpose_of(order_type),
            signal_id=request.signal_id if request is not None else None,
            strategy_name=request.strategy_name if request is not None else None,
        )

    def _fee_total(self, fees: list[tuple[float, str | None]], exchange_order_id: str) -> tuple[float, str | None]:
        """Return the fees summed in the first fee's currency (the fills keep each fee in its own)."""
        if not fees:
            return 0.0, None
        currency = fees[0][1]
        others = sorted({str(other) for _, other in fees if other != currency})
        if others:
            logger.warning(
                "%s order %s paid fees in %s besides %s; the record sums %s only, its fills carry every fee",
                self.name,
                exchange_order_id,
                ", ".join(others),
                currency,
                currency,
            )
        return sum(cost for cost, other in fees if other == currency), currency

    async def _client_id_of(self, instance: Any, symbol: str, exchange_order_id: str) -> str:
        """Return the client id of an order known by its exchange id (asked once of the exchange)."""
        known = self._client_ids.get(exchange_order_id)
        if known is None:
            with self._translated(f"look up {symbol} order #{exchange_order_id}"):
                raw = await instance.fetch_order(exchange_order_id, symbol)
            known = self._client_ids[exchange_order_id] = str(raw.get("clientOrderId") or "")
        return known


def _is_loopback(api_url: str | None) -> bool:
    """Tell whether ``api_url`` points at this machine (the fake exchange)."""
    host = urlsplit(api_url).hostname if api_url else None
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _rules_of(instance: Any, market: Mapping[str, Any]) -> MarketRules:
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    amount_step = _step(instance, precision.get("amount"))
    native_stop_loss = _can_keep(instance, market, "stop_loss")
    # One base amount cannot back two sell orders on a spot account, and this venue sends no OCO pairs.
    native_take_profit = _can_keep(instance, market, "take_profit") and not (market.get("spot") and native_stop_loss)
    return MarketRules(
        symbol=str(market["symbol"]),
        base=str(market["base"]),
        quote=str(market["quote"]),
        amount_step=amount_step,
        price_step=_step(instance, precision.get("price")),
        min_amount=float((limits.get("amount") or {}).get("min") or amount_step),
        min_cost=float((limits.get("cost") or {}).get("min") or 0.0),
        native_stop_loss=native_stop_loss,
        native_take_profit=native_take_profit,
    )


def _step(instance: Any, precision: Any) -> float:
    """Return the step a ccxt precision stands for (a tick size, or a number of decimal places)."""
    from ccxt.base.decimal_to_precision import DECIMAL_PLACES, TICK_SIZE  # noqa: PLC0415 (loaded with ccxt)

    if precision is None:
        return _FINEST_STEP
    if instance.precisionMode == TICK_SIZE:
        return float(precision)
    if instance.precisionMode == DECIMAL_PLACES:
        return float(f"1e-{int(precision)}")
    return _FINEST_STEP


def _can_keep(instance: Any, market: Mapping[str, Any], order_type: OrderType) -> bool:
    """Tell whether the exchange takes ``order_type`` (stop loss or take profit) as its own order on ``market``."""
    capability, exchange_type = _NATIVE[order_type]
    if not instance.has.get(capability):
        return False
    listed = (market.get("info") or {}).get("orderTypes")
    return not isinstance(listed, list) or exchange_type in listed


def _order_type(raw: Mapping[str, Any]) -> OrderType:
    """Return the record's type of ccxt's order (ccxt calls a spot stop order ``market`` with a trigger price)."""
    if raw.get("takeProfitPrice"):
        return "take_profit"
    if raw.get("stopLossPrice") or raw.get("triggerPrice"):
        return "stop_loss"
    return "limit" if raw.get("type") == "limit" else "market"


def _purpose_of(order_type: OrderType) -> OrderPurpose:
    """Return the purpose of an order this venue did not place (the desk's journal knows better, by client id)."""
    if order_type == "stop_loss":
        return "stop_loss"
    if order_type == "take_profit":
        return "take_profit"
    return "manual"


def _fees_of(entries: list[Any]) -> list[tuple[float, str | None]]:
    """Return the known fees among ccxt fee structures (``None`` or a fee without a cost is not known)."""
    return [
        (float(entry["cost"]), entry.get("currency"))
        for entry in entries
        if isinstance(entry, Mapping) and entry.get("cost") is not None
    ]
