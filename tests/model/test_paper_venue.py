"""The paper venue: fills on the candles with fee and slippage, balances per asset, exact to the last digit.

Every market below opens at T0 = 2024-01-01 00:00 UTC with one candle a minute; the clock sits some seconds into a
minute, so the candles before that minute are closed. Fee 0.1 % and slippage 0.1 % unless a test says otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np
import pytest

import workstation as ws
from workstation.brokers.errors import OrderRejectedError, OrderTransientError
from workstation.brokers.orders import Balance, Fill, MarketRules, OrderRecord, OrderRequest
from workstation.brokers.paper_venue import PaperVenue, live_candle_reader
from workstation.brokers.venue import Venue
from workstation.engine.clock import ReplayClock
from workstation.exchanges.replay import make_replay_exchange
from workstation.models.candles import CANDLE_DTYPE
from workstation.services.connections import exchange_connections

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
MINUTE = 60_000
SYMBOL = "BTC/USDT"

Result = TypeVar("Result")


def run(coroutine: Coroutine[Any, Any, Result]) -> Result:
    return asyncio.run(coroutine)


class Market:
    """Recorded 1m candles served as a live exchange would: only closed ones, and only those already published.

    ``now`` is the clock; ``published_until`` holds back candles an exchange has not published yet; every read is
    recorded as ``(symbol, since, until)``.
    """

    def __init__(self, *rows: tuple[float, float, float, float]) -> None:
        self.candles = np.zeros(len(rows), dtype=CANDLE_DTYPE)
        for index, (open_, high, low, close) in enumerate(rows):
            self.candles[index] = (T0 + index * MINUTE, open_, high, low, close, 1.0)
        self.now = T0 + MINUTE + 30_000
        self.published_until: int | None = None
        self.reads: list[tuple[str, int, int]] = []

    def at(self, minute: int, seconds: int = 30) -> None:
        self.now = T0 + minute * MINUTE + seconds * 1000

    async def read(self, symbol: str, since: int, until: int) -> np.ndarray:
        self.reads.append((symbol, since, until))
        stamps = self.candles["timestamp"]
        end = min(until, self.now // MINUTE * MINUTE, self.published_until or until)
        served: np.ndarray = self.candles[(stamps >= since) & (stamps < end)]
        return served


def paper(
    market: Market,
    balances: dict[str, float] | None = None,
    *,
    percent_fee: float = 0.1,
    percent_slippage: float = 0.1,
    rules: MarketRules | None = None,
) -> PaperVenue:
    return PaperVenue(
        candles=market.read,
        clock=lambda: market.now,
        balances={"USDT": 1000.0} if balances is None else balances,
        percent_fee=percent_fee,
        percent_slippage=percent_slippage,
        rules=None if rules is None else (lambda symbol: rules),
    )


def order(client_order_id: str, side: str, kind: str, **fields: Any) -> OrderRequest:
    purpose = fields.pop("purpose", "manual")
    return OrderRequest(client_order_id=client_order_id, symbol=SYMBOL, side=side, type=kind, purpose=purpose, **fields)


def test_the_paper_venue_is_a_venue_of_no_money() -> None:
    venue: Venue = paper(Market((100, 101, 99, 100)))
    assert (venue.name, venue.real_money) == ("paper", False)
    assert run(venue.market_rules(SYMBOL)) == MarketRules(
        symbol=SYMBOL,
        base="BTC",
        quote="USDT",
        amount_step=1e-8,
        price_step=1e-8,
        min_amount=1e-8,
        min_cost=0.0,
        native_stop_loss=True,
        native_take_profit=True,
    )
    assert ws.PaperVenue is PaperVenue


@pytest.mark.parametrize(
    ("symbol", "base", "quote"),
    [
        ("BTC/USDT", "BTC", "USDT"),
        ("BTC/USDT:USDT", "BTC", "USDT"),
        ("BTCUSDT", "BTC", "USDT"),
        ("ETHBTC", "ETH", "BTC"),
        ("SOLFDUSD", "SOL", "FDUSD"),
        ("BTCUSD", "BTC", "USD"),
    ],
)
def test_the_default_rules_read_base_and_quote_from_the_symbol(symbol: str, base: str, quote: str) -> None:
    rules = run(paper(Market((100, 101, 99, 100))).market_rules(symbol))
    assert (rules.symbol, rules.base, rules.quote) == (symbol, base, quote)


def test_a_market_buy_on_a_symbol_without_a_slash_spends_the_quote_asset_it_ends_in() -> None:
    """The demo's BTCUSDT: 1 BTC at 100 × 1.001 = 100.1 and a fee of 0.1001: 1000 − 100.2001 = 899.7999 USDT."""
    market = Market((100, 101, 99, 100))
    venue = paper(market)

    async def scenario() -> list[Balance]:
        await venue.place(
            OrderRequest(client_order_id="b", symbol="BTCUSDT", side="buy", type="market", amount=1, purpose="manual")
        )
        return await venue.balances()

    assert run(scenario()) == [Balance(asset="BTC", free=1.0, used=0.0), Balance(asset="USDT", free=899.7999, used=0.0)]


