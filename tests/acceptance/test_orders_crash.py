"""The orders crash test (acceptance 2 of issue 16): a live run trading on the fake exchange, killed with SIGKILL
at random moments (orders in flight included) and restarted, ends with the exchange's account of the uninterrupted
run, exactly.

The child (tests/integration/orders_crash_child.py) is the engine: ``ws.Live.run`` with a ``SignalBroker`` over an
``OrderDesk`` over a ``CcxtVenue`` pointed at a ``FakeBinance`` that runs here, in the test's process, and survives
every kill. The exchange follows the run's replay clock (the signed requests' ``timestamp``), so every order fills
at the market time the engine decided at, killed or not. The kills are of three kinds, as many of each, in a random
order, each at a random moment of its kind:

* ``random``: a random time after the child's stores are open;
* ``accepted``: the N-th order the exchange accepts (a placement or a cancel), killed by the exchange before the
  answer leaves it: the order is on the exchange, the engine never heard of it;
* ``intent``: the N-th order the desk wrote to its journal, killed by the child right after the write: the intent
  is on disk, the exchange has not seen the order.

An order is *in flight* at a kill when the desk's journal holds it without an answer, or the exchange took it and
the answer never left. After every restart the desk reconciles the engine's positions with the exchange before the
run resumes, and must agree. At the end: no client order id twice on the exchange, every fill of the exchange in the
desk's journal and owned by a signal the engine traded, the engine's closed signals and the exchange's fills and
balances those of the uninterrupted run, and the orders of that run on the exchange with their outcomes (besides them
only stops put back and cancelled again, nothing filled: a restarted check puts back the stop the killed close had
cancelled before it tries the close again; a retried close sells under its try's client id).

The suite kills 12 times; ``-m slow`` kills 50 times on a longer run.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import workstation as ws
from workstation.exchanges.fake_binance import ORDER, FakeBinance
from workstation.services.live_records import unconfirmed_live_opens
from workstation.timeutil import to_ms

from .fixtures import STRATEGY, SYMBOL, ts

CHILD = Path(__file__).parents[1] / "integration" / "orders_crash_child.py"
#: The run killed inside a broker's gate (tests/acceptance/broker_crash_child.py) and its one signal.
BROKER_CHILD = Path(__file__).with_name("broker_crash_child.py")
SIGNAL_ID = f"{STRATEGY}:{SYMBOL}:{ts(10)}"
KINDS = ("random", "accepted", "intent")


def _child_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("orders_crash_child", CHILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


child_module = _child_module()


@dataclass
class Exchange:
    """The fake binance of one run, which kills the child when it has accepted its ``countdown``-th order."""

    server: FakeBinance
    pid: int | None = None
    countdown: int = 0
    killed_after_accepting: list[str] = field(default_factory=list)

    def arm(self, pid: int, countdown: int) -> None:
        self.pid, self.countdown = pid, countdown

    def answer(self, method: str, path: str, raw_query: str, body: str, headers: Any) -> Any:
        answer = FakeBinance.answer(self.server, method, path, raw_query, body, headers)
        if self.countdown and path == ORDER and method in ("POST", "DELETE") and answer.status == 200:
            self.countdown -= 1
            if self.countdown == 0 and self.pid is not None:
                os.kill(self.pid, signal.SIGKILL)
                self.killed_after_accepting.append(method)
                # The answer never leaves: the connection is held until the dead child's socket closes.
                answer.withhold = True
        return answer


def fake_exchange() -> FakeBinance:
    start = to_ms(child_module.START)
    return FakeBinance(
        child_module.market(),
        balances=child_module.BALANCES,
        present=start - child_module.MINUTE_MS,
        follow_client_time=True,
    )


def start_child(folder: Path, url: str, moment: str | None = None) -> subprocess.Popen[str]:
    with (folder / "child.stderr").open("a", encoding="utf-8") as errors:
        child = subprocess.Popen(
            [sys.executable, str(CHILD), str(folder), url, *([] if moment is None else [moment])],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    return child


def last_errors(folder: Path) -> str:
    return (folder / "child.stderr").read_text(encoding="utf-8")[-3000:]


def run_to_end(folder: Path, url: str) -> None:
    with start_child(folder, url) as child:
        out, _ = child.communicate(timeout=300)
    assert child.returncode == 0, last_errors(folder)
    assert out.split() == ["READY", "DONE"]


def unanswered(folder: Path) -> list[str]:
    """Return the client ids of the orders the desk's journal holds without an answer."""
    path = folder / "desk.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT key, value FROM records WHERE entity = 'desk_order'").fetchall()
    return sorted(key for key, value in rows if json.loads(value)["state"] == "pending")


