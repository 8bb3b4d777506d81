"""The broker contract in the live engine (issue 16, 19.5's ``IBroker``): gates, checks, verdicts and budgets.

A scripted broker (it records every call and raises what a test asks, call by call) rides a live run of ``one-shot``
on the replayed ``ladder`` (SPEC §19.4: ticks of 60 s from 00:10, the VWAP of the five candles before each tick).
Each gate's three outcomes are run through the real engine: a confirmed gate changes nothing of today's run, a
transient one is tried again at the next tick with the same signal id and ``attempt + 1`` until its budget is
spent, a rejected one is final at once; a check the broker fails is tolerated up to its budget, a check saying the
order is gone ends the signal at once; a command the broker refuses returns False and changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import workstation as ws
from workstation.manual_commands import perform

from .fixtures import EXCHANGE, LL, STRATEGY, SYMBOL, L, OneShot, add_strategy, at, ladder, run_backtest, ts
from .live_fixtures import LiveRun, register_live

Outcome = BaseException | Callable[[Any], Any] | None


@dataclass
class ScriptedBroker:
    """A broker that records every call as (hook, payload) and answers as scripted.

    ``script[hook]`` lists the outcomes of the hook's calls in order (None: confirm; an exception: raised; a callable:
    called with the payload, then confirm); calls beyond the list confirm.
    """

    script: Mapping[str, list[Outcome]] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    initialised: int = 0

    def of(self, hook: str) -> list[Any]:
        """The payloads of ``hook``'s calls, in order."""
        return [payload for name, payload in self.calls if name == hook]

    async def _answer(self, hook: str, payload: Any) -> None:
        made = len(self.of(hook))
        self.calls.append((hook, payload))
        outcomes = self.script.get(hook, [])
        outcome = outcomes[made] if made < len(outcomes) else None
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome is not None:
            await outcome(payload)

    async def wait_for_init(self) -> None:
        self.initialised += 1

    async def on_order_open(self, payload: ws.OrderOpen) -> None:
        await self._answer("open", payload)

    async def on_order_close(self, payload: ws.OrderClose) -> None:
        await self._answer("close", payload)

    async def on_order_check(self, payload: ws.OrderCheck) -> None:
        await self._answer("check", payload)

    async def on_partial_close(self, payload: ws.BrokerPartialClose) -> None:
        await self._answer("partial", payload)

    async def on_average_buy(self, payload: ws.AverageBuy) -> None:
        await self._answer("average", payload)

    async def on_level_move(self, payload: ws.LevelMove) -> None:
        await self._answer("level", payload)

    async def on_schedule_cancelled(self, payload: ws.ScheduleCancelled) -> None:
        await self._answer("cancelled", payload)


def live(
    sig: Any,
    broker: ScriptedBroker | None,
    *,
    until: int = 179,
    **kwargs: Any,
) -> LiveRun:
    """Run ``one-shot`` live with ``broker`` to the end, on a state of its own in memory; return what it did."""
    ws.persist.use_memory()
    clock, _ = register_live(sig, **kwargs)
    run = LiveRun()
    run.listen()

    async def consume() -> None:
        results = ws.Live.run(
            SYMBOL, strategy_name=STRATEGY, exchange_name=EXCHANGE, clock=clock, until=at(until), broker=broker
        )
        async for result in results:
            run.results.append(result)

    asyncio.run(consume())
    return run


def messages(run: LiveRun) -> list[tuple[str, str]]:
    return [(error.source, error.message) for error in run.errors]


def opens(broker: ScriptedBroker) -> list[tuple[str, str, int, int, float]]:
    return [(p.kind, p.signal_id, p.attempt, p.when, p.current_price) for p in broker.of("open")]


def summary(run: LiveRun) -> list[tuple[Any, ...]]:
    """Each yielded result as (action, tick, price, reason)."""
    return [
        (
            result.action,
            result.timestamp,
            result.current_price,
            getattr(result, "close_reason", None) or getattr(result, "reason", None),
        )
        for result in run.results
    ]


SIGNAL_ID = f"{STRATEGY}:{SYMBOL}:{ts(10)}"
TRANSIENT = ws.OrderTransientError("timeout after 10 s")
REJECTED = ws.OrderRejectedError("insufficient balance")
DELETED = ws.OrderDeletedError("order not found")
#: How an error event quotes ``TRANSIENT``.
TIMEOUT = "OrderTransientError: timeout after 10 s"


