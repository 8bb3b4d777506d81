"""The engine's side of the broker contract, piece by piece (issue 16): budgets, verdicts, counters, commands.

The runs through the live engine are in tests/acceptance/test_broker_gates_live.py; here each rule is pinned alone:
19.5's budgets of ``CC_ORDER_*_RETRY_ATTEMPTS`` (0 = the legacy meaning), how a hook's outcome is read, the error
event's words, the stored try counters (restored clamped to 1, as in 19.5) and the position commands asking the
broker before they change anything.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import workstation as ws
from workstation.brokers.gates import (
    BrokerGateError,
    ProposedChange,
    call_hook,
    check_given_up,
    close_forced,
    open_exhausted,
)
from workstation.clients.position import PositionState
from workstation.clients.position_manager import PositionManager, Request, active_manager
from workstation.context import ExecutionContext, MethodContext, execution_context, method_context
from workstation.models.position import Entry
from workstation.models.signal import SignalRow
from workstation.services.live_records import LiveBrokerAttempts, LiveManagement, LiveRecords, LiveRequest

T0 = 1704067200000
MINUTE = 60_000


@pytest.mark.parametrize(
    ("tries", "budget", "exhausted"),
    [(1, 5, False), (5, 5, False), (6, 5, True), (1, 0, True), (1, 1, False), (2, 1, True)],
)
def test_an_open_is_given_up_after_one_try_and_its_budget_of_retries(tries: int, budget: int, exhausted: bool) -> None:
    assert open_exhausted(tries, budget) is exhausted


@pytest.mark.parametrize(
    ("tries", "budget", "forced"),
    [(1, 5, False), (5, 5, False), (6, 5, True), (1000, 0, False), (1, 1, False), (2, 1, True)],
)
def test_a_close_is_forced_beyond_its_budget_and_never_without_one(tries: int, budget: int, forced: bool) -> None:
    assert close_forced(tries, budget) is forced


@pytest.mark.parametrize(
    ("failures", "budget", "given_up"),
    [(1, 5, False), (5, 5, False), (6, 5, True), (1, 0, True), (2, 2, False), (3, 2, True)],
)
def test_failed_checks_are_tolerated_up_to_the_budget(failures: int, budget: int, given_up: bool) -> None:
    assert check_given_up(failures, budget) is given_up


def test_a_hook_is_read_as_19_5_reads_it_and_a_cancellation_goes_on_up() -> None:
    async def hook(raised: BaseException | None) -> None:
        if raised is not None:
            raise raised

    rejected = ws.OrderRejectedError("no funds")
    assert asyncio.run(call_hook(hook, None, "gate")) == ("confirmed", None)
    assert asyncio.run(call_hook(hook, rejected, "gate")) == ("rejected", rejected)
    assert asyncio.run(call_hook(hook, rejected, "check")) == ("transient", rejected)
    deleted = ws.OrderDeletedError("gone")
    assert asyncio.run(call_hook(hook, deleted, "check")) == ("deleted", deleted)
    assert asyncio.run(call_hook(hook, deleted, "gate")) == ("transient", deleted)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(call_hook(hook, asyncio.CancelledError(), "gate"))


def test_the_error_event_names_the_strategy_symbol_signal_gate_and_attempt() -> None:
    error = BrokerGateError(
        gate="close",
        strategy_name="sma",
        symbol="BTC/USDT",
        signal_id="sig-1",
        attempt=2,
        outcome="failed 3 times: the position is closed (stop_loss) without the broker: reconcile the exchange",
        cause=ws.OrderTransientError("HTTP 503"),
    )
    assert str(error) == (
        'broker close of signal "sig-1" (sma on BTC/USDT), attempt 2, failed 3 times: the position is closed '
        "(stop_loss) without the broker: reconcile the exchange: OrderTransientError: HTTP 503"
    )
    assert (error.gate, error.signal_id, error.attempt) == ("close", "sig-1", 2)
    # In the trader's words, less the signal and the try: what every signal failing alike shares.
    assert error.reason == (
        "Close failed 3 times: the position is closed (stop_loss) without the broker: reconcile the exchange — HTTP 503"
    )
    assert isinstance(error, ws.WorkstationError)


def test_the_retry_budgets_are_settings_of_their_own_with_19_5_defaults() -> None:
    config = ws.get_config()
    assert (config.order_open_retry_attempts, config.order_close_retry_attempts) == (5, 5)
    assert config.order_check_retry_attempts == 5
    assert ws.set_config(order_open_retry_attempts=0).order_open_retry_attempts == 0


def test_a_plain_request_is_stored_as_before_and_a_reported_fill_keeps_its_reason() -> None:
    plain = LiveManagement(signal_id="s", close_request=LiveRequest(id="c", note=None))
    assert plain.model_dump(mode="json") == {
        "signal_id": "s",
        "close_request": {"id": "c", "note": None, "source": "strategy"},
        "cancel_request": None,
        "activate_request": None,
        "breakeven_announced": False,
    }
    filled = LiveManagement(signal_id="s", close_request=LiveRequest(id=None, note=None, filled="stop_loss"))
    stored = json.loads(json.dumps(filled.model_dump(mode="json")))
    assert stored["close_request"] == {"id": None, "note": None, "source": "strategy", "filled": "stop_loss"}
    assert LiveManagement.model_validate(stored) == filled


def _row(signal_id: str = "sig-1", *, scheduled: bool = False) -> SignalRow:
    return SignalRow(
        id=signal_id,
        position="long",
        note="",
        price_open=42000.0,
        price_take_profit=42420.0,
        price_stop_loss=41580.0,
        minute_estimated_time=120,
        symbol="BTCUSDT",
        exchange_name="ladder",
        strategy_name="one-shot",
        frame_name="",
        scheduled_at=T0,
        pending_at=None if scheduled else T0,
        is_scheduled=scheduled,
        original_price_open=42000.0,
        original_price_take_profit=42420.0,
        original_price_stop_loss=41580.0,
        entries=(Entry(price=42000.0, cost=100.0, timestamp=T0),),
        partials=(),
        partial_executed=0.0,
        pnl=None,
        peak_profit=None,
        max_drawdown=None,
    )


def test_stored_try_counters_come_back_at_most_1_and_only_for_what_they_count() -> None:
    ws.persist.use_memory()
    records = LiveRecords("BTCUSDT", "one-shot")
    records.brokered = True

    async def scenario() -> list[Any]:
        seen: list[Any] = []
        # An open not confirmed: its row comes back to be tried again, its 4 tries counted as 1.
        await records.write_attempts(
            LiveBrokerAttempts(signal_id="sig-1", open_kind="active", open_row=_row(), open_tries=4)
        )
        seen.append((await records.restore("ladder")).broker)
        # A held position's close counters; the open row of a signal held is not kept.
        await records.write_open_position(_row(), fills_limit_order=False)
        seen.append((await records.restore("ladder")).broker)
        await records.write_attempts(LiveBrokerAttempts(signal_id="sig-1", close_tries=3, check_failures=2))
        seen.append((await records.restore("ladder")).broker)
        # Counters of another signal than the one held count nothing.
        await records.write_attempts(LiveBrokerAttempts(signal_id="sig-0", close_tries=3))
        seen.append((await records.restore("ladder")).broker)
        return seen

    retry, after_open, closing, stranger = asyncio.run(scenario())
    assert retry == LiveBrokerAttempts(signal_id="sig-1", open_kind="active", open_row=_row(), open_tries=1)
    assert after_open is None
    assert closing == LiveBrokerAttempts(signal_id="sig-1", close_tries=1, check_failures=2)
    assert stranger is None


def test_without_a_broker_no_counters_are_read_or_forgotten_with_the_signal() -> None:
    ws.persist.use_memory()
    records = LiveRecords("BTCUSDT", "one-shot")

    async def scenario() -> tuple[Any, bool]:
        await ws.persist.adapter("broker").write_value("BTCUSDT:one-shot", {"signal_id": "x"})
        await records.write_open_position(_row(), fills_limit_order=False)
        restored = await records.restore("ladder")
        return restored.broker, await ws.persist.adapter("broker").has_value("BTCUSDT:one-shot")

    assert asyncio.run(scenario()) == (None, True)


def _manager(confirm: Any) -> PositionManager:
    async def price_at(when: int) -> float:
        return 42300.0

    manager = PositionManager(
        where={
            "symbol": "BTCUSDT",
            "strategy_name": "one-shot",
            "exchange_name": "ladder",
            "frame_name": "",
            "backtest": False,
        },
        config=ws.get_config(),
        price_at=price_at,
        emit=lambda stream, event: None,
    )
    manager.start(PositionState(_row(), 100.0))
    manager.confirm = confirm
    return manager


def _in_context(manager: PositionManager, command: Any) -> Any:
    async def run() -> Any:
        tokens = (
            execution_context.set(ExecutionContext("BTCUSDT", T0 + 5 * MINUTE, False)),
            method_context.set(MethodContext("one-shot", "ladder", "", ws.get_config())),
            active_manager.set(manager),
        )
        try:
            return await command
        finally:
            active_manager.reset(tokens[2])
            method_context.reset(tokens[1])
            execution_context.reset(tokens[0])

    return asyncio.run(run())


@pytest.mark.parametrize("answer", [True, False])
def test_a_partial_close_asks_the_broker_with_the_changed_position_and_waits_for_its_answer(answer: bool) -> None:
    asked: list[ProposedChange] = []

    async def confirm(change: ProposedChange) -> bool:
        asked.append(change)
        return answer

    manager = _manager(confirm)
    state = manager.state
    assert state is not None
    assert _in_context(manager, ws.commit_partial_profit("BTCUSDT", 40)) is answer
    (change,) = asked
    assert (change.kind, change.price, change.when, change.percent, change.cost) == (
        "partial_profit",
        42300.0,
        T0 + 5 * MINUTE,
        40.0,
        40.0,
    )
    # The broker saw a copy with the change made; the position itself changes only once confirmed.
    assert change.state is not state
    assert [partial.percent for partial in change.state.partials] == [40.0]
    assert [partial.percent for partial in state.partials] == ([40.0] if answer else [])
    assert manager.queued is answer


def test_a_command_the_position_refuses_never_reaches_the_broker() -> None:
    asked: list[ProposedChange] = []

    async def confirm(change: ProposedChange) -> bool:
        asked.append(change)
        return True

    manager = _manager(confirm)
    # An average buy above the entry, and a partial loss in profit, are refused by the position's own rules.
    assert _in_context(manager, ws.commit_average_buy("BTCUSDT", 50.0)) is False
    assert _in_context(manager, ws.commit_partial_loss("BTCUSDT", 10)) is False
    assert asked == []


def test_a_fill_reported_by_the_broker_replaces_a_plain_close_request_and_not_the_other_way() -> None:
    manager = _manager(None)
    _in_context(manager, ws.commit_close_pending("BTCUSDT", id="user-close"))
    _in_context(manager, ws.commit_create_stop_loss("BTCUSDT", id="sl-fill"))
    assert manager.close_request == Request("sl-fill", None, "strategy", "stop_loss")
    _in_context(manager, ws.commit_create_take_profit("BTCUSDT", id="tp-fill"))
    _in_context(manager, ws.commit_close_pending("BTCUSDT", id="late"))
    assert manager.close_request == Request("sl-fill", None, "strategy", "stop_loss")
