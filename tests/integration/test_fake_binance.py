"""The fake binance spot exchange through a real ccxt binance on 127.0.0.1: markets, signing, orders, faults."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import ccxt
import numpy as np
import pytest
from exchange_server import FAKE_API_KEY, FAKE_BINANCE_OPTIONS, FAKE_SECRET, MINUTE, T0, minute_candles

from workstation.cli import main
from workstation.exchanges.ccxt_exchange import CcxtConnection
from workstation.exchanges.fake_binance import ExchangeBalance, ExchangeOrder, ExchangeTrade, FakeBinance, Fault

SYMBOL = "BTC/USDT"
#: The present candle of the servers below: candle 9 of the ladder, closing at 42004.75.
PRESENT = T0 + 9 * MINUTE
CLOSE = 42004.75
#: The exchange's time: the close of the present candle.
NOW = PRESENT + MINUTE - 1

SIGNATURE_REFUSED = '{"code":-1022,"msg":"Signature for this request is not valid."}'

T = TypeVar("T")


def ladder() -> np.ndarray:
    """Thirty candles of `minute_candles`, candle 12 dipping to 41900 and candle 15 opening at 41800 (a gap)."""
    candles = minute_candles(30)
    candles[12]["low"] = 41900.0
    candles[15]["open"] = 41800.0
    candles[15]["low"] = 41790.0
    return candles


def exchange_at(present: int = PRESENT, **options: Any) -> FakeBinance:
    return FakeBinance(ladder(), present=present, **options)


def run(url: str, scenario: Callable[[Any], Awaitable[T]], **config: Any) -> T:
    """Run ``scenario(binance)`` with a ccxt binance pointed at ``url`` through the workstation's connection."""
    connection = CcxtConnection(
        "binance",
        {
            **FAKE_BINANCE_OPTIONS,
            "apiKey": config.pop("apiKey", FAKE_API_KEY),
            "secret": config.pop("secret", FAKE_SECRET),
            "enableRateLimit": False,
            **config,
        },
        api_url=url,
    )

    async def go() -> T:
        try:
            return await scenario(await connection.exchange())
        finally:
            await connection.aclose()

    return asyncio.run(go())


# -- markets, time, klines ---------------------------------------------------------------------------------------


def test_markets_carry_binance_filters_and_the_order_types() -> None:
    async def scenario(binance: Any) -> Any:
        return binance.market(SYMBOL), await binance.fetch_time(), await binance.fetch_status()

    with exchange_at() as server:
        market, server_time, status = run(server.url, scenario)

    assert market["limits"]["amount"]["min"] == 0.00001
    assert market["limits"]["price"]["min"] == 0.01
    assert market["limits"]["cost"]["min"] == 5.0
    assert market["precision"] == {"amount": 0.00001, "price": 0.01, "base": 1e-08, "quote": 1e-08}
    assert market["info"]["orderTypes"] == ["LIMIT", "MARKET", "STOP_LOSS", "TAKE_PROFIT"]
    assert server_time == NOW
    assert status["status"] == "ok"


def test_klines_stop_at_the_present_and_follow_it() -> None:
    async def scenario(binance: Any) -> Any:
        return await binance.fetch_ohlcv(SYMBOL, "1m", T0, 100)

    with exchange_at() as server:
        before = run(server.url, scenario)
        server.advance_to(T0 + 11 * MINUTE)
        after = run(server.url, scenario)
        with pytest.raises(ValueError, match=f"timestamp_ms={T0} is before the present candle {T0 + 11 * MINUTE}"):
            server.advance_to(T0)

    assert [row[0] for row in before] == [T0 + k * MINUTE for k in range(10)]
    assert [row[0] for row in after] == [T0 + k * MINUTE for k in range(12)]
    assert after[-1] == [T0 + 11 * MINUTE, 42005.5, 42015.5, 41995.5, 42005.75, 5.0]


