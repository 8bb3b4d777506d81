"""SignalBroker: the engine's gates and checks as orders, leg by leg, never sent twice.

Over a scripted venue, the paper venue, the order desk, the live engine with the paper venue, and binance through
ccxt (the fake exchange on 127.0.0.1).

A scripted venue in memory stands behind the route: it fills market orders at the price a test sets, keeps limit
and protective orders resting until a test fills them, records every call in order, and fails a call the way a
test asks (before the venue took the order, or after it took it and the answer was lost).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest

import workstation as ws
from workstation.brokers.ccxt_venue import CcxtVenue
from workstation.brokers.errors import OrderDeletedError, OrderRejectedError, OrderTransientError
from workstation.brokers.orders import MarketRules, OrderRecord, OrderRequest, client_order_id
from workstation.brokers.paper_venue import PaperVenue
from workstation.brokers.payloads import (
    AverageBuy,
    LevelMove,
    OrderCheck,
    OrderClose,
    OrderOpen,
    PartialClose,
    ScheduleCancelled,
)
from workstation.brokers.signal_broker import SignalBroker
from workstation.desk import OrderDesk, OrderRefused, RiskLimits
from workstation.exchanges.api_keys import ApiCredentials
from workstation.exchanges.fake_binance import FAKE_API_KEY, FAKE_BINANCE_OPTIONS, FAKE_SECRET, FakeBinance, Fault
from workstation.models.candles import CANDLE_DTYPE
from workstation.models.pnl import Pnl

SYMBOL = "BTC/USDT"
SIGNAL = "sig-1"
WHEN = 1_704_067_200_000
RULES = MarketRules(
    symbol=SYMBOL,
    base="BTC",
    quote="USDT",
    amount_step=0.00001,
    price_step=0.01,
    min_amount=0.00001,
    min_cost=0.0,
    native_stop_loss=True,
    native_take_profit=False,
)
#: A venue keeping both protective orders as a one-cancels-the-other pair (the paper venue).
BOTH_KEPT = RULES.model_copy(update={"native_take_profit": True})


def leg(name: str, signal_id: str = SIGNAL) -> str:
    return client_order_id(signal_id, name)


_KINDS = ("entry", "exit", "stop_loss", "take_profit", "partial", "average", "flatten", "sell_back")
#: Client order id → the leg's name (``sig-2/entry`` for another signal), so recorded calls read as legs.
LEG_NAMES = {
    leg(numbered, signal): numbered if signal == SIGNAL else f"{signal}/{numbered}"
    for name in _KINDS
    for number in range(1, 6)
    for numbered in [name if number == 1 and name not in ("partial", "average") else f"{name}-{number}"]
    for signal in (SIGNAL, "sig-2")
}

#: The tries of an averaging asked again after one fell short, and the sales back of those that did.
LEG_NAMES |= {
    leg(name): name for name in ("average-2-2", "average-2-3", "average-2-sell_back", "average-2-2-sell_back")
}

Failure = Literal["before", "after"]


class ScriptedVenue:
    """An order route over a venue in memory: exact fills, every call recorded, failures on demand."""

    def __init__(self, rules: MarketRules = RULES, *, price: float = 50000.0, fee_in_base: float = 0.0) -> None:
        self.rules = rules
        self.price = price
        self.fee_in_base = fee_in_base
        self.orders: dict[str, OrderRecord] = {}
        self.calls: list[tuple[str, str]] = []
        self.failures: list[tuple[str, str | None, Failure, Exception]] = []
        self.market_fraction = 1.0
        #: The share a market order of a leg fills (by client order id), in place of ``market_fraction``.
        self.leg_fractions: dict[str, float] = {}
        self._lost: set[str] = set()

    def lose_answer(self, leg_name: str) -> None:
        """Take the next order of ``leg_name`` but lose the answer, and time out the look-up that follows."""
        self._lost.add(leg(leg_name))

    def fail(self, method: str, error: Exception, when: Failure = "before", *, leg_name: str | None = None) -> None:
        """Make the next call of ``method`` (on ``leg_name``) raise ``error`` (``after``: once the venue acted)."""
        self.failures.append((method, None if leg_name is None else leg(leg_name), when, error))

    def _failure(self, method: str, client_order_id: str) -> tuple[Failure, Exception] | None:
        for index, (name, identifier, when, error) in enumerate(self.failures):
            if name == method and identifier in (None, client_order_id):
                del self.failures[index]
                return when, error
        return None

    async def market_rules(self, symbol: str) -> MarketRules:
        assert symbol == SYMBOL
        return self.rules

    async def submit(self, order: OrderRequest) -> OrderRecord:
        self.calls.append(("submit", LEG_NAMES[order.client_order_id]))
        failure = self._failure("submit", order.client_order_id)
        if failure is not None and failure[0] == "before":
            raise failure[1]
        if order.client_order_id in self.orders:
            raise OrderRejectedError(f"duplicate client order id {order.client_order_id}")
        record = self._record(order)
        self.orders[order.client_order_id] = record
        if order.client_order_id in self._lost:
            self._lost.discard(order.client_order_id)
            self.failures.insert(0, ("fetch", order.client_order_id, "before", OrderTransientError("timeout")))
            raise OrderTransientError("timeout")
        if failure is not None:
            raise failure[1]
        return record

    async def cancel(self, symbol: str, client_order_id: str) -> OrderRecord:
        self.calls.append(("cancel", LEG_NAMES[client_order_id]))
        failure = self._failure("cancel", client_order_id)
        if failure is not None and failure[0] == "before":
            raise failure[1]
        record = self.orders[client_order_id]
        if record.is_open:
            record = self.orders[client_order_id] = record.model_copy(update={"status": "canceled"})
        if failure is not None:
            raise failure[1]
        return record

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderRecord | None:
        self.calls.append(("fetch", LEG_NAMES[client_order_id]))
        failure = self._failure("fetch", client_order_id)
        if failure is not None:
            raise failure[1]
        return self.orders.get(client_order_id)

    def fill(self, client_order_id: str, fraction: float = 1.0) -> None:
        """Fill a resting order (``fraction`` of it: it keeps resting for the rest)."""
        record = self.orders[client_order_id]
        filled = record.amount * fraction
        price = record.price or record.trigger_price or self.price
        self.orders[client_order_id] = record.model_copy(
            update={
                "status": "closed" if fraction == 1.0 else "open",
                "filled": filled,
                "average": price,
                "cost": filled * price,
            }
        )

    def cancel_outside(self, client_order_id: str) -> None:
        """Cancel an order on the venue, as a trader on the exchange's website would."""
        self.orders[client_order_id] = self.orders[client_order_id].model_copy(update={"status": "canceled"})

    def _record(self, order: OrderRequest) -> OrderRecord:
        amount = order.amount if order.amount is not None else (order.cost or 0.0) / self.price
        market = order.type == "market"
        fraction = self.leg_fractions.get(order.client_order_id, self.market_fraction)
        filled = amount * fraction if market else 0.0
        fee = self.fee_in_base if market and order.side == "buy" else 0.0
        return OrderRecord(
            client_order_id=order.client_order_id,
            exchange_order_id=f"scripted-{len(self.orders) + 1}",
            symbol=order.symbol,
            side=order.side,
            type=order.type,
            status="closed" if market and fraction == 1.0 else ("expired" if market else "open"),
            amount=amount,
            filled=filled,
            price=order.price,
            trigger_price=order.trigger_price,
            average=self.price if market else None,
            cost=filled * self.price if market else 0.0,
            fee=fee,
            fee_currency="BTC" if fee else None,
            timestamp=WHEN,
            updated=WHEN,
            purpose=order.purpose,
            signal_id=order.signal_id,
            strategy_name=order.strategy_name,
        )

    def resting(self) -> dict[str, tuple[str, float, float | None]]:
        """Return the open orders: client id → (type, amount, trigger or limit price)."""
        return {
            key: (record.type, record.amount, record.trigger_price or record.price)
            for key, record in self.orders.items()
            if record.is_open
        }


