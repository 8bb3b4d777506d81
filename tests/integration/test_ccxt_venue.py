"""The ccxt venue: orders on an exchange through ccxt's real code path, against the fake binance on 127.0.0.1.

The market: 1m candles from 2024-01-01 (``minute_candles``: candle ``k`` opens at ``42000 + k / 2``, high and low
10 away, closes 0.25 up), the present at candle 10 (close 42005.25), candle 12 falling to 40900 (through a stop
at 41000). The account starts with 1000 USDT; the fee is 0.1 % of each fill's cost, in USDT.
"""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import ccxt
import numpy as np
import pytest
from exchange_server import MINUTE, T0, minute_candles
from memory_keyring import MemoryKeyring

from workstation.brokers.ccxt_errors import ExchangeKeyRefusedError, order_error
from workstation.brokers.ccxt_venue import ApiKeyMissingError, CcxtVenue
from workstation.brokers.errors import OrderRejectedError, OrderTransientError
from workstation.brokers.orders import Balance, Fill, MarketRules, OrderRecord, OrderRequest, client_order_id
from workstation.exchanges.api_keys import ApiCredentials, set_api_key
from workstation.exchanges.fake_binance import (
    ACCOUNT,
    EXCHANGE_INFO,
    FAKE_BINANCE_OPTIONS,
    ORDER,
    FakeBinance,
    Fault,
)

API_KEY = "VENUE-KEY-0d6a2e"
SECRET = "VENUE-SECRET-93b1f4"
CREDENTIALS = ApiCredentials(api_key=API_KEY, secret=SECRET)
SYMBOL = "BTC/USDT"
PRESENT = T0 + 10 * MINUTE
#: The present candle's close: market orders fill there.
LAST = 42005.25
#: The exchange's clock: the present candle's close time.
NOW = PRESENT + MINUTE - 1

T = TypeVar("T")


def market_candles() -> np.ndarray:
    """Return the test's market: the candle ladder, with candle 12 falling to 40900."""
    candles = minute_candles(30)
    candles["low"][12] = 40900.0
    return candles


@pytest.fixture
def exchange() -> Any:
    """The fake binance with the test's market at its present, taking the test's key."""
    with FakeBinance(market_candles(), api_key=API_KEY, secret=SECRET, present=PRESENT) as server:
        yield server


def venue_at(server: FakeBinance, *, sandbox: bool = False, **options: Any) -> CcxtVenue:
    """Return a binance venue talking to ``server``, without ccxt's rate limiter (50 ms a call)."""
    return CcxtVenue(
        "binance",
        credentials=CREDENTIALS,
        sandbox=sandbox,
        api_url=server.url,
        enableRateLimit=False,
        **FAKE_BINANCE_OPTIONS,
        **options,
    )


def run(venue: CcxtVenue, call: Callable[[CcxtVenue], Awaitable[T]]) -> T:
    """Run ``call(venue)`` on a fresh event loop and close the venue's session after it."""

    async def main() -> T:
        try:
            return await call(venue)
        finally:
            await venue.aclose()

    return asyncio.run(main())


def request(leg: str, **fields: Any) -> OrderRequest:
    """Return an order of signal ``s1`` on BTC/USDT with the leg's client id (a buy at market unless told)."""
    values: dict[str, Any] = {"side": "buy", "type": "market", "purpose": "entry"} | fields
    return OrderRequest(
        client_order_id=client_order_id("s1", leg), symbol=SYMBOL, signal_id="s1", strategy_name="trend", **values
    )


def record(leg: str, **fields: Any) -> OrderRecord:
    """Return the record of leg ``leg`` of signal ``s1`` as the venue reports it, with ``fields`` given."""
    values: dict[str, Any] = {
        "client_order_id": client_order_id("s1", leg),
        "symbol": SYMBOL,
        "side": "buy",
        "type": "market",
        "price": None,
        "trigger_price": None,
        "average": None,
        "cost": 0.0,
        "fee": 0.0,
        "fee_currency": None,
        "timestamp": NOW,
        "updated": NOW,
        "purpose": "entry",
        "signal_id": "s1",
        "strategy_name": "trend",
    } | fields
    return OrderRecord(**values)