def test_tickers_describe_the_last_day_up_to_the_present() -> None:
    async def scenario(binance: Any) -> Any:
        return (
            await binance.fetch_ticker(SYMBOL),
            await binance.fetch_tickers(),
            await binance.fetch_last_prices(),
            await binance.fetch_bids_asks([SYMBOL]),
        )

    with exchange_at() as server:
        ticker, tickers, prices, books = run(server.url, scenario)

    assert (ticker["open"], ticker["high"], ticker["low"], ticker["last"], ticker["baseVolume"]) == (
        42000.0,
        42014.5,
        41990.0,
        CLOSE,
        34.0,
    )
    assert (ticker["bid"], ticker["ask"], ticker["timestamp"]) == (CLOSE, CLOSE, NOW)
    assert sorted(tickers) == ["BTC/USDT", "ETH/USDT"]
    assert prices["ETH/USDT"]["price"] == CLOSE
    assert (books[SYMBOL]["bid"], books[SYMBOL]["ask"]) == (CLOSE, CLOSE)


# -- signing -----------------------------------------------------------------------------------------------------


def test_a_bad_signature_or_key_is_refused_as_binance_does() -> None:
    async def balance(binance: Any) -> Any:
        return await binance.fetch_balance()

    with exchange_at() as server:
        with pytest.raises(ccxt.AuthenticationError, match=re.escape(SIGNATURE_REFUSED)):
            run(server.url, balance, secret="another-secret")
        with pytest.raises(ccxt.AuthenticationError, match="-2015"):
            run(server.url, balance, apiKey="another-key")
        assert server.orders() == []


def test_the_balance_is_signed_and_served() -> None:
    async def scenario(binance: Any) -> Any:
        return await binance.fetch_balance()

    with exchange_at(balances={"USDT": 500.0, "BTC": 0.25}) as server:
        balance = run(server.url, scenario)
        [account] = [request for request in server.requests if request.path == "/api/v3/account"]

    assert balance["free"] == {"USDT": 500.0, "BTC": 0.25}
    assert balance["used"] == {"USDT": 0.0, "BTC": 0.0}
    assert account.headers["x-mbx-apikey"] == FAKE_API_KEY
    assert "signature" in account.query
    assert "timestamp" in account.query


# -- market orders -----------------------------------------------------------------------------------------------


def test_a_market_buy_fills_at_the_present_close_with_the_fee_in_quote() -> None:
    async def scenario(binance: Any) -> Any:
        order = await binance.create_order(SYMBOL, "market", "buy", 0.001, None, {"clientOrderId": "entry-1"})
        return order, await binance.fetch_balance(), await binance.fetch_my_trades(SYMBOL)

    with exchange_at() as server:
        order, balance, trades = run(server.url, scenario)
        assert server.orders() == [
            ExchangeOrder(
                1, "entry-1", "BTCUSDT", "BUY", "MARKET", "FILLED", 0.001, 0.0, 0.0, 0.001, 42.00475, NOW, NOW
            )
        ]
        assert server.trades() == [
            ExchangeTrade(1, 1, "BTCUSDT", "BUY", CLOSE, 0.001, 42.00475, 0.04200475, "USDT", NOW, False)
        ]
        assert server.balances() == {
            "USDT": ExchangeBalance(957.95324525, 0.0),
            "BTC": ExchangeBalance(0.001, 0.0),
        }

    assert (order["id"], order["clientOrderId"], order["status"], order["type"], order["side"]) == (
        "1",
        "entry-1",
        "closed",
        "market",
        "buy",
    )
    assert (order["amount"], order["filled"], order["remaining"], order["average"], order["cost"]) == (
        0.001,
        0.001,
        0.0,
        CLOSE,
        42.00475,
    )
    assert order["fee"] == {"currency": "USDT", "cost": 0.04200475}
    assert balance["free"] == {"USDT": 957.95324525, "BTC": 0.001}
    assert [(t["id"], t["order"], t["price"], t["amount"], t["cost"], t["fee"]["cost"]) for t in trades] == [
        ("1", "1", CLOSE, 0.001, 42.00475, 0.04200475)
    ]


