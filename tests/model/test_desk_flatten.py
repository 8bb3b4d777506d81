"""The kill switch's flatten: every order cancelled, every holding sold, failures tried again within 2 s."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from desk_helpers import Clock, buy, make_desk, make_venue

from workstation.brokers.errors import OrderRejectedError, OrderTransientError
from workstation.brokers.orders import OrderRequest, client_order_id
from workstation.desk import FlattenReport

STOP = client_order_id("sig-1", "stop_loss")


def stop_leg() -> OrderRequest:
    return OrderRequest(
        client_order_id=STOP,
        symbol="BTC/USDT",
        side="sell",
        type="stop_loss",
        amount=0.02,
        trigger_price=45_000.0,
        purpose="stop_loss",
        signal_id="sig-1",
        strategy_name="sma",
    )


def manual_limit() -> OrderRequest:
    return OrderRequest(
        client_order_id="manual-1",
        symbol="ETH/USDT",
        side="buy",
        type="limit",
        amount=1.0,
        price=1_500.0,
        purpose="manual",
    )


def dust() -> OrderRequest:
    return OrderRequest(
        client_order_id=client_order_id("sig-2", "entry"),
        symbol="BTC/USDT",
        side="buy",
        type="market",
        amount=0.0005,
        purpose="entry",
        signal_id="sig-2",
        strategy_name="sma",
    )


def test_flatten_tries_failures_again_and_sells_a_lost_answer_once(tmp_path: Path) -> None:
    clock = Clock()
    venue = make_venue(clock)
    desk = make_desk(venue, tmp_path / "desk.sqlite3", clock)

    async def scenario() -> FlattenReport:
        await desk.submit(buy())  # 0.02 BTC for sig-1
        await desk.submit(stop_leg())
        await desk.submit(manual_limit())
        venue.failures["cancel"] = [OrderTransientError("503 Service Unavailable")] * 2
        venue.failures["open_orders"] = [OrderTransientError("429 Too Many Requests")]
        venue.accept_then_fail.append(OrderTransientError("read timeout"))
        report = await desk.flatten()
        await desk.aclose()
        return report

    report = asyncio.run(scenario())
    sell_id = client_order_id("sig-1", "flatten")
    assert report.complete
    assert report.failed == ()
    assert [(record.client_order_id, record.status) for record in report.cancelled] == [
        (STOP, "canceled"),
        ("manual-1", "canceled"),
    ]
    assert [(record.client_order_id, record.filled, record.purpose) for record in report.sold] == [
        (sell_id, 0.02, "flatten")
    ]
    assert venue.placed().count(sell_id) == 1
    assert venue.assets["BTC"] == pytest.approx(0.0)
    assert desk.halted
    assert desk.halt_reason == "flatten everything"


def test_what_flatten_could_not_do_is_in_its_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("workstation.desk.desk.FLATTEN_BUDGET_SECONDS", 0.2)
    clock = Clock()
    venue = make_venue(clock)
    desk = make_desk(venue, tmp_path / "desk.sqlite3", clock)

    async def scenario() -> FlattenReport:
        await desk.submit(buy())
        await desk.submit(dust())
        await desk.submit(stop_leg())
        desk.halt("manual halt")
        venue.failures["cancel"] = [OrderTransientError("503 Service Unavailable")] * 1_000
        report = await desk.flatten()
        await desk.aclose()
        return report

    report = asyncio.run(scenario())
    assert not report.complete
    assert report.cancelled == ()
    assert report.sold == ()
    assert report.failed == (
        f"cancel BTC/USDT {STOP}: 503 Service Unavailable",
        "left 0.02 BTC of sma on BTC/USDT: 0 of it is free to sell, below the venue's minimum of 0.001",
    )
    assert desk.halt_reason == "manual halt"


def test_a_sell_the_venue_refuses_is_reported_at_once(tmp_path: Path) -> None:
    clock = Clock()
    venue = make_venue(clock)
    desk = make_desk(venue, tmp_path / "desk.sqlite3", clock)

    async def scenario() -> tuple[FlattenReport, FlattenReport]:
        await desk.submit(buy())
        venue.failures["place"] = [OrderRejectedError("market is closed")]
        report = await desk.flatten()
        clock.now += 1_000
        again = await desk.flatten()
        await desk.aclose()
        return report, again

    report, again = asyncio.run(scenario())
    assert report.failed == ("sell 0.02 BTC/USDT: market is closed",)
    # The signal's flatten leg is taken by the refused sale: the second flatten's sale carries its moment.
    second = client_order_id("sig-1", f"flatten-{clock.now}")
    assert venue.placed() == [buy().client_order_id, client_order_id("sig-1", "flatten"), second]
    assert [(record.client_order_id, record.filled) for record in again.sold] == [(second, 0.02)]