def where(gate: str, attempt: int, outcome: str, signal_id: str = SIGNAL_ID) -> str:
    return f'broker {gate} of signal "{signal_id}" ({STRATEGY} on {SYMBOL}), attempt {attempt}, {outcome}'


# ---------------------------------------------------------------------------------------------------------------
# A broker that confirms everything: the run is today's, and the broker hears of every order
# ---------------------------------------------------------------------------------------------------------------


def test_a_confirming_broker_leaves_the_run_as_without_one_and_hears_every_gate_and_check() -> None:
    without = summary(live(L, None, steps={20: 42500}))
    ws.reset()
    ws.set_config(get_candles_retry_delay_ms=0)
    broker = ScriptedBroker()
    run = live(L, broker, steps={20: 42500})
    assert (
        summary(run)
        == without
        == [
            ("opened", ts(10), 42000.0, None),
            ("closed", ts(25), 42420.0, "take_profit"),
        ]
    )
    assert run.errors == []
    assert broker.initialised == 1
    assert [name for name, _ in broker.calls] == ["open"] + ["check"] * 15 + ["close"]
    (opened,) = broker.of("open")
    assert opened == ws.OrderOpen(
        symbol=SYMBOL,
        signal_id=SIGNAL_ID,
        position="long",
        strategy_name=STRATEGY,
        exchange_name=EXCHANGE,
        when=ts(10),
        kind="active",
        cost=100.0,
        price_open=42000.0,
        price_take_profit=42420.0,
        price_stop_loss=41580.0,
        current_price=42000.0,
        attempt=0,
    )
    checks = broker.of("check")
    assert [(c.when, c.kind, c.attempt) for c in checks] == [(ts(m), "active", 0) for m in range(11, 26)]
    (close,) = broker.of("close")
    closed = run.results[-1]
    assert (close.when, close.close_reason, close.current_price, close.attempt) == (ts(25), "take_profit", 42420.0, 0)
    assert (close.cost, close.price_open, close.total_entries, close.total_partials) == (100.0, 42000.0, 1, 0)
    assert close.pnl == closed.pnl


# ---------------------------------------------------------------------------------------------------------------
# The open gates
# ---------------------------------------------------------------------------------------------------------------


def test_a_market_entry_failed_for_now_is_tried_again_with_the_same_id_at_the_next_tick() -> None:
    broker = ScriptedBroker({"open": [TRANSIENT]})
    run = live(L, broker, steps={21: 42500})
    assert opens(broker) == [("active", SIGNAL_ID, 0, ts(10), 42000.0), ("active", SIGNAL_ID, 1, ts(11), 42000.0)]
    opened, closed = run.results
    assert (opened.action, opened.signal.id, opened.timestamp) == ("opened", SIGNAL_ID, ts(11))
    # The position's life counts from its real entry.
    assert (opened.signal.scheduled_at, opened.signal.pending_at, opened.signal.entries[0].timestamp) == (
        ts(11),
        ts(11),
        ts(11),
    )
    assert (closed.close_reason, closed.close_timestamp) == ("take_profit", ts(26))
    assert messages(run) == [
        (
            "broker",
            where(
                "open active",
                0,
                "failed: tried again with the same id at the next tick (try 1 of 6): "
                "OrderTransientError: timeout after 10 s",
            ),
        )
    ]


def test_a_market_entry_failing_beyond_its_budget_is_dropped_and_its_id_spent() -> None:
    ws.set_config(order_open_retry_attempts=2)
    broker = ScriptedBroker({"open": [TRANSIENT, RuntimeError("socket closed"), TRANSIENT]})
    run = live(L, broker)
    assert opens(broker) == [("active", SIGNAL_ID, attempt, ts(10 + attempt), 42000.0) for attempt in range(3)]
    assert run.results == []
    assert messages(run)[-1] == (
        "broker",
        where("open active", 2, "failed 3 times: the signal is dropped: OrderTransientError: timeout after 10 s"),
    )
    assert messages(run)[1] == (
        "broker",
        where(
            "open active",
            1,
            "failed: tried again with the same id at the next tick (try 2 of 3): RuntimeError: socket closed",
        ),
    )
    assert len(run.errors) == 3