def test_real_money_unless_sandbox_or_this_machine() -> None:
    assert CcxtVenue("binance", credentials=CREDENTIALS).real_money is True
    assert CcxtVenue("binance", credentials=CREDENTIALS, api_url="https://proxy.example.com").real_money is True
    assert CcxtVenue("binance", credentials=CREDENTIALS, sandbox=True).real_money is False
    assert CcxtVenue("binance", credentials=CREDENTIALS, api_url="http://127.0.0.1:8080").real_money is False
    assert CcxtVenue("binance", credentials=CREDENTIALS, api_url="http://localhost:8080").real_money is False
    venue = CcxtVenue("binance", credentials=CREDENTIALS, sandbox=True, api_url="http://127.0.0.1:8080")
    assert (venue.name, venue.sandbox, repr(venue)) == (
        "binance",
        True,
        "CcxtVenue('binance' sandbox at http://127.0.0.1:8080)",
    )


def test_bad_exchange_ids_and_keys_as_options_are_refused() -> None:
    with pytest.raises(ValueError, match=r"exchange_id 'binanse' is not a ccxt exchange id"):
        CcxtVenue("binanse", credentials=CREDENTIALS)
    with pytest.raises(ValueError, match=r"option 'secret': pass the keys as credentials=") as refused:
        CcxtVenue("binance", credentials=CREDENTIALS, secret=SECRET)
    assert SECRET not in str(refused.value)


def test_a_venue_holding_keys_is_never_pickled() -> None:
    venue = CcxtVenue("binance", credentials=CREDENTIALS)
    with pytest.raises(TypeError, match="holds API keys handed over in memory"):
        pickle.dumps(venue)


def test_from_keyring_reads_the_keyring_only(memory_keyring: MemoryKeyring, exchange: FakeBinance) -> None:
    with pytest.raises(ApiKeyMissingError, match=r"^binance: no API key in the OS keyring \(service 'workstation'\)"):
        CcxtVenue.from_keyring("binance")
    set_api_key("binance", API_KEY, SECRET)
    venue = CcxtVenue.from_keyring("binance", api_url=exchange.url, enableRateLimit=False, **FAKE_BINANCE_OPTIONS)
    assert run(venue, lambda venue: venue.balances()) == [Balance(asset="USDT", free=1000.0, used=0.0)]
    assert exchange.requests[-1].headers["x-mbx-apikey"] == API_KEY


def test_the_sandbox_is_the_exchanges_testnet_and_an_api_url_still_wins(exchange: FakeBinance) -> None:
    async def testnet_urls() -> Any:
        # The instance before its markets load: no request leaves this machine.
        instance = await CcxtVenue("binance", credentials=CREDENTIALS, sandbox=True)._connection._create()
        await instance.close()
        return instance.urls["api"]

    assert asyncio.run(testnet_urls())["private"] == "https://testnet.binance.vision/api/v3"
    venue = venue_at(exchange, sandbox=True)
    assert run(venue, lambda venue: venue.balances()) == [Balance(asset="USDT", free=1000.0, used=0.0)]
    assert (venue.sandbox, venue.real_money) == (True, False)


def test_market_rules_come_from_the_exchange_info(exchange: FakeBinance) -> None:
    rules = run(venue_at(exchange), lambda venue: venue.market_rules(SYMBOL))
    assert rules == MarketRules(
        symbol=SYMBOL,
        base="BTC",
        quote="USDT",
        amount_step=0.00001,
        price_step=0.01,
        min_amount=0.00001,
        min_cost=5.0,
        native_stop_loss=True,
        # Spot without OCO: the base amount backs the stop; the engine watches the take profit.
        native_take_profit=False,
    )


def test_an_unknown_market_is_rejected(exchange: FakeBinance) -> None:
    with pytest.raises(OrderRejectedError, match=r"^binance: read the market rules of DOGE/USDT: refused by the"):
        run(venue_at(exchange), lambda venue: venue.market_rules("DOGE/USDT"))


def test_market_buy_by_amount_fills_at_the_close_with_its_fee(exchange: FakeBinance) -> None:
    placed = run(venue_at(exchange), lambda venue: venue.place(request("entry", amount=0.001)))
    assert placed == record(
        "entry",
        exchange_order_id="1",
        status="closed",
        amount=0.001,
        filled=0.001,
        average=LAST,
        cost=42.00525,
        fee=0.04200525,
        fee_currency="USDT",
    )
    [sent] = [request for request in exchange.requests if request.path == ORDER]
    assert (sent.method, sent.query["newClientOrderId"], sent.query["quantity"]) == (
        "POST",
        client_order_id("s1", "entry"),
        "0.001",
    )
    assert exchange.balances()["BTC"].free == 0.001


