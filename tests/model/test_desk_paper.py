"""The desk over the real paper venue, with the engine's broker sending through it: monitors, halt, flatten."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from signal_factory import signal_row

from workstation.brokers.errors import verdict_of
from workstation.brokers.orders import Balance, Fill, OrderRecord, client_order_id
from workstation.brokers.paper_venue import PaperVenue
from workstation.brokers.payloads import OrderOpen
from workstation.brokers.route import OrderRoute
from workstation.brokers.signal_broker import SignalBroker
from workstation.desk import FlattenReport, OrderDesk, OrderRefused, RiskLimits
from workstation.models.candles import CANDLE_DTYPE
from workstation.services.live_records import PersistedLiveSignal

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
MINUTE = 60_000
NOW = T0 + 10 * MINUTE + 30_000


class Candles:
    """Ten closed 1m candles of BTC/USDT at 50 000, served as a live exchange would."""

    def __init__(self) -> None:
        self.rows = np.zeros(10, dtype=CANDLE_DTYPE)
        for index in range(10):
            self.rows[index] = (T0 + index * MINUTE, 50_000.0, 50_000.0, 50_000.0, 50_000.0, 1.0)

    async def read(self, symbol: str, since: int, until: int) -> np.ndarray:
        stamps = self.rows["timestamp"]
        served: np.ndarray = self.rows[(stamps >= since) & (stamps < min(until, NOW // MINUTE * MINUTE))]
        return served


class NoCommands:
    """The engine's commands a check would call; none is expected here."""

    async def activate_scheduled(self, symbol: str) -> None:
        raise AssertionError(symbol)

    async def take_profit_filled(self, symbol: str) -> None:
        raise AssertionError(symbol)

    async def stop_loss_filled(self, symbol: str) -> None:
        raise AssertionError(symbol)


def opening(signal_id: str, strategy_name: str) -> OrderOpen:
    return OrderOpen(
        symbol="BTC/USDT",
        signal_id=signal_id,
        position="long",
        strategy_name=strategy_name,
        exchange_name="paper",
        when=NOW,
        kind="active",
        cost=100.0,
        price_open=50_000.0,
        price_take_profit=55_000.0,
        price_stop_loss=48_000.0,
        current_price=50_000.0,
        attempt=0,
    )


def stored(signal_id: str, strategy_name: str) -> PersistedLiveSignal:
    row = signal_row(signal_id, strategy_name=strategy_name).model_copy(update={"symbol": "BTC/USDT"})
    return PersistedLiveSignal(kind="open_position", signal=row)


def test_the_engines_orders_pass_the_desk_to_the_paper_venue_and_flatten_leaves_nothing(tmp_path: Path) -> None:
    venue = PaperVenue(
        candles=Candles().read,
        clock=lambda: NOW,
        balances={"USDT": 1_000.0},
        percent_fee=0.1,
        percent_slippage=0.0,
    )
    desk = OrderDesk(
        venue, limits=RiskLimits(max_open_positions=5), journal_path=tmp_path / "paper.sqlite3", clock=lambda: NOW
    )
    route: OrderRoute = desk
    broker = SignalBroker(route, commands=NoCommands())
    fills: list[Fill] = []
    balances: list[list[Balance]] = []
    halted: list[bool] = []
    desk.fill_added.connect(fills.append)
    desk.balances_changed.connect(balances.append)
    desk.halted_changed.connect(halted.append)

    async def scenario() -> FlattenReport:
        await broker.on_order_open(opening("sig-1", "sma"))
        await broker.on_order_open(opening("sig-2", "rsi"))
        await desk.refresh()
        held = await desk.held_positions([stored("sig-1", "sma"), stored("sig-2", "rsi")])
        assert [(position.signal_id, position.amount, len(position.order_ids)) for position in held] == [
            ("sig-1", 0.002, 2),
            ("sig-2", 0.002, 2),
        ]
        assert (await desk.reconcile(held)).agrees
        assert desk.equity({"BTC/USDT": 51_000.0}) == pytest.approx(799.8 + 0.004 * 51_000.0)
        desk.halt("drawdown")
        with pytest.raises(OrderRefused) as refused:
            await broker.on_order_open(opening("sig-3", "macd"))
        assert verdict_of(refused.value, "gate") == "rejected"
        report = await desk.flatten()
        held = await desk.held_positions([stored("sig-1", "sma"), stored("sig-2", "rsi")])
        assert [(position.amount, position.order_ids) for position in held] == [(0.0, ()), (0.0, ())]
        assert (await desk.reconcile(held)).agrees
        await desk.aclose()
        return report

    report = asyncio.run(scenario())
    entry_1, entry_2 = client_order_id("sig-1", "entry"), client_order_id("sig-2", "entry")
    sold_1 = client_order_id("sig-1", "flatten")
    sold_2 = client_order_id("sig-2", "flatten")
    # Found by the refresh of each reconciliation, in the venue's order.
    assert [(fill.client_order_id, fill.side, fill.amount, fill.price, fill.fee) for fill in fills] == [
        (entry_1, "buy", 0.002, 50_000.0, 0.1),
        (entry_2, "buy", 0.002, 50_000.0, 0.1),
        (sold_1, "sell", 0.002, 50_000.0, 0.1),
        (sold_2, "sell", 0.002, 50_000.0, 0.1),
    ]
    assert desk.fills() == fills[::-1]
    assert balances[0] == [Balance(asset="BTC", free=0.0, used=0.004), Balance(asset="USDT", free=799.8, used=0.0)]
    assert halted == [True]
    assert report.complete
    assert sorted((record.purpose, record.signal_id, record.status) for record in report.cancelled) == [
        ("stop_loss", "sig-1", "canceled"),
        ("stop_loss", "sig-2", "canceled"),
        ("take_profit", "sig-1", "canceled"),
        ("take_profit", "sig-2", "canceled"),
    ]
    assert [(record.signal_id, record.strategy_name, record.filled, record.purpose) for record in report.sold] == [
        ("sig-1", "sma", 0.002, "flatten"),
        ("sig-2", "rsi", 0.002, "flatten"),
    ]
    assert balances[-1] == [Balance(asset="USDT", free=999.6, used=0.0)]
    assert desk.orders()[0].purpose == "flatten"
    assert all(not isinstance(record, OrderRecord) or not record.is_open for record in desk.orders())


