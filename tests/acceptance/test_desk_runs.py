"""Paper sessions trade through their desk: the orders of the live engine fill on the session's paper account.

The session replays the demo market from 2024-03-01 00:00 at full speed. The strategy opens one long at the first
tick with its levels 20 % away, and the position expires after 90 minutes: the entry is a market buy of the
configured cost, the stop loss and take profit rest on the paper venue, the close cancels them and sells at market.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import workstation as ws

SYMBOL = "BTCUSDT"
STRATEGY = "opener"
START = datetime(2024, 3, 1, tzinfo=UTC)
UNTIL = START + timedelta(hours=2)
ACCOUNT = "paper-demo-BTCUSDT-20240301T0000-600x"


async def opener(symbol: str, when: datetime) -> ws.Signal | None:
    if when != START:
        return None
    price = await ws.get_average_price(symbol)
    return ws.Signal(
        position="long", price_take_profit=price * 1.2, price_stop_loss=price * 0.8, minute_estimated_time=90
    )


@pytest.fixture(autouse=True)
def _strategy() -> None:
    ws.persist.use_memory()
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=opener)


def request(session: str = "new", **fields: Any) -> ws.PaperTradingRequest:
    return ws.PaperTradingRequest.model_validate(
        {"strategy_name": STRATEGY, "symbol": SYMBOL, "start": START, "speed": 600, "session": session} | fields
    )


async def play(paper: ws.PaperRun, *, ticks: int | None = None, broker: bool = True) -> None:
    """Run the session to ``UNTIL`` as fast as it goes, or kill it after ``ticks`` ticks."""
    paper.clock.speed = None
    seen: list[Any] = []
    enough = asyncio.Event()

    def watch(result: Any) -> None:
        seen.append(result)
        if len(seen) == ticks:
            enough.set()

    async def consume() -> None:
        async for _ in ws.Live.run(
            paper.symbol,
            strategy_name=paper.strategy_name,
            exchange_name=paper.exchange_name,
            clock=paper.clock,
            until=UNTIL,
            broker=paper.broker if broker else None,
        ):
            pass

    unsubscribe = ws.listen_signal_live(watch)
    task = asyncio.create_task(consume())
    if ticks is None:
        await task
    else:
        await enough.wait()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    unsubscribe()
    ws.Live.clear()


def account(desk: ws.OrderDesk) -> list[tuple[str, float, float]]:
    return [(balance.asset, balance.free, balance.used) for balance in desk.balances()]


def test_a_paper_session_s_orders_fill_on_its_paper_account_through_its_desk() -> None:
    async def scenario() -> tuple[ws.PaperRun, list[Any], list[ws.OrderRecord]]:
        paper = await ws.prepare_paper_trading(request())
        assert ws.Desks.all() == [paper.desk]
        await paper.desk.refresh()
        opening = account(paper.desk)
        await play(paper, ticks=3)
        await paper.desk.refresh()
        return paper, opening, paper.desk.orders()

    paper, opening, orders = asyncio.run(scenario())
    assert (paper.desk.name, paper.desk.real_money, paper.desk.journal_path.name) == (
        "paper",
        False,
        f"{ACCOUNT}.sqlite3",
    )
    assert opening == [("USDT", 10_000.0, 0.0)]
    entry = orders[-1]
    cost = ws.get_config().position_entry_cost
    assert (entry.side, entry.type, entry.status, entry.purpose, entry.strategy_name) == (
        "buy",
        "market",
        "closed",
        "entry",
        STRATEGY,
    )
    assert entry.cost == pytest.approx(cost, abs=entry.average or 0.0)
    assert sorted((order.type, order.status) for order in orders[:-1]) == [
        ("stop_loss", "open"),
        ("take_profit", "open"),
    ]
    assert account(paper.desk) == [
        ("BTC", 0.0, entry.filled),
        ("USDT", pytest.approx(10_000.0 - entry.cost - entry.fee), 0.0),
    ]


def test_a_resumed_session_keeps_its_paper_account_and_ends_with_the_account_of_an_uninterrupted_one() -> None:
    async def uninterrupted() -> list[tuple[str, float, float]]:
        paper = await ws.prepare_paper_trading(request())
        await play(paper)
        await paper.desk.refresh()
        return account(paper.desk)

    async def killed_and_resumed() -> tuple[list[Any], list[Any], list[tuple[str, float, float]], ws.Reconciliation]:
        paper = await ws.prepare_paper_trading(request())
        await play(paper, ticks=20)
        await paper.desk.refresh()
        before = account(paper.desk)
        resumed = await ws.prepare_paper_trading(request("resume"))
        assert resumed.desk is not paper.desk
        reconciliation = resumed.desk.reconciliation
        assert reconciliation is not None
        after = account(resumed.desk)
        await play(resumed)
        await resumed.desk.refresh()
        return before, after, account(resumed.desk), reconciliation

    expected = asyncio.run(uninterrupted())
    before, after, final, reconciliation = asyncio.run(killed_and_resumed())
    # Killed with the position open: it holds BTC, and the resumed session's account holds the same.
    assert [asset for asset, _, _ in before] == ["BTC", "USDT"]
    assert after == before
    assert reconciliation.agrees
    # Closed at its expiry: the account holds USDT only, to the cent what the uninterrupted session ends with.
    assert final == expected
    assert [asset for asset, _, _ in final] == ["USDT"]
    assert final[0][1] != 10_000.0


def test_a_resumed_session_whose_stored_position_its_account_does_not_hold_is_refused_in_words() -> None:
    async def scenario() -> tuple[str, ws.Disagreement, ws.PaperRun]:
        paper = await ws.prepare_paper_trading(request())
        # Positions tracked without the broker: the engine holds a position the paper account never bought.
        await play(paper, ticks=3, broker=False)
        with pytest.raises(ws.DeskDisagreesError) as refused:
            await ws.prepare_paper_trading(request("resume"))
        (disagreement,) = refused.value.reconciliation.disagreements
        (desk,) = [desk for desk in ws.Desks.all() if desk.reconciliation is refused.value.reconciliation]
        # The desk refuses entries meanwhile.
        with pytest.raises(ws.OrderRefused, match="the engine and the venue disagree"):
            await desk.submit(
                ws.OrderRequest(
                    client_order_id="ticket-1", symbol=SYMBOL, side="buy", type="market", cost=10.0, purpose="manual"
                )
            )
        # The trader adopts the venue's side: the session starts.
        await desk.adopt(disagreement)
        return str(refused.value), disagreement, await ws.prepare_paper_trading(request("resume"))

    message, disagreement, resumed = asyncio.run(scenario())
    held = disagreement.engine.split()[1]
    assert (disagreement.kind, disagreement.engine, disagreement.venue) == (
        "amount_differs",
        f"holds {held} BTC in 1 position",
        "holds 0 BTC",
    )
    assert message == (
        f"the engine and the account {ACCOUNT} disagree (1 disagreement): BTCUSDT: amount differs: the engine holds "
        f"{held} BTC in 1 position; the venue holds 0 BTC. No run starts on this desk until they agree: adopt or "
        "flatten each in the Account dock, or reconcile again"
    )
    assert resumed.desk.reconciliation is not None and resumed.desk.reconciliation.agrees


def test_the_starting_balance_opens_the_account_and_a_resumed_session_keeps_the_one_it_had() -> None:
    async def scenario() -> list[list[tuple[str, float, float]]]:
        seen = []
        for session, balance in (("new", 500.0), ("resume", 900.0), ("new", 900.0)):
            paper = await ws.prepare_paper_trading(request(session, starting_balance=balance))
            await paper.desk.refresh()
            seen.append(account(paper.desk))
        return seen

    assert asyncio.run(scenario()) == [[("USDT", 500.0, 0.0)], [("USDT", 500.0, 0.0)], [("USDT", 900.0, 0.0)]]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"starting_balance": 0.0}, "starting_balance\n  Input should be greater than 0"),
        ({"symbol": "BTCXYZ"}, "symbol: symbol 'BTCXYZ' names no base and quote asset"),
    ],
)
def test_a_starting_balance_or_a_symbol_the_account_cannot_hold_is_refused_naming_the_field(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        asyncio.run(ws.prepare_paper_trading(request(**fields)))