def test_a_rejected_market_entry_is_dropped_at_once() -> None:
    broker = ScriptedBroker({"open": [REJECTED]})
    run = live(L, broker)
    assert opens(broker) == [("active", SIGNAL_ID, 0, ts(10), 42000.0)]
    assert run.results == []
    assert messages(run) == [
        (
            "broker",
            where("open active", 0, "rejected: the signal is dropped: OrderRejectedError: insufficient balance"),
        )
    ]


def test_no_open_retries_drop_a_failed_entry_at_once_and_ask_get_signal_again() -> None:
    ws.set_config(order_open_retry_attempts=0)
    broker = ScriptedBroker({"open": [TRANSIENT]})
    clock, one_shot = register_live(L)
    one_shot.every_call = True
    run = LiveRun()
    run.listen()

    async def consume() -> None:
        async for result in ws.Live.run(
            SYMBOL, strategy_name=STRATEGY, exchange_name=EXCHANGE, clock=clock, until=at(12), broker=broker
        ):
            run.results.append(result)

    asyncio.run(consume())
    # 19.5's legacy meaning: no retry, the throttle rolled back, a fresh signal (a new id) at the next tick.
    assert opens(broker)[:2] == [
        ("active", SIGNAL_ID, 0, ts(10), 42000.0),
        ("active", f"{STRATEGY}:{SYMBOL}:{ts(11)}", 0, ts(11), 42000.0),
    ]
    assert run.results[0].signal.id == f"{STRATEGY}:{SYMBOL}:{ts(11)}"
    assert messages(run) == [
        (
            "broker",
            where("open active", 0, f"failed: the signal is dropped (no retries): {TIMEOUT}"),
        )
    ]


def test_a_limit_order_not_placed_for_now_is_placed_again_then_fills_through_the_open_gate() -> None:
    broker = ScriptedBroker({"open": [TRANSIENT]})
    run = live(LL, broker, steps={15: 41800, 25: 42400})
    assert opens(broker) == [
        ("schedule", SIGNAL_ID, 0, ts(10), 42000.0),
        ("schedule", SIGNAL_ID, 1, ts(11), 42000.0),
        ("active", SIGNAL_ID, 0, ts(20), 41800.0),
    ]
    assert summary(run) == [
        ("scheduled", ts(11), 42000.0, None),
        ("opened", ts(20), 41800.0, None),
        ("closed", ts(30), 42300.0, "take_profit"),
    ]
    assert len(run.errors) == 1


def test_a_fill_the_broker_cannot_confirm_yet_keeps_the_order_waiting_then_opens() -> None:
    broker = ScriptedBroker({"open": [None, ws.OrderTransientError("limit order not filled yet")]})
    run = live(LL, broker, steps={15: 41800, 25: 42400})
    assert opens(broker) == [
        ("schedule", SIGNAL_ID, 0, ts(10), 42000.0),
        ("active", SIGNAL_ID, 0, ts(20), 41800.0),
        ("active", SIGNAL_ID, 1, ts(21), 41800.0),
    ]
    assert summary(run)[:2] == [("scheduled", ts(10), 42000.0, None), ("opened", ts(21), 41800.0, None)]
    assert messages(run) == [
        (
            "broker",
            where(
                "open active",
                0,
                "failed: the limit order keeps waiting, its fill is tried again at the next tick (try 1 of 6): "
                "OrderTransientError: limit order not filled yet",
            ),
        )
    ]


def test_a_rejected_fill_cancels_the_limit_order_and_tells_the_broker() -> None:
    broker = ScriptedBroker({"open": [None, REJECTED]})
    run = live(LL, broker, steps={15: 41800})
    assert summary(run) == [("scheduled", ts(10), 42000.0, None), ("cancelled", ts(20), 41800.0, "user")]
    (cancelled,) = broker.of("cancelled")
    assert (cancelled.signal_id, cancelled.reason, cancelled.when) == (SIGNAL_ID, "user", ts(20))
    assert messages(run) == [
        (
            "broker",
            where("open active", 0, "rejected: the limit order is cancelled: OrderRejectedError: insufficient balance"),
        )
    ]