def test_a_stop_that_filled_while_the_desk_was_away_is_no_leg_and_no_holding_at_the_restart(tmp_path: Path) -> None:
    # The process ended with the position's stop loss resting; the market fell through it before the restart.
    candles = Candles()
    drop = (T0 + 10 * MINUTE, 50_000.0, 50_000.0, 47_000.0, 47_500.0, 1.0)
    candles.rows = np.concatenate([candles.rows, np.array([drop], dtype=CANDLE_DTYPE)])
    now = [NOW]

    async def read(symbol: str, since: int, until: int) -> np.ndarray:
        stamps = candles.rows["timestamp"]
        served: np.ndarray = candles.rows[(stamps >= since) & (stamps < min(until, now[0] // MINUTE * MINUTE))]
        return served

    venue = PaperVenue(
        candles=read, clock=lambda: now[0], balances={"USDT": 1_000.0}, percent_fee=0.1, percent_slippage=0.0
    )
    journal = tmp_path / "paper.sqlite3"

    async def scenario() -> None:
        before = OrderDesk(venue, limits=RiskLimits(), journal_path=journal, clock=lambda: now[0])
        await SignalBroker(before, commands=NoCommands()).on_order_open(opening("sig-1", "sma"))
        await before.aclose()
        now[0] = NOW + MINUTE
        after = OrderDesk(venue, limits=RiskLimits(), journal_path=journal, clock=lambda: now[0])
        held = await after.held_positions([stored("sig-1", "sma")])
        assert [(position.signal_id, position.amount, position.order_ids) for position in held] == [("sig-1", 0.0, ())]
        reconciliation = await after.reconcile(held)
        assert reconciliation.describe() == "the engine and the venue agree"
        await after.aclose()

    asyncio.run(scenario())


def test_an_open_the_engine_has_not_confirmed_holds_what_its_fills_hold(tmp_path: Path) -> None:
    # Killed inside the open gate after the venue filled the entry: the engine stores no position yet, and tries the
    # open again when it resumes. Left out, the holding would be an orphan; an open the venue never filled holds 0.
    venue = PaperVenue(
        candles=Candles().read, clock=lambda: NOW, balances={"USDT": 1_000.0}, percent_fee=0.1, percent_slippage=0.0
    )
    desk = OrderDesk(venue, limits=RiskLimits(), journal_path=tmp_path / "paper.sqlite3", clock=lambda: NOW)
    filled, never_sent = (stored(signal_id, "sma").signal for signal_id in ("sig-1", "sig-2"))

    async def scenario() -> None:
        await SignalBroker(desk, commands=NoCommands()).on_order_open(opening("sig-1", "sma"))
        alone = await desk.reconcile(await desk.held_positions([]))
        assert [(item.kind, item.amount) for item in alone.disagreements] == [
            ("orphan_order", 0.002),
            ("orphan_order", 0.002),
            ("orphan_holding", 0.002),
        ]
        held = await desk.held_positions([], [filled, never_sent])
        assert [(position.signal_id, position.amount, len(position.order_ids)) for position in held] == [
            ("sig-1", 0.002, 2),
            ("sig-2", 0.0, 0),
        ]
        assert (await desk.reconcile(held)).agrees
        await desk.aclose()

    asyncio.run(scenario())