def test_market_buy_by_cost_sends_the_quote_amount(exchange: FakeBinance) -> None:
    placed = run(venue_at(exchange), lambda venue: venue.place(request("entry", cost=100.0)))
    # binance buys what 100 USDT pays for at the close, cut to the step: 0.00238 BTC.
    assert placed == record(
        "entry",
        exchange_order_id="1",
        status="closed",
        amount=0.00238,
        filled=0.00238,
        average=LAST,
        cost=99.972495,
        fee=0.0999725,
        fee_currency="USDT",
    )
    [sent] = [request for request in exchange.requests if request.path == ORDER]
    assert (sent.query["quoteOrderQty"], "quantity" in sent.query) == ("100", False)


def test_a_limit_order_rests_then_fills_when_the_market_reaches_it(exchange: FakeBinance) -> None:
    venue = venue_at(exchange)
    buy = request("entry", type="limit", amount=0.0012345, price=41995.504)

    async def place_move_look(venue: CcxtVenue) -> tuple[OrderRecord, list[OrderRecord], OrderRecord | None]:
        placed = await venue.place(buy)
        resting = await venue.open_orders()
        # Candle 11's low is 41995.5: the order fills at its price.
        exchange.advance_to(T0 + 11 * MINUTE)
        return placed, resting, await venue.fetch_order(SYMBOL, buy.client_order_id)

    placed, resting, filled = run(venue, place_move_look)
    # Amount cut to the step (0.00001), price rounded to the tick (0.01).
    assert placed == record(
        "entry", exchange_order_id="1", type="limit", status="open", amount=0.00123, filled=0.0, price=41995.5
    )
    assert resting == [placed]
    assert filled == record(
        "entry",
        exchange_order_id="1",
        type="limit",
        status="closed",
        amount=0.00123,
        filled=0.00123,
        price=41995.5,
        average=41995.5,
        cost=51.654465,
        fee=0.05165447,
        fee_currency="USDT",
        updated=T0 + 12 * MINUTE - 1,
    )


def test_an_exchange_following_the_venue_s_clock_trades_at_the_clock_s_market_time() -> None:
    # A replayed run's clock, not the wall clock: the fake binance follows the signed requests' timestamp.
    now = [T0 + 10 * MINUTE + 30_000]
    buy = request("entry", type="limit", amount=0.001, price=41995.5)

    async def trade(venue: CcxtVenue) -> tuple[OrderRecord, OrderRecord, OrderRecord | None]:
        resting = await venue.place(buy)
        now[0] = T0 + 13 * MINUTE + 30_000
        bought = await venue.place(request("average-2", amount=0.001))
        now[0] = T0 + 11 * MINUTE
        return resting, bought, await venue.fetch_order(SYMBOL, buy.client_order_id)

    with FakeBinance(
        market_candles(), api_key=API_KEY, secret=SECRET, present=PRESENT, follow_client_time=True
    ) as exchange:
        resting, bought, filled = run(venue_at(exchange, clock=lambda: now[0]), trade)
        # An earlier clock never moves the market back.
        assert exchange.present == T0 + 12 * MINUTE
    assert (resting.status, resting.timestamp) == ("open", T0 + 10 * MINUTE + 30_000)
    # 30 s into minute 13 candles 11 and 12 have closed: the limit filled on candle 11 (low 41995.5) as it closed,
    # the market buy at candle 12's close, stamped with the clock's time.
    assert filled is not None
    assert (filled.status, filled.average, filled.updated) == ("closed", 41995.5, T0 + 12 * MINUTE - 1)
    assert (bought.status, bought.average, bought.timestamp) == ("closed", 42006.25, T0 + 13 * MINUTE + 30_000)