def test_a_market_buy_fills_at_once_at_the_newest_close_plus_slippage_paying_the_fee_in_quote() -> None:
    """The newest close is 100: the buy fills at 100 × 1.001 = 100.1.

    2 BTC cost 2 × 100.1 = 200.2 USDT, the fee is 0.1 % of that, 0.2002 USDT; USDT left: 1000 − 200.2 − 0.2002 =
    799.5998.
    """
    market = Market((100, 101, 99, 100))
    venue = paper(market)

    async def scenario() -> tuple[OrderRecord, list[Fill], list[Balance]]:
        record = await venue.place(order("buy-1", "buy", "market", amount=2, purpose="entry", signal_id="s1"))
        return record, await venue.fills(SYMBOL), await venue.balances()

    record, fills, balances = run(scenario())
    assert record == OrderRecord(
        client_order_id="buy-1",
        exchange_order_id="paper-1",
        symbol=SYMBOL,
        side="buy",
        type="market",
        status="closed",
        amount=2.0,
        filled=2.0,
        price=None,
        trigger_price=None,
        average=100.1,
        cost=200.2,
        fee=0.2002,
        fee_currency="USDT",
        timestamp=T0 + 90_000,
        updated=T0 + 90_000,
        purpose="entry",
        signal_id="s1",
    )
    assert fills == [
        Fill(
            trade_id="paper-fill-1",
            client_order_id="buy-1",
            exchange_order_id="paper-1",
            symbol=SYMBOL,
            side="buy",
            amount=2.0,
            price=100.1,
            cost=200.2,
            fee=0.2002,
            fee_currency="USDT",
            timestamp=T0 + 90_000,
        )
    ]
    assert balances == [Balance(asset="BTC", free=2.0, used=0.0), Balance(asset="USDT", free=799.5998, used=0.0)]
    assert market.reads == [(SYMBOL, T0, T0 + MINUTE)]


def test_a_market_sell_fills_at_the_newest_close_less_slippage() -> None:
    """The newest close is 100: the sell fills at 100 × 0.999 = 99.9; 1.5 BTC bring 149.85 USDT less the fee
    0.14985 = 149.70015 USDT."""
    market = Market((100, 101, 99, 100))
    venue = paper(market, {"BTC": 2.0})

    async def scenario() -> tuple[OrderRecord, list[Balance]]:
        return await venue.place(order("sell-1", "sell", "market", amount=1.5)), await venue.balances()

    record, balances = run(scenario())
    assert (record.status, record.average, record.cost, record.fee) == ("closed", 99.9, 149.85, 0.14985)
    assert balances == [Balance(asset="BTC", free=0.5, used=0.0), Balance(asset="USDT", free=149.70015, used=0.0)]