def test_a_limit_order_that_times_out_is_cancelled_on_the_broker_whose_failure_is_only_reported() -> None:
    broker = ScriptedBroker({"cancelled": [RuntimeError("exchange down")]})
    run = live(LL, broker)
    assert summary(run) == [("scheduled", ts(10), 42000.0, None), ("cancelled", ts(130), 42000.0, "timeout")]
    assert [(p.reason, p.when) for p in broker.of("cancelled")] == [("timeout", ts(130))]
    assert messages(run) == [
        (
            "broker",
            where(
                "schedule cancelled",
                0,
                "failed: the order may still rest on the exchange (the reconciliation finds it): "
                "RuntimeError: exchange down",
            ),
        )
    ]


# ---------------------------------------------------------------------------------------------------------------
# The close gate
# ---------------------------------------------------------------------------------------------------------------


def test_a_close_failed_for_now_keeps_the_position_and_closes_at_the_next_tick_with_its_reason() -> None:
    broker = ScriptedBroker({"close": [TRANSIENT]})
    run = live(L, broker, steps={20: 42500})
    assert [(c.when, c.close_reason, c.attempt) for c in broker.of("close")] == [
        (ts(25), "take_profit", 0),
        (ts(26), "take_profit", 1),
    ]
    assert summary(run) == [("opened", ts(10), 42000.0, None), ("closed", ts(26), 42420.0, "take_profit")]
    assert messages(run) == [
        (
            "broker",
            where(
                "close",
                0,
                "failed: the position stays open, its close (take_profit) is tried again at the next tick "
                "(try 1 of 6): OrderTransientError: timeout after 10 s",
            ),
        )
    ]


def test_a_close_failing_beyond_its_budget_is_forced_with_its_original_reason() -> None:
    ws.set_config(order_close_retry_attempts=1)
    broker = ScriptedBroker({"close": [TRANSIENT, TRANSIENT]})
    run = live(L, broker, steps={20: 42500})
    assert [(c.when, c.attempt) for c in broker.of("close")] == [(ts(25), 0), (ts(26), 1)]
    assert summary(run)[-1] == ("closed", ts(26), 42420.0, "take_profit")
    assert messages(run)[-1] == (
        "broker",
        where(
            "close",
            1,
            "failed 2 times: the position is closed (take_profit) without the broker: reconcile the exchange: "
            "OrderTransientError: timeout after 10 s",
        ),
    )


def test_a_rejected_close_is_forced_at_once() -> None:
    broker = ScriptedBroker({"close": [REJECTED]})
    run = live(L, broker)
    assert [(c.when, c.close_reason, c.attempt) for c in broker.of("close")] == [(ts(130), "time_expired", 0)]
    assert summary(run)[-1] == ("closed", ts(130), 42000.0, "time_expired")
    assert messages(run) == [
        (
            "broker",
            where(
                "close",
                0,
                "rejected: the position is closed (time_expired) without the broker: reconcile the exchange: "
                "OrderRejectedError: insufficient balance",
            ),
        )
    ]


def test_without_a_close_budget_a_failed_close_is_tried_until_it_goes_through() -> None:
    ws.set_config(order_close_retry_attempts=0)
    broker = ScriptedBroker({"close": [TRANSIENT] * 8})
    run = live(L, broker, steps={20: 42500})
    assert [c.attempt for c in broker.of("close")] == list(range(9))
    assert summary(run)[-1] == ("closed", ts(33), 42420.0, "take_profit")


# ---------------------------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------------------------


def test_a_position_whose_order_is_gone_closes_at_once_without_the_close_gate() -> None:
    broker = ScriptedBroker({"check": [None, None, DELETED]})
    run = live(L, broker)
    assert summary(run) == [("opened", ts(10), 42000.0, None), ("closed", ts(13), 42000.0, "closed")]
    assert broker.of("close") == []
    assert messages(run) == [
        (
            "broker",
            where("check active", 0, "the order is gone: the position is closed: OrderDeletedError: order not found"),
        )
    ]