def engine_records(folder: Path, entity: str) -> dict[str, Any]:
    with sqlite3.connect(folder / "state.sqlite3") as db:
        rows = db.execute("SELECT key, value FROM records WHERE entity = ?", (entity,)).fetchall()
    return {key: json.loads(value) for key, value in rows}


def closed_signals(folder: Path) -> list[tuple[Any, ...]]:
    return sorted(
        (
            item["signal"]["id"],
            item["action"],
            item.get("close_reason") or item.get("reason"),
            item["close_timestamp"],
            item["current_price"],
        )
        for item in engine_records(folder, "closed").values()
    )


def reconciliations(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "reconciliations.log").read_text().splitlines()]


def account(server: FakeBinance) -> dict[str, tuple[float, float]]:
    return {asset: (balance.free, balance.locked) for asset, balance in server.balances().items()}


def orders_of(server: FakeBinance) -> list[tuple[Any, ...]]:
    return [
        (order.client_order_id, order.side, order.type, order.status, order.quantity, order.executed_quantity)
        for order in server.orders()
    ]


def outcome(order: tuple[Any, ...]) -> tuple[Any, ...]:
    """Return an order without its client id: side, type, status, quantity and quantity filled."""
    return order[1:]


def trades_of(server: FakeBinance) -> list[tuple[Any, ...]]:
    return [(trade.time, trade.side, trade.price, trade.quantity, trade.commission) for trade in server.trades()]


@dataclass
class Storm:
    """What the kills hit."""

    kinds: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    accepted_unanswered: int = 0
    intents_unsent: int = 0
    stops_put_back: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        return (
            f"orders crash: {sum(self.kinds.values())} kills {dict(self.kinds)}, {self.in_flight} with an order in "
            f"flight ({self.accepted_unanswered} accepted and unanswered, {self.intents_unsent} journalled and "
            f"unsent), {self.stops_put_back} stops put back, {self.seconds:.0f} s"
        )