def test_a_market_buy_by_cost_buys_what_the_cost_pays_for_on_the_market_steps() -> None:
    """Steps of 0.001 BTC and 0.01 USDT. The newest close 100.37 plus 0.1 % is 100.47037, 100.47 on the price step.

    50 USDT buy 50 / 100.47 = 0.49766… BTC, 0.497 on the amount step (rounded down: never more than the cost),
    costing 0.497 × 100.47 = 49.93359 USDT and a fee of 0.04993359; USDT left: 1000 − 49.93359 − 0.04993359 =
    950.01647641.
    """
    rules = MarketRules(
        symbol=SYMBOL,
        base="BTC",
        quote="USDT",
        amount_step=0.001,
        price_step=0.01,
        min_amount=0.001,
        min_cost=5.0,
        native_stop_loss=True,
        native_take_profit=True,
    )
    market = Market((100, 101, 99, 100.37))
    venue = paper(market, rules=rules)

    async def scenario() -> tuple[OrderRecord, list[Balance]]:
        return await venue.place(order("cost-1", "buy", "market", cost=50)), await venue.balances()

    record, balances = run(scenario())
    assert (record.amount, record.filled, record.average, record.cost, record.fee) == (
        0.497,
        0.497,
        100.47,
        49.93359,
        0.04993359,
    )
    assert balances == [Balance(asset="BTC", free=0.497, used=0.0), Balance(asset="USDT", free=950.01647641, used=0.0)]


def test_a_buy_limit_holds_its_cost_and_fee_and_fills_at_its_price_once_the_low_reaches_it() -> None:
    """A buy of 1 BTC at 98 holds 98 + 0.098 fee = 98.098 USDT: 901.902 stay free.

    The candle of minute 1 goes down to 98.5: not reached. The candle of minute 2 goes down to 97: filled at 98 (the
    paper venue never fills better than asked), at that candle's close, T0 + 3 min. USDT: 1000 − 98 − 0.098.
    """
    market = Market((100, 101, 99, 100), (100, 100.5, 98.5, 99), (99, 99.5, 97, 98))
    venue = paper(market)

    async def scenario() -> list[object]:
        seen: list[object] = [await venue.place(order("limit-1", "buy", "limit", amount=1, price=98))]
        seen.append(await venue.balances())
        market.at(2, 10)
        seen.append(await venue.fetch_order(SYMBOL, "limit-1"))
        market.at(3, 5)
        seen.append(await venue.fetch_order(SYMBOL, "limit-1"))
        seen.extend([await venue.balances(), await venue.fills(SYMBOL), await venue.open_orders()])
        return seen

    placed, held, waiting, filled, balances, fills, still_open = run(scenario())
    assert isinstance(placed, OrderRecord) and isinstance(waiting, OrderRecord) and isinstance(filled, OrderRecord)
    assert (placed.status, placed.price, placed.filled, placed.average, placed.timestamp) == (
        "open",
        98.0,
        0.0,
        None,
        T0 + 90_000,
    )
    assert held == [Balance(asset="USDT", free=901.902, used=98.098)]
    assert waiting == placed
    assert (filled.status, filled.filled, filled.average, filled.cost, filled.fee, filled.updated) == (
        "closed",
        1.0,
        98.0,
        98.0,
        0.098,
        T0 + 3 * MINUTE,
    )
    assert balances == [Balance(asset="BTC", free=1.0, used=0.0), Balance(asset="USDT", free=901.902, used=0.0)]
    assert fills == [
        Fill(
            trade_id="paper-fill-1",
            client_order_id="limit-1",
            exchange_order_id="paper-1",
            symbol=SYMBOL,
            side="buy",
            amount=1.0,
            price=98.0,
            cost=98.0,
            fee=0.098,
            fee_currency="USDT",
            timestamp=T0 + 3 * MINUTE,
        )
    ]
    assert still_open == []


