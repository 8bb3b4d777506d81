"""The order desk: every order journalled before it is sent, never sent twice, refused by the kill switch and limits."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from desk_helpers import Clock, buy, make_desk, make_venue, sell
from pydantic import ValidationError

from workstation.brokers.errors import OrderRejectedError, OrderTransientError
from workstation.brokers.orders import Balance, Fill, OrderRecord, OrderRequest, client_order_id
from workstation.desk import OrderDesk, OrderRefusal, OrderRefused, RiskLimits
from workstation.desk.journal import JournalEntry


def test_an_order_is_journalled_before_the_venue_sees_it_and_answered_after(tmp_path: Path) -> None:
    clock = Clock()
    venue = make_venue(clock)
    path = tmp_path / "desk.sqlite3"
    desk = make_desk(venue, path, clock)
    seen_in_journal: list[str] = []
    # Read the file as another process would when the venue is asked: the order must already be there.
    venue.on_place = lambda order: seen_in_journal.append(_state_on_disk(path, order.client_order_id))
    changed: list[OrderRecord] = []
    desk.order_changed.connect(changed.append)

    async def scenario() -> OrderRecord:
        record = await desk.submit(buy())
        await desk.aclose()
        return record

    record = asyncio.run(scenario())
    assert seen_in_journal == ["pending"]
    assert record.status == "closed"
    assert record.filled == pytest.approx(0.02)
    assert record.purpose == "entry"
    assert record.signal_id == "sig-1"
    assert record.strategy_name == "sma"
    assert changed == [record]
    assert _state_on_disk(path, record.client_order_id) == "answered"


def _state_on_disk(path: Path, order_id: str) -> str:
    connection = sqlite3.connect(path)
    try:
        row = connection.execute(
            "SELECT value FROM records WHERE entity = 'desk_order' AND key = ?", (order_id,)
        ).fetchone()
    finally:
        connection.close()
    return str(json.loads(row[0])["state"])


def test_a_response_lost_after_the_venue_accepted_is_looked_up_and_never_sent_twice(tmp_path: Path) -> None:
    clock = Clock()
    venue = make_venue(clock)
    venue.accept_then_fail.append(OrderTransientError("timeout after 10 s"))
    desk = make_desk(venue, tmp_path / "desk.sqlite3", clock)

    async def scenario() -> OrderRecord:
        with pytest.raises(OrderTransientError, match="timeout after 10 s"):
            await desk.submit(buy())
        again = await desk.submit(buy())
        await desk.aclose()
        return again

    record = asyncio.run(scenario())
    assert venue.placed() == [buy().client_order_id]
    assert record.status == "closed"
    assert record.purpose == "entry"
    assert [order.client_order_id for order in desk.orders()] == [buy().client_order_id]


def test_after_a_crash_the_unanswered_order_is_looked_up_when_the_desk_opens(tmp_path: Path) -> None:
    clock = Clock()
    venue = make_venue(clock)
    path = tmp_path / "desk.sqlite3"
    venue.accept_then_fail.append(OrderTransientError("connection reset"))
    first = make_desk(venue, path, clock)
    lost_order = buy("average-1", cost=500.0)
    venue_never_saw = buy("average-2", cost=400.0)

    async def crash() -> None:
        with pytest.raises(OrderTransientError):
            await first.submit(buy())
        clock.now += 1_000
        venue.failures["place"] = [OrderTransientError("timeout before the exchange saw it")]
        with pytest.raises(OrderTransientError):
            await first.submit(lost_order)
        await first.aclose()

    asyncio.run(crash())
    assert venue.placed() == [buy().client_order_id, lost_order.client_order_id]

    second = make_desk(venue, path, clock)
    changed: list[OrderRecord] = []
    second.order_changed.connect(changed.append)

    async def restart() -> OrderRecord:
        await second.open()
        clock.now += 1_000
        resent = await second.submit(lost_order)
        with pytest.raises(OrderRejectedError, match="already used for another order"):
            await second.submit(lost_order.model_copy(update={"cost": 600.0}))
        clock.now += 1_000
        await second.submit(venue_never_saw)
        await second.aclose()
        return resent

    resent = asyncio.run(restart())
    assert [record.client_order_id for record in changed[:1]] == [buy().client_order_id]
    assert resent.status == "closed"
    assert venue.placed() == [
        buy().client_order_id,
        lost_order.client_order_id,
        lost_order.client_order_id,
        venue_never_saw.client_order_id,
    ]
    assert [order.client_order_id for order in second.orders()] == [
        venue_never_saw.client_order_id,
        lost_order.client_order_id,
        buy().client_order_id,
    ]


def test_the_venue_refusing_is_journalled_as_rejected_and_may_be_sent_again(tmp_path: Path) -> None:
    clock = Clock()
    venue = make_venue(clock, USDT=100.0)
    desk = make_desk(venue, tmp_path / "desk.sqlite3", clock)
    changed: list[OrderRecord] = []
    desk.order_changed.connect(changed.append)

    async def scenario() -> OrderRecord:
        with pytest.raises(OrderRejectedError, match="insufficient USDT: need 1001"):
            await desk.submit(buy())
        venue.assets["USDT"] = 10_000.0
        record = await desk.submit(buy())
        await desk.aclose()
        return record

    record = asyncio.run(scenario())
    assert [(item.status, item.exchange_order_id) for item in changed] == [("rejected", ""), ("closed", "scripted-1")]
    assert record.status == "closed"
    assert venue.placed() == [buy().client_order_id, buy().client_order_id]


def test_the_kill_switch_refuses_entries_lets_exits_through_and_survives_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    venue = make_venue(clock)
    path = tmp_path / "desk.sqlite3"
    desk = make_desk(venue, path, clock)
    refusals: list[OrderRefusal] = []
    halted: list[bool] = []
    desk.refused.connect(refusals.append)
    desk.halted_changed.connect(halted.append)

    async def scenario() -> None:
        await desk.submit(buy())
        desk.halt("news at 14:00")
        with pytest.raises(OrderRefused) as refused:
            await desk.submit(buy("average-1"))
        assert refused.value.limit == "kill_switch"
        exit_record = await desk.submit(sell(0.02))
        assert exit_record.status == "closed"
        await desk.aclose()

    asyncio.run(scenario())
    assert halted == [True]
    assert [refusal.limit for refusal in refusals] == ["kill_switch"]
    assert refusals[0].message == (
        "the kill switch is on (news at 14:00): new entries are refused until the desk is resumed"
    )
    assert refusals[0].request == buy("average-1")
    assert venue.placed() == [buy().client_order_id, sell(0.02).client_order_id]

    restarted = make_desk(venue, path, clock)

    async def after_restart() -> None:
        await restarted.open()
        assert restarted.halted
        assert restarted.halt_reason == "news at 14:00"
        restarted.resume()
        await restarted.submit(buy("entry", signal="sig-2"))
        await restarted.aclose()

    asyncio.run(after_restart())
    assert not restarted.halted
    assert venue.placed()[-1] == buy(signal="sig-2").client_order_id


@pytest.mark.parametrize(
    ("limits", "order", "limit", "message"),
    [
        (
            RiskLimits(max_order_notional=900.0),
            buy(signal="sig-9"),
            "max_order_notional",
            "max_order_notional is 900 USDT; this order's notional is 1000 USDT",
        ),
        (
            RiskLimits(max_orders_per_minute=2),
            buy(signal="sig-9"),
            "max_orders_per_minute",
            "max_orders_per_minute is 2; 2 orders were sent in the last minute, this one would be number 3",
        ),
        (
            RiskLimits(max_open_positions=2),
            buy(signal="sig-9", strategy="breakout"),
            "max_open_positions",
            "max_open_positions is 2; the desk holds 2 (sma on BTC/USDT, sma on ETH/USDT), "
            "this order would open breakout on BTC/USDT as number 3",
        ),
    ],
)
def test_each_risk_limit_refuses_an_entry_naming_itself(
    tmp_path: Path, limits: RiskLimits, order: OrderRequest, limit: str, message: str
) -> None:
    clock = Clock()
    venue = make_venue(clock)
    desk = make_desk(venue, tmp_path / "desk.sqlite3", clock, limits)
    refusals: list[OrderRefusal] = []
    desk.refused.connect(refusals.append)
    eth = OrderRequest(
        client_order_id=client_order_id("sig-2", "entry"),
        symbol="ETH/USDT",
        side="buy",
        type="market",
        cost=600.0,
        purpose="entry",
        signal_id="sig-2",
        strategy_name="sma",
    )

    async def scenario() -> None:
        await desk.submit(buy(cost=800.0))
        clock.now += 1_000
        await desk.submit(eth)
        clock.now += 1_000
        with pytest.raises(OrderRefused) as refused:
            await desk.submit(order)
        assert refused.value.limit == limit
        assert str(refused.value) == message
        assert isinstance(refused.value, OrderRejectedError)
        # Exits are never refused by the limits.
        await desk.submit(sell(0.016))
        await desk.aclose()

    asyncio.run(scenario())
    assert [(refusal.limit, refusal.message) for refusal in refusals] == [(limit, message)]
    assert order.client_order_id not in venue.placed()


def test_the_daily_loss_limit_counts_realised_and_open_loss_since_midnight(tmp_path: Path) -> None:
    clock = Clock()
    venue = make_venue(clock)
    desk = make_desk(venue, tmp_path / "desk.sqlite3", clock, RiskLimits(daily_loss_limit=100.0))

    async def scenario() -> None:
        await desk.submit(buy(cost=2_000.0))  # 0.04 BTC at 50 000, fee 2
        clock.now += 1_000
        venue.prices["BTC/USDT"] = 48_000.0
        await desk.submit(sell(0.02))  # realised 0.02 * 48 000 - 0.96 - (2002 / 2) = -41.96
        await desk.refresh()  # the newest fill marks the rest: open 0.02 * 48 000 - 1001 = -41, a loss of 82.96
        await desk.submit(buy("entry", cost=100.0, signal="sig-2"))
        clock.now += 1_000
        venue.prices["BTC/USDT"] = 47_000.0
        # sig-2: 100.1 paid for 0.0020833 BTC; 0.001 sold for 47 - 0.047 realises 46.953 - 48.048 = -1.095.
        await desk.submit(sell(0.001, signal="sig-2"))
        # Open at 47 000: sig-1 0.02 * 47 000 - 1001 = -61, sig-2 0.0010833 * 47 000 - 52.052 = -1.135.
        await desk.refresh()
        with pytest.raises(OrderRefused) as refused:
            await desk.submit(buy("entry", signal="sig-3"))
        assert refused.value.limit == "daily_loss_limit"
        assert str(refused.value) == (
            "daily_loss_limit is 100 USDT; the loss since 2025-12-06 00:00 UTC is 105.19 USDT "
            "(realised 43.06, open 62.14)"
        )
        # A new day starts afresh for what was realised; the open loss is still there.
        clock.now += 86_400_000
        await desk.submit(buy("entry", cost=100.0, signal="sig-3"))
        await desk.aclose()

    asyncio.run(scenario())


def test_refresh_follows_the_venue_and_the_monitors_read_what_it_found(tmp_path: Path) -> None:
    clock = Clock()
    venue = make_venue(clock)
    desk = make_desk(venue, tmp_path / "desk.sqlite3", clock)
    resting = OrderRequest(
        client_order_id="manual-1",
        symbol="BTC/USDT",
        side="buy",
        type="limit",
        amount=0.01,
        price=49_000.0,
        purpose="manual",
    )
    changed: list[OrderRecord] = []
    fills: list[Fill] = []
    balances: list[list[Balance]] = []

    async def scenario() -> None:
        await desk.submit(buy())
        await desk.submit(resting)
        desk.order_changed.connect(changed.append)
        desk.fill_added.connect(fills.append)
        desk.balances_changed.connect(balances.append)
        clock.now += 60_000
        venue.fill_resting("manual-1")
        await desk.refresh()
        await desk.refresh()
        await desk.aclose()

    asyncio.run(scenario())
    assert [(record.client_order_id, record.status, record.filled, record.purpose) for record in changed] == [
        ("manual-1", "closed", 0.01, "manual")
    ]
    assert [(fill.trade_id, fill.client_order_id, fill.price) for fill in fills] == [
        ("t1", buy().client_order_id, 50_000.0),
        ("t2", "manual-1", 49_000.0),
    ]
    assert desk.fills() == fills[::-1]
    assert len(balances) == 2
    assert [(balance.asset, balance.free, balance.used) for balance in balances[-1]] == [
        ("BTC", pytest.approx(0.03), 0.0),
        ("USDT", pytest.approx(8_508.51), 0.0),
    ]
    assert desk.balances() == balances[-1]
    assert [(holding.signal_id, holding.amount) for holding in desk.positions()] == [
        ("sig-1", pytest.approx(0.02)),
        (None, pytest.approx(0.01)),
    ]
    assert desk.equity({"BTC/USDT": 51_000.0}) == pytest.approx(8_508.51 + 0.03 * 51_000.0)
    with pytest.raises(ValueError, match=r"no price of BTC/USDT to value 0\.03 BTC"):
        desk.equity({})


def test_an_unanswered_order_the_venue_never_saw_is_marked_lost_and_cancels_pass_while_halted(tmp_path: Path) -> None:
    clock = Clock()
    venue = make_venue(clock)
    desk = make_desk(venue, tmp_path / "desk.sqlite3", clock)
    resting = OrderRequest(
        client_order_id="manual-1",
        symbol="BTC/USDT",
        side="buy",
        type="limit",
        amount=0.01,
        price=49_000.0,
        purpose="manual",
    )

    async def scenario() -> None:
        venue.failures["place"] = [OrderTransientError("timeout")]
        with pytest.raises(OrderTransientError):
            await desk.submit(buy())
        assert await desk.fetch_order("BTC/USDT", buy().client_order_id) is None
        await desk.submit(resting)
        desk.halt("lunch")
        cancelled = await desk.cancel("BTC/USDT", "manual-1")
        assert (cancelled.status, cancelled.purpose) == ("canceled", "manual")
        await desk.aclose()

    asyncio.run(scenario())
    assert [entry.state for entry in _entries(tmp_path / "desk.sqlite3")] == ["lost", "answered"]
    assert [record.status for record in desk.orders()] == ["canceled"]


def _entries(path: Path) -> list[JournalEntry]:
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(
            "SELECT value FROM records WHERE entity = 'desk_order' ORDER BY updated_at, key"
        ).fetchall()
    finally:
        connection.close()
    return sorted((JournalEntry.model_validate_json(row[0]) for row in rows), key=lambda entry: entry.sequence)


def test_risk_limits_name_the_field_and_value_they_refuse() -> None:
    with pytest.raises(ValidationError, match=r"max_order_notional\n  Input should be greater than 0"):
        RiskLimits(max_order_notional=0)
    with pytest.raises(ValidationError, match=r"max_orders_per_minute\n  Input should be greater than or equal to 1"):
        RiskLimits(max_orders_per_minute=0)
    with pytest.raises(ValueError, match="reason must say why the desk halts"):
        OrderDesk(make_venue(Clock()), limits=RiskLimits(), journal_path=Path("/nonexistent/x"), clock=Clock()).halt(
            " "
        )


def test_a_refresh_while_an_order_is_on_its_way_leaves_it_unanswered_so_it_is_never_sent_twice(tmp_path: Path) -> None:
    clock = Clock()
    venue = make_venue(clock)
    desk = make_desk(venue, tmp_path / "desk.sqlite3", clock)

    async def scenario() -> OrderRecord:
        venue.hold = asyncio.Event()
        venue.accept_then_fail.append(OrderTransientError("read timeout"))
        sending = asyncio.create_task(desk.submit(buy()))
        while venue.placed() != [buy().client_order_id]:
            await asyncio.sleep(0)
        await desk.refresh()  # the venue has not taken it yet: it must not read as lost
        venue.hold.set()
        with pytest.raises(OrderTransientError, match="read timeout"):
            await sending
        record = await desk.submit(buy())
        await desk.aclose()
        return record

    record = asyncio.run(scenario())
    assert venue.placed() == [buy().client_order_id]
    assert record.status == "closed"