def test_a_market_buy_by_cost_buys_what_the_quote_pays_for_rounded_down_to_the_step() -> None:
    async def scenario(binance: Any) -> Any:
        return await binance.create_market_buy_order_with_cost(SYMBOL, 100, {"clientOrderId": "by-cost"})

    with exchange_at() as server:
        order = run(server.url, scenario)
        [request] = [request for request in server.requests if request.method == "POST"]

    assert request.query["quoteOrderQty"] == "100"
    # 100 / 42004.75 = 0.0023806... → 0.00238 BTC.
    assert (order["status"], order["filled"], order["cost"]) == ("closed", 0.00238, 99.971305)
    assert order["fee"] == {"currency": "USDT", "cost": 0.09997131}


def test_a_market_sell_needs_the_base_asset() -> None:
    async def scenario(binance: Any) -> Any:
        return await binance.create_order(SYMBOL, "market", "sell", 0.002)

    with exchange_at() as server, pytest.raises(ccxt.InsufficientFunds, match="insufficient balance"):
        run(server.url, scenario)

    with exchange_at(balances={"BTC": 0.002}) as server:
        order = run(server.url, scenario)
        assert server.balances() == {"BTC": ExchangeBalance(0.0, 0.0), "USDT": ExchangeBalance(83.9254905, 0.0)}
    assert (order["status"], order["cost"], order["fee"]["cost"]) == ("closed", 84.0095, 0.0840095)


# -- refusals ----------------------------------------------------------------------------------------------------


def test_filters_balances_and_duplicate_ids_are_refused_with_binance_errors() -> None:
    async def scenario(binance: Any) -> list[str]:
        errors = []
        attempts: list[tuple[str, str, float, float | None, dict[str, Any]]] = [
            ("market", "buy", 0.0001, None, {}),  # 4.2 USDT < 5 USDT minimum notional
            ("market", "buy", 1.0, None, {}),  # 42,004.75 USDT > 1,000 USDT
            ("limit", "buy", 0.001, 41000.0, {"clientOrderId": "twice"}),
            ("limit", "buy", 0.001, 41000.0, {"clientOrderId": "twice"}),
            ("limit", "buy", 0.001, 41000.0, {"quantity": "0.0010001"}),  # not a whole step
            ("limit", "buy", 0.001, 41000.0, {"price": "41000.001"}),  # not a whole tick
        ]
        for order_type, side, amount, price, params in attempts:
            try:
                await binance.create_order(SYMBOL, order_type, side, amount, price, params)
                errors.append("placed")
            except ccxt.BaseError as error:
                errors.append(f"{type(error).__name__}: {str(error).removeprefix('binance ')}")
        return errors

    with exchange_at() as server:
        errors = run(server.url, scenario)
        assert [order.client_order_id for order in server.orders()] == ["twice"]

    assert errors == [
        'BadRequest: {"code":-1013,"msg":"Filter failure: NOTIONAL"}',
        "InsufficientFunds: Account has insufficient balance for requested action.",
        "placed",
        'InvalidOrder: {"code":-2010,"msg":"Duplicate order sent."}',
        "InvalidOrder: order amount should be evenly divisible by lot size "
        '{"code":-1013,"msg":"Filter failure: LOT_SIZE"}',
        "InvalidOrder: order price is invalid, i.e. exceeds allowed price precision, exceeds min price or max price "
        "limits or is invalid value in general, use self.price_to_precision (symbol, amount) "
        '{"code":-1013,"msg":"Filter failure: PRICE_FILTER"}',
    ]


# -- limit orders ------------------------------------------------------------------------------------------------