def test_a_native_stop_loss_rests_on_the_exchange_and_fills_at_its_trigger(exchange: FakeBinance) -> None:
    venue = venue_at(exchange)
    stop = request(
        "stop_loss", side="sell", type="stop_loss", amount=0.001, trigger_price=41000.004, purpose="stop_loss"
    )

    async def buy_protect_fall(venue: CcxtVenue) -> tuple[OrderRecord, OrderRecord | None, list[Fill]]:
        await venue.place(request("entry", amount=0.001))
        placed = await venue.place(stop)
        exchange.advance_to(T0 + 12 * MINUTE)
        return placed, await venue.fetch_order(SYMBOL, stop.client_order_id), await venue.fills(SYMBOL)

    placed, triggered, fills = run(venue, buy_protect_fall)
    assert placed == record(
        "stop_loss",
        exchange_order_id="2",
        side="sell",
        type="stop_loss",
        status="open",
        amount=0.001,
        filled=0.0,
        trigger_price=41000.0,
        purpose="stop_loss",
    )
    [sent] = [order for order in exchange.orders() if order.client_order_id == stop.client_order_id]
    assert (sent.type, sent.stop_price) == ("STOP_LOSS", 41000.0)
    assert triggered == placed.model_copy(
        update={
            "status": "closed",
            "filled": 0.001,
            "average": 41000.0,
            "cost": 41.0,
            "fee": 0.041,
            "fee_currency": "USDT",
            "updated": T0 + 13 * MINUTE - 1,
        }
    )
    assert fills == [
        Fill(
            trade_id="1",
            client_order_id=client_order_id("s1", "entry"),
            exchange_order_id="1",
            symbol=SYMBOL,
            side="buy",
            amount=0.001,
            price=LAST,
            cost=42.00525,
            fee=0.04200525,
            fee_currency="USDT",
            timestamp=NOW,
        ),
        Fill(
            trade_id="2",
            client_order_id=stop.client_order_id,
            exchange_order_id="2",
            symbol=SYMBOL,
            side="sell",
            amount=0.001,
            price=41000.0,
            cost=41.0,
            fee=0.041,
            fee_currency="USDT",
            timestamp=T0 + 13 * MINUTE - 1,
        ),
    ]


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (
            request("entry", amount=0.000004),
            "amount 4e-06 BTC (cut to the step 1e-05: 0) is below the minimum amount 1e-05 BTC; not sent",
        ),
        (
            request("entry", type="limit", amount=0.0001, price=40000.0),
            "cost (notional) 0.0001 × 40000 = 4 USDT is below the minimum cost 5 USDT; not sent",
        ),
        (
            request("entry", amount=0.0001, price=LAST),
            "cost (notional) 0.0001 × 42005.25 = 4.200525 USDT is below the minimum cost 5 USDT; not sent",
        ),
        (request("entry", cost=4.5), "cost 4.5 USDT is below the minimum cost 5 USDT; not sent"),
    ],
)
def test_orders_below_the_minimums_are_refused_before_sending(
    exchange: FakeBinance, order: OrderRequest, message: str
) -> None:
    with pytest.raises(OrderRejectedError) as refused:
        run(venue_at(exchange), lambda venue: venue.place(order))
    assert str(refused.value) == f"binance BTC/USDT order {order.client_order_id}: {message}"
    assert exchange.count(ORDER) == 0


def test_a_take_profit_is_sent_as_the_exchanges_own_order(exchange: FakeBinance) -> None:
    take = request(
        "take_profit", side="sell", type="take_profit", amount=0.001, trigger_price=43000.0, purpose="take_profit"
    )

    async def buy_then_take(venue: CcxtVenue) -> OrderRecord:
        await venue.place(request("entry", amount=0.001))
        return await venue.place(take)

    placed = run(venue_at(exchange), buy_then_take)
    assert (placed.type, placed.status, placed.trigger_price, placed.purpose) == (
        "take_profit",
        "open",
        43000.0,
        "take_profit",
    )
    assert [(order.type, order.stop_price) for order in exchange.orders()] == [
        ("MARKET", 0.0),
        ("TAKE_PROFIT", 43000.0),
    ]


