"""Reconciliation: the engine's positions against the venue, each kind of disagreement, adopting and flattening."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from desk_helpers import Clock, buy, make_desk, make_venue

from workstation.brokers.orders import OrderRecord, OrderRequest, client_order_id
from workstation.desk import HeldPosition, OrderRefusal, OrderRefused, Reconciliation

STOP = client_order_id("sig-1", "stop_loss")
TAKE = client_order_id("sig-1", "take_profit")


def stop_leg(amount: float = 0.02) -> OrderRequest:
    return OrderRequest(
        client_order_id=STOP,
        symbol="BTC/USDT",
        side="sell",
        type="stop_loss",
        amount=amount,
        trigger_price=45_000.0,
        purpose="stop_loss",
        signal_id="sig-1",
        strategy_name="sma",
    )


def eth_entry() -> OrderRequest:
    return OrderRequest(
        client_order_id=client_order_id("sig-2", "entry"),
        symbol="ETH/USDT",
        side="buy",
        type="market",
        amount=0.3,
        purpose="entry",
        signal_id="sig-2",
        strategy_name="rsi",
    )


def held(amount: float = 0.02, legs: tuple[str, ...] = (STOP,)) -> HeldPosition:
    return HeldPosition(
        strategy_name="sma", symbol="BTC/USDT", signal_id="sig-1", side="long", amount=amount, order_ids=legs
    )


def test_the_engine_and_the_venue_agree_when_every_order_and_holding_is_accounted_for(tmp_path: Path) -> None:
    clock = Clock()
    venue = make_venue(clock)
    desk = make_desk(venue, tmp_path / "desk.sqlite3", clock)
    outcomes: list[Reconciliation] = []
    desk.reconciliation_changed.connect(outcomes.append)

    async def scenario() -> Reconciliation:
        await desk.submit(buy())  # 0.02 BTC
        await desk.submit(stop_leg())
        outcome = await desk.reconcile([held()])
        await desk.aclose()
        return outcome

    outcome = asyncio.run(scenario())
    assert outcome == Reconciliation(checked_at=clock.now, disagreements=())
    assert outcome.agrees
    assert outcome.describe() == "the engine and the venue agree"
    assert outcomes == [outcome]


def test_every_kind_of_disagreement_is_found_said_in_words_and_resolved_by_the_trader(tmp_path: Path) -> None:
    clock = Clock()
    venue = make_venue(clock)
    path = tmp_path / "desk.sqlite3"
    desk = make_desk(venue, path, clock)
    refusals: list[OrderRefusal] = []
    desk.refused.connect(refusals.append)
    foreign = OrderRequest(
        client_order_id="web-1",
        symbol="ETH/USDT",
        side="buy",
        type="limit",
        amount=1.0,
        price=1_500.0,
        purpose="manual",
    )

    async def disagree() -> Reconciliation:
        await desk.submit(buy())
        await desk.submit(stop_leg())
        # The engine lost sig-2 (it holds no ETH position), the trader placed an order on the exchange's website.
        await desk.submit(eth_entry())
        await venue.place(foreign)
        return await desk.reconcile([held(amount=0.03, legs=(STOP, TAKE))])

    outcome = asyncio.run(disagree())
    assert not outcome.agrees
    assert [disagreement.model_dump() for disagreement in outcome.disagreements] == [
        dict(
            kind="orphan_order",
            symbol="ETH/USDT",
            engine="has no position or order it belongs to",
            venue="rests a limit buy order web-1 of 1 at 1500",
            asset=None,
            client_order_id="web-1",
            amount=1.0,
        ),
        dict(
            kind="missing_order",
            symbol="BTC/USDT",
            engine=f"counts on order {TAKE} of signal sig-1 (sma)",
            venue="has no such order resting",
            asset=None,
            client_order_id=TAKE,
            amount=0.0,
        ),
        dict(
            kind="amount_differs",
            symbol="BTC/USDT",
            engine="holds 0.03 BTC in 1 position",
            venue="holds 0.02 BTC",
            client_order_id=None,
            asset="BTC",
            amount=pytest.approx(-0.01),
        ),
        dict(
            kind="orphan_holding",
            symbol="ETH/USDT",
            engine="holds no ETH",
            venue="holds 0.3 ETH",
            client_order_id=None,
            asset="ETH",
            amount=pytest.approx(0.3),
        ),
    ]
    assert outcome.disagreements[0].message == (
        "ETH/USDT: orphan order: the engine has no position or order it belongs to; "
        "the venue rests a limit buy order web-1 of 1 at 1500"
    )
    orphan_order, missing, differs, orphan_holding = outcome.disagreements

    async def resolve() -> OrderRecord:
        with pytest.raises(OrderRefused, match="the engine and the venue disagree") as refused:
            await desk.submit(buy(signal="sig-3"))
        assert refused.value.limit == "reconciliation"
        for disagreement in (orphan_order, missing, differs):
            clock.now += 1_000
            await desk.adopt(disagreement)
        clock.now += 1_000
        sold = await desk.flatten_orphan(orphan_holding)
        assert desk.reconciliation is not None and desk.reconciliation.agrees
        await desk.submit(buy(signal="sig-3", cost=100.0))
        await desk.aclose()
        return sold

    sold = asyncio.run(resolve())
    assert refusals[0].message == (
        "the engine and the venue disagree (4 disagreements, first: ETH/USDT: orphan order: the engine has no "
        "position or order it belongs to; the venue rests a limit buy order web-1 of 1 at 1500): new entries are "
        "refused until they agree"
    )
    assert (sold.side, sold.symbol, sold.filled, sold.purpose) == ("sell", "ETH/USDT", 0.3, "flatten")
    assert venue.assets["ETH"] == pytest.approx(0.0)
    # Newest first: the orphan ETH booked as the desk's before it was sold, the BTC the venue lacks, the web order.
    adopted = [order for order in desk.orders() if order.purpose == "adopt"]
    assert [(order.symbol, order.side, order.amount, order.status) for order in adopted] == [
        ("ETH/USDT", "buy", pytest.approx(0.3), "closed"),
        ("BTC/USDT", "sell", pytest.approx(0.01), "closed"),
        ("ETH/USDT", "buy", 1.0, "open"),
    ]
    assert adopted[2].client_order_id == "web-1"

    # A restarted desk reads what the trader decided from its journal: everything still agrees.
    restarted = make_desk(venue, path, clock)

    async def again() -> Reconciliation:
        sig_3 = HeldPosition(strategy_name="sma", symbol="BTC/USDT", signal_id="sig-3", side="long", amount=0.002)
        outcome = await restarted.reconcile([held(amount=0.03, legs=(STOP, TAKE)), sig_3])
        await restarted.aclose()
        return outcome

    assert asyncio.run(again()).describe() == "the engine and the venue agree"


def test_nothing_at_the_venue_cannot_be_flattened(tmp_path: Path) -> None:
    clock = Clock()
    venue = make_venue(clock)
    desk = make_desk(venue, tmp_path / "desk.sqlite3", clock)

    async def scenario() -> None:
        outcome = await desk.reconcile([held(amount=0.0, legs=(TAKE,))])
        (missing,) = outcome.disagreements
        with pytest.raises(ValueError, match="nothing at the venue to flatten: BTC/USDT: missing order"):
            await desk.flatten_orphan(missing)
        await desk.aclose()

    asyncio.run(scenario())