def test_a_sell_limit_holds_the_base_and_fills_at_its_price_once_the_high_reaches_it() -> None:
    """Selling 0.4 BTC at 102.5 holds 0.4 BTC; minute 1's high 103 reaches it: 0.4 × 102.5 = 41 USDT, less the
    fee 0.041 = 40.959 USDT."""
    market = Market((100, 101, 99, 100), (101, 103, 100, 102))
    venue = paper(market, {"BTC": 1.0})

    async def scenario() -> tuple[list[Balance], list[Balance]]:
        await venue.place(order("limit-sell", "sell", "limit", amount=0.4, price=102.5))
        held = await venue.balances()
        market.at(2)
        return held, await venue.balances()

    held, after = run(scenario())
    assert held == [Balance(asset="BTC", free=0.6, used=0.4)]
    assert after == [Balance(asset="BTC", free=0.6, used=0.0), Balance(asset="USDT", free=40.959, used=0.0)]


def test_a_stop_loss_fills_at_its_trigger_less_slippage_and_at_the_open_after_a_gap() -> None:
    """Two stops of different signals, 1 BTC each, at 95 and at 90.

    Minute 1 (open 99, low 94.5) reaches 95: filled at 95 × 0.999 = 94.905 (the open is no worse), bringing
    94.905 − 0.094905 = 94.810095 USDT. Minute 2 opens at 85, under 90: filled at the open, 85, bringing
    85 − 0.085 = 84.915 USDT. USDT: 94.810095 + 84.915 = 179.725095; no BTC is left.
    """
    market = Market((100, 101, 99, 100), (99, 99.5, 94.5, 96), (85, 88, 84, 86))
    venue = paper(market, {"BTC": 2.0})

    async def scenario() -> tuple[list[Fill], list[Balance]]:
        await venue.place(order("stop-a", "sell", "stop_loss", amount=1, trigger_price=95, signal_id="a"))
        await venue.place(order("stop-b", "sell", "stop_loss", amount=1, trigger_price=90, signal_id="b"))
        market.at(3)
        return await venue.fills(SYMBOL), await venue.balances()

    fills, balances = run(scenario())
    assert [(fill.client_order_id, fill.price, fill.cost, fill.fee, fill.timestamp) for fill in fills] == [
        ("stop-a", 94.905, 94.905, 0.094905, T0 + 2 * MINUTE),
        ("stop-b", 85.0, 85.0, 0.085, T0 + 3 * MINUTE),
    ]
    assert balances == [Balance(asset="USDT", free=179.725095, used=0.0)]


def test_a_take_profit_fills_at_its_trigger_even_when_the_candle_opens_above_it() -> None:
    """Minute 1's high 109.9 stays under 110; minute 2 opens at 112: filled at 110, bringing 110 − 0.11 = 109.89."""
    market = Market((100, 101, 99, 100), (100, 109.9, 99, 105), (112, 115, 111, 113))
    venue = paper(market, {"BTC": 1.0})

    async def scenario() -> list[OrderRecord | None]:
        await venue.place(order("take-1", "sell", "take_profit", amount=1, trigger_price=110))
        market.at(2)
        waiting = await venue.fetch_order(SYMBOL, "take-1")
        market.at(3)
        return [waiting, await venue.fetch_order(SYMBOL, "take-1")]

    waiting, filled = run(scenario())
    assert waiting is not None and filled is not None
    assert (waiting.status, waiting.trigger_price) == ("open", 110.0)
    assert (filled.status, filled.average, filled.cost, filled.fee, filled.updated) == (
        "closed",
        110.0,
        110.0,
        0.11,
        T0 + 3 * MINUTE,
    )
    assert run(venue.balances()) == [Balance(asset="USDT", free=109.89, used=0.0)]