def test_a_resting_limit_buy_holds_quote_and_fills_at_its_price_when_the_low_reaches_it() -> None:
    async def place(binance: Any) -> Any:
        order = await binance.create_order(SYMBOL, "limit", "buy", 0.001, 41950, {"clientOrderId": "dip"})
        return order, await binance.fetch_open_orders(SYMBOL), await binance.fetch_balance()

    async def look(binance: Any) -> Any:
        return await binance.fetch_order(None, SYMBOL, {"clientOrderId": "dip"}), await binance.fetch_open_orders(
            SYMBOL
        )

    with exchange_at() as server:
        order, open_orders, balance = run(server.url, place)
        server.advance_to(T0 + 11 * MINUTE)
        assert run(server.url, look)[0]["status"] == "open"
        server.advance_to(T0 + 13 * MINUTE)
        filled, still_open = run(server.url, look)
        assert server.trades() == [
            ExchangeTrade(1, 1, "BTCUSDT", "BUY", 41950.0, 0.001, 41.95, 0.04195, "USDT", T0 + 13 * MINUTE - 1, True)
        ]
        assert server.balances()["USDT"] == ExchangeBalance(958.00805, 0.0)

    assert (order["status"], order["price"], order["filled"]) == ("open", 41950.0, 0.0)
    assert [o["clientOrderId"] for o in open_orders] == ["dip"]
    assert (balance["free"]["USDT"], balance["used"]["USDT"]) == (958.00805, 41.99195)
    assert (filled["status"], filled["filled"], filled["average"], filled["lastUpdateTimestamp"]) == (
        "closed",
        0.001,
        41950.0,
        T0 + 13 * MINUTE - 1,
    )
    assert still_open == []


def test_a_limit_priced_through_the_market_fills_at_once_at_the_market() -> None:
    async def scenario(binance: Any) -> Any:
        return await binance.create_order(SYMBOL, "limit", "buy", 0.001, 42100)

    with exchange_at() as server:
        order = run(server.url, scenario)

    assert (order["status"], order["average"], order["price"]) == ("closed", CLOSE, 42100.0)


def test_cancel_frees_the_hold_and_a_second_cancel_finds_nothing() -> None:
    async def scenario(binance: Any) -> Any:
        await binance.create_order(SYMBOL, "limit", "buy", 0.001, 41950, {"clientOrderId": "dip"})
        cancelled = await binance.cancel_order(None, SYMBOL, {"clientOrderId": "dip"})
        balance = await binance.fetch_balance()
        with pytest.raises(ccxt.OrderNotFound, match=r"Unknown order sent\."):
            await binance.cancel_order(None, SYMBOL, {"clientOrderId": "dip"})
        with pytest.raises(ccxt.OrderNotFound, match=r"Order does not exist\."):
            await binance.fetch_order(None, SYMBOL, {"clientOrderId": "never-sent"})
        return cancelled, balance, await binance.fetch_order("1", SYMBOL)

    with exchange_at() as server:
        cancelled, balance, fetched = run(server.url, scenario)

    # binance answers a cancel with the cancel's own client id; the order keeps its own.
    assert (cancelled["status"], cancelled["clientOrderId"], cancelled["info"]["origClientOrderId"]) == (
        "canceled",
        "fakecancel1",
        "dip",
    )
    assert balance["free"]["USDT"] == 1000.0
    assert balance["used"]["USDT"] == 0.0
    assert (fetched["status"], fetched["clientOrderId"]) == ("canceled", "dip")


def test_closed_orders_come_from_all_orders() -> None:
    async def scenario(binance: Any) -> Any:
        await binance.create_order(SYMBOL, "market", "buy", 0.001, None, {"clientOrderId": "done"})
        await binance.create_order(SYMBOL, "limit", "buy", 0.001, 41950, {"clientOrderId": "resting"})
        return await binance.fetch_closed_orders(SYMBOL), await binance.fetch_orders(SYMBOL)

    with exchange_at() as server:
        closed, every = run(server.url, scenario)

    assert [order["clientOrderId"] for order in closed] == ["done"]
    assert [(order["clientOrderId"], order["status"]) for order in every] == [("done", "closed"), ("resting", "open")]