def test_without_native_stops_the_engine_watches_the_levels(exchange: FakeBinance) -> None:
    info = {
        "timezone": "UTC",
        "serverTime": NOW,
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": [
            market.exchange_info() | {"orderTypes": ["LIMIT", "MARKET"]} for market in exchange.markets.values()
        ],
    }
    exchange.fail_next(EXCHANGE_INFO, [(200, json.dumps(info))])
    stop = request("stop_loss", side="sell", type="stop_loss", amount=0.001, trigger_price=41000.0, purpose="stop_loss")

    async def rules_then_stop(venue: CcxtVenue) -> MarketRules:
        rules = await venue.market_rules(SYMBOL)
        with pytest.raises(OrderRejectedError) as refused:
            await venue.place(stop)
        assert str(refused.value) == (
            "binance BTC/USDT: the exchange keeps no stop_loss orders here; the engine has to watch that level; "
            "not sent"
        )
        return rules

    rules = run(venue_at(exchange), rules_then_stop)
    assert (rules.native_stop_loss, rules.native_take_profit) == (False, False)
    assert exchange.count(ORDER) == 0


def test_a_response_lost_after_the_order_was_accepted_is_found_by_its_client_id(exchange: FakeBinance) -> None:
    exchange.inject(Fault.TIMEOUT_AFTER_ACCEPT)
    entry = request("entry", amount=0.001)

    async def place_then_look_up(venue: CcxtVenue) -> OrderRecord | None:
        with pytest.raises(OrderTransientError, match=r"^binance: place buy market BTC/USDT order .*RequestTimeout"):
            await venue.place(entry)
        return await venue.fetch_order(SYMBOL, entry.client_order_id)

    found = run(venue_at(exchange, timeout=300), place_then_look_up)
    assert found == record(
        "entry",
        exchange_order_id="1",
        status="closed",
        amount=0.001,
        filled=0.001,
        average=LAST,
        cost=42.00525,
        fee=0.04200525,
        fee_currency="USDT",
    )
    assert [order.client_order_id for order in exchange.orders()] == [entry.client_order_id]


@pytest.mark.parametrize(
    ("fault", "expected", "message"),
    [
        (Fault.HTTP_500, OrderTransientError, "outcome unknown, look the order up before resending: ExchangeNot"),
        (Fault.HTTP_429, OrderTransientError, "outcome unknown, look the order up before resending: DDoSProtection"),
        (Fault.REJECT, OrderRejectedError, r"refused by the exchange: InvalidOrder: binance .*New order rejected"),
    ],
)
def test_faults_of_the_exchange_become_broker_errors(
    exchange: FakeBinance, fault: Fault, expected: type, message: str
) -> None:
    exchange.inject(fault)
    entry = request("entry", amount=0.001)
    with pytest.raises(expected, match=f"^binance: place buy market BTC/USDT order {entry.client_order_id}: {message}"):
        run(venue_at(exchange), lambda venue: venue.place(entry))
    assert exchange.applied_faults() == [fault]
    assert exchange.orders() == []


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (request("entry", amount=1.0), "InsufficientFunds: binance Account has insufficient balance"),
        (request("entry", type="limit", amount=0.001, price=40000.0), "InvalidOrder: binance .*Duplicate order sent"),
    ],
)
def test_the_exchange_refusing_an_order_is_a_rejection(
    exchange: FakeBinance, order: OrderRequest, message: str
) -> None:
    async def place_twice(venue: CcxtVenue) -> None:
        if order.type == "limit":
            await venue.place(order)
        await venue.place(order)

    with pytest.raises(OrderRejectedError, match=f"refused by the exchange: {message}"):
        run(venue_at(exchange), place_twice)
    assert len(exchange.orders()) == (1 if order.type == "limit" else 0)


def test_a_partial_fill_reports_filled_below_amount(exchange: FakeBinance) -> None:
    exchange.inject(Fault.PARTIAL_FILL(0.5))
    placed = run(venue_at(exchange), lambda venue: venue.place(request("entry", amount=0.001)))
    # A market order's unfilled rest expires, as on binance.
    assert placed == record(
        "entry",
        exchange_order_id="1",
        status="expired",
        amount=0.001,
        filled=0.0005,
        average=LAST,
        cost=21.002625,
        fee=0.02100263,
        fee_currency="USDT",
    )


def test_cancel_returns_the_cancelled_record_under_the_orders_client_id(exchange: FakeBinance) -> None:
    resting = request("entry", type="limit", amount=0.001, price=40000.0)

    async def place_then_cancel(venue: CcxtVenue) -> tuple[OrderRecord, list[OrderRecord], list[Balance]]:
        await venue.place(resting)
        cancelled = await venue.cancel(SYMBOL, resting.client_order_id)
        return cancelled, await venue.open_orders(SYMBOL), await venue.balances()

    cancelled, still_open, balances = run(venue_at(exchange), place_then_cancel)
    assert cancelled == record(
        "entry", exchange_order_id="1", type="limit", status="canceled", amount=0.001, filled=0.0, price=40000.0
    )
    assert still_open == []
    assert balances == [Balance(asset="USDT", free=1000.0, used=0.0)]


