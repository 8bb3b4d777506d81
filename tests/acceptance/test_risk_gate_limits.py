"""Acceptance 3 of issue 16, the risk gate: each limit refuses a live run's entry, naming itself, before it is sent.

tests/model/test_desk.py proves each limit's arithmetic on a scripted venue. Here each refusal happens end to end:
strategies run live through SignalBroker → OrderDesk → CcxtVenue (ccxt's real code path) → the fake binance on
127.0.0.1 (tests/acceptance/desk_live.py). The refusal names the limit, its setting and the value that broke it; the
engine hears it as a rejection (its open is dropped at once, said in an error event naming the signal); and the
refused order never reaches the exchange.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
from desk_market import candles

import workstation as ws
from workstation.brokers.orders import client_order_id

from .desk_live import (
    MINUTE,
    START_MINUTE,
    SYMBOL,
    T0,
    DeskSession,
    Signals,
    add_strategies,
    fake_exchange,
    long_at_market,
    open_session,
)


def signal_id(strategy_name: str, minute: int = START_MINUTE) -> str:
    return f"{strategy_name}:{SYMBOL}:{T0 + minute * MINUTE}"


def rejected_open(strategy_name: str, message: str, minute: int = START_MINUTE) -> str:
    """The error event of an open the desk refused: the engine drops it at once."""
    return (
        f'broker open active of signal "{signal_id(strategy_name, minute)}" ({strategy_name} on {SYMBOL}), '
        f"attempt 0, rejected: the signal is dropped: OrderRefused: {message}"
    )


def assert_never_sent(session: DeskSession, order_id: str) -> None:
    assert order_id not in {order.client_order_id for order in session.exchange.orders()}
    assert order_id not in {order.get("newClientOrderId") for order in session.posted_orders()}


def run_limit(
    tmp_path: Path, limits: ws.RiskLimits, gets: list[Signals], *, market: np.ndarray | None = None, steps: int = 0
) -> tuple[DeskSession, list[ws.OrderRefusal], list[str], list[str]]:
    """Start one live run per ``get_signal`` after the other (each has ticked before the next starts), then step the
    market ``steps`` minutes; return the session, the desk's refusals, the error messages and what stays open."""
    refusals: list[ws.OrderRefusal] = []
    with fake_exchange(market) as exchange:

        async def scenario() -> tuple[DeskSession, list[str]]:
            session = open_session(exchange, tmp_path / "desk.sqlite3", limits)
            session.desk.refused.connect(refusals.append)
            for name in add_strategies(gets):
                session.start([name])
                await session.settle()
            await session.step(steps)
            held = sorted(stored.signal.strategy_name for stored in await ws.Live.persisted())
            await session.stop()
            return session, held

        session, held = asyncio.run(scenario())
    return session, refusals, [error.message for error in session.errors], held


def test_max_order_notional_refuses_an_entry_above_it(tmp_path: Path) -> None:
    limits = ws.RiskLimits(max_order_notional=50.0)
    session, refusals, errors, held = run_limit(tmp_path, limits, [Signals(long_at_market(START_MINUTE))])
    message = "max_order_notional is 50 USDT; this order's notional is 100 USDT"
    assert [(refusal.limit, refusal.message) for refusal in refusals] == [("max_order_notional", message)]
    assert errors == [rejected_open("desk-0", message)]
    assert held == []
    assert session.posted_orders() == []


def test_max_open_positions_refuses_the_entry_of_one_position_too_many(tmp_path: Path) -> None:
    limits = ws.RiskLimits(max_open_positions=2)
    gets = [Signals(long_at_market(START_MINUTE)) for _ in range(3)]
    session, refusals, errors, held = run_limit(tmp_path, limits, gets)
    message = (
        "max_open_positions is 2; the desk holds 2 (desk-0 on BTC/USDT, desk-1 on BTC/USDT), "
        "this order would open desk-2 on BTC/USDT as number 3"
    )
    assert [(refusal.limit, refusal.message) for refusal in refusals] == [("max_open_positions", message)]
    assert errors == [rejected_open("desk-2", message)]
    assert held == ["desk-0", "desk-1"]
    assert_never_sent(session, client_order_id(signal_id("desk-2"), "entry"))
    assert [order["side"] for order in session.posted_orders()] == ["BUY", "SELL"] * 2


def test_max_orders_per_minute_refuses_an_entry_until_the_minute_has_passed(tmp_path: Path) -> None:
    limits = ws.RiskLimits(max_orders_per_minute=2)
    gets = [
        Signals(long_at_market(START_MINUTE)),
        Signals(long_at_market(START_MINUTE), long_at_market(START_MINUTE + 1)),
    ]
    session, refusals, errors, held = run_limit(tmp_path, limits, gets, steps=1)
    # desk-0's market buy and its stop loss were the two orders of minute 60.
    message = "max_orders_per_minute is 2; 2 orders were sent in the last minute, this one would be number 3"
    assert [(refusal.limit, refusal.message) for refusal in refusals] == [("max_orders_per_minute", message)]
    assert errors == [rejected_open("desk-1", message)]
    assert_never_sent(session, client_order_id(signal_id("desk-1"), "entry"))
    # A minute later the window is empty again: desk-1's next signal goes through.
    assert held == ["desk-0", "desk-1"]
    assert [order["newClientOrderId"] for order in session.posted_orders()] == [
        client_order_id(signal_id("desk-0"), "entry"),
        client_order_id(signal_id("desk-0"), "stop_loss"),
        client_order_id(signal_id("desk-1", START_MINUTE + 1), "entry"),
        client_order_id(signal_id("desk-1", START_MINUTE + 1), "stop_loss"),
    ]


def falling_market(drop_minute: int, drop: float) -> np.ndarray:
    """tests/desk_market.py's candles, ``drop`` lower from candle ``drop_minute`` on."""
    rows = candles()
    for column in ("open", "high", "low", "close"):
        rows[column][drop_minute:] -= drop
    return rows


def test_daily_loss_limit_refuses_entries_once_the_day_lost_it(tmp_path: Path) -> None:
    limits = ws.RiskLimits(daily_loss_limit=2.0)
    # After the drop: wide enough for the engine's price, the VWAP of the last five candles across the drop.
    after = ws.Signal(position="long", price_take_profit=42500.0, price_stop_loss=38500.0, minute_estimated_time=240)
    gets = [Signals(long_at_market(START_MINUTE), after)]
    session, refusals, errors, held = run_limit(tmp_path, limits, gets, market=falling_market(62, 1500.0), steps=6)
    # The stop loss filled at candle 62's open, 40531 (the market gapped below 41189.15): bought for 99.6105075 plus
    # a fee of 0.09961051, sold for 96.05847 less 0.09605847, a realised loss of 3.74770648 USDT.
    message = "daily_loss_limit is 2 USDT; the loss since 2024-01-01 00:00 UTC is 3.75 USDT (realised 3.75, open 0.00)"
    assert [(refusal.limit, refusal.message) for refusal in refusals] == [("daily_loss_limit", message)]
    assert errors == [rejected_open("desk-0", message, START_MINUTE + 5)]
    assert held == []
    assert_never_sent(session, client_order_id(signal_id("desk-0", START_MINUTE + 5), "entry"))
    assert [(trade.side, trade.price, trade.quantity) for trade in session.exchange.trades()] == [
        ("BUY", 42029.75, 0.00237),
        ("SELL", 40531.0, 0.00237),
    ]