def test_cancel_all_open_orders_of_a_market() -> None:
    async def scenario(binance: Any) -> Any:
        await binance.create_order(SYMBOL, "limit", "buy", 0.001, 41950)
        await binance.create_order(SYMBOL, "limit", "buy", 0.001, 41900)
        cancelled = await binance.cancel_all_orders(SYMBOL)
        with pytest.raises(ccxt.OrderNotFound):
            await binance.cancel_all_orders(SYMBOL)
        return cancelled

    with exchange_at() as server:
        cancelled = run(server.url, scenario)
        assert [order.status for order in server.orders()] == ["CANCELED", "CANCELED"]

    assert [order["status"] for order in cancelled] == ["canceled", "canceled"]


# -- stop loss and take profit -----------------------------------------------------------------------------------


def test_a_native_stop_loss_fills_at_its_stop_or_at_the_open_of_a_gap() -> None:
    async def scenario(binance: Any) -> Any:
        touched = await binance.create_order(SYMBOL, "market", "sell", 0.001, None, {"stopLossPrice": 41950})
        gapped = await binance.create_order(SYMBOL, "STOP_LOSS", "sell", 0.001, None, {"stopPrice": 41850})
        return touched, gapped

    with exchange_at(balances={"BTC": 0.002}) as server:
        touched, gapped = run(server.url, scenario)
        assert server.balances()["BTC"] == ExchangeBalance(0.0, 0.002)
        server.advance_to(T0 + 29 * MINUTE)
        assert [(order.type, order.status, order.stop_price) for order in server.orders()] == [
            ("STOP_LOSS", "FILLED", 41950.0),
            ("STOP_LOSS", "FILLED", 41850.0),
        ]
        assert [(trade.price, trade.time) for trade in server.trades()] == [
            (41950.0, T0 + 13 * MINUTE - 1),
            (41800.0, T0 + 16 * MINUTE - 1),
        ]
        assert server.balances()["BTC"] == ExchangeBalance(0.0, 0.0)

    assert (touched["status"], touched["triggerPrice"], touched["info"]["type"]) == ("open", 41950.0, "STOP_LOSS")
    assert gapped["triggerPrice"] == 41850.0


def test_a_take_profit_triggers_on_the_high_and_a_stop_that_would_trigger_at_once_is_refused() -> None:
    async def scenario(binance: Any) -> Any:
        with pytest.raises(ccxt.OrderImmediatelyFillable, match=r"Order would trigger immediately\."):
            await binance.create_order(SYMBOL, "market", "sell", 0.001, None, {"stopLossPrice": 42010})
        return await binance.create_order(SYMBOL, "market", "sell", 0.001, None, {"takeProfitPrice": 42020})

    with exchange_at(balances={"BTC": 0.001}) as server:
        order = run(server.url, scenario)
        server.advance_to(T0 + 20 * MINUTE)
        # Candle k's high is 42010 + k / 2: 42020 is first reached by candle 20.
        [trade] = server.trades()

    assert order["info"]["type"] == "TAKE_PROFIT"
    assert (trade.price, trade.time, trade.side) == (42020.0, T0 + 21 * MINUTE - 1, "SELL")


# -- faults ------------------------------------------------------------------------------------------------------


def test_a_timeout_after_accept_leaves_exactly_one_order_that_fetch_order_finds() -> None:
    async def scenario(binance: Any) -> Any:
        with pytest.raises(ccxt.RequestTimeout):
            await binance.create_order(SYMBOL, "market", "buy", 0.001, None, {"clientOrderId": "lost"})
        return await binance.fetch_order(None, SYMBOL, {"clientOrderId": "lost"})

    with exchange_at() as server:
        server.inject(Fault.TIMEOUT_AFTER_ACCEPT)
        found = run(server.url, scenario, timeout=300)
        assert [(order.client_order_id, order.status) for order in server.orders()] == [("lost", "FILLED")]
        assert server.applied_faults() == [Fault.TIMEOUT_AFTER_ACCEPT]
        assert server.pending_faults() == []

    assert (found["clientOrderId"], found["status"], found["filled"]) == ("lost", "closed", 0.001)