def test_an_order_filled_while_being_cancelled_comes_back_filled(exchange: FakeBinance) -> None:
    resting = request("entry", type="limit", amount=0.001, price=40000.0)
    exchange.inject(Fault.FILL_DURING_CANCEL)

    async def place_then_cancel(venue: CcxtVenue) -> OrderRecord:
        await venue.place(resting)
        return await venue.cancel(SYMBOL, resting.client_order_id)

    cancelled = run(venue_at(exchange), place_then_cancel)
    assert cancelled == record(
        "entry",
        exchange_order_id="1",
        type="limit",
        status="closed",
        amount=0.001,
        filled=0.001,
        price=40000.0,
        average=40000.0,
        cost=40.0,
        fee=0.04,
        fee_currency="USDT",
    )
    assert exchange.applied_faults() == [Fault.FILL_DURING_CANCEL]


def test_unknown_orders_are_none_to_look_up_and_refused_to_cancel(exchange: FakeBinance) -> None:
    unknown = client_order_id("s9", "entry")

    async def look_up_then_cancel(venue: CcxtVenue) -> OrderRecord | None:
        found = await venue.fetch_order(SYMBOL, unknown)
        with pytest.raises(OrderRejectedError) as refused:
            await venue.cancel(SYMBOL, unknown)
        assert str(refused.value) == f"binance: cancel BTC/USDT order {unknown}: the exchange has no such order"
        return found

    assert run(venue_at(exchange), look_up_then_cancel) is None


def test_a_wrong_secret_is_a_refused_key_and_never_shown(exchange: FakeBinance) -> None:
    wrong = ApiCredentials(api_key=API_KEY, secret="VENUE-SECRET-wrong-17")
    venue = CcxtVenue("binance", credentials=wrong, api_url=exchange.url, enableRateLimit=False, **FAKE_BINANCE_OPTIONS)
    with pytest.raises(ExchangeKeyRefusedError, match="Signature for this request is not valid") as refused:
        run(venue, lambda venue: venue.place(request("entry", amount=0.001)))
    assert API_KEY not in str(refused.value)
    assert "VENUE-SECRET-wrong-17" not in str(refused.value)


@pytest.mark.parametrize(
    ("failure", "expected", "message"),
    [
        (429, OrderTransientError, r"^binance: read the balances: outcome unknown, look the order up .*DDoSProtection"),
        (500, OrderTransientError, r"^binance: read the balances: outcome unknown.*ExchangeNotAvailable"),
        ("garbage", OrderTransientError, r"^binance: read the balances: the answer was not JSON"),
        (
            (401, '{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}'),
            ExchangeKeyRefusedError,
            r"^binance: read the balances: the exchange refused the API key .*check the key and secret stored for "
            r"binance in the OS keyring",
        ),
    ],
)
def test_failures_become_the_broker_errors(exchange: FakeBinance, failure: Any, expected: type, message: str) -> None:
    venue = venue_at(exchange)

    async def markets_then_balances(venue: CcxtVenue) -> Any:
        await venue.market_rules(SYMBOL)
        exchange.fail_next(ACCOUNT, [failure])
        return await venue.balances()

    with pytest.raises(expected, match=message) as raised:
        run(venue, markets_then_balances)
    assert type(raised.value) is expected
    assert API_KEY not in str(raised.value)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ccxt.RequestTimeout, OrderTransientError),
        (ccxt.NetworkError, OrderTransientError),
        (ccxt.ExchangeNotAvailable, OrderTransientError),
        (ccxt.OnMaintenance, OrderTransientError),
        (ccxt.DDoSProtection, OrderTransientError),
        (ccxt.RateLimitExceeded, OrderTransientError),
        (ccxt.InvalidNonce, OrderTransientError),
        (ccxt.OperationFailed, OrderTransientError),
        (ccxt.BadResponse, OrderTransientError),
        (ccxt.ExchangeError, OrderTransientError),
        (ccxt.InsufficientFunds, OrderRejectedError),
        (ccxt.InvalidOrder, OrderRejectedError),
        (ccxt.OrderImmediatelyFillable, OrderRejectedError),
        (ccxt.DuplicateOrderId, OrderRejectedError),
        (ccxt.BadSymbol, OrderRejectedError),
        (ccxt.BadRequest, OrderRejectedError),
        (ccxt.OperationRejected, OrderRejectedError),
        (ccxt.NotSupported, OrderRejectedError),
        (ccxt.AuthenticationError, ExchangeKeyRefusedError),
        (ccxt.PermissionDenied, ExchangeKeyRefusedError),
        (ccxt.AccountSuspended, ExchangeKeyRefusedError),
    ],
)
def test_each_ccxt_error_maps_to_one_broker_error(error: type[Exception], expected: type) -> None:
    mapped = order_error(error("binance {}"), venue="binance", action="place buy market BTC/USDT order ws1")
    assert type(mapped) is expected
    assert str(mapped).startswith("binance: place buy market BTC/USDT order ws1: ")