def test_a_stop_loss_and_take_profit_of_one_signal_hold_the_amount_once_and_one_cancels_the_other() -> None:
    """1 BTC protected by a stop at 95 and a take profit at 110 of signal "s": 1 BTC used, not 2, so both fit and
    nothing is left to sell. Minute 1 reaches 111: the take profit fills at 110 (109.89 USDT after the fee) and
    the stop is cancelled at that candle's close."""
    market = Market((100, 101, 99, 100), (100, 111, 99, 108))
    venue = paper(market, {"BTC": 1.0})

    async def scenario() -> list[object]:
        await venue.place(order("sl", "sell", "stop_loss", amount=1, trigger_price=95, signal_id="s"))
        await venue.place(order("tp", "sell", "take_profit", amount=1, trigger_price=110, signal_id="s"))
        seen: list[object] = [await venue.balances()]
        with pytest.raises(OrderRejectedError, match=r"need 0\.5 BTC, free 0 BTC"):
            await venue.place(order("more", "sell", "limit", amount=0.5, price=120))
        market.at(2)
        seen.extend([await venue.fetch_order(SYMBOL, "sl"), await venue.fetch_order(SYMBOL, "tp")])
        seen.append(await venue.balances())
        return seen

    held, stop, take, balances = run(scenario())
    assert held == [Balance(asset="BTC", free=0.0, used=1.0)]
    assert isinstance(stop, OrderRecord) and isinstance(take, OrderRecord)
    assert (stop.status, stop.filled, stop.updated) == ("canceled", 0.0, T0 + 2 * MINUTE)
    assert (take.status, take.average) == ("closed", 110.0)
    assert balances == [Balance(asset="USDT", free=109.89, used=0.0)]


def test_a_candle_reaching_both_levels_of_a_pair_fills_the_stop_loss() -> None:
    """Minute 1 spans 94 to 111: the candle cannot tell which level came first, so the worse one fills, the stop:
    95 × 0.999 = 94.905, bringing 94.905 − 0.094905 = 94.810095 USDT."""
    market = Market((100, 101, 99, 100), (100, 111, 94, 100))
    venue = paper(market, {"BTC": 1.0})

    async def scenario() -> list[OrderRecord | None]:
        await venue.place(order("tp", "sell", "take_profit", amount=1, trigger_price=110, signal_id="s"))
        await venue.place(order("sl", "sell", "stop_loss", amount=1, trigger_price=95, signal_id="s"))
        market.at(2)
        return [await venue.fetch_order(SYMBOL, "tp"), await venue.fetch_order(SYMBOL, "sl")]

    take, stop = run(scenario())
    assert take is not None and stop is not None
    assert (take.status, stop.status, stop.average) == ("canceled", "closed", 94.905)
    assert run(venue.balances()) == [Balance(asset="USDT", free=94.810095, used=0.0)]


def test_an_order_the_free_balance_cannot_cover_is_refused_naming_asset_need_and_free() -> None:
    """100 USDT; a buy of 0.5 BTC at 100 holds 50 + 0.05 = 50.05, leaving 49.95 free. A market buy of 0.5 at
    100.1 needs 50.05 + 0.05005 = 50.10005; a sell of 1 BTC needs 1 BTC of none. Refused orders leave no trace."""
    market = Market((100, 101, 99, 100))
    venue = paper(market, {"USDT": 100.0})

    async def scenario() -> tuple[list[OrderRecord], list[Fill], list[Balance]]:
        await venue.place(order("rests", "buy", "limit", amount=0.5, price=100))
        with pytest.raises(OrderRejectedError, match=r"buy 0\.5 BTC/USDT: need 50\.10005 USDT, free 49\.95 USDT"):
            await venue.place(order("too-much", "buy", "market", amount=0.5))
        with pytest.raises(OrderRejectedError, match=r"need 50\.05 USDT, free 49\.95 USDT"):
            await venue.place(order("too-much-2", "buy", "limit", amount=0.5, price=100))
        with pytest.raises(OrderRejectedError, match=r"sell 1 BTC/USDT: need 1 BTC, free 0 BTC"):
            await venue.place(order("no-btc", "sell", "market", amount=1))
        assert await venue.fetch_order(SYMBOL, "too-much") is None
        return await venue.open_orders(SYMBOL), await venue.fills(SYMBOL), await venue.balances()

    open_orders, fills, balances = run(scenario())
    assert [record.client_order_id for record in open_orders] == ["rests"]
    assert fills == []
    assert balances == [Balance(asset="USDT", free=49.95, used=50.05)]