def test_a_cancel_whose_response_is_lost_still_cancels() -> None:
    async def scenario(binance: Any) -> Any:
        await binance.create_order(SYMBOL, "limit", "buy", 0.001, 41950, {"clientOrderId": "dip"})
        with pytest.raises(ccxt.RequestTimeout):
            await binance.cancel_order(None, SYMBOL, {"clientOrderId": "dip"})
        return await binance.fetch_order(None, SYMBOL, {"clientOrderId": "dip"})

    with exchange_at() as server:
        server.inject(Fault.TIMEOUT_AFTER_ACCEPT.at("DELETE", "/api/v3/order"))
        order = run(server.url, scenario, timeout=300)
        [cancel] = [request for request in server.requests if request.method == "DELETE"]
        [place] = [request for request in server.requests if request.method == "POST"]

    assert order["status"] == "canceled"
    assert place.arrived < cancel.arrived


def test_a_market_order_without_candles_meets_a_closed_market_and_trades_filter_by_order() -> None:
    async def closed(binance: Any) -> Any:
        return await binance.create_order(SYMBOL, "market", "buy", 0.001)

    async def two_orders(binance: Any) -> Any:
        first = await binance.create_order(SYMBOL, "market", "buy", 0.001)
        await binance.create_order(SYMBOL, "market", "buy", 0.002)
        return await binance.fetch_order_trades(first["id"], SYMBOL), await binance.fetch_my_trades(SYMBOL)

    with FakeBinance() as server, pytest.raises(ccxt.MarketClosed, match=r"Market is closed\."):
        run(server.url, closed)
    with exchange_at() as server:
        of_first, every = run(server.url, two_orders)

    assert [(trade["order"], trade["amount"]) for trade in of_first] == [("1", 0.001)]
    assert [(trade["order"], trade["amount"]) for trade in every] == [("1", 0.001), ("2", 0.002)]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.HTTP_500, ccxt.ExchangeNotAvailable),
        (Fault.HTTP_429, ccxt.DDoSProtection),
        (Fault.REJECT, ccxt.InvalidOrder),
    ],
)
def test_errors_before_acceptance_place_nothing(fault: Fault, error: type[Exception]) -> None:
    async def scenario(binance: Any) -> Any:
        with pytest.raises(error):
            await binance.create_order(SYMBOL, "market", "buy", 0.001)
        return await binance.create_order(SYMBOL, "market", "buy", 0.001)

    with exchange_at() as server:
        server.inject(fault)
        second = run(server.url, scenario)
        assert [order.order_id for order in server.orders()] == [1]
        assert server.applied_faults() == [fault]

    assert second["status"] == "closed"


def test_a_429_carries_retry_after_and_an_http_error_can_hit_another_path() -> None:
    with exchange_at() as server:
        server.inject(Fault.HTTP_429.at("GET", "/api/v3/openOrders"))

        async def scenario(binance: Any) -> Any:
            with pytest.raises(ccxt.DDoSProtection, match="429"):
                await binance.fetch_open_orders(SYMBOL)
            return await binance.fetch_open_orders(SYMBOL)

        assert run(server.url, scenario) == []
    with pytest.raises(ValueError, match="partial_fill happens where orders are placed or cancelled"):
        Fault.PARTIAL_FILL(0.5).at("GET", "/api/v3/order")
    with pytest.raises(ValueError, match=r"fraction=1\.5: a partial fill is strictly between 0 and 1"):
        Fault.PARTIAL_FILL(1.5)


def test_a_partial_market_fill_expires_the_rest() -> None:
    async def scenario(binance: Any) -> Any:
        return await binance.create_order(SYMBOL, "market", "buy", 0.003)

    with exchange_at() as server:
        server.inject(Fault.PARTIAL_FILL(0.5))
        order = run(server.url, scenario)

    # 0.0015 rounded down to the 0.00001 step.
    assert (order["status"], order["amount"], order["filled"], order["remaining"]) == ("expired", 0.003, 0.0015, 0.0015)