def test_other_errors_are_not_mapped_and_keys_are_scrubbed() -> None:
    assert order_error(ValueError("a bug"), venue="binance", action="place") is None
    CcxtVenue("binance", credentials=CREDENTIALS)
    mapped = order_error(ccxt.ExchangeError(f"binance echoed {API_KEY}"), venue="binance", action="place")
    assert str(mapped) == (
        "binance: place: outcome unknown, look the order up before resending: ExchangeError: binance echoed ***"
    )


def test_fills_since_a_moment_are_the_later_ones(exchange: FakeBinance) -> None:
    async def two_fills_then_the_later(venue: CcxtVenue) -> list[Fill]:
        await venue.place(request("entry", amount=0.001))
        exchange.advance_to(T0 + 12 * MINUTE)
        await venue.place(request("exit", side="sell", amount=0.001, purpose="exit"))
        return await venue.fills(SYMBOL, since=NOW + 1)

    [later] = run(venue_at(exchange), two_fills_then_the_later)
    # Candle 12 closes at 42006.25.
    assert (later.client_order_id, later.side, later.amount, later.price, later.timestamp) == (
        client_order_id("s1", "exit"),
        "sell",
        0.001,
        42006.25,
        T0 + 13 * MINUTE - 1,
    )


def test_no_key_or_secret_reaches_the_log_even_in_verbose_mode(
    exchange: FakeBinance, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    placed = run(venue_at(exchange, verbose=True), lambda venue: venue.place(request("entry", amount=0.001)))
    assert "X-MBX-APIKEY" in caplog.text
    assert "/api/v3/order" in caplog.text
    for text in (caplog.text, repr(placed), placed.model_dump_json()):
        assert API_KEY not in text
        assert SECRET not in text


def test_a_cancel_whose_answer_was_lost_is_confirmed_by_cancelling_again(exchange: FakeBinance) -> None:
    resting = request("entry", type="limit", amount=0.001, price=40000.0)
    exchange.inject(Fault.TIMEOUT_AFTER_ACCEPT.at("DELETE", ORDER))

    async def cancel_twice(venue: CcxtVenue) -> OrderRecord:
        await venue.place(resting)
        with pytest.raises(OrderTransientError, match=r"^binance: cancel BTC/USDT order .*RequestTimeout"):
            await venue.cancel(SYMBOL, resting.client_order_id)
        return await venue.cancel(SYMBOL, resting.client_order_id)

    cancelled = run(venue_at(exchange, timeout=300), cancel_twice)
    assert (cancelled.client_order_id, cancelled.status, cancelled.filled) == (resting.client_order_id, "canceled", 0)


def test_a_failed_look_up_is_transient_never_an_unknown_order(exchange: FakeBinance) -> None:
    entry = request("entry", amount=0.001)
    exchange.inject(Fault.HTTP_500.at("GET", ORDER))

    async def place_then_look_up(venue: CcxtVenue) -> None:
        await venue.place(entry)
        await venue.fetch_order(SYMBOL, entry.client_order_id)

    # None would tell a retry to buy again: a look-up that failed must not read as "never seen".
    with pytest.raises(OrderTransientError, match=r"^binance: look up BTC/USDT order .*ExchangeNotAvailable"):
        run(venue_at(exchange), place_then_look_up)