def test_a_client_order_id_is_taken_once_even_after_its_order_ended() -> None:
    market = Market((100, 101, 99, 100))
    venue = paper(market)

    async def scenario() -> None:
        await venue.place(order("ws-entry", "buy", "market", amount=1))
        with pytest.raises(OrderRejectedError, match="duplicate client order id 'ws-entry'"):
            await venue.place(order("ws-entry", "buy", "market", amount=1))
        with pytest.raises(OrderRejectedError, match="duplicate client order id 'ws-entry'"):
            await venue.place(order("ws-entry", "buy", "limit", amount=1, price=90))

    run(scenario())
    assert [fill.client_order_id for fill in run(venue.fills(SYMBOL))] == ["ws-entry"]


def test_each_candle_is_read_and_matched_once_and_counts_only_for_orders_placed_before_it_closed() -> None:
    """The exchange publishes minute 1 late: at 2:30 only minute 0 is out, so the buy limit at 98 placed then does
    not see minute 1 (low 97) when it comes out, since it closed before the order was placed; minute 2 (low 97.5)
    fills it. Reads go from where the last one stopped, and a look within the same minute reads nothing."""
    market = Market((100, 101, 99, 100), (100, 100, 97, 99), (99, 99, 97.5, 98))
    venue = paper(market)

    async def scenario() -> list[OrderRecord | None]:
        market.published_until = T0 + MINUTE
        market.at(2)
        await venue.place(order("late", "buy", "limit", amount=1, price=98))
        market.published_until = None
        market.at(2, 50)
        waiting = await venue.fetch_order(SYMBOL, "late")
        await venue.open_orders(SYMBOL)
        market.at(3)
        return [waiting, await venue.fetch_order(SYMBOL, "late")]

    waiting, filled = run(scenario())
    assert waiting is not None and filled is not None
    assert (waiting.status, filled.status, filled.updated) == ("open", "closed", T0 + 3 * MINUTE)
    assert market.reads == [
        (SYMBOL, T0 + MINUTE, T0 + 2 * MINUTE),
        (SYMBOL, T0 + MINUTE, T0 + 2 * MINUTE),
        (SYMBOL, T0 + 2 * MINUTE, T0 + 3 * MINUTE),
    ]


def test_a_day_of_candles_is_read_at_once_and_fills_on_the_one_candle_that_reached_the_order() -> None:
    """A buy limit at 90 placed at 0:01:30 waits a day: of 1440 flat candles (low 99) only minute 700 goes down to
    89. The next look, at 24:00:30, reads the day in one go: filled at 90 at 11:41 (minute 700's close); USDT:
    1000 − 90 − 0.09 = 909.91. A market sell of the 1 BTC then fills at the newest close, minute 1439's 100.5, less
    0.1 %: 100.3995, bringing 100.3995 − 0.1003995 = 100.2991005 USDT: 1010.2091005 in all."""
    rows = [(100.0, 101.0, 99.0, 100.0)] * 1440
    rows[700] = (100.0, 101.0, 89.0, 95.0)
    rows[1439] = (100.0, 101.0, 99.0, 100.5)
    market = Market(*rows)
    venue = paper(market)

    async def scenario() -> tuple[OrderRecord | None, OrderRecord, list[Balance]]:
        await venue.place(order("patient", "buy", "limit", amount=1, price=90))
        market.at(1440)
        filled = await venue.fetch_order(SYMBOL, "patient")
        sold = await venue.place(order("out", "sell", "market", amount=1))
        return filled, sold, await venue.balances()

    filled, sold, balances = run(scenario())
    assert filled is not None
    assert (filled.status, filled.average, filled.updated) == ("closed", 90.0, T0 + 701 * MINUTE)
    assert (sold.average, sold.cost, sold.fee) == (100.3995, 100.3995, 0.1003995)
    assert balances == [Balance(asset="USDT", free=1010.2091005, used=0.0)]
    assert market.reads == [(SYMBOL, T0, T0 + MINUTE), (SYMBOL, T0 + MINUTE, T0 + 1440 * MINUTE)]


