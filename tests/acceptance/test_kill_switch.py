"""Acceptance 3 of issue 16, the kill switch: ten strategies live on the fake binance, then flatten everything.

Ten strategies trade BTC/USDT live through one order desk on one binance venue (ccxt's real code path) to the fake
binance on 127.0.0.1 (tests/acceptance/desk_live.py): seven hold a long position bought at market with its stop loss
resting on the exchange, three a limit buy resting below the market. ``OrderDesk.flatten`` (the kill switch's
"flatten everything") must leave the exchange with no open order and no BTC within 2 s, the test's own deadline; the
engine's strategies learn at their next tick that their positions are closed and their limit orders gone, and the
halted desk refuses the entries they try afterwards: nothing more reaches the exchange.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

import workstation as ws
from workstation.brokers.orders import client_order_id

from .desk_live import (
    MINUTE,
    START_MINUTE,
    SYMBOL,
    T0,
    Signals,
    add_strategies,
    close_of,
    fake_exchange,
    long_at_market,
    long_limit,
    open_session,
)

#: What a market buy of 100 USDT gets at candle 59's close, cut to BTCUSDT's step of 0.00001.
BOUGHT = 0.00237
#: The kill switch's deadline.
DEADLINE_S = 2.0


def test_flatten_leaves_nothing_on_the_exchange_within_2_s_with_ten_strategies_live(tmp_path: Path) -> None:
    at_market = [Signals(long_at_market(START_MINUTE), long_at_market(START_MINUTE + 3)) for _ in range(7)]
    limits = [Signals(long_limit(START_MINUTE), long_limit(START_MINUTE + 3)) for _ in range(3)]
    refusals: list[ws.OrderRefusal] = []

    with fake_exchange() as exchange:

        async def scenario() -> ws.FlattenReport:
            session = open_session(exchange, tmp_path / "desk.sqlite3")
            session.desk.refused.connect(refusals.append)
            names = add_strategies([*at_market, *limits])
            session.start(names)
            await session.settle()
            await session.step(2)

            # Before: seven positions with their stops, three limit buys, all resting on the exchange.
            resting = sorted((order.type, order.side) for order in exchange.orders() if order.status == "NEW")
            assert resting == [("LIMIT", "BUY")] * 3 + [("STOP_LOSS", "SELL")] * 7
            assert exchange.balances()["BTC"].locked == pytest.approx(7 * BOUGHT, abs=1e-12)

            started = time.monotonic()
            report = await asyncio.wait_for(session.desk.flatten(), timeout=DEADLINE_S)
            # Within the deadline, as the exchange itself sees it: no open order, no BTC.
            assert [order for order in exchange.orders() if order.status == "NEW"] == []
            held = {asset: balance for asset, balance in exchange.balances().items() if asset != "USDT"}
            assert all(balance.free + balance.locked < 0.00001 for balance in held.values()), held
            assert time.monotonic() - started < DEADLINE_S

            # The strategies' next ticks: their positions close, their limit orders go, and the entries they try
            # after are refused by the halted desk.
            await session.step(3)
            assert await ws.Live.persisted() == []
            ended = sorted(
                (result.strategy_name, result.action, getattr(result, "close_reason", None) or result.reason)
                for result in session.results
                if result.action in ("closed", "cancelled")
            )
            assert ended == [(f"desk-{n}", "closed", "closed") for n in range(7)] + [
                (f"desk-{n}", "cancelled", "user") for n in range(7, 10)
            ]
            assert [order["side"] for order in session.posted_orders(since=started)] == ["SELL"] * 7
            await session.stop()
            return report

        report = asyncio.run(scenario())
        orders = exchange.orders()
        usdt = exchange.balances()["USDT"]

    assert report.complete
    assert (
        sorted((record.type, record.status) for record in report.cancelled)
        == [("limit", "canceled")] * 3 + [("stop_loss", "canceled")] * 7
    )
    signals = [f"desk-{n}:{SYMBOL}:{T0 + START_MINUTE * MINUTE}" for n in range(7)]
    assert sorted((record.signal_id, record.client_order_id, record.filled) for record in report.sold) == [
        (signal_id, client_order_id(signal_id, "flatten"), BOUGHT) for signal_id in signals
    ]
    # Every entry the strategies tried after the flatten was refused by the kill switch before it was sent.
    assert sorted((refusal.request.strategy_name, refusal.limit) for refusal in refusals) == [
        (f"desk-{n}", "kill_switch") for n in range(10)
    ]
    assert sorted(order.status for order in orders) == ["CANCELED"] * 10 + ["FILLED"] * 14
    # Seven round trips: bought at candle 59's close, sold at candle 61's, 0.1 % fee on each side in whole 1e-8.
    bought, sold = BOUGHT * close_of(START_MINUTE - 1), BOUGHT * close_of(START_MINUTE + 1)
    assert (bought, sold) == (pytest.approx(99.6105075), pytest.approx(99.6128775))
    assert usdt.free == pytest.approx(10_000.0 + 7 * (sold - bought - 0.09961051 - 0.09961288), abs=1e-9)
    assert usdt.locked == 0.0