def kill_again_and_again(tmp_path: Path, kills: int, seed: int) -> Storm:
    reference = tmp_path / "reference"
    reference.mkdir()
    with fake_exchange() as server:
        run_to_end(reference, server.url)
        expected_account = account(server)
        expected_orders = orders_of(server)
        expected_trades = trades_of(server)
    expected_closed = closed_signals(reference)
    assert len(expected_closed) >= 5
    assert sum(order[2] == "LIMIT" for order in expected_orders) >= 3
    assert sum(order[2] == "STOP_LOSS" and order[3] == "FILLED" for order in expected_orders) >= 1

    crashed = tmp_path / "crashed"
    crashed.mkdir()
    storm = Storm()
    moments = random.Random(seed)
    began = time.monotonic()
    with fake_exchange() as server:
        exchange = Exchange(server)
        server.answer = exchange.answer  # type: ignore[method-assign]
        # As many kills of each kind, in a random order (and at random orders or moments within each).
        plan = [KINDS[kill % len(KINDS)] for kill in range(kills)]
        moments.shuffle(plan)
        for kill, kind in enumerate(plan):
            storm.kinds[kind] += 1
            accepted_before = len(exchange.killed_after_accepting)
            if kind == "intent":
                with start_child(crashed, server.url, f"intent:{moments.randint(1, 2)}") as child:
                    child.wait(timeout=300)
            else:
                with start_child(crashed, server.url) as child:
                    assert child.stdout is not None
                    assert child.stdout.readline().strip() == "READY", last_errors(crashed)
                    if kind == "accepted":
                        exchange.arm(child.pid, moments.randint(1, 2))
                        child.wait(timeout=300)
                    else:
                        time.sleep(moments.uniform(0.0, 0.4))
                        os.kill(child.pid, signal.SIGKILL)
                        child.wait(timeout=300)
            exchange.arm(0, 0)
            assert child.returncode == -signal.SIGKILL, (
                f"kill {kill + 1} of {kills} ({kind}) never came (the run ended first?): {last_errors(crashed)}"
            )
            pending = unanswered(crashed)
            accepted = len(exchange.killed_after_accepting) > accepted_before
            on_exchange = {order.client_order_id for order in server.orders()}
            storm.accepted_unanswered += accepted
            storm.intents_unsent += any(order_id not in on_exchange for order_id in pending)
            storm.in_flight += bool(pending) or accepted
            lives = reconciliations(crashed)
            assert all(life["agrees"] for life in lives), lives
        run_to_end(crashed, server.url)
        storm.seconds = time.monotonic() - began

        # After every restart the desk and the exchange agreed before the run went on.
        lives = reconciliations(crashed)
        assert len(lives) >= storm.kinds["accepted"] + storm.kinds["intent"] + 1
        assert all(life["agrees"] for life in lives), [life for life in lives if not life["agrees"]]
        assert all(abs(sum(held[1] for held in life["held"]) - life["btc"]) < 1e-9 for life in lives)
        # No order twice: every client id once on the exchange.
        placed = Counter(order.client_order_id for order in server.orders())
        assert [order_id for order_id, count in placed.items() if count > 1] == []
        # No lost fill: every fill of the exchange is in the desk's journal, of an order of a signal the engine
        # traded (no orphan position).
        summary = json.loads((crashed / "summary.json").read_text())
        assert summary["fills"] == sorted(str(trade.trade_id) for trade in server.trades())
        assert summary["unclaimed"] == []
        traded = {signal_id for signal_id, *_ in closed_signals(crashed)}
        owners = {order_id: signal_id for order_id, _status, _filled, signal_id in summary["orders"]}
        filled = {order.client_order_id for order in server.orders() if order.executed_quantity > 0}
        assert {owners[order_id] for order_id in filled} <= traded
        assert engine_records(crashed, "signal") == {}
        assert engine_records(crashed, "schedule") == {}
        # The same run as the uninterrupted one: its signals, orders, fills and, exactly, its account.
        assert closed_signals(crashed) == expected_closed
        assert trades_of(server) == expected_trades
        assert account(server) == expected_account
        # The orders of the uninterrupted run, with their outcomes. A close retried after a kill sells under the
        # client id of its try (``exit-2``); a restarted run may put back the stop the kill's close had cancelled
        # before it tries the close again, which cancels it: nothing filled.
        outcomes, expected_outcomes = (
            Counter(outcome(order) for order in orders_of(server)),
            Counter(outcome(order) for order in expected_orders),
        )
        assert expected_outcomes - outcomes == Counter()
        extra = outcomes - expected_outcomes
        assert [order for order in extra if order[1:3] != ("STOP_LOSS", "CANCELED") or order[4] != 0] == []
        storm.stops_put_back = sum(extra.values())
    assert unanswered(crashed) == []
    return storm


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_a_run_trading_on_the_exchange_killed_twelve_times_ends_with_the_uninterrupted_account(
    tmp_path: Path,
) -> None:
    storm = kill_again_and_again(tmp_path, 12, seed=20261207)
    print(storm.describe())
    # Every kill of the kinds ``accepted`` and ``intent`` (4 each) hits an order in flight; a random one may.
    assert (storm.accepted_unanswered, storm.intents_unsent) == (4, 4)
    assert storm.in_flight >= 8


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_fifty_kills_at_random_moments_orders_in_flight_included(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("ORDERS_CRASH_HOURS", "72")
    storm = kill_again_and_again(tmp_path, 50, seed=16)
    print(storm.describe())
    assert (storm.accepted_unanswered, storm.intents_unsent) == (17, 16)
    assert storm.in_flight >= 33


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
@pytest.mark.parametrize(("kill_in", "unconfirmed", "stored"), [("open", [SIGNAL_ID], []), ("close", [], [SIGNAL_ID])])
def test_an_open_killed_inside_its_gate_is_held_unconfirmed_until_the_run_resumes(
    tmp_path: Path, kill_in: str, unconfirmed: list[str], stored: list[str]
) -> None:
    # The reconciliation at the restart counts it: the exchange may have filled it, and the resumed run claims it.
    state = tmp_path / "state.sqlite3"
    killed = subprocess.run(
        [sys.executable, str(BROKER_CHILD), str(state), str(tmp_path / "calls.log"), kill_in],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=BROKER_CHILD.parent,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    ws.persist.use_sqlite(state)

    async def held() -> tuple[list[str], list[str]]:
        try:
            opens = [row.id for row in await unconfirmed_live_opens()]
            return opens, [stored.signal.id for stored in await ws.Live.persisted()]
        finally:
            await ws.persist.close_persistence()

    assert asyncio.run(held()) == (unconfirmed, stored)


class Killed(BaseException):
    """The process dies: nothing after it runs."""


class DiesAfterTheEntry:
    """A run's broker, killed right after the venue filled the entry, before the engine heard of it."""

    def __init__(self, broker: ws.SignalBroker) -> None:
        self.broker = broker

    def __getattr__(self, name: str) -> Any:
        return getattr(self.broker, name)

    async def on_order_open(self, payload: ws.OrderOpen) -> None:
        await self.broker.on_order_open(payload)
        raise Killed


def test_a_live_start_after_a_kill_inside_the_open_gate_counts_the_open_the_run_tries_again() -> None:
    # Left out, the entry the venue filled would be an orphan holding and the start refused, while the resumed run
    # would claim it (and an adopted one be counted twice).
    ws.persist.use_memory()
    asked: list[datetime] = []

    async def opener(symbol: str, when: datetime) -> ws.Signal | None:
        asked.append(when)
        if len(asked) > 1:
            return None
        price = await ws.get_average_price(symbol)
        return ws.Signal(
            position="long", price_take_profit=price * 1.2, price_stop_loss=price * 0.8, minute_estimated_time=90
        )

    ws.add_strategy(strategy_name="opener", interval="1m", get_signal=opener)
    request = ws.LiveStartRequest(strategy_name="opener", symbol="BTCUSDT", exchange_name="demo")

    async def killed_and_restarted() -> tuple[list[str], ws.LiveRun]:
        run = await ws.prepare_live_start(request)
        with pytest.raises(Killed):
            async for _ in ws.Live.run(
                run.symbol,
                strategy_name=run.strategy_name,
                exchange_name=run.exchange_name,
                clock=run.clock,
                broker=DiesAfterTheEntry(run.broker),
            ):
                pass
        ws.Live.clear()
        await ws.Desks.close()
        unconfirmed = [row.id for row in await unconfirmed_live_opens()]
        restarted = await ws.prepare_live_start(request)
        await ws.Desks.close()
        return unconfirmed, restarted

    unconfirmed, restarted = asyncio.run(killed_and_restarted())
    reconciliation = restarted.desk.reconciliation
    assert reconciliation is not None and reconciliation.describe() == "the engine and the venue agree"
    assert [(position.signal_id, position.amount > 0) for position in restarted.desk.positions()] == [
        (unconfirmed[0], True)
    ]