def test_cancelling_frees_what_the_order_held_and_an_ended_order_comes_back_as_it_ended() -> None:
    market = Market((100, 101, 99, 100), (100, 100, 97, 99))
    venue = paper(market)

    async def scenario() -> list[object]:
        await venue.place(order("cancel-me", "buy", "limit", amount=1, price=90))
        await venue.place(order("fills", "buy", "limit", amount=1, price=98))
        market.at(2)
        cancelled = await venue.cancel(SYMBOL, "cancel-me")
        ended = await venue.cancel(SYMBOL, "fills")
        with pytest.raises(OrderRejectedError, match="no order with client order id 'nobody' on BTC/USDT"):
            await venue.cancel(SYMBOL, "nobody")
        with pytest.raises(OrderRejectedError, match="no order with client order id 'fills' on ETH/USDT"):
            await venue.cancel("ETH/USDT", "fills")
        return [cancelled, ended, await venue.cancel(SYMBOL, "cancel-me"), await venue.balances()]

    cancelled, ended, again, balances = run(scenario())
    assert isinstance(cancelled, OrderRecord) and isinstance(ended, OrderRecord)
    assert (cancelled.status, cancelled.filled, cancelled.updated) == ("canceled", 0.0, T0 + 2 * MINUTE + 30_000)
    assert (ended.status, ended.average) == ("closed", 98.0)
    assert again == cancelled
    assert balances == [Balance(asset="BTC", free=1.0, used=0.0), Balance(asset="USDT", free=901.902, used=0.0)]
    assert run(venue.fetch_order(SYMBOL, "nobody")) is None
    assert run(venue.fetch_order("ETH/USDT", "fills")) is None


def test_orders_under_the_market_minimums_are_refused_naming_the_minimum() -> None:
    rules = MarketRules(
        symbol=SYMBOL,
        base="BTC",
        quote="USDT",
        amount_step=0.001,
        price_step=0.01,
        min_amount=0.01,
        min_cost=10.0,
        native_stop_loss=True,
        native_take_profit=True,
    )
    market = Market((100, 101, 99, 100))
    venue = paper(market, rules=rules)

    async def scenario() -> None:
        with pytest.raises(OrderRejectedError, match=r"amount 0\.009 BTC \(asked: 0\.0099\) is below the minimum"):
            await venue.place(order("tiny", "buy", "market", amount=0.0099))
        with pytest.raises(OrderRejectedError, match=r"amount 0 BTC \(asked: cost 0\.05\) is below the minimum"):
            await venue.place(order("tiny-cost", "buy", "market", cost=0.05))
        with pytest.raises(OrderRejectedError, match=r"cost 9\.9 USDT is below the minimum cost 10\.0 of BTC/USDT"):
            await venue.place(order("cheap", "buy", "limit", amount=0.1, price=99))

    run(scenario())
    assert run(venue.open_orders()) == []