def test_failed_checks_are_tolerated_up_to_the_budget_and_a_success_starts_the_count_again() -> None:
    ws.set_config(order_check_retry_attempts=2)
    script: list[Outcome] = [TRANSIENT, TRANSIENT, None, TRANSIENT, TRANSIENT, REJECTED]
    broker = ScriptedBroker({"check": script})
    run = live(L, broker)
    assert [c.attempt for c in broker.of("check")] == [0, 1, 2, 0, 1, 2]
    assert summary(run) == [("opened", ts(10), 42000.0, None), ("closed", ts(16), 42000.0, "closed")]
    assert [m for _, m in messages(run)] == [
        where("check active", 0, f"failed: tolerated (1 of 2 failures in a row): {TIMEOUT}"),
        where("check active", 1, f"failed: tolerated (2 of 2 failures in a row): {TIMEOUT}"),
        where("check active", 0, f"failed: tolerated (1 of 2 failures in a row): {TIMEOUT}"),
        where("check active", 1, f"failed: tolerated (2 of 2 failures in a row): {TIMEOUT}"),
        # A rejection raised by a check counts as transient (19.5).
        where(
            "check active",
            2,
            "failed 3 times in a row: the position is closed: OrderRejectedError: insufficient balance",
        ),
    ]


def test_a_limit_order_cancelled_outside_is_cancelled_with_reason_user() -> None:
    broker = ScriptedBroker({"check": [DELETED]})
    run = live(LL, broker)
    assert summary(run) == [("scheduled", ts(10), 42000.0, None), ("cancelled", ts(11), 42000.0, "user")]
    assert [(c.kind, c.when) for c in broker.of("check")] == [("schedule", ts(11))]
    assert [(p.reason, p.when) for p in broker.of("cancelled")] == [("user", ts(11))]


def test_a_take_profit_filled_on_the_exchange_closes_at_the_next_tick_at_its_level_without_the_close_gate() -> None:
    async def filled(payload: ws.OrderCheck) -> None:
        if payload.when == ts(15):
            await ws.commit_create_take_profit(SYMBOL, id="tp-fill-1")

    commits: list[Any] = []
    ws.listen_commit(commits.append)
    broker = ScriptedBroker({"check": [None] * 4 + [filled]})
    run = live(L, broker)
    assert summary(run) == [("opened", ts(10), 42000.0, None), ("closed", ts(16), 42420.0, "take_profit")]
    assert broker.of("close") == []
    assert [(c.action, c.timestamp, c.close_id, c.current_price) for c in commits] == [
        ("close-pending", ts(16), "tp-fill-1", 42420.0)
    ]
    assert run.errors == []


def test_a_stop_loss_filled_on_the_exchange_closes_with_reason_stop_loss() -> None:
    async def filled(payload: ws.OrderCheck) -> None:
        await ws.commit_create_stop_loss(SYMBOL)

    broker = ScriptedBroker({"check": [filled]})
    run = live(L, broker)
    assert summary(run) == [("opened", ts(10), 42000.0, None), ("closed", ts(12), 41580.0, "stop_loss")]
    assert broker.of("close") == []


def test_a_limit_order_filled_on_the_exchange_opens_at_the_next_tick() -> None:
    async def filled(payload: ws.OrderCheck) -> None:
        await ws.commit_activate_scheduled(SYMBOL)

    broker = ScriptedBroker({"check": [None, filled]})
    run = live(LL, broker)
    assert summary(run)[:2] == [("scheduled", ts(10), 42000.0, None), ("opened", ts(13), 41800.0, None)]
    assert opens(broker)[1] == ("active", SIGNAL_ID, 0, ts(13), 42000.0)
    assert run.errors == []


# ---------------------------------------------------------------------------------------------------------------
# The position commands
# ---------------------------------------------------------------------------------------------------------------


def managed_calls(outcomes: list[bool]) -> Callable[..., Any]:
    """An ``on_active_ping`` issuing each position command once, at 00:24, recording what each returned."""

    async def ping(symbol: str, row: Any, price: float, when: Any, backtest: bool) -> None:
        if when != at(24):
            return
        outcomes.append(await ws.commit_partial_profit(symbol, 25))
        outcomes.append(await ws.commit_trailing_stop(symbol, -0.5, price))
        outcomes.append(await ws.commit_breakeven(symbol))
        outcomes.append(await ws.commit_average_buy(symbol, 50.0))

    return ping


