"""Issue 16, acceptance 1: real orders end to end, from the live engine to the fake binance through ccxt.

Every test here is a live run of ``one-shot`` (one signal, then none) on the replayed ``ladder`` candles
(SPEC §19.4: ticks of 60 s from 00:10, the price of a tick is the VWAP of the five candles before it) with the whole
execution chain of a real account: ``ws.Live.background(broker=SignalBroker(OrderDesk(CcxtVenue(...))))``, the venue
a ccxt binance pointed at `FakeBinance` on 127.0.0.1 serving the same candles. The run's clock moves the exchange's
market along (tests/market_clock.py): at a tick the newest closed candle is the exchange's present, so a market
order fills at its close with binance's 0.1 % fee in USDT, and resting orders are matched against each candle as it
passes. Each test asserts the orders and fills on the exchange, its balances, the engine's closed signal (prices,
reason, pnl) and the reconciliation of the desk with the exchange once the run is over.

The signal ``L`` buys 100 USDT at market (42000: 0.00238 BTC at binance's step of 0.00001, 99.96 USDT and a fee of
0.09996), stop loss 41580, take profit 42420; ``LL`` rests a limit buy at 41800. binance spot keeps a native stop
loss but cannot back a take profit with the same BTC: the stop rests on the exchange and the engine watches the
take profit (see `workstation.brokers.signal_broker`).

Acceptance 1, point by point, and the tests that prove it (here unless a module is named):

* market entry: `test_a_market_entry_rests_the_stop_on_the_exchange_and_the_watched_take_profit_sells_at_market`;
  tests/integration/test_ccxt_venue.py ``test_market_buy_by_amount_fills_at_the_close_with_its_fee``,
  ``test_market_buy_by_cost_sends_the_quote_amount`` (the venue alone).
* limit entry: `test_a_limit_entry_rests_fills_and_its_native_stop_closes_through_a_gap_with_nothing_sold_again`;
  test_ccxt_venue.py ``test_a_limit_order_rests_then_fills_when_the_market_reaches_it``.
* TP/SL native: the stop in the limit entry's test above; the take profit in
  `test_a_native_take_profit_filled_on_the_exchange_closes_the_position_at_its_level`; test_ccxt_venue.py
  ``test_a_native_stop_loss_rests_on_the_exchange_and_fills_at_its_trigger``,
  ``test_a_take_profit_is_sent_as_the_exchanges_own_order``; tests/model/test_signal_broker.py
  ``test_binance_keeps_the_stop_which_fills_through_a_gap_the_check_reports_and_nothing_is_sold_again``.
* TP/SL engine-watched: the take profit of the market entry's test;
  `test_an_exchange_keeping_no_protective_orders_leaves_both_levels_to_the_engine`; test_ccxt_venue.py
  ``test_without_native_stops_the_engine_watches_the_levels``.
* partial fills: `test_a_partly_filled_entry_and_a_partly_filled_exit_are_completed_at_the_next_tick`,
  `test_an_entry_still_partly_filled_at_its_last_try_is_sold_back_and_dropped`,
  `test_a_partly_filled_average_buy_is_sold_back_and_the_command_refused`; test_ccxt_venue.py
  ``test_a_partial_fill_reports_filled_below_amount``; test_signal_broker.py
  ``test_binance_an_exit_filled_in_half_is_completed_by_the_next_try``,
  ``test_a_partly_filled_entry_is_completed_by_the_next_try_which_buys_only_what_is_missing``,
  ``test_a_limit_entry_that_ended_partly_filled_is_refused_and_left_to_the_reconciliation``.
* partial closes and averaging from the commands:
  `test_averaging_a_partial_close_a_trailing_stop_and_breakeven_from_the_commands_follow_the_exchange`;
  tests/acceptance/test_broker_gates_live.py
  ``test_position_commands_ask_the_broker_first_and_a_refusal_changes_nothing`` (a refusal changes nothing).
* the three error kinds with their retry budgets — transient:
  `test_an_entry_failing_for_now_is_tried_again_with_the_same_id_and_bought_once`,
  `test_an_entry_failing_beyond_its_budget_is_dropped_with_nothing_on_the_exchange`,
  `test_checks_failing_beyond_their_budget_end_the_position_and_the_reconciliation_finds_the_holding`,
  `test_a_close_failing_beyond_its_budget_is_forced_and_the_reconciliation_finds_the_holding`; rejected:
  `test_an_entry_the_exchange_rejects_is_dropped_at_once`; deleted:
  `test_a_limit_order_cancelled_on_the_exchange_cancels_the_signal`; every verdict and budget against a scripted
  broker: tests/acceptance/test_broker_gates_live.py; ccxt's errors as the broker's: test_ccxt_venue.py
  ``test_faults_of_the_exchange_become_broker_errors``, ``test_the_exchange_refusing_an_order_is_a_rejection``.
* a response lost after the order was accepted → exactly one order on the exchange:
  `test_answers_lost_after_the_exchange_took_the_entry_and_the_exit_leave_one_order_of_each` (found within the try),
  `test_an_entry_whose_answer_and_look_up_were_both_lost_is_found_at_the_next_tick_and_bought_once` (found by the
  engine's retry with attempt 1, through the desk's journal); test_ccxt_venue.py
  ``test_a_response_lost_after_the_order_was_accepted_is_found_by_its_client_id``; test_signal_broker.py
  ``test_binance_an_entry_whose_answer_was_lost_is_on_the_exchange_once``; tests/model/test_desk.py
  ``test_a_response_lost_after_the_venue_accepted_is_looked_up_and_never_sent_twice``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from market_clock import MarketClock

import workstation as ws
from workstation.exchanges.api_keys import ApiCredentials
from workstation.exchanges.fake_binance import (
    FAKE_API_KEY,
    FAKE_BINANCE_OPTIONS,
    FAKE_SECRET,
    ORDER,
    FakeBinance,
    Fault,
)

from .fixtures import LL, MINUTE, L, OneShot, add_strategy, at, ladder, signal, ts

SYMBOL = "BTC/USDT"
STRATEGY = "one-shot"
EXCHANGE = "ladder"
#: The signal of every run: ``one-shot`` fires at its first tick, 00:10.
SIGNAL_ID = f"{STRATEGY}:{SYMBOL}:{ts(10)}"
#: The legs a signal's orders can be, by client order id (see workstation.brokers.signal_broker).
LEGS = {
    ws.client_order_id(SIGNAL_ID, name): name
    for name in (
        "entry",
        "exit",
        "exit-2",
        "entry-2",
        "sell_back",
        "average-2",
        "average-2-sell_back",
        "partial-1",
        *(f"stop_loss{suffix}" for suffix in ("", "-2", "-3", "-4", "-5")),
        *(f"take_profit{suffix}" for suffix in ("", "-2")),
    )
}
#: What the account holds at the start, and after a run that bought and sold nothing.
UNTOUCHED = {"USDT": (1000.0, 0.0)}
#: Bought 0.00238 BTC at 42000 for 99.96 + 0.09996, sold at 42500 for 101.15 - 0.10115.
AFTER_SELLING_AT_42500 = {"USDT": (1000.98889, 0.0)}
#: The engine's take profit of ``L``: booked at its level, entry at the VWAP of 00:05-00:09.
TAKE_PROFIT_PNL = ("take_profit", 41999.99999999999, 42420.0, 0.5974035964036354)

Ping = Callable[[str, float], Awaitable[None]]


@dataclass
class Trade:
    """What a run left: the engine's results and error events, the desk's journal, the exchange and the agreement."""

    exchange: FakeBinance
    results: list[Any] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    journal: list[ws.OrderRecord] = field(default_factory=list)
    reconciliation: str = ""

    def summary(self) -> list[tuple[Any, ...]]:
        """Each opened, scheduled, closed and cancelled result as (action, minute, and for a close or a cancel: why
        and, for a close, the engine's entry and exit price and pnl in USDT)."""
        rows: list[tuple[Any, ...]] = []
        for result in self.results:
            row: tuple[Any, ...] = (result.action, minute(result.timestamp))
            if result.action == "closed":
                pnl = result.pnl
                row += (result.close_reason, pnl.price_open, pnl.price_close, pnl.pnl_cost)
            elif result.action == "cancelled":
                row += (result.reason,)
            rows.append(row)
        return rows

    def book(self) -> list[tuple[str, str, str, float, float, float | None]]:
        """The exchange's orders, oldest first, as (leg, type, status, quantity, executed, limit or stop price)."""
        return [
            (
                LEGS[order.client_order_id],
                order.type,
                order.status,
                order.quantity,
                order.executed_quantity,
                order.price or order.stop_price or None,
            )
            for order in self.exchange.orders()
        ]

    def fills(self) -> list[tuple[str, str, float, float, float, int]]:
        """The exchange's fills as (leg, side, price, quantity, fee in USDT, minute of the candle they filled on)."""
        legs = {order.order_id: LEGS[order.client_order_id] for order in self.exchange.orders()}
        return [
            (legs[fill.order_id], fill.side, fill.price, fill.quantity, fill.commission, minute(fill.time))
            for fill in self.exchange.trades()
        ]

    def balances(self) -> dict[str, tuple[float, float]]:
        """The account's (free, locked) per asset it holds."""
        return {asset: (held.free, held.locked) for asset, held in self.exchange.balances().items() if held.total}

    def journalled(self) -> list[tuple[str, str, str, float]]:
        """The desk's orders, newest first, as (leg, purpose, status, filled)."""
        return [(LEGS[order.client_order_id], order.purpose, order.status, order.filled) for order in self.journal]


def minute(timestamp: int) -> int:
    return (timestamp - ts(0)) // MINUTE


def trade(
    exchange: FakeBinance,
    sig: Mapping[str, Any],
    tmp_path: Path,
    *,
    pings: Mapping[str, Mapping[int, Ping]] | None = None,
) -> Trade:
    """Run ``one-shot`` with ``sig`` live from 00:10 to 01:30 on ``exchange`` through the whole chain; return it all.

    ``pings[callback][minute]`` runs in the strategy's ``callback`` (``on_active_ping``, ``on_schedule_ping``) at that
    tick, inside the run's command context.
    """
    ws.persist.use_memory()
    clock = MarketClock(at(10), exchange)
    ws.add_exchange(ws.make_replay_exchange(EXCHANGE, exchange.candles, clock))
    callbacks = {name: _ping(by_minute) for name, by_minute in (pings or {}).items()}
    add_strategy(OneShot(signal(sig)), callbacks=callbacks)
    done = Trade(exchange)
    ws.listen_signal_live(
        lambda result: (
            done.results.append(result) if result.action in ("opened", "scheduled", "closed", "cancelled") else None
        )
    )
    ws.listen_error(lambda error: done.errors.append((error.source, error.message)))

    async def main() -> None:
        venue = ws.CcxtVenue(
            "binance",
            credentials=ApiCredentials(api_key=FAKE_API_KEY, secret=FAKE_SECRET),
            api_url=exchange.url,
            enableRateLimit=False,
            timeout=300,
            **FAKE_BINANCE_OPTIONS,
        )
        desk = ws.OrderDesk(venue, limits=ws.RiskLimits(), journal_path=tmp_path / "desk.sqlite3", clock=clock.now_ms)
        finished = asyncio.Event()
        ws.listen_done_live(lambda _: finished.set())
        try:
            ws.Live.background(
                SYMBOL,
                strategy_name=STRATEGY,
                exchange_name=EXCHANGE,
                clock=clock,
                until=at(90),
                broker=ws.SignalBroker(desk),
            )
            await finished.wait()
            done.journal = desk.orders()
            held = await desk.held_positions(await ws.Live.persisted())
            done.reconciliation = (await desk.reconcile(held)).describe()
        finally:
            await desk.aclose()
            await venue.aclose()

    asyncio.run(main())
    return done


def _ping(by_minute: Mapping[int, Ping]) -> Callable[..., Awaitable[None]]:
    async def ping(symbol: str, row: Any, price: float, when: Any, backtest: bool) -> None:
        for moment, action in by_minute.items():
            if when == at(moment):
                await action(symbol, price)

    return ping


def inject(exchange: FakeBinance, *faults: Fault) -> Ping:
    """A ping injecting ``faults`` into the exchange (they hit the next requests they match)."""

    async def ping(symbol: str, price: float) -> None:
        for fault in faults:
            exchange.inject(fault)

    return ping


def where(gate: str, attempt: int) -> str:
    return f'broker {gate} of signal "{SIGNAL_ID}" ({STRATEGY} on {SYMBOL}), attempt {attempt}, '


def said(trade: Trade) -> list[str]:
    """The broker's error events, each cut after its verdict (the exchange's own words follow a colon)."""
    assert {source for source, _ in trade.errors} <= {"broker"}
    return [message.split(": OrderTransientError")[0].split(": OrderRejectedError")[0] for _, message in trade.errors]


AGREE = "the engine and the venue agree"


# ---------------------------------------------------------------------------------------------------------------
# Entries, and the take profit and stop loss kept by the exchange or watched by the engine
# ---------------------------------------------------------------------------------------------------------------


def test_a_market_entry_rests_the_stop_on_the_exchange_and_the_watched_take_profit_sells_at_market(
    tmp_path: Path,
) -> None:
    with FakeBinance(ladder(steps={20: 42500}), present=ts(9)) as exchange:
        done = trade(exchange, L, tmp_path)
    assert done.summary() == [("opened", 10), ("closed", 25, *TAKE_PROFIT_PNL)]
    assert done.errors == []
    assert done.book() == [
        ("entry", "MARKET", "FILLED", 0.00238, 0.00238, None),
        ("stop_loss", "STOP_LOSS", "CANCELED", 0.00238, 0.0, 41580.0),
        ("exit", "MARKET", "FILLED", 0.00238, 0.00238, None),
    ]
    # The engine books its take profit at the level; the exchange sold at the close of 00:24, above it.
    assert done.fills() == [
        ("entry", "BUY", 42000.0, 0.00238, 0.09996, 9),
        ("exit", "SELL", 42500.0, 0.00238, 0.10115, 24),
    ]
    assert done.balances() == AFTER_SELLING_AT_42500
    assert done.journalled() == [
        ("exit", "exit", "closed", 0.00238),
        ("stop_loss", "stop_loss", "canceled", 0.0),
        ("entry", "entry", "closed", 0.00238),
    ]
    assert done.reconciliation == AGREE


def test_a_limit_entry_rests_fills_and_its_native_stop_closes_through_a_gap_with_nothing_sold_again(
    tmp_path: Path,
) -> None:
    with FakeBinance(ladder(steps={15: 41790, 40: 41400}), present=ts(9)) as exchange:
        done = trade(exchange, LL, tmp_path)
    # The limit buy filled on the candle of 00:15; the check at 00:16 reported it, the engine opened at 00:17. The
    # stop filled on the candle of 00:40 (opening at 41400, below its 41500); the check at 00:41 reported it.
    assert done.summary() == [
        ("scheduled", 10),
        ("opened", 17),
        ("closed", 42, "stop_loss", 41800.0, 41500.0, -1.115153506780291),
    ]
    assert done.errors == []
    assert done.book() == [
        ("entry", "LIMIT", "FILLED", 0.00239, 0.00239, 41800.0),
        ("stop_loss", "STOP_LOSS", "FILLED", 0.00239, 0.00239, 41500.0),
    ]
    assert done.fills() == [
        ("entry", "BUY", 41800.0, 0.00239, 0.099902, 15),
        ("stop_loss", "SELL", 41400.0, 0.00239, 0.098946, 40),
    ]
    # 99.902 + 0.099902 paid at 41800; 98.946 - 0.098946 back at the gap's 41400.
    assert done.balances() == {"USDT": (998.845152, 0.0)}
    assert done.reconciliation == AGREE


def test_a_native_take_profit_filled_on_the_exchange_closes_the_position_at_its_level(tmp_path: Path) -> None:
    # An exchange keeping take profit orders but no stops: the take profit rests there, the engine watches the stop.
    order_types = ("MARKET", "LIMIT", "TAKE_PROFIT")
    with FakeBinance(ladder(steps={20: 42500}), present=ts(9), order_types=order_types) as exchange:
        done = trade(exchange, L, tmp_path)
    # Filled on the candle of 00:20, reported by the check at 00:21, closed by the engine at 00:22.
    assert done.summary() == [("opened", 10), ("closed", 22, *TAKE_PROFIT_PNL)]
    assert done.errors == []
    assert done.book() == [
        ("entry", "MARKET", "FILLED", 0.00238, 0.00238, None),
        ("take_profit", "TAKE_PROFIT", "FILLED", 0.00238, 0.00238, 42420.0),
    ]
    assert done.fills()[1] == ("take_profit", "SELL", 42500.0, 0.00238, 0.10115, 20)
    assert done.balances() == AFTER_SELLING_AT_42500
    assert done.reconciliation == AGREE


def test_an_exchange_keeping_no_protective_orders_leaves_both_levels_to_the_engine(tmp_path: Path) -> None:
    with FakeBinance(ladder(steps={20: 41500}), present=ts(9), order_types=("MARKET", "LIMIT")) as exchange:
        done = trade(exchange, L, tmp_path)
    assert done.summary() == [
        ("opened", 10),
        ("closed", 25, "stop_loss", 41999.99999999999, 41580.0, -1.3966043956043657),
    ]
    assert done.errors == []
    assert done.book() == [
        ("entry", "MARKET", "FILLED", 0.00238, 0.00238, None),
        ("exit", "MARKET", "FILLED", 0.00238, 0.00238, None),
    ]
    assert done.fills()[1] == ("exit", "SELL", 41500.0, 0.00238, 0.09877, 24)
    # 98.77 - 0.09877 back for what cost 99.96 + 0.09996.
    assert done.balances() == {"USDT": (998.61127, 0.0)}
    assert done.reconciliation == AGREE


# ---------------------------------------------------------------------------------------------------------------
# Partial fills, and the position commands of the previous issue
# ---------------------------------------------------------------------------------------------------------------


def test_a_partly_filled_entry_and_a_partly_filled_exit_are_completed_at_the_next_tick(tmp_path: Path) -> None:
    with FakeBinance(ladder(steps={20: 42500}), present=ts(9)) as exchange:
        exchange.inject(Fault.PARTIAL_FILL(0.5))
        done = trade(exchange, L, tmp_path, pings={"on_active_ping": {24: inject(exchange, Fault.PARTIAL_FILL(0.5))}})
    # The entry of 00:10 bought half: the engine opened at 00:11, once entry-2 had bought the rest, with the cost
    # truly bought; the exit of 00:25 sold half and exit-2 the rest at 00:26.
    assert done.summary() == [("opened", 11), ("closed", 26, *TAKE_PROFIT_PNL)]
    assert said(done) == [
        where("open active", 0) + "failed: tried again with the same id at the next tick (try 1 of 6)",
        where("close", 0) + "failed: the position stays open, its close (take_profit) is tried again at the next "
        "tick (try 1 of 6)",
    ]
    assert done.errors[0][1].endswith(
        "OrderTransientError: the entry bought 0.00119 of 0.00238 BTC (expired); the rest is bought at the next try"
    )
    assert done.book() == [
        ("entry", "MARKET", "EXPIRED", 0.00238, 0.00119, None),
        ("entry-2", "MARKET", "FILLED", 0.00119, 0.00119, None),
        ("stop_loss", "STOP_LOSS", "CANCELED", 0.00238, 0.0, 41580.0),
        ("exit", "MARKET", "EXPIRED", 0.00238, 0.00119, None),
        ("stop_loss-2", "STOP_LOSS", "CANCELED", 0.00119, 0.0, 41580.0),
        ("exit-2", "MARKET", "FILLED", 0.00119, 0.00119, None),
    ]
    assert done.fills() == [
        ("entry", "BUY", 42000.0, 0.00119, 0.04998, 9),
        ("entry-2", "BUY", 42000.0, 0.00119, 0.04998, 10),
        ("exit", "SELL", 42500.0, 0.00119, 0.050575, 24),
        ("exit-2", "SELL", 42500.0, 0.00119, 0.050575, 25),
    ]
    # The same money as one whole entry and one whole exit.
    assert done.balances() == AFTER_SELLING_AT_42500
    assert done.reconciliation == AGREE


def test_an_entry_still_partly_filled_at_its_last_try_is_sold_back_and_dropped(tmp_path: Path) -> None:
    ws.set_config(order_open_retry_attempts=1)
    with FakeBinance(ladder(steps={20: 42500}), present=ts(9)) as exchange:
        exchange.inject(Fault.PARTIAL_FILL(0.5))
        exchange.inject(Fault.PARTIAL_FILL(0.5))
        done = trade(exchange, L, tmp_path)
    assert done.summary() == []
    assert said(done) == [
        where("open active", 0) + "failed: tried again with the same id at the next tick (try 1 of 2)",
        where("open active", 1) + "failed 2 times: the signal is dropped",
    ]
    # The engine gives the open up after its last try (attempt 1 of a budget of 1): that try sold back what both
    # entry legs had bought, so the holding does not outlive the signal.
    assert done.errors[1][1].endswith(
        "OrderTransientError: the entry bought 0.00178 of 0.00238 BTC (expired) at the last try; sold back 0.00178 "
        "of 0.00178 BTC (closed): the open is given up"
    )
    assert done.book() == [
        ("entry", "MARKET", "EXPIRED", 0.00238, 0.00119, None),
        ("entry-2", "MARKET", "EXPIRED", 0.00119, 0.00059, None),
        ("sell_back", "MARKET", "FILLED", 0.00178, 0.00178, None),
    ]
    assert done.fills() == [
        ("entry", "BUY", 42000.0, 0.00119, 0.04998, 9),
        ("entry-2", "BUY", 42000.0, 0.00059, 0.02478, 10),
        ("sell_back", "SELL", 42000.0, 0.00178, 0.07476, 10),
    ]
    # Bought and sold at 42000: only the three fees (0.04998 + 0.02478 + 0.07476) are gone.
    assert done.balances() == {"USDT": (999.85048, 0.0)}
    assert done.reconciliation == AGREE


def test_averaging_a_partial_close_a_trailing_stop_and_breakeven_from_the_commands_follow_the_exchange(
    tmp_path: Path,
) -> None:
    answers: list[tuple[str, bool]] = []

    async def average(symbol: str, price: float) -> None:
        answers.append(("average buy", await ws.commit_average_buy(symbol, 100.0)))

    async def take_half_and_trail(symbol: str, price: float) -> None:
        answers.append(("partial profit", await ws.commit_partial_profit(symbol, 50)))
        answers.append(("trailing stop", await ws.commit_trailing_stop(symbol, -0.5, price)))

    async def breakeven(symbol: str, price: float) -> None:
        answers.append(("breakeven", await ws.commit_breakeven(symbol)))

    candles = ladder(steps={12: 41800, 30: 42300, 50: 42500})
    with FakeBinance(candles, present=ts(9)) as exchange:
        done = trade(
            exchange, L, tmp_path, pings={"on_active_ping": {17: average, 36: take_half_and_trail, 45: breakeven}}
        )
    assert answers == [("average buy", True), ("partial profit", True), ("trailing stop", True), ("breakeven", True)]
    # The engine's entry is the mean of 42000 and 41800 weighted by cost; half closed at 42300, the rest at 42420.
    assert done.summary() == [
        ("opened", 10),
        ("closed", 53, "take_profit", 41899.761336515505, 42420.0, 1.3910731879194405),
    ]
    assert done.errors == []
    # Each change replaced the stop on the exchange for what the position held, trailed, then at the breakeven price.
    assert done.book() == [
        ("entry", "MARKET", "FILLED", 0.00238, 0.00238, None),
        ("stop_loss", "STOP_LOSS", "CANCELED", 0.00238, 0.0, 41580.0),
        ("average-2", "MARKET", "FILLED", 0.00239, 0.00239, None),
        ("stop_loss-2", "STOP_LOSS", "CANCELED", 0.00477, 0.0, 41580.0),
        ("partial-1", "MARKET", "FILLED", 0.00238, 0.00238, None),
        ("stop_loss-3", "STOP_LOSS", "CANCELED", 0.00239, 0.0, 41580.0),
        ("stop_loss-4", "STOP_LOSS", "CANCELED", 0.00239, 0.0, 41789.5),
        ("stop_loss-5", "STOP_LOSS", "CANCELED", 0.00239, 0.0, 41899.76),
        ("exit", "MARKET", "FILLED", 0.00239, 0.00239, None),
    ]
    assert done.fills() == [
        ("entry", "BUY", 42000.0, 0.00238, 0.09996, 9),
        ("average-2", "BUY", 41800.0, 0.00239, 0.099902, 16),
        ("partial-1", "SELL", 42300.0, 0.00238, 0.100674, 35),
        ("exit", "SELL", 42500.0, 0.00239, 0.101575, 52),
    ]
    assert done.balances() == {"USDT": (1001.984889, 0.0)}
    assert done.reconciliation == AGREE


def test_a_partly_filled_average_buy_is_sold_back_and_the_command_refused(tmp_path: Path) -> None:
    answers: list[bool] = []

    async def average_half_filled(symbol: str, price: float) -> None:
        exchange.inject(Fault.PARTIAL_FILL(0.5))
        answers.append(await ws.commit_average_buy(symbol, 100.0))

    with FakeBinance(ladder(steps={12: 41800, 20: 42500}), present=ts(9)) as exchange:
        done = trade(exchange, L, tmp_path, pings={"on_active_ping": {17: average_half_filled}})
    # The engine refused the averaging and kept its books; the exchange sold back at once what the half bought.
    assert answers == [False]
    assert done.summary() == [("opened", 10), ("closed", 25, *TAKE_PROFIT_PNL)]
    assert done.errors == [
        (
            "broker",
            where("average buy", 0) + "transient: the average_buy command is refused, the position is unchanged: "
            "OrderTransientError: the average buy bought 0.00119 of 0.00239 BTC (expired); sold back 0.00119 of "
            "0.00119 BTC (closed): the position is unchanged",
        )
    ]
    assert done.book() == [
        ("entry", "MARKET", "FILLED", 0.00238, 0.00238, None),
        ("stop_loss", "STOP_LOSS", "CANCELED", 0.00238, 0.0, 41580.0),
        ("average-2", "MARKET", "EXPIRED", 0.00239, 0.00119, None),
        ("average-2-sell_back", "MARKET", "FILLED", 0.00119, 0.00119, None),
        ("exit", "MARKET", "FILLED", 0.00238, 0.00238, None),
    ]
    assert done.fills() == [
        ("entry", "BUY", 42000.0, 0.00238, 0.09996, 9),
        ("average-2", "BUY", 41800.0, 0.00119, 0.049742, 16),
        ("average-2-sell_back", "SELL", 41800.0, 0.00119, 0.049742, 16),
        ("exit", "SELL", 42500.0, 0.00238, 0.10115, 24),
    ]
    # The round trip at 41800 cost its two fees (2 x 0.049742) and nothing else.
    assert done.balances() == {"USDT": (1000.889406, 0.0)}
    assert done.reconciliation == AGREE


# ---------------------------------------------------------------------------------------------------------------
# The three kinds of error, with their retry budgets
# ---------------------------------------------------------------------------------------------------------------


def test_an_entry_failing_for_now_is_tried_again_with_the_same_id_and_bought_once(tmp_path: Path) -> None:
    with FakeBinance(ladder(steps={20: 42500}), present=ts(9)) as exchange:
        exchange.inject(Fault.HTTP_500)
        exchange.inject(Fault.HTTP_429)
        done = trade(exchange, L, tmp_path)
    assert done.summary() == [("opened", 12), ("closed", 25, *TAKE_PROFIT_PNL)]
    assert said(done) == [
        where("open active", 0) + "failed: tried again with the same id at the next tick (try 1 of 6)",
        where("open active", 1) + "failed: tried again with the same id at the next tick (try 2 of 6)",
    ]
    assert "ExchangeNotAvailable: binance POST" in done.errors[0][1]
    assert "DDoSProtection: binance 429 Too Many Requests" in done.errors[1][1]
    assert done.book() == [
        ("entry", "MARKET", "FILLED", 0.00238, 0.00238, None),
        ("stop_loss", "STOP_LOSS", "CANCELED", 0.00238, 0.0, 41580.0),
        ("exit", "MARKET", "FILLED", 0.00238, 0.00238, None),
    ]
    assert done.fills()[0] == ("entry", "BUY", 42000.0, 0.00238, 0.09996, 11)
    assert done.balances() == AFTER_SELLING_AT_42500
    assert done.reconciliation == AGREE


def test_an_entry_failing_beyond_its_budget_is_dropped_with_nothing_on_the_exchange(tmp_path: Path) -> None:
    ws.set_config(order_open_retry_attempts=1)
    with FakeBinance(ladder(steps={20: 42500}), present=ts(9)) as exchange:
        exchange.inject(Fault.HTTP_500)
        exchange.inject(Fault.HTTP_500)
        done = trade(exchange, L, tmp_path)
    assert done.summary() == []
    assert said(done) == [
        where("open active", 0) + "failed: tried again with the same id at the next tick (try 1 of 2)",
        where("open active", 1) + "failed 2 times: the signal is dropped",
    ]
    assert done.book() == []
    assert done.balances() == UNTOUCHED
    assert done.reconciliation == AGREE


def test_an_entry_the_exchange_rejects_is_dropped_at_once(tmp_path: Path) -> None:
    with FakeBinance(ladder(steps={20: 42500}), present=ts(9)) as exchange:
        exchange.inject(Fault.REJECT)
        done = trade(exchange, L, tmp_path)
    assert done.summary() == []
    assert said(done) == [where("open active", 0) + "rejected: the signal is dropped"]
    assert done.errors[0][1].endswith('InvalidOrder: binance {"code":-2010,"msg":"New order rejected."}')
    assert done.book() == []
    assert done.journalled() == [("entry", "entry", "rejected", 0.0)]
    assert done.balances() == UNTOUCHED
    assert done.reconciliation == AGREE


def test_a_limit_order_cancelled_on_the_exchange_cancels_the_signal(tmp_path: Path) -> None:
    async def cancel_outside(symbol: str, price: float) -> None:
        # The trader cancels the resting order on the exchange's own site (another client, another session).
        outside = ws.CcxtVenue(
            "binance",
            credentials=ApiCredentials(api_key=FAKE_API_KEY, secret=FAKE_SECRET),
            api_url=exchange.url,
            enableRateLimit=False,
            **FAKE_BINANCE_OPTIONS,
        )
        try:
            await outside.cancel(SYMBOL, ws.client_order_id(SIGNAL_ID, "entry"))
        finally:
            await outside.aclose()

    with FakeBinance(ladder(steps={40: 41790}), present=ts(9)) as exchange:
        done = trade(exchange, LL, tmp_path, pings={"on_schedule_ping": {13: cancel_outside}})
    assert done.summary() == [("scheduled", 10), ("cancelled", 14, "user")]
    assert said(done) == [
        where("check schedule", 0) + "the order is gone: the limit order is cancelled: OrderDeletedError: the limit "
        f"order {ws.client_order_id(SIGNAL_ID, 'entry')} of signal {SIGNAL_ID} was canceled on the venue with 0 filled"
    ]
    assert done.book() == [("entry", "LIMIT", "CANCELED", 0.00239, 0.0, 41800.0)]
    assert done.balances() == UNTOUCHED
    assert done.reconciliation == AGREE


def test_checks_failing_beyond_their_budget_end_the_position_and_the_reconciliation_finds_the_holding(
    tmp_path: Path,
) -> None:
    ws.set_config(order_check_retry_attempts=2)
    look_up_fails = Fault.HTTP_500.at("GET", ORDER)
    with FakeBinance(ladder(steps={20: 42500}), present=ts(9)) as exchange:
        done = trade(exchange, L, tmp_path, pings={"on_active_ping": {14: inject(exchange, *[look_up_fails] * 3)}})
    # 19.5: a check failing beyond its budget ends the position as if its order were gone, without the close gate.
    assert done.summary() == [("opened", 10), ("closed", 17, "closed", 41999.99999999999, 42000.0, -0.3996003996003651)]
    assert said(done) == [
        where("check active", 0) + "failed: tolerated (1 of 2 failures in a row)",
        where("check active", 1) + "failed: tolerated (2 of 2 failures in a row)",
        where("check active", 2) + "failed 3 times in a row: the position is closed",
    ]
    # Nothing was sold: the holding and its stop stay on the exchange, and the reconciliation says so.
    assert done.book() == [
        ("entry", "MARKET", "FILLED", 0.00238, 0.00238, None),
        ("stop_loss", "STOP_LOSS", "NEW", 0.00238, 0.0, 41580.0),
    ]
    assert done.balances() == {"USDT": (899.94004, 0.0), "BTC": (0.0, 0.00238)}
    assert done.reconciliation.splitlines() == [
        "BTC/USDT: orphan order: the engine has no position or order it belongs to; the venue rests a stop_loss "
        f"sell order {ws.client_order_id(SIGNAL_ID, 'stop_loss')} of 0.00238",
        "BTC/USDT: orphan holding: the engine holds no BTC; the venue holds 0.00238 BTC",
    ]


def test_a_close_failing_beyond_its_budget_is_forced_and_the_reconciliation_finds_the_holding(
    tmp_path: Path,
) -> None:
    ws.set_config(order_close_retry_attempts=1)
    with FakeBinance(ladder(steps={20: 42500}), present=ts(9)) as exchange:
        done = trade(exchange, L, tmp_path, pings={"on_active_ping": {24: inject(exchange, *[Fault.HTTP_500] * 3)}})
    assert done.summary() == [("opened", 10), ("closed", 26, *TAKE_PROFIT_PNL)]
    # Between the two tries the check put no stop back either (its order failed too, tolerated).
    assert said(done) == [
        where("close", 0) + "failed: the position stays open, its close (take_profit) is tried again at the next "
        "tick (try 1 of 2)",
        where("check active", 0) + "failed: tolerated (1 of 5 failures in a row)",
        where("close", 1) + "failed 2 times: the position is closed (take_profit) without the broker: reconcile the "
        "exchange",
    ]
    # Nothing was sold: the holding stays on the exchange, and the reconciliation says so.
    assert done.book() == [
        ("entry", "MARKET", "FILLED", 0.00238, 0.00238, None),
        ("stop_loss", "STOP_LOSS", "CANCELED", 0.00238, 0.0, 41580.0),
    ]
    assert done.balances() == {"USDT": (899.94004, 0.0), "BTC": (0.00238, 0.0)}
    assert done.reconciliation == "BTC/USDT: orphan holding: the engine holds no BTC; the venue holds 0.00238 BTC"


# ---------------------------------------------------------------------------------------------------------------
# Answers lost after the exchange took the order
# ---------------------------------------------------------------------------------------------------------------


def test_answers_lost_after_the_exchange_took_the_entry_and_the_exit_leave_one_order_of_each(tmp_path: Path) -> None:
    with FakeBinance(ladder(steps={20: 42500}), present=ts(9)) as exchange:
        exchange.inject(Fault.TIMEOUT_AFTER_ACCEPT)
        done = trade(
            exchange, L, tmp_path, pings={"on_active_ping": {24: inject(exchange, Fault.TIMEOUT_AFTER_ACCEPT)}}
        )
        assert exchange.applied_faults() == [Fault.TIMEOUT_AFTER_ACCEPT, Fault.TIMEOUT_AFTER_ACCEPT]
        sent = [request.query["newClientOrderId"] for request in exchange.requests if request.method == "POST"]
    # Each order was sent once: the lost answers were found by looking the client id up, never by sending again.
    assert [LEGS[order_id] for order_id in sent] == ["entry", "stop_loss", "exit"]
    # Both were found within the same try: the engine never knew.
    assert done.summary() == [("opened", 10), ("closed", 25, *TAKE_PROFIT_PNL)]
    assert done.errors == []
    assert done.book() == [
        ("entry", "MARKET", "FILLED", 0.00238, 0.00238, None),
        ("stop_loss", "STOP_LOSS", "CANCELED", 0.00238, 0.0, 41580.0),
        ("exit", "MARKET", "FILLED", 0.00238, 0.00238, None),
    ]
    assert done.balances() == AFTER_SELLING_AT_42500
    assert done.reconciliation == AGREE


def test_an_entry_whose_answer_and_look_up_were_both_lost_is_found_at_the_next_tick_and_bought_once(
    tmp_path: Path,
) -> None:
    with FakeBinance(ladder(steps={20: 42500}), present=ts(9)) as exchange:
        answer = exchange.answer

        def lose_the_look_up_after_the_entry(method: str, path: str, *request: Any) -> Any:
            # The exchange takes the entry and its answer is lost; then the look-up of it fails too.
            if (method, path) == ("POST", ORDER) and not exchange.applied_faults():
                exchange.inject(Fault.TIMEOUT_AFTER_ACCEPT)
                exchange.inject(Fault.HTTP_500.at("GET", ORDER))
            return answer(method, path, *request)

        exchange.answer = lose_the_look_up_after_the_entry  # type: ignore[method-assign]
        done = trade(exchange, L, tmp_path)
        assert exchange.applied_faults() == [Fault.TIMEOUT_AFTER_ACCEPT, Fault.HTTP_500.at("GET", ORDER)]
        sent = [request.query["newClientOrderId"] for request in exchange.requests if request.method == "POST"]
    # The try of 00:10 could not tell; the try of 00:11 (attempt 1) looked the entry up first and found it filled.
    assert done.summary() == [("opened", 11), ("closed", 25, *TAKE_PROFIT_PNL)]
    assert said(done) == [
        where("open active", 0) + "failed: tried again with the same id at the next tick (try 1 of 6)"
    ]
    assert [LEGS[order_id] for order_id in sent] == ["entry", "stop_loss", "exit"]
    assert done.fills() == [
        ("entry", "BUY", 42000.0, 0.00238, 0.09996, 9),
        ("exit", "SELL", 42500.0, 0.00238, 0.10115, 24),
    ]
    assert done.balances() == AFTER_SELLING_AT_42500
    assert done.reconciliation == AGREE