class RecordedCommands:
    """The engine's commands a check calls, recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def activate_scheduled(self, symbol: str) -> None:
        self.calls.append(("activate_scheduled", symbol))

    async def take_profit_filled(self, symbol: str) -> None:
        self.calls.append(("take_profit_filled", symbol))

    async def stop_loss_filled(self, symbol: str) -> None:
        self.calls.append(("stop_loss_filled", symbol))


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


def where(**fields: Any) -> dict[str, Any]:
    base = {
        "symbol": SYMBOL,
        "signal_id": SIGNAL,
        "position": "long",
        "strategy_name": "one-shot",
        "exchange_name": "paper",
        "when": WHEN,
    }
    return base | fields


LEVELS = {"price_take_profit": 55000.0, "price_stop_loss": 48000.0}


def opening(kind: Literal["schedule", "active"] = "active", *, attempt: int = 0, **fields: Any) -> OrderOpen:
    values = where() | LEVELS | {"cost": 100.0, "price_open": 50000.0, "current_price": 50000.0}
    return OrderOpen(**values | {"kind": kind, "attempt": attempt} | fields)


def closing(*, attempt: int = 0, entries: int = 1, partials: int = 0, **fields: Any) -> OrderClose:
    pnl = Pnl(pnl_percentage=1.0, pnl_cost=1.0, pnl_entries=100.0, price_open=50000.0, price_close=51000.0, fee_cost=0)
    values = where() | LEVELS | {"cost": 100.0, "current_price": 51000.0, "price_open": 50000.0, "pnl": pnl}
    counts = {"total_entries": entries, "total_partials": partials, "attempt": attempt}
    return OrderClose(**values | counts | {"close_reason": "take_profit"} | fields)


def checking(
    kind: Literal["schedule", "active"] = "active", *, entries: int = 1, partials: int = 0, **fields: Any
) -> OrderCheck:
    values = where() | LEVELS | {"current_price": 50500.0, "price_open": 50000.0, "attempt": 0}
    return OrderCheck(**values | {"kind": kind, "total_entries": entries, "total_partials": partials} | fields)


def changing(**fields: Any) -> dict[str, Any]:
    return where() | LEVELS | {"current_price": 51000.0, "total_entries": 1, "total_partials": 0} | fields


def broker_over(venue: ScriptedVenue, **options: Any) -> tuple[SignalBroker, RecordedCommands]:
    commands = RecordedCommands()
    return SignalBroker(venue, commands=commands, **options), commands


def opened(venue: ScriptedVenue) -> tuple[SignalBroker, RecordedCommands]:
    """A broker whose signal entered at 50000 for 100 USDT (0.002 BTC) with its stop resting; calls forgotten."""
    broker, commands = broker_over(venue)
    run(broker.on_order_open(opening()))
    venue.calls.clear()
    return broker, commands


# -- open ---------------------------------------------------------------------------------------------------------


def test_an_active_open_buys_the_cost_at_market_and_rests_the_stop_for_the_amount_bought() -> None:
    venue = ScriptedVenue()
    broker, _ = broker_over(venue)

    run(broker.on_order_open(opening()))

    assert venue.calls == [("fetch", "entry"), ("submit", "entry"), ("fetch", "stop_loss"), ("submit", "stop_loss")]
    entry = venue.orders[leg("entry")]
    assert (entry.side, entry.type, entry.amount, entry.status, entry.purpose) == (
        "buy",
        "market",
        0.002,
        "closed",
        "entry",
    )
    assert venue.resting() == {leg("stop_loss"): ("stop_loss", 0.002, 48000.0)}


def test_the_protective_orders_the_venue_keeps_rest_and_the_engine_watches_the_others() -> None:
    venue = ScriptedVenue(BOTH_KEPT)
    broker, _ = broker_over(venue)
    run(broker.on_order_open(opening()))
    assert venue.resting() == {
        leg("stop_loss"): ("stop_loss", 0.002, 48000.0),
        leg("take_profit"): ("take_profit", 0.002, 55000.0),
    }

    take_only = ScriptedVenue(RULES.model_copy(update={"native_stop_loss": False, "native_take_profit": True}))
    broker, _ = broker_over(take_only)
    run(broker.on_order_open(opening()))
    assert take_only.resting() == {leg("take_profit"): ("take_profit", 0.002, 55000.0)}

    engine_watched = ScriptedVenue(RULES.model_copy(update={"native_stop_loss": False, "native_take_profit": False}))
    broker, _ = broker_over(engine_watched)
    run(broker.on_order_open(opening()))
    assert engine_watched.resting() == {}
    assert [call for call in engine_watched.calls if call[0] == "submit"] == [("submit", "entry")]


def test_a_short_is_refused_on_a_spot_venue_before_anything_is_sent() -> None:
    venue = ScriptedVenue()
    broker, _ = broker_over(venue)
    with pytest.raises(OrderRejectedError, match="short positions need margin; this venue trades spot"):
        run(broker.on_order_open(opening(position="short")))
    assert venue.calls == []


def test_amount_from_cost_buys_the_cost_at_the_current_price_rounded_down_to_the_step() -> None:
    venue = ScriptedVenue(price=30000.0)
    broker, _ = broker_over(venue, amount_from_cost=True)
    run(broker.on_order_open(opening(current_price=30000.0)))
    assert venue.orders[leg("entry")].amount == 0.00333
    assert venue.resting() == {leg("stop_loss"): ("stop_loss", 0.00333, 48000.0)}


def test_a_cost_below_the_minimum_amount_is_refused_naming_it() -> None:
    venue = ScriptedVenue(RULES.model_copy(update={"min_amount": 0.01}))
    broker, _ = broker_over(venue)
    with pytest.raises(
        OrderRejectedError, match=r"cost=100.0 comes to 0.002 BTC, below the minimum amount 0.01 of BTC/USDT"
    ):
        run(broker.on_order_open(opening("schedule")))
    assert venue.orders == {}


def test_an_answer_lost_after_the_venue_took_the_entry_confirms_the_one_order() -> None:
    venue = ScriptedVenue()
    venue.fail("submit", OrderTransientError("timeout"), "after")
    broker, _ = broker_over(venue)

    run(broker.on_order_open(opening()))

    assert [call for call in venue.calls if call[0] == "submit"] == [
        ("submit", "entry"),
        ("submit", "stop_loss"),
    ]
    assert venue.orders[leg("entry")].filled == 0.002


def test_a_timeout_before_the_venue_took_the_entry_is_transient_and_the_retry_buys_once() -> None:
    venue = ScriptedVenue()
    venue.fail("submit", OrderTransientError("timeout"))
    broker, _ = broker_over(venue)
    with pytest.raises(OrderTransientError, match="timeout"):
        run(broker.on_order_open(opening()))
    assert venue.orders == {}

    run(broker.on_order_open(opening(attempt=1)))
    assert list(venue.orders) == [leg("entry"), leg("stop_loss")]


def test_a_retry_after_a_crash_finds_the_entry_the_first_try_bought() -> None:
    venue = ScriptedVenue()
    run(broker_over(venue)[0].on_order_open(opening()))
    del venue.orders[leg("stop_loss")]  # the crash came before the stop was sent
    venue.calls.clear()

    restarted, _ = broker_over(venue)
    run(restarted.on_order_open(opening(attempt=1)))

    assert [call for call in venue.calls if call[0] == "submit"] == [("submit", "stop_loss")]
    assert venue.resting() == {leg("stop_loss"): ("stop_loss", 0.002, 48000.0)}


def test_a_scheduled_open_rests_a_limit_buy_and_its_retry_looks_it_up_first() -> None:
    venue = ScriptedVenue()
    broker, _ = broker_over(venue)
    run(broker.on_order_open(opening("schedule", price_open=49000.0)))
    assert venue.calls == [("submit", "entry")]
    assert venue.resting() == {leg("entry"): ("limit", 0.00204, 49000.0)}

    venue.calls.clear()
    run(broker.on_order_open(opening("schedule", price_open=49000.0, attempt=1)))
    assert venue.calls == [("fetch", "entry")]


def test_a_scheduled_open_retried_after_its_limit_order_was_cancelled_is_refused() -> None:
    venue = ScriptedVenue()
    broker, _ = broker_over(venue)
    run(broker.on_order_open(opening("schedule", price_open=49000.0)))
    venue.cancel_outside(leg("entry"))
    with pytest.raises(OrderRejectedError, match=f"the order {leg('entry')} ended canceled with nothing filled"):
        run(broker.on_order_open(opening("schedule", price_open=49000.0, attempt=1)))
    assert venue.calls == [("submit", "entry"), ("fetch", "entry")]


def test_the_activation_of_a_scheduled_signal_waits_for_the_limit_order_to_fill() -> None:
    venue = ScriptedVenue()
    broker, _ = broker_over(venue)
    run(broker.on_order_open(opening("schedule", price_open=49000.0)))
    venue.fill(leg("entry"), 0.5)

    with pytest.raises(OrderTransientError, match=r"limit order not filled yet: 0.00102 of 0.00204 BTC filled"):
        run(broker.on_order_open(opening(price_open=49000.0)))
    assert venue.resting() == {leg("entry"): ("limit", 0.00204, 49000.0)}

    venue.fill(leg("entry"))
    run(broker.on_order_open(opening(price_open=49000.0, attempt=1)))
    assert venue.resting() == {leg("stop_loss"): ("stop_loss", 0.00204, 48000.0)}
    assert [call for call in venue.calls if call[0] == "submit"] == [
        ("submit", "entry"),
        ("submit", "stop_loss"),
    ]


def test_an_entry_that_filled_nothing_is_refused() -> None:
    venue = ScriptedVenue()
    venue.market_fraction = 0.0
    broker, _ = broker_over(venue)
    with pytest.raises(OrderRejectedError, match=f"the entry order {leg('entry')} ended expired with nothing filled"):
        run(broker.on_order_open(opening()))


def test_a_partly_filled_entry_is_completed_by_the_next_try_which_buys_only_what_is_missing() -> None:
    venue = ScriptedVenue()
    venue.market_fraction = 0.5
    broker, _ = broker_over(venue)
    with pytest.raises(
        OrderTransientError,
        match=r"^the entry bought 0.001 of 0.002 BTC \(expired\); the rest is bought at the next try$",
    ):
        run(broker.on_order_open(opening()))
    assert venue.resting() == {}

    venue.market_fraction = 1.0
    venue.calls.clear()
    run(broker.on_order_open(opening(attempt=1)))
    # The first leg is kept from the first try; the second is looked up before it is sent.
    assert venue.calls == [("fetch", "entry-2"), ("submit", "entry-2"), ("fetch", "stop_loss"), ("submit", "stop_loss")]
    assert venue.orders[leg("entry-2")].amount == 0.001
    assert venue.resting() == {leg("stop_loss"): ("stop_loss", 0.002, 48000.0)}

    # The close sells what both legs bought, also from a broker that restarted.
    restarted, _ = broker_over(venue)
    run(restarted.on_order_close(closing(attempt=1)))
    assert venue.orders[leg("exit-2")].amount == 0.002


def test_the_second_entry_leg_whose_answer_was_lost_is_found_by_the_next_try_and_bought_once() -> None:
    venue = ScriptedVenue()
    venue.market_fraction = 0.5
    broker, _ = broker_over(venue)
    with pytest.raises(OrderTransientError, match="the rest is bought at the next try"):
        run(broker.on_order_open(opening()))
    venue.market_fraction = 1.0
    venue.lose_answer("entry-2")
    with pytest.raises(OrderTransientError, match="timeout"):
        run(broker.on_order_open(opening(attempt=1)))

    run(broker_over(venue)[0].on_order_open(opening(attempt=2)))
    assert [call for call in venue.calls if call[0] == "submit"] == [
        ("submit", "entry"),
        ("submit", "entry-2"),
        ("submit", "stop_loss"),
    ]
    assert venue.resting() == {leg("stop_loss"): ("stop_loss", 0.002, 48000.0)}


def test_an_entry_still_short_at_the_last_try_of_the_budget_is_sold_back() -> None:
    ws.set_config(order_open_retry_attempts=1)
    venue = ScriptedVenue()
    venue.market_fraction = 0.5
    broker, _ = broker_over(venue)
    with pytest.raises(OrderTransientError, match="the rest is bought at the next try"):
        run(broker.on_order_open(opening()))

    venue.market_fraction = 0.6
    with pytest.raises(
        OrderTransientError,
        match=r"^the entry bought 0.0016 of 0.002 BTC \(expired\) at the last try; sold back 0.00096 of 0.0016 BTC "
        r"\(expired\): the open is given up and the rest is left to the reconciliation$",
    ):
        run(broker.on_order_open(opening(attempt=1)))
    sold_back = venue.orders[leg("sell_back")]
    assert (sold_back.side, sold_back.type, sold_back.amount, sold_back.purpose) == ("sell", "market", 0.0016, "exit")
    assert [call for call in venue.calls if call[0] == "submit"] == [
        ("submit", "entry"),
        ("submit", "entry-2"),
        ("submit", "sell_back"),
    ]
    assert venue.resting() == {}


def test_without_retries_a_partly_filled_entry_is_sold_back_at_once_net_of_the_fee_taken_in_base() -> None:
    ws.set_config(order_open_retry_attempts=0)
    venue = ScriptedVenue(fee_in_base=0.000002)
    venue.market_fraction = 0.5
    broker, _ = broker_over(venue)
    with pytest.raises(
        OrderTransientError,
        match=r"^the entry bought 0.001 of 0.002 BTC \(expired\) at the last try; sold back",
    ):
        run(broker.on_order_open(opening()))
    assert venue.orders[leg("sell_back")].amount == 0.00099
    assert [call[1] for call in venue.calls if call[0] == "submit"] == ["entry", "sell_back"]


def test_a_limit_entry_that_ended_partly_filled_is_refused_and_left_to_the_reconciliation() -> None:
    venue = ScriptedVenue()
    broker, _ = broker_over(venue)
    run(broker.on_order_open(opening("schedule", price_open=49000.0)))
    venue.fill(leg("entry"), 0.5)
    venue.cancel_outside(leg("entry"))

    with pytest.raises(
        OrderRejectedError,
        match=rf"^the limit order {leg('entry')} ended canceled with 0.00102 of 0.00204 BTC filled: the signal is "
        "cancelled, the holding is left to the reconciliation$",
    ):
        run(broker.on_order_open(opening(price_open=49000.0, attempt=1)))
    # Nothing more is bought: the engine cancels the signal and says so, and the fill is the reconciliation's.
    assert [call for call in venue.calls if call[0] == "submit"] == [("submit", "entry")]
    run(broker.on_schedule_cancelled(ScheduleCancelled(**where() | {"reason": "user"})))
    assert [(record.client_order_id, record.filled) for record in broker.unclaimed_fills] == [(leg("entry"), 0.00102)]


def test_a_refused_stop_leaves_the_open_confirmed_and_the_level_to_the_engine() -> None:
    venue = ScriptedVenue()
    venue.fail("submit", OrderRejectedError("stop price would trigger immediately"), leg_name="stop_loss")
    broker, _ = broker_over(venue)

    run(broker.on_order_open(opening()))

    assert venue.orders[leg("entry")].filled == 0.002
    assert venue.resting() == {}
    venue.calls.clear()
    run(broker.on_order_check(checking()))
    assert venue.resting() == {leg("stop_loss"): ("stop_loss", 0.002, 48000.0)}


# -- close --------------------------------------------------------------------------------------------------------


def test_a_close_cancels_the_stop_then_sells_what_the_entry_bought() -> None:
    venue = ScriptedVenue()
    broker, _ = opened(venue)

    run(broker.on_order_close(closing()))

    assert venue.calls == [
        ("fetch", "stop_loss"),
        ("cancel", "stop_loss"),
        ("submit", "exit"),
    ]
    exit_order = venue.orders[leg("exit")]
    assert (exit_order.side, exit_order.type, exit_order.amount, exit_order.purpose) == (
        "sell",
        "market",
        0.002,
        "exit",
    )
    assert venue.resting() == {}


def test_a_close_after_the_stop_filled_sells_nothing() -> None:
    venue = ScriptedVenue()
    broker, _ = opened(venue)
    venue.fill(leg("stop_loss"))

    run(broker.on_order_close(closing(close_reason="stop_loss")))

    assert venue.calls == [("fetch", "stop_loss")]
    assert leg("exit") not in venue.orders


def test_a_close_sells_the_entry_net_of_the_fee_the_venue_took_in_base() -> None:
    venue = ScriptedVenue(fee_in_base=0.000002)
    broker, _ = opened(venue)
    assert venue.resting() == {leg("stop_loss"): ("stop_loss", 0.00199, 48000.0)}
    run(broker.on_order_close(closing()))
    assert venue.orders[leg("exit")].amount == 0.00199


def test_an_exit_that_filled_in_part_is_completed_by_the_next_try_under_its_own_id() -> None:
    venue = ScriptedVenue()
    broker, _ = opened(venue)
    venue.market_fraction = 0.25
    with pytest.raises(OrderTransientError, match=r"the exit sold 0.0005 of 0.002 BTC \(expired\); the next try sells"):
        run(broker.on_order_close(closing()))

    venue.market_fraction = 1.0
    venue.calls.clear()
    run(broker.on_order_close(closing(attempt=1)))
    assert venue.calls == [("fetch", "exit-2"), ("submit", "exit-2")]
    assert venue.orders[leg("exit-2")].amount == 0.0015


def test_a_close_retried_after_its_answer_was_lost_sells_nothing_more() -> None:
    venue = ScriptedVenue()
    broker, _ = opened(venue)
    venue.lose_answer("exit")
    with pytest.raises(OrderTransientError, match="timeout"):
        run(broker.on_order_close(closing()))

    run(broker.on_order_close(closing(attempt=1)))

    assert [call for call in venue.calls if call[0] == "submit"] == [("submit", "exit")]
    assert venue.orders[leg("exit")].filled == 0.002


def test_a_close_of_a_restarted_broker_finds_the_latest_stop_and_sells_the_holding() -> None:
    venue = ScriptedVenue()
    broker, _ = opened(venue)
    run(broker.on_level_move(LevelMove(**changing(kind="trailing_stop", price_stop_loss=49000.0))))
    venue.calls.clear()

    restarted, _ = broker_over(venue)
    run(restarted.on_order_close(closing(attempt=1)))

    assert venue.calls == [
        ("fetch", "exit"),
        ("fetch", "stop_loss"),
        ("fetch", "stop_loss-2"),
        ("fetch", "stop_loss-3"),
        ("cancel", "stop_loss-2"),
        ("fetch", "entry"),
        ("fetch", "exit-2"),
        ("submit", "exit-2"),
    ]
    assert venue.orders[leg("exit-2")].amount == 0.002
    assert venue.resting() == {}


def test_a_check_of_a_restarted_broker_after_a_close_sold_the_holding_puts_no_stop_back() -> None:
    # Killed after the exit sold everything, before the engine booked the close: the restarted run checks the
    # position it still holds before it tries the close again. A stop for the entry's amount would sell coins the
    # position no longer has (someone else's, on an account holding more).
    venue = ScriptedVenue()
    broker, _ = opened(venue)
    run(broker.on_order_close(closing()))
    venue.calls.clear()

    restarted, commands = broker_over(venue)
    run(restarted.on_order_check(checking()))

    assert venue.calls == [
        ("fetch", "entry"),
        ("fetch", "flatten"),
        ("fetch", "stop_loss"),
        ("fetch", "stop_loss-2"),
        ("fetch", "exit"),
        ("fetch", "exit-2"),
    ]
    assert venue.resting() == {}
    assert commands.calls == []


# -- position changes ---------------------------------------------------------------------------------------------


def test_a_partial_close_sells_its_share_of_the_holding_and_the_stop_follows_the_rest() -> None:
    venue = ScriptedVenue()
    broker, _ = opened(venue)

    run(broker.on_partial_close(PartialClose(**changing(kind="profit", percent_to_close=25.0, cost=25.0))))

    assert venue.calls == [
        ("fetch", "stop_loss"),
        ("cancel", "stop_loss"),
        ("fetch", "partial-1"),
        ("submit", "partial-1"),
        ("fetch", "stop_loss-2"),
        ("submit", "stop_loss-2"),
    ]
    assert venue.orders[leg("partial-1")].amount == 0.0005
    assert venue.resting() == {leg("stop_loss-2"): ("stop_loss", 0.0015, 48000.0)}


def test_a_partial_close_the_venue_refused_puts_the_stop_back() -> None:
    venue = ScriptedVenue()
    broker, _ = opened(venue)
    venue.fail("submit", OrderRejectedError("below the minimum notional"))
    with pytest.raises(OrderRejectedError, match="below the minimum notional"):
        run(broker.on_partial_close(PartialClose(**changing(kind="loss", percent_to_close=25.0, cost=25.0))))
    assert venue.resting() == {leg("stop_loss-2"): ("stop_loss", 0.002, 48000.0)}


def test_a_partial_close_after_the_stop_filled_is_refused() -> None:
    venue = ScriptedVenue()
    broker, _ = opened(venue)
    venue.fill(leg("stop_loss"))
    with pytest.raises(OrderRejectedError, match="the stop loss order filled: the venue closed the position"):
        run(broker.on_partial_close(PartialClose(**changing(kind="profit", percent_to_close=25.0, cost=25.0))))
    assert leg("partial-1") not in venue.orders


def test_an_average_buy_buys_its_cost_and_the_stop_covers_the_new_holding() -> None:
    venue = ScriptedVenue()
    broker, _ = opened(venue)
    venue.price = 40000.0

    run(broker.on_average_buy(AverageBuy(**changing(cost=100.0, current_price=40000.0, price_open=50000.0))))

    assert venue.orders[leg("average-2")].amount == 0.0025
    assert venue.resting() == {leg("stop_loss-2"): ("stop_loss", 0.0045, 48000.0)}
    assert venue.calls == [
        ("fetch", "average-2"),
        ("submit", "average-2"),
        ("fetch", "stop_loss"),
        ("cancel", "stop_loss"),
        ("fetch", "stop_loss-2"),
        ("submit", "stop_loss-2"),
    ]


def test_an_average_buy_whose_answer_was_lost_is_not_bought_again() -> None:
    venue = ScriptedVenue()
    broker, _ = opened(venue)
    venue.lose_answer("average-2")
    with pytest.raises(OrderTransientError, match="timeout"):
        run(broker.on_average_buy(AverageBuy(**changing(cost=100.0, price_open=50000.0))))

    run(broker.on_average_buy(AverageBuy(**changing(cost=100.0, price_open=50000.0))))
    assert [call for call in venue.calls if call[0] == "submit"] == [
        ("submit", "average-2"),
        ("submit", "stop_loss-2"),
    ]
    assert venue.resting() == {leg("stop_loss-2"): ("stop_loss", 0.004, 48000.0)}


def test_a_partly_filled_average_buy_is_sold_back_at_once_and_the_same_averaging_asked_again_buys_anew() -> None:
    venue = ScriptedVenue()
    broker, _ = opened(venue)
    venue.price = 40000.0
    venue.leg_fractions[leg("average-2")] = 0.5
    average = AverageBuy(**changing(cost=100.0, current_price=40000.0, price_open=50000.0))
    with pytest.raises(
        OrderTransientError,
        match=r"^the average buy bought 0.00125 of 0.0025 BTC \(expired\); sold back 0.00125 of 0.00125 BTC "
        r"\(closed\): the position is unchanged$",
    ):
        run(broker.on_average_buy(average))
    back = venue.orders[leg("average-2-sell_back")]
    assert (back.side, back.type, back.amount, back.filled, back.purpose) == (
        "sell",
        "market",
        0.00125,
        0.00125,
        "exit",
    )
    # The engine refuses the change: the stop still rests for the holding it had.
    assert venue.resting() == {leg("stop_loss"): ("stop_loss", 0.002, 48000.0)}

    venue.calls.clear()
    run(broker.on_average_buy(average))
    # The first try and its sale back are kept from the first ask: the next try is looked up, then bought.
    assert venue.calls[:3] == [("fetch", "average-2-2"), ("submit", "average-2-2"), ("fetch", "stop_loss")]
    assert venue.orders[leg("average-2-2")].amount == 0.0025
    assert venue.resting() == {leg("stop_loss-2"): ("stop_loss", 0.0045, 48000.0)}

    # Every try and sale back of the averaging counts, also for a broker that restarted.
    restarted, _ = broker_over(venue)
    run(restarted.on_order_close(closing(attempt=1, entries=2)))
    assert venue.orders[leg("exit-2")].amount == 0.0045


def test_an_average_buy_cut_short_before_its_sale_back_is_sold_back_when_the_averaging_is_asked_again() -> None:
    venue = ScriptedVenue()
    broker, _ = opened(venue)
    venue.leg_fractions[leg("average-2")] = 0.5
    venue.fail("submit", OrderTransientError("timeout"), leg_name="average-2-sell_back")
    average = AverageBuy(**changing(cost=100.0, price_open=50000.0))
    with pytest.raises(OrderTransientError, match="timeout"):
        run(broker.on_average_buy(average))
    assert leg("average-2-sell_back") not in venue.orders

    restarted, _ = broker_over(venue)
    run(restarted.on_average_buy(average))
    # The first sale back never reached the venue; asked again, the averaging sells back, then buys anew.
    assert [call[1] for call in venue.calls if call[0] == "submit"] == [
        "average-2",
        "average-2-sell_back",
        "average-2-sell_back",
        "average-2-2",
        "stop_loss-2",
    ]
    assert venue.orders[leg("average-2-sell_back")].filled == 0.001
    assert venue.resting() == {leg("stop_loss-2"): ("stop_loss", 0.004, 48000.0)}


def test_an_average_buy_that_filled_nothing_is_refused_and_asked_again_buys_under_its_next_leg() -> None:
    venue = ScriptedVenue()
    broker, _ = opened(venue)
    venue.market_fraction = 0.0
    average = AverageBuy(**changing(cost=100.0, price_open=50000.0))
    with pytest.raises(OrderRejectedError, match=f"the order {leg('average-2')} ended expired with nothing filled"):
        run(broker.on_average_buy(average))

    venue.market_fraction = 1.0
    run(broker.on_average_buy(average))
    assert [call[1] for call in venue.calls if call[0] == "submit"] == ["average-2", "average-2-2", "stop_loss-2"]
    assert venue.resting() == {leg("stop_loss-2"): ("stop_loss", 0.004, 48000.0)}


def test_a_level_move_replaces_the_stop_and_a_take_profit_move_leaves_it() -> None:
    venue = ScriptedVenue()
    broker, _ = opened(venue)

    run(broker.on_level_move(LevelMove(**changing(kind="breakeven", price_stop_loss=50000.0))))
    assert venue.resting() == {leg("stop_loss-2"): ("stop_loss", 0.002, 50000.0)}
    assert venue.orders[leg("stop_loss")].status == "canceled"

    venue.calls.clear()
    run(broker.on_level_move(LevelMove(**changing(kind="trailing_take", price_stop_loss=50000.0))))
    assert venue.calls == [("fetch", "stop_loss-2")]
    assert venue.resting() == {leg("stop_loss-2"): ("stop_loss", 0.002, 50000.0)}


# -- checks -------------------------------------------------------------------------------------------------------


def test_a_check_reports_a_filled_stop_and_a_filled_take_profit_to_the_engine() -> None:
    venue = ScriptedVenue()
    broker, commands = opened(venue)
    run(broker.on_order_check(checking()))
    assert commands.calls == []

    venue.fill(leg("stop_loss"))
    run(broker.on_order_check(checking()))
    assert commands.calls == [("stop_loss_filled", SYMBOL)]

    take_venue = ScriptedVenue(BOTH_KEPT)
    broker, commands = opened(take_venue)
    take_venue.fill(leg("take_profit"))
    run(broker.on_order_check(checking()))
    assert commands.calls == [("take_profit_filled", SYMBOL)]


def test_a_check_finds_the_entry_gone_from_the_venue() -> None:
    venue = ScriptedVenue()
    opened(venue)
    del venue.orders[leg("entry")]
    restarted, _ = broker_over(venue)
    with pytest.raises(OrderDeletedError, match="the entry order of signal sig-1 is not on the venue"):
        run(restarted.on_order_check(checking()))


def test_a_check_puts_back_a_stop_cancelled_on_the_venue() -> None:
    venue = ScriptedVenue()
    broker, commands = opened(venue)
    venue.cancel_outside(leg("stop_loss"))
    run(broker.on_order_check(checking()))
    assert venue.resting() == {leg("stop_loss-2"): ("stop_loss", 0.002, 48000.0)}
    assert commands.calls == []


def test_a_check_leaves_a_stop_the_venue_spells_within_half_a_step_of_the_holding() -> None:
    venue = ScriptedVenue()
    broker, _ = opened(venue)
    stop = venue.orders[leg("stop_loss")]
    venue.orders[leg("stop_loss")] = stop.model_copy(update={"amount": 0.0020000000001, "trigger_price": 48000.001})
    run(broker.on_order_check(checking()))
    assert venue.calls == [("fetch", "flatten"), ("fetch", "stop_loss")]


def test_a_check_finds_the_position_sold_by_the_kill_switch_and_leaves_the_venue_alone() -> None:
    venue = ScriptedVenue()
    broker, commands = opened(venue)
    # The desk's flatten: every open order cancelled, the holding sold at market under the signal's flatten leg.
    venue.cancel_outside(leg("stop_loss"))
    flatten = OrderRequest(
        client_order_id=leg("flatten"),
        symbol=SYMBOL,
        side="sell",
        type="market",
        amount=0.002,
        purpose="flatten",
        signal_id=SIGNAL,
        strategy_name="sma",
    )
    run(venue.submit(flatten))
    venue.calls.clear()
    with pytest.raises(OrderDeletedError) as deleted:
        run(broker.on_order_check(checking()))
    assert str(deleted.value) == (
        f"the kill switch sold the position's 0.002 BTC at market (order {leg('flatten')}): it is closed on the venue"
    )
    assert venue.calls == [("fetch", "flatten")]
    assert commands.calls == []
    assert venue.resting() == {}


def test_a_scheduled_check_activates_a_filled_limit_order_and_drops_a_cancelled_one() -> None:
    venue = ScriptedVenue()
    broker, commands = broker_over(venue)
    run(broker.on_order_open(opening("schedule", price_open=49000.0)))
    run(broker.on_order_check(checking("schedule")))
    assert commands.calls == []

    venue.fill(leg("entry"))
    run(broker.on_order_check(checking("schedule")))
    assert commands.calls == [("activate_scheduled", SYMBOL)]

    venue.orders[leg("entry")] = venue.orders[leg("entry")].model_copy(update={"status": "canceled", "filled": 0.0})
    restarted, _ = broker_over(venue)
    with pytest.raises(OrderDeletedError, match=r"was canceled on the venue with 0 filled"):
        run(restarted.on_order_check(checking("schedule")))


def test_a_cancelled_schedule_cancels_the_resting_order_or_leaves_a_fill_to_the_reconciliation() -> None:
    venue = ScriptedVenue()
    broker, _ = broker_over(venue)
    run(broker.on_order_open(opening("schedule", price_open=49000.0)))
    payload = ScheduleCancelled(**where() | {"reason": "timeout"})
    run(broker.on_schedule_cancelled(payload))
    assert venue.orders[leg("entry")].status == "canceled"
    assert broker.unclaimed_fills == []

    run(broker.on_order_open(opening("schedule", price_open=49000.0, signal_id="sig-2")))
    venue.fill(leg("entry", "sig-2"))
    run(broker.on_schedule_cancelled(payload.model_copy(update={"signal_id": "sig-2"})))
    assert [record.client_order_id for record in broker.unclaimed_fills] == [leg("entry", "sig-2")]


# -- over the paper venue -----------------------------------------------------------------------------------------

MINUTE = 60_000
PAPER_RULES = RULES.model_copy(update={"native_take_profit": True})


class Market:
    """1m candles from WHEN, served up to the clock (``now``), as a live run's exchange serves them."""

    def __init__(self, *rows: tuple[float, float, float, float]) -> None:
        self.candles = np.zeros(len(rows), dtype=CANDLE_DTYPE)
        for index, (open_, high, low, close) in enumerate(rows):
            self.candles[index] = (WHEN + index * MINUTE, open_, high, low, close, 1.0)
        self.at(1)

    def at(self, minute: int) -> None:
        """Move the clock 30 s into ``minute``: the candles before it are closed."""
        self.now = WHEN + minute * MINUTE + 30_000

    async def read(self, symbol: str, since: int, until: int) -> np.ndarray:
        stamps = self.candles["timestamp"]
        served: np.ndarray = self.candles[(stamps >= since) & (stamps < min(until, self.now // MINUTE * MINUTE))]
        return served


class PaperRoute:
    """The desk's pass-through to a paper venue: every order submitted is recorded; an answer can be lost."""

    def __init__(self, venue: PaperVenue) -> None:
        self.venue = venue
        self.submitted: list[OrderRequest] = []
        self._lost: set[str] = set()

    def lose_answer(self, leg_name: str) -> None:
        """Let the venue take the next order of ``leg_name`` but lose its answer."""
        self._lost.add(leg(leg_name))

    async def submit(self, order: OrderRequest) -> OrderRecord:
        self.submitted.append(order)
        record = await self.venue.place(order)
        if order.client_order_id in self._lost:
            self._lost.discard(order.client_order_id)
            raise OrderTransientError("timeout")
        return record

    async def cancel(self, symbol: str, client_order_id: str) -> OrderRecord:
        return await self.venue.cancel(symbol, client_order_id)

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderRecord | None:
        return await self.venue.fetch_order(symbol, client_order_id)

    async def market_rules(self, symbol: str) -> MarketRules:
        return await self.venue.market_rules(symbol)


def paper_desk(market: Market, usdt: float = 1000.0) -> tuple[PaperVenue, PaperRoute, SignalBroker, RecordedCommands]:
    """A paper account of ``usdt`` (fee 0.1 %, no slippage) on ``market`` and a broker routed to it."""
    venue = PaperVenue(
        candles=market.read,
        clock=lambda: market.now,
        balances={"USDT": usdt},
        percent_fee=0.1,
        percent_slippage=0.0,
        rules=lambda symbol: PAPER_RULES,
    )
    route = PaperRoute(venue)
    commands = RecordedCommands()
    return venue, route, SignalBroker(route, commands=commands), commands


def sent(route: PaperRoute) -> list[tuple[str, str, str, float | None, float | None]]:
    """Return the orders sent as (leg, side, type, amount or cost, limit or trigger price)."""
    return [
        (
            LEG_NAMES[order.client_order_id],
            order.side,
            order.type,
            order.amount if order.amount is not None else order.cost,
            order.price or order.trigger_price,
        )
        for order in route.submitted
    ]


def balances(venue: PaperVenue) -> dict[str, tuple[float, float]]:
    return {balance.asset: (balance.free, balance.used) for balance in run(venue.balances())}


def test_paper_a_market_entry_rests_both_levels_and_the_take_profit_the_venue_filled_closes_with_nothing_sold() -> None:
    market = Market((50000, 50100, 49900, 50000), (50000, 55500, 49950, 55200))
    venue, route, broker, commands = paper_desk(market)

    run(broker.on_order_open(opening()))
    assert sent(route) == [
        ("entry", "buy", "market", 100.0, None),
        ("stop_loss", "sell", "stop_loss", 0.002, 48000.0),
        ("take_profit", "sell", "take_profit", 0.002, 55000.0),
    ]
    assert balances(venue) == {"BTC": (0.0, 0.002), "USDT": (899.9, 0.0)}

    market.at(2)
    run(broker.on_order_check(checking()))
    assert commands.calls == [("take_profit_filled", SYMBOL)]

    run(broker.on_order_close(closing(close_reason="take_profit", current_price=55200.0)))
    assert len(route.submitted) == 3
    assert balances(venue) == {"USDT": (1009.79, 0.0)}


def test_paper_a_limit_entry_fills_is_activated_partly_closed_and_closed_selling_exactly_what_it_bought() -> None:
    market = Market(
        (50000, 50100, 49900, 50000),
        (49500, 49600, 48900, 49100),
        (49100, 50200, 49000, 50000),
        (50000, 51000, 49900, 51000),
    )
    venue, route, broker, commands = paper_desk(market)

    run(broker.on_order_open(opening("schedule", price_open=49000.0)))
    assert balances(venue) == {"USDT": (899.94004, 100.05996)}
    run(broker.on_order_check(checking("schedule", price_open=49000.0)))
    assert commands.calls == []

    market.at(2)
    run(broker.on_order_check(checking("schedule", price_open=49000.0)))
    assert commands.calls == [("activate_scheduled", SYMBOL)]
    run(broker.on_order_open(opening(price_open=49000.0, current_price=50000.0)))

    market.at(3)
    run(broker.on_partial_close(PartialClose(**changing(kind="profit", percent_to_close=50.0, cost=50.0))))
    market.at(4)
    run(broker.on_order_close(closing(partials=1, current_price=51000.0)))

    assert sent(route) == [
        ("entry", "buy", "limit", 0.00204, 49000.0),
        ("stop_loss", "sell", "stop_loss", 0.00204, 48000.0),
        ("take_profit", "sell", "take_profit", 0.00204, 55000.0),
        ("partial-1", "sell", "market", 0.00102, None),
        ("stop_loss-2", "sell", "stop_loss", 0.00102, 48000.0),
        ("take_profit-2", "sell", "take_profit", 0.00102, 55000.0),
        ("exit", "sell", "market", 0.00102, None),
    ]
    # 100.05996 paid for 0.00204 BTC; 51 - 0.051 back for the half at 50000, 52.02 - 0.05202 for the rest at 51000.
    assert balances(venue) == {"USDT": (1002.85702, 0.0)}
    assert run(venue.open_orders()) == []


def test_paper_an_entry_whose_answer_was_lost_is_found_on_the_venue_and_bought_once() -> None:
    market = Market((50000, 50100, 49900, 50000))
    venue, route, broker, _ = paper_desk(market)
    route.lose_answer("entry")
    run(broker.on_order_open(opening()))
    run(broker.on_order_open(opening(attempt=1)))

    assert [name for name, *_ in sent(route)] == ["entry", "stop_loss", "take_profit"]
    assert balances(venue) == {"BTC": (0.0, 0.002), "USDT": (899.9, 0.0)}


def test_paper_an_average_buy_and_a_trailed_stop_after_a_restart_keep_one_pair_for_the_whole_holding() -> None:
    market = Market((50000, 50100, 49900, 50000), (50000, 50100, 39900, 40000), (40000, 41000, 39950, 41000))
    venue, route, broker, _ = paper_desk(market)
    run(broker.on_order_open(opening(price_stop_loss=39000.0)))
    market.at(2)
    average = changing(cost=100.0, current_price=40000.0, price_open=50000.0, price_stop_loss=39000.0)
    run(broker.on_average_buy(AverageBuy(**average)))

    restarted = SignalBroker(route, commands=RecordedCommands())
    move = LevelMove(**changing(kind="trailing_stop", price_stop_loss=39500.0, total_entries=2))
    run(restarted.on_level_move(move))

    assert sent(route)[3:] == [
        ("average-2", "buy", "market", 100.0, None),
        ("stop_loss-2", "sell", "stop_loss", 0.0045, 39000.0),
        ("take_profit-2", "sell", "take_profit", 0.0045, 55000.0),
        ("stop_loss-3", "sell", "stop_loss", 0.0045, 39500.0),
    ]
    assert {record.client_order_id for record in run(venue.open_orders())} == {leg("stop_loss-3"), leg("take_profit-2")}
    assert balances(venue) == {"BTC": (0.0, 0.0045), "USDT": (799.8, 0.0)}


def test_paper_an_order_the_account_cannot_cover_is_refused_by_the_venue() -> None:
    market = Market((50000, 50100, 49900, 50000))
    venue, _, broker, _ = paper_desk(market, usdt=50.0)
    with pytest.raises(
        OrderRejectedError, match=r"paper: insufficient balance for buy 0\.002 BTC/USDT: need 100\.1 USDT"
    ):
        run(broker.on_order_open(opening()))
    assert balances(venue) == {"USDT": (50.0, 0.0)}


# -- through the live engine --------------------------------------------------------------------------------------


def staircase(steps: dict[int, float], count: int = 200) -> np.ndarray:
    """1m candles of BTCUSDT from WHEN at 42000 (±10 wicks), stepping to ``steps[k]`` from candle ``k`` on."""
    candles = np.zeros(count, dtype=CANDLE_DTYPE)
    price = 42000.0
    for index in range(count):
        price = steps.get(index, price)
        candles[index] = (WHEN + index * MINUTE, price, price + 10, price - 10, price, 100.0)
    return candles


def live_over_paper(candles: np.ndarray, signal: ws.Signal, *, until: int) -> tuple[list[Any], PaperVenue, PaperRoute]:
    """Run a one-shot long live from 00:10 to ``until`` (minutes) with a SignalBroker over a paper account of 1000
    USDT (fee 0.1 %, no slippage) filling on the same candles; return the results, the venue and the route."""
    ws.persist.use_memory()
    clock = ws.ReplayClock(datetime.fromtimestamp((WHEN + 10 * MINUTE) / 1000, tz=UTC))
    ws.add_exchange(ws.make_replay_exchange("replayed", candles, clock))
    fired: list[ws.Signal] = []

    def get_signal(symbol: str, when: datetime) -> ws.Signal | None:
        if fired:
            return None
        fired.append(signal)
        return signal

    ws.add_strategy(strategy_name="one-shot", interval="1m", get_signal=get_signal)

    async def read(symbol: str, since: int, until: int) -> np.ndarray:
        stamps = candles["timestamp"]
        served: np.ndarray = candles[(stamps >= since) & (stamps < until)]
        return served

    venue = PaperVenue(candles=read, clock=clock.now_ms, balances={"USDT": 1000.0}, percent_fee=0.1, percent_slippage=0)
    route = PaperRoute(venue)
    end = datetime.fromtimestamp((WHEN + until * MINUTE) / 1000, tz=UTC)

    async def consume() -> list[Any]:
        results = ws.Live.run(
            "BTCUSDT",
            strategy_name="one-shot",
            exchange_name="replayed",
            clock=clock,
            until=end,
            broker=SignalBroker(route),
        )
        return [result async for result in results]

    return asyncio.run(consume()), venue, route


def test_live_a_take_profit_the_paper_venue_filled_closes_the_run_s_position_with_its_reason() -> None:
    long = ws.Signal(position="long", price_take_profit=42420.0, price_stop_loss=41580.0, minute_estimated_time=120)
    results, venue, route = live_over_paper(staircase({30: 42500.0}), long, until=60)

    closed = [result for result in results if result.action == "closed"]
    assert [(result.close_reason, result.pnl.price_close) for result in closed] == [("take_profit", 42420.0)]
    signal_id = closed[0].signal.id
    assert [(order.client_order_id, order.type, order.amount or order.cost) for order in route.submitted] == [
        (leg("entry", signal_id), "market", 100.0),
        (leg("stop_loss", signal_id), "stop_loss", 0.00238095),
        (leg("take_profit", signal_id), "take_profit", 0.00238095),
    ]
    # The take profit filled on the candle of 00:30; the check at 00:31 reported it; the engine closed at 00:32.
    assert [(result.action, result.timestamp) for result in results] == [
        ("opened", WHEN + 10 * MINUTE),
        ("closed", WHEN + 32 * MINUTE),
    ]
    ends = [run(venue.fetch_order("BTCUSDT", order.client_order_id)) for order in route.submitted]
    assert [(end.status, end.updated) for end in ends if end is not None] == [
        ("closed", WHEN + 10 * MINUTE),
        ("canceled", WHEN + 31 * MINUTE),
        ("closed", WHEN + 31 * MINUTE),
    ]
    # 99.9999 + 0.0999999 paid for 0.00238095 BTC at 42000, 100.999899 - 0.100999899 back at 42420.
    assert balances(venue) == {"USDT": (1000.798999201, 0.0)}


def test_live_a_limit_entry_filled_on_the_paper_venue_opens_and_its_expiry_sells_what_it_bought() -> None:
    limit = ws.Signal(
        position="long",
        price_open=41800.0,
        price_take_profit=42300.0,
        price_stop_loss=41500.0,
        minute_estimated_time=30,
    )
    results, venue, route = live_over_paper(staircase({20: 41790.0}), limit, until=90)

    # The limit order filled on the candle of 00:20; the check at 00:21 reported it; the engine opened at 00:22.
    assert [(result.action, result.timestamp, getattr(result, "close_reason", None)) for result in results] == [
        ("scheduled", WHEN + 10 * MINUTE, None),
        ("opened", WHEN + 22 * MINUTE, None),
        ("closed", WHEN + 52 * MINUTE, "time_expired"),
    ]
    assert [
        (order.type, order.side, order.amount, order.price or order.trigger_price) for order in route.submitted
    ] == [
        ("limit", "buy", 0.00239234, 41800.0),
        ("stop_loss", "sell", 0.00239234, 41500.0),
        ("take_profit", "sell", 0.00239234, 42300.0),
        ("market", "sell", 0.00239234, None),
    ]
    ends = [run(venue.fetch_order("BTCUSDT", order.client_order_id)) for order in route.submitted]
    assert [end.status for end in ends if end is not None] == ["closed", "canceled", "canceled", "closed"]
    # 99.999812 + 0.099999812 paid at 41800, 99.9758886 - 0.0999758886 back at 41790.
    assert balances(venue) == {"USDT": (999.7761008994, 0.0)}


# -- over binance through ccxt (the fake exchange on 127.0.0.1) ----------------------------------------------------


class VenueRoute:
    """The desk's pass-through to a venue that is not the paper one."""

    def __init__(self, venue: CcxtVenue) -> None:
        self.venue = venue

    async def submit(self, order: OrderRequest) -> OrderRecord:
        return await self.venue.place(order)

    async def cancel(self, symbol: str, client_order_id: str) -> OrderRecord:
        return await self.venue.cancel(symbol, client_order_id)

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderRecord | None:
        return await self.venue.fetch_order(symbol, client_order_id)

    async def market_rules(self, symbol: str) -> MarketRules:
        return await self.venue.market_rules(symbol)


def over_binance(server: FakeBinance, scenario: Callable[[SignalBroker], Awaitable[None]]) -> RecordedCommands:
    """Run ``scenario`` with a SignalBroker routed to a ccxt binance at ``server`` (timeout 300 ms)."""
    commands = RecordedCommands()

    async def main() -> None:
        venue = CcxtVenue(
            "binance",
            credentials=ApiCredentials(api_key=FAKE_API_KEY, secret=FAKE_SECRET),
            api_url=server.url,
            enableRateLimit=False,
            timeout=300,
            **FAKE_BINANCE_OPTIONS,
        )
        try:
            await scenario(SignalBroker(VenueRoute(venue), commands=commands))
        finally:
            await venue.aclose()

    asyncio.run(main())
    return commands


def binance_at_50000_gapping_to_47000() -> FakeBinance:
    """A fake binance with 1000 USDT, at 50000 from WHEN and 47000 from minute 50, the present at minute 10."""
    candles = staircase({0: 50000.0, 50: 47000.0}, count=100)
    return FakeBinance(candles, present=WHEN + 10 * MINUTE)


def book(server: FakeBinance) -> list[tuple[str, str, str, float, float, float]]:
    """Return the exchange's orders as (leg, type, status, quantity, executed, stop price)."""
    return [
        (
            LEG_NAMES[order.client_order_id],
            order.type,
            order.status,
            order.quantity,
            order.executed_quantity,
            order.stop_price,
        )
        for order in server.orders()
    ]


def test_binance_keeps_the_stop_which_fills_through_a_gap_the_check_reports_and_nothing_is_sold_again() -> None:
    async def scenario(broker: SignalBroker) -> None:
        await broker.on_order_open(opening())
        await broker.on_order_check(checking())
        server.advance_to(WHEN + 55 * MINUTE)
        await broker.on_order_check(checking())
        await broker.on_order_close(closing(close_reason="stop_loss", current_price=47000.0))

    with binance_at_50000_gapping_to_47000() as server:
        commands = over_binance(server, scenario)
        assert book(server) == [
            ("entry", "MARKET", "FILLED", 0.002, 0.002, 0.0),
            ("stop_loss", "STOP_LOSS", "FILLED", 0.002, 0.002, 48000.0),
        ]
        # 100 + 0.1 paid for 0.002 BTC at 50000; 94 - 0.094 back when the stop filled at the gap's 47000.
        assert server.balances()["USDT"].free == 993.806
    assert commands.calls == [("stop_loss_filled", SYMBOL)]


def test_binance_an_entry_whose_answer_was_lost_is_on_the_exchange_once() -> None:
    async def scenario(broker: SignalBroker) -> None:
        await broker.on_order_open(opening())

    with binance_at_50000_gapping_to_47000() as server:
        server.inject(Fault.TIMEOUT_AFTER_ACCEPT)
        over_binance(server, scenario)
        assert server.applied_faults() == [Fault.TIMEOUT_AFTER_ACCEPT]
        assert book(server) == [
            ("entry", "MARKET", "FILLED", 0.002, 0.002, 0.0),
            ("stop_loss", "STOP_LOSS", "NEW", 0.002, 0.0, 48000.0),
        ]


def test_binance_an_exit_filled_in_half_is_completed_by_the_next_try() -> None:
    async def scenario(broker: SignalBroker) -> None:
        await broker.on_order_open(opening())
        server.inject(Fault.PARTIAL_FILL(0.5))
        with pytest.raises(OrderTransientError, match=r"the exit sold 0\.001 of 0\.002 BTC \(expired\)"):
            await broker.on_order_close(closing())
        await broker.on_order_close(closing(attempt=1))

    with binance_at_50000_gapping_to_47000() as server:
        over_binance(server, scenario)
        assert book(server) == [
            ("entry", "MARKET", "FILLED", 0.002, 0.002, 0.0),
            ("stop_loss", "STOP_LOSS", "CANCELED", 0.002, 0.0, 48000.0),
            ("exit", "MARKET", "EXPIRED", 0.002, 0.001, 0.0),
            ("exit-2", "MARKET", "FILLED", 0.001, 0.001, 0.0),
        ]
        assert server.balances()["BTC"].free == 0.0


def test_binance_a_stop_that_fills_while_the_close_cancels_it_is_not_sold_again() -> None:
    async def scenario(broker: SignalBroker) -> None:
        await broker.on_order_open(opening())
        server.inject(Fault.FILL_DURING_CANCEL)
        await broker.on_order_close(closing())

    with binance_at_50000_gapping_to_47000() as server:
        over_binance(server, scenario)
        assert book(server) == [
            ("entry", "MARKET", "FILLED", 0.002, 0.002, 0.0),
            ("stop_loss", "STOP_LOSS", "FILLED", 0.002, 0.002, 48000.0),
        ]
        assert server.balances()["BTC"].free == 0.0


# -- through the order desk ---------------------------------------------------------------------------------------


def test_desk_a_halted_desk_refuses_the_broker_s_entry_and_lets_its_close_through(tmp_path: Path) -> None:
    market = Market((50000, 50100, 49900, 50000), (50000, 50100, 49900, 50500))
    venue = PaperVenue(
        candles=market.read,
        clock=lambda: market.now,
        balances={"USDT": 1000.0},
        percent_fee=0.1,
        percent_slippage=0.0,
        rules=lambda symbol: PAPER_RULES,
    )
    desk = OrderDesk(venue, limits=RiskLimits(), journal_path=tmp_path / "journal.sqlite3", clock=lambda: market.now)
    broker = SignalBroker(desk, commands=RecordedCommands())

    async def scenario() -> None:
        await broker.on_order_open(opening())
        desk.halt("trader pressed Halt")
        with pytest.raises(OrderRefused, match="trader pressed Halt") as refused:
            await broker.on_order_open(opening(signal_id="sig-2"))
        assert isinstance(refused.value, OrderRejectedError)
        market.at(2)
        await broker.on_order_close(closing(current_price=50500.0))
        await desk.aclose()

    run(scenario())
    # Newest first: the protective pair was placed in the entry's minute after the entry, the exit a minute later.
    assert [(LEG_NAMES[order.client_order_id], order.status, order.purpose) for order in desk.orders()] == [
        ("exit", "closed", "exit"),
        ("take_profit", "canceled", "take_profit"),
        ("stop_loss", "canceled", "stop_loss"),
        ("entry", "closed", "entry"),
    ]
    # 100 + 0.1 paid for 0.002 BTC at 50000, 101 - 0.101 back at 50500; the refused entry never reached the venue.
    assert balances(venue) == {"USDT": (1000.799, 0.0)}