def test_a_partial_fill_smaller_than_a_step_fills_nothing() -> None:
    async def scenario(binance: Any) -> Any:
        return await binance.create_order(SYMBOL, "market", "buy", 0.00001)

    with exchange_at(balances={"USDT": 1000.0}) as server:
        server.inject(Fault.PARTIAL_FILL(0.5))
        with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):
            run(server.url, scenario)
        server.inject(Fault.PARTIAL_FILL(0.05))

        async def larger(binance: Any) -> Any:
            return await binance.create_order(SYMBOL, "market", "buy", 0.00012)

        order = run(server.url, larger)  # 5 % of 0.00012 BTC is less than the 0.00001 step
        assert [fault.fraction for fault in server.applied_faults()] == [0.5, 0.05]
        assert server.trades() == []
        assert server.balances()["USDT"] == ExchangeBalance(1000.0, 0.0)

    assert (order["status"], order["filled"]) == ("expired", 0.0)


def test_a_partial_limit_fill_leaves_the_rest_on_the_book() -> None:
    async def scenario(binance: Any) -> Any:
        return await binance.create_order(SYMBOL, "limit", "buy", 0.002, 41950, {"clientOrderId": "half"})

    async def look(binance: Any) -> Any:
        return await binance.fetch_order(None, SYMBOL, {"clientOrderId": "half"})

    with exchange_at() as server:
        server.inject(Fault.PARTIAL_FILL(0.25))
        run(server.url, scenario)
        server.advance_to(T0 + 13 * MINUTE)
        partial = run(server.url, look)
        held = server.balances()["USDT"].locked
        server.advance_to(T0 + 16 * MINUTE)
        whole = run(server.url, look)

    assert (partial["status"], partial["filled"], partial["remaining"]) == ("open", 0.0005, 0.0015)
    assert partial["info"]["status"] == "PARTIALLY_FILLED"
    assert held == pytest.approx(0.0015 * 41950 * 1.001)
    assert (whole["status"], whole["filled"]) == ("closed", 0.002)


def test_a_fill_during_cancel_answers_unknown_order_and_the_order_is_filled() -> None:
    async def scenario(binance: Any) -> Any:
        await binance.create_order(SYMBOL, "limit", "buy", 0.001, 41950, {"clientOrderId": "raced"})
        with pytest.raises(ccxt.OrderNotFound, match=r"Unknown order sent\."):
            await binance.cancel_order(None, SYMBOL, {"clientOrderId": "raced"})
        return await binance.fetch_order(None, SYMBOL, {"clientOrderId": "raced"})

    with exchange_at() as server:
        server.inject(Fault.FILL_DURING_CANCEL)
        order = run(server.url, scenario)
        assert server.applied_faults() == [Fault.FILL_DURING_CANCEL]

    assert (order["status"], order["filled"], order["average"]) == ("closed", 0.001, 41950.0)


def test_scripted_failures_still_answer_any_path() -> None:
    async def scenario(binance: Any) -> Any:
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await binance.fetch_balance()
        return await binance.fetch_balance()

    with exchange_at() as server:
        server.fail_next("/api/v3/account", [500])
        assert run(server.url, scenario)["free"] == {"USDT": 1000.0}
        assert server.count("/api/v3/account") == 2


# -- workstation --demo-exchange-server --------------------------------------------------------------------------