@pytest.mark.parametrize("refused", [False, True])
def test_position_commands_ask_the_broker_first_and_a_refusal_changes_nothing(refused: bool) -> None:
    outcomes: list[bool] = []
    error = ws.OrderTransientError("no answer") if refused else None
    broker = ScriptedBroker({"partial": [error], "level": [error, error], "average": [error]})
    run = live(L, broker, steps={20: 42400}, callbacks={"on_active_ping": managed_calls(outcomes)})
    closed = run.results[-1]
    (partial,) = broker.of("partial")
    assert (partial.kind, partial.percent_to_close, partial.cost, partial.current_price, partial.when) == (
        "profit",
        25.0,
        25.0,
        42320.0,
        ts(24),
    )
    # What the position held before the change: the broker names the change's order from it.
    assert (partial.total_entries, partial.total_partials) == (1, 0)
    # An average buy the position refuses (the price is above the entry) never reaches the broker.
    assert broker.of("average") == []
    levels = [(move.kind, move.price_stop_loss, move.price_take_profit) for move in broker.of("level")]
    assert [move.total_partials for move in broker.of("level")] == ([0, 0] if refused else [1, 1])
    if refused:
        assert outcomes == [False, False, False, False]
        assert (closed.signal.partials, closed.signal.price_stop_loss) == ((), 41580.0)
        assert levels == [("trailing_stop", 41790.0, 42420.0), ("breakeven", 41999.99999999999, 42420.0)]
        assert [m.split(", attempt 0, ")[1] for _, m in messages(run)] == [
            "transient: the partial_profit command is refused, the position is unchanged: "
            "OrderTransientError: no answer",
            "transient: the trailing_stop command is refused, the position is unchanged: "
            "OrderTransientError: no answer",
            "transient: the breakeven command is refused, the position is unchanged: OrderTransientError: no answer",
        ]
    else:
        assert outcomes == [True, True, True, False]
        assert [p.percent for p in closed.signal.partials] == [25.0]
        assert levels == [("trailing_stop", 41790.0, 42420.0), ("breakeven", 41999.99999999999, 42420.0)]
        assert closed.signal.price_stop_loss == 41999.99999999999
        assert run.errors == []


# ---------------------------------------------------------------------------------------------------------------
# A kill while an order is in flight (the crash-child pattern of tests/integration/live_crash_child.py)
# ---------------------------------------------------------------------------------------------------------------

CHILD = Path(__file__).with_name("broker_crash_child.py")


def run_child(state: Path, log: Path, kill_in: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHILD), str(state), str(log), kill_in],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=CHILD.parent,
    )


def calls(log: Path) -> list[tuple[str, str, int, int]]:
    return [
        (call["hook"], call["id"], call["attempt"], call["when"])
        for call in map(json.loads, log.read_text().splitlines())
        if call["hook"] != "check"
    ]