def test_what_the_paper_venue_cannot_do_is_refused_or_reported_as_transient() -> None:
    market = Market((100, 101, 99, 100))
    venue = paper(market, {"BTC": 1.0, "USDT": 1000.0})

    async def failing(symbol: str, since: int, until: int) -> np.ndarray:
        raise ConnectionError("exchange down")

    async def scenario() -> None:
        with pytest.raises(
            OrderRejectedError, match=r"a stop_loss order sells a held amount; .* this venue trades spot"
        ):
            await venue.place(order("short-stop", "buy", "stop_loss", amount=1, trigger_price=110))
        with pytest.raises(
            OrderRejectedError, match=r"symbol 'BTCXYZ' names no base and quote asset: write it BASE/QUOTE"
        ):
            await venue.market_rules("BTCXYZ")
        with pytest.raises(OrderRejectedError, match=r"symbol '/USDT' names no base and quote asset"):
            await venue.market_rules("/USDT")
        market.published_until = T0
        with pytest.raises(
            OrderTransientError,
            match=r"no closed candle of BTC/USDT before 2024-01-01T00:01:30\.000Z to price a market",
        ):
            await venue.place(order("unpriced", "buy", "market", amount=1))

    run(scenario())
    down = PaperVenue(candles=failing, clock=lambda: market.now, balances={}, percent_fee=0.1, percent_slippage=0.1)
    with pytest.raises(
        OrderTransientError,
        match=r"the candles of BTC/USDT from 2024-01-01T00:00:00.000Z to 2024-01-01T00:01:00.000Z cannot be read now: "
        "exchange down",
    ):
        run(down.place(order("x", "buy", "market", amount=1)))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"percent_fee": -0.1}, r"percent_fee must be a percentage within \[0, 100\), got -0\.1"),
        ({"percent_slippage": float("nan")}, r"percent_slippage must be a percentage within \[0, 100\), got nan"),
        ({"balances": {"USDT": -5.0}}, r"balances\['USDT'\] must be a finite amount >= 0, got -5\.0"),
        ({"balances": {"": 5.0}}, "balances must name each asset"),
    ],
)
def test_bad_settings_are_refused_naming_the_field_and_value(settings: dict[str, Any], message: str) -> None:
    market = Market((100, 101, 99, 100))
    arguments: dict[str, Any] = {
        "candles": market.read,
        "clock": lambda: market.now,
        "balances": {"USDT": 1.0},
        "percent_fee": 0.1,
        "percent_slippage": 0.1,
    }
    with pytest.raises(ValueError, match=message):
        PaperVenue(**(arguments | settings))


def test_the_venue_fills_on_the_candles_a_live_run_reads() -> None:
    """A replay exchange read through the live run's exchange client: minute 0 closes at 100, so a market buy of
    1 BTC fills at 100.1 on the run's clock; minute 1 (low 97) fills a buy limit at 98 once the clock passes it."""
    market = Market((100, 101, 99, 100), (100, 100, 97, 99), (99, 99, 98, 98.5))
    clock = ReplayClock(datetime(2024, 1, 1, 0, 1, 30, tzinfo=UTC))
    ws.add_exchange(make_replay_exchange("replayed", market.candles, clock))
    exchange = exchange_connections.client("replayed", False, clock.now_ms)
    venue = PaperVenue(
        candles=live_candle_reader(exchange, ws.get_config()),
        clock=clock.now_ms,
        balances={"USDT": 1000.0},
        percent_fee=0.1,
        percent_slippage=0.1,
    )

    async def scenario() -> tuple[OrderRecord, OrderRecord | None, np.ndarray]:
        bought = await venue.place(order("m", "buy", "market", amount=1))
        await venue.place(order("l", "buy", "limit", amount=1, price=98))
        await clock.sleep(60)
        return (
            bought,
            await venue.fetch_order(SYMBOL, "l"),
            await live_candle_reader(exchange, ws.get_config())(SYMBOL, T0, T0 + 2 * MINUTE),
        )

    bought, limit, read = run(scenario())
    assert limit is not None
    assert (bought.average, bought.cost, limit.status, limit.average) == (100.1, 100.1, "closed", 98.0)
    np.testing.assert_array_equal(read, market.candles[:2])
