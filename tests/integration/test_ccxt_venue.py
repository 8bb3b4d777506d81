"""The ccxt venue: orders on an exchange through ccxt's real code path, against the fake binance on 127.0.0.1."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import ccxt
import pytest
from exchange_server import ACCOUNT, FAKE_BINANCE_OPTIONS, FakeBinance
from memory_keyring import MemoryKeyring

from workstation.brokers.ccxt_errors import ExchangeKeyRefusedError, order_error
from workstation.brokers.ccxt_venue import ApiKeyMissingError, CcxtVenue
from workstation.brokers.errors import OrderRejectedError, OrderTransientError
from workstation.brokers.orders import Balance, MarketRules, OrderRequest, client_order_id
from workstation.exchanges.api_keys import ApiCredentials, set_api_key

API_KEY = "VENUE-KEY-0d6a2e"
SECRET = "VENUE-SECRET-93b1f4"
CREDENTIALS = ApiCredentials(api_key=API_KEY, secret=SECRET)
SYMBOL = "BTC/USDT"
ORDER_PATH = "/api/v3/order"

T = TypeVar("T")


def venue_at(server: FakeBinance, **options: Any) -> CcxtVenue:
    """Return a binance venue talking to ``server``, without ccxt's rate limiter (50 ms a call)."""
    return CcxtVenue(
        "binance", credentials=CREDENTIALS, api_url=server.url, enableRateLimit=False, **FAKE_BINANCE_OPTIONS, **options
    )


def run(venue: CcxtVenue, call: Callable[[CcxtVenue], Awaitable[T]]) -> T:
    """Run ``call(venue)`` on a fresh event loop and close the venue's session after it."""

    async def main() -> T:
        try:
            return await call(venue)
        finally:
            await venue.aclose()

    return asyncio.run(main())


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


def test_from_keyring_reads_the_keyring_only(memory_keyring: MemoryKeyring, server: FakeBinance) -> None:
    with pytest.raises(ApiKeyMissingError, match=r"^binance: no API key in the OS keyring \(service 'workstation'\)"):
        CcxtVenue.from_keyring("binance")
    set_api_key("binance", API_KEY, SECRET)
    venue = CcxtVenue.from_keyring("binance", api_url=server.url, enableRateLimit=False, **FAKE_BINANCE_OPTIONS)
    assert run(venue, lambda venue: venue.balances()) == [Balance(asset="USDT", free=1000.0, used=0.0)]
    assert server.requests[-1].headers["x-mbx-apikey"] == API_KEY


def test_market_rules_come_from_the_exchange_info(server: FakeBinance) -> None:
    rules = run(venue_at(server), lambda venue: venue.market_rules(SYMBOL))
    assert rules == MarketRules(
        symbol=SYMBOL,
        base="BTC",
        quote="USDT",
        amount_step=0.00001,
        price_step=0.01,
        min_amount=0.00001,
        min_cost=0.0,
        # The read-only server's markets list LIMIT and MARKET only.
        native_stop_loss=False,
        native_take_profit=False,
    )


def test_an_unknown_market_is_rejected(server: FakeBinance) -> None:
    with pytest.raises(OrderRejectedError, match=r"^binance: read the market rules of DOGE/USDT: refused by the"):
        run(venue_at(server), lambda venue: venue.market_rules("DOGE/USDT"))


def test_an_amount_below_the_step_is_refused_before_sending(server: FakeBinance) -> None:
    order = OrderRequest(
        client_order_id=client_order_id("s1", "entry"),
        symbol=SYMBOL,
        side="buy",
        type="market",
        amount=0.000004,
        purpose="entry",
    )
    with pytest.raises(OrderRejectedError) as refused:
        run(venue_at(server), lambda venue: venue.place(order))
    assert str(refused.value) == (
        f"binance BTC/USDT order {order.client_order_id}: amount 4e-06 BTC (cut to the step 1e-05: 0) is below the "
        "minimum amount 1e-05 BTC; not sent"
    )
    assert server.count(ORDER_PATH) == 0


def test_a_stop_loss_the_exchange_cannot_keep_is_refused_before_sending(server: FakeBinance) -> None:
    order = OrderRequest(
        client_order_id=client_order_id("s1", "stop_loss"),
        symbol=SYMBOL,
        side="sell",
        type="stop_loss",
        amount=0.001,
        trigger_price=41000.0,
        purpose="stop_loss",
    )
    with pytest.raises(OrderRejectedError, match="the exchange keeps no stop_loss orders here; the engine has to"):
        run(venue_at(server), lambda venue: venue.place(order))
    assert server.count(ORDER_PATH) == 0


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
def test_failures_become_the_broker_errors(server: FakeBinance, failure: Any, expected: type, message: str) -> None:
    venue = venue_at(server)

    async def markets_then_balances(venue: CcxtVenue) -> Any:
        await venue.market_rules(SYMBOL)
        server.fail_next(ACCOUNT, [failure])
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