def closed_records(state: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(state) as db:
        rows = db.execute("SELECT value FROM records WHERE entity = 'closed'").fetchall()
    return [
        (item["signal"]["id"], item["close_reason"], item["close_timestamp"], item["current_price"], item["announced"])
        for item in (json.loads(value) for (value,) in rows)
    ]


@pytest.mark.parametrize("kill_in", ["open", "close"])
def test_a_kill_before_the_broker_answers_resumes_the_same_order_with_attempt_1(tmp_path: Path, kill_in: str) -> None:
    reference = run_child(tmp_path / "reference.sqlite3", tmp_path / "reference.log", "none")
    assert (reference.returncode, reference.stdout.strip()) == (0, "DONE"), reference.stderr
    assert calls(tmp_path / "reference.log") == [("open", SIGNAL_ID, 0, ts(10)), ("close", SIGNAL_ID, 0, ts(25))]

    state, log = tmp_path / "state.sqlite3", tmp_path / "calls.log"
    killed = run_child(state, log, kill_in)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = run_child(state, log, kill_in)
    assert (resumed.returncode, resumed.stdout.strip()) == (0, "DONE"), resumed.stderr
    # The try cut short comes back with the same signal id and attempt 1: the broker looks its order up first.
    if kill_in == "open":
        assert calls(log) == [
            ("open", SIGNAL_ID, 0, ts(10)),
            ("open", SIGNAL_ID, 1, ts(10)),
            ("close", SIGNAL_ID, 0, ts(25)),
        ]
    else:
        assert calls(log) == [
            ("open", SIGNAL_ID, 0, ts(10)),
            ("close", SIGNAL_ID, 0, ts(25)),
            ("close", SIGNAL_ID, 1, ts(25)),
        ]
    assert (
        closed_records(state)
        == closed_records(tmp_path / "reference.sqlite3")
        == [(SIGNAL_ID, "take_profit", ts(25), 42420.0, True)]
    )
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT count(*) FROM records WHERE entity IN ('broker', 'signal')").fetchone() == (0,)


def test_a_trader_command_the_broker_refuses_says_so_in_words() -> None:
    said: list[str | None] = []

    async def ping(symbol: str, row: Any, price: float, when: Any, backtest: bool) -> None:
        if when == at(24):
            # What ws.Live.command runs between two ticks, here inside the tick's context.
            said.append(await perform(symbol, ws.ManualCommand(action="close_part", percent=25)))

    broker = ScriptedBroker({"partial": [ws.OrderRejectedError("LOT_SIZE: below the minimum amount")]})
    run = live(L, broker, steps={20: 42400}, callbacks={"on_active_ping": ping})
    assert said == ["the broker refused it: OrderRejectedError: LOT_SIZE: below the minimum amount"]
    assert run.results[-1].signal.partials == ()


def test_a_backtest_books_a_reported_fill_at_its_level_at_the_next_candle_and_never_calls_a_broker() -> None:
    async def ping(symbol: str, row: Any, price: float, when: Any, backtest: bool) -> None:
        if when == at(15):
            await ws.commit_create_stop_loss(symbol, id="sl-fill")

    commits: list[Any] = []
    ws.listen_commit(commits.append)
    run = run_backtest(L, callbacks={"on_active_ping": ping})
    assert run.actions == ["opened", "closed"]
    closed = run.results[-1]
    assert (closed.close_reason, closed.close_timestamp, closed.current_price) == ("stop_loss", ts(16), 41580.0)
    assert [(c.action, c.timestamp, c.close_id, c.current_price) for c in commits] == [
        ("close-pending", ts(16), "sl-fill", 41580.0)
    ]


def test_a_stopping_run_drops_an_open_waiting_for_its_retry_instead_of_leaving_it_stored() -> None:
    broker = ScriptedBroker({"open": [TRANSIENT]})
    run = live(L, broker, until=10)
    assert opens(broker) == [("active", SIGNAL_ID, 0, ts(10), 42000.0)]
    assert run.results == []
    assert messages(run)[-1] == ("broker", where("open active", 1, "dropped: the run is stopping"))
    assert asyncio.run(ws.persist.adapter("broker").keys()) == []


def test_a_retried_entry_the_risk_check_refuses_is_given_up() -> None:
    def refuse_the_retry(payload: Any) -> None:
        if payload.stage == "open" and payload.timestamp == ts(11):
            raise ws.RiskRejected("one position at a time")

    ws.persist.use_memory()
    ws.add_risk(risk_name="one", validations=[refuse_the_retry])
    clock = ws.ReplayClock(at(10))
    ws.add_exchange(ws.make_replay_exchange(EXCHANGE, ladder(), clock))
    add_strategy(OneShot(ws.Signal(**L)), risk_name="one")
    broker = ScriptedBroker({"open": [TRANSIENT]})
    run = LiveRun()
    run.listen()

    async def consume() -> None:
        async for result in ws.Live.run(
            SYMBOL, strategy_name=STRATEGY, exchange_name=EXCHANGE, clock=clock, until=at(20), broker=broker
        ):
            run.results.append(result)

    asyncio.run(consume())
    assert opens(broker) == [("active", SIGNAL_ID, 0, ts(10), 42000.0)]
    assert run.results == []
    assert messages(run)[-1] == ("broker", where("open active", 1, "dropped: the risk check refused the entry"))


def test_a_close_the_broker_asks_for_in_a_check_goes_through_the_close_gate_at_the_next_tick() -> None:
    async def close(payload: ws.OrderCheck) -> None:
        await ws.commit_close_pending(SYMBOL, id="exchange-closed")

    broker = ScriptedBroker({"check": [None, close]})
    run = live(L, broker)
    assert summary(run) == [("opened", ts(10), 42000.0, None), ("closed", ts(13), 42000.0, "closed")]
    assert [(c.when, c.close_reason, c.attempt) for c in broker.of("close")] == [(ts(13), "closed", 0)]
    assert [c.when for c in broker.of("check")] == [ts(11), ts(12)]