def test_the_demo_exchange_server_serves_the_demo_market_until_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "workstation.cli", "--demo-exchange-server", "--port", "0", "--speed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(4)]
        url = banner[0].split(" on ")[1].split(" ")[0]

        async def scenario(binance: Any) -> Any:
            order = await binance.create_order("ETH/USDT", "market", "buy", 0.01)
            closes = [row[4] for row in await binance.fetch_ohlcv("ETH/USDT", "1m", None, 2)]
            return order, closes, await binance.fetch_balance()

        order, closes, balance = run(url, scenario)
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)

    assert url.startswith("http://127.0.0.1:")
    assert banner[1:3] == [f"  API key: {FAKE_API_KEY}\n", f"  secret:  {FAKE_SECRET}\n"]
    assert banner[3] == (
        "Markets: BTC/USDT, ETH/USDT; the account holds 10,000 USDT. Nothing leaves this computer. Stop with Ctrl+C.\n"
    )
    assert (order["status"], order["filled"]) == ("closed", 0.01)
    assert order["average"] in closes  # the present candle's close (the clock may have moved on by one minute)
    assert balance["free"]["ETH"] == 0.01
    assert (process.returncode, out, err) == (0, "Fake binance stopped.\n", "")


def test_the_demo_exchange_server_options_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--demo-exchange-server", "--port", str(port)]) == 1
        assert capsys.readouterr().err == (
            f"workstation: error: --port {port}: cannot listen on 127.0.0.1 (Address already in use)\n"
        )
    assert main(["--demo-exchange-server", "--speed", "0"]) == 2
    assert capsys.readouterr().err == "workstation: error: --speed 0: the market moves forward, at a speed above 0\n"
    assert main(["--demo-exchange-server", "--port", "70000"]) == 2
    assert capsys.readouterr().err == "workstation: error: --port 70000: a TCP port is 0 (any free port) to 65535\n"
    assert main(["--speed", "2"]) == 2
    assert capsys.readouterr().err == "workstation: error: --port and --speed go with --demo-exchange-server\n"
    assert main(["--demo-exchange-server", "--run-demo"]) == 2
    assert capsys.readouterr().err == (
        "workstation: error: --demo-exchange-server runs alone: give no command and no window option\n"
    )


def test_an_exchange_without_protective_orders_lists_and_accepts_market_and_limit_only() -> None:
    async def scenario(binance: Any) -> Any:
        with pytest.raises(ccxt.InvalidOrder, match="triggerPrice parameter is not allowed"):
            await binance.create_order(SYMBOL, "market", "sell", 0.001, None, {"stopLossPrice": 41000})
        with pytest.raises(ccxt.InvalidOrder, match=r"Order type not supported for this symbol\."):
            await binance.private_post_order(
                {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS", "quantity": "0.001", "stopPrice": "41000"}
            )
        return binance.market(SYMBOL)["info"]["orderTypes"]

    with exchange_at(balances={"BTC": 0.001}, order_types=("MARKET", "LIMIT")) as server:
        assert run(server.url, scenario) == ["LIMIT", "MARKET"]
        assert server.orders() == []
    with pytest.raises(ValueError, match=r"order_types=\['MARKET', 'STOP'\]: MARKET and LIMIT"):
        FakeBinance(order_types=("MARKET", "STOP"))


def test_the_new_order_answer_follows_new_order_resp_type() -> None:
    async def scenario(binance: Any) -> Any:
        order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
        ack = await binance.private_post_order(order | {"newOrderRespType": "ACK", "newClientOrderId": "ack"})
        result = await binance.private_post_order(order | {"newOrderRespType": "RESULT"})
        return ack, result

    with exchange_at() as server:
        ack, result = run(server.url, scenario)

    assert ack == {"symbol": "BTCUSDT", "orderId": 1, "orderListId": -1, "clientOrderId": "ack", "transactTime": NOW}
    assert (result["status"], result["executedQty"], result["cummulativeQuoteQty"]) == (
        "FILLED",
        "0.00100000",
        "42.00475000",
    )
    assert "fills" not in result


def test_the_server_sends_its_answers_at_once() -> None:
    # An answer goes out as two writes (headers, then body): with Nagle's algorithm on, the body waited for the
    # client's delayed ACK, about 40 ms per request, longer than a real exchange's whole round trip from nearby.
    with FakeBinance(ladder()) as server:
        assert server._server.RequestHandlerClass.disable_nagle_algorithm is True
