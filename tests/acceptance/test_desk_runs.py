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
from desk_market import candles as desk_candles
from memory_keyring import MemoryKeyring
from pydantic import ValidationError

import workstation as ws
from workstation.exchanges.fake_binance import FAKE_API_KEY, FAKE_SECRET, FakeBinance

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


# Live starts: where the orders go, and the reconciliation before the first start on a desk.


def live(**fields: Any) -> ws.LiveStartRequest:
    return ws.LiveStartRequest.model_validate(
        {"strategy_name": STRATEGY, "symbol": SYMBOL, "exchange_name": "demo"} | fields
    )


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"orders": "exchange"},
            "orders",
            "orders 'exchange' go to an account on a ccxt exchange (binance, kraken, ...); exchange_name 'demo' has "
            "none: choose orders 'paper'",
        ),
        (
            {"sandbox": True},
            "sandbox",
            "sandbox is the exchange's testnet for orders 'exchange'; paper orders never leave here",
        ),
        (
            {"exchange_name": "binance", "orders": "exchange", "api_url": "https://api.binance.com"},
            "api_url",
            "api_url must be a local exchange on this computer, http://127.0.0.1:<port> or http://localhost:<port>, "
            "got 'https://api.binance.com'",
        ),
        (
            {"exchange_name": "binance", "orders": "exchange", "api_url": "http://10.0.0.7:8765"},
            "api_url",
            "api_url must be a local exchange on this computer, http://127.0.0.1:<port> or http://localhost:<port>, "
            "got 'http://10.0.0.7:8765'",
        ),
        (
            {"exchange_name": "binance", "orders": "exchange", "sandbox": True, "api_url": "http://127.0.0.1:8765"},
            "api_url",
            "api_url 'http://127.0.0.1:8765' and sandbox both say where the orders go: choose one",
        ),
        (
            {"exchange_name": "binance", "api_url": "http://localhost:8765"},
            "api_url",
            "api_url 'http://localhost:8765' is where orders 'exchange' go; paper orders never leave here",
        ),
    ],
)
def test_a_live_start_says_where_its_orders_go_and_refuses_what_cannot_be_naming_the_field(
    fields: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        live(**fields)
    (error,) = refused.value.errors()
    assert (error["loc"], error["msg"]) == ((field,), f"Value error, {message}")


def test_a_live_start_sends_paper_orders_by_default_and_local_addresses_are_accepted() -> None:
    assert (live().orders, live().sandbox, live().api_url) == ("paper", False, "")
    local = live(exchange_name="binance", orders="exchange", api_url=" http://localhost:8765/ ")
    assert local.api_url == "http://localhost:8765"


def test_live_runs_with_paper_orders_share_the_paper_account_of_their_exchange() -> None:
    async def scenario() -> tuple[ws.LiveRun, ws.LiveRun]:
        first = await ws.prepare_live_start(live())
        second = await ws.prepare_live_start(live(strategy_name="sma-cross-market"))
        return first, second

    first, second = asyncio.run(scenario())
    assert first.desk is second.desk
    assert (first.exchange_name, first.desk.name, first.desk.journal_path.name, first.where) == (
        "demo",
        "paper",
        "paper-on-demo.sqlite3",
        "paper orders, filled on demo's candles",
    )
    assert first.clock is second.clock
    assert (ws.live_start_of(SYMBOL, STRATEGY), ws.live_start_of(SYMBOL, "never-started")) == (live(), None)


def test_a_live_start_on_a_desk_that_disagrees_with_a_stored_position_is_refused_until_adopted() -> None:
    async def scenario() -> tuple[ws.DeskDisagreesError, ws.Reconciliation, ws.LiveRun]:
        # A run that tracked its position without orders left it stored, on the demo market.
        ws.ensure_exchange("demo")
        clock = ws.ReplayClock(START, speed=None)
        stored = asyncio.create_task(_first_result(clock))
        await stored
        ws.Live.clear()
        with pytest.raises(ws.DeskDisagreesError) as refused:
            await ws.prepare_live_start(live())
        desk = refused.value.desk
        # Asked again, without the trader's answer, it still disagrees.
        again = await ws.Desks.reconcile(desk)
        await desk.adopt(again.disagreements[0])
        return refused.value, await ws.Desks.reconcile(desk), await ws.prepare_live_start(live())

    refused, reconciliation, started = asyncio.run(scenario())
    (disagreement,) = refused.reconciliation.disagreements
    assert str(refused).startswith(
        f"the engine and the account paper-on-demo disagree (1 disagreement): BTCUSDT: amount differs: the engine "
        f"holds {disagreement.engine.split()[1]} BTC in 1 position; the venue holds 0 BTC. No run starts"
    )
    assert reconciliation.agrees
    assert started.desk is refused.desk


async def _first_result(clock: ws.ReplayClock) -> None:
    async for _ in ws.Live.run(SYMBOL, strategy_name=STRATEGY, exchange_name="demo", clock=clock):
        return


def test_a_live_run_s_orders_reach_the_local_exchange_with_the_key_from_the_keyring(
    memory_keyring: MemoryKeyring,
) -> None:
    ws.set_api_key("binance", FAKE_API_KEY, FAKE_SECRET)
    market = desk_candles()
    present = int(market["timestamp"][60])
    with FakeBinance(market, balances={"USDT": 1000.0}, present=present) as exchange:
        request = live(exchange_name="binance", symbol="BTC/USDT", orders="exchange", api_url=exchange.url)

        async def scenario() -> tuple[ws.LiveRun, list[ws.OrderRecord]]:
            run = await ws.prepare_live_start(request)
            ws.add_strategy(strategy_name="buyer", interval="1m", get_signal=buyer)
            clock = ws.ReplayClock(datetime.fromtimestamp((present + 61_000) / 1000, tz=UTC), speed=None)
            async for _ in ws.Live.run(
                run.symbol, strategy_name="buyer", exchange_name=run.exchange_name, clock=clock, broker=run.broker
            ):
                break
            ws.Live.clear()
            await run.desk.refresh()
            orders = run.desk.orders()
            await ws.Desks.close()
            return run, orders

        run, orders = asyncio.run(scenario())
        host = exchange.url.removeprefix("http://")
        assert (run.exchange_name, run.desk.name, run.desk.real_money, run.where) == (
            f"binance@{host.replace(':', '-')}",
            "binance",
            False,
            f"orders to the local exchange at {exchange.url}",
        )
        assert run.desk.journal_path.name == f"binance-{host.replace(':', '-')}.sqlite3"
        sent = exchange.orders()
        assert [(order.client_order_id, order.type, order.side, order.status) for order in sent] == [
            (orders[-1].client_order_id, "MARKET", "BUY", "FILLED"),
            (orders[0].client_order_id, "STOP_LOSS", "SELL", "NEW"),
        ]
        assert [order.purpose for order in orders] == ["stop_loss", "entry"]


async def buyer(symbol: str, when: datetime) -> ws.Signal | None:
    price = await ws.get_average_price(symbol)
    return ws.Signal(
        position="long", price_take_profit=price * 1.01, price_stop_loss=price * 0.99, minute_estimated_time=60
    )
