"""``ws.Desks``: one desk per venue account, a paper account continued from its journal, desks closed at the end.

The market is tests/desk_market.py's (candle ``k`` opens at 42000 + k/2, high +10, low -10, close +0.25), replayed
on a replay clock from 30 s into minute 60: a market order fills at candle 59's close, 42029.75, fee 0.1 %, no
slippage. A sell limit at 42100 fills on candle 180 (high 42010 + 90), as that candle closes (minute 181).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import platformdirs
import pytest
from desk_market import MINUTE, SYMBOL, T0, candles
from memory_keyring import MemoryKeyring
from pydantic import ValidationError

import workstation as ws
from workstation.brokers.orders import OrderRequest
from workstation.brokers.paper_venue import PaperVenue
from workstation.exchanges.api_keys import ApiCredentials
from workstation.exchanges.fake_binance import FAKE_API_KEY, FAKE_SECRET, FakeBinance

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@pytest.fixture
def clock() -> ws.ReplayClock:
    ws.set_config(percent_slippage=0.0)
    replay = ws.ReplayClock(datetime.fromtimestamp((T0 + 60 * MINUTE + 30_000) / 1000, tz=UTC), speed=None)
    ws.add_exchange(ws.make_replay_exchange("replayed", candles(), replay))
    return replay


def account(clock: ws.ReplayClock, name: str = "paper-test") -> ws.PaperAccount:
    return ws.PaperAccount(name=name, exchange_name="replayed", clock=clock, opening_balances={"USDT": 1000.0})


def order(order_id: str, side: str, kind: str, amount: float, price: float | None = None) -> OrderRequest:
    return OrderRequest.model_validate(
        {
            "client_order_id": order_id,
            "symbol": SYMBOL,
            "side": side,
            "type": kind,
            "amount": amount,
            "price": price,
            "purpose": "manual",
        }
    )


async def trade(desk: ws.OrderDesk) -> None:
    """Buy 0.02 BTC at market, offer 0.01 at 42100 and bid for 0.003 at 41000 (never reached)."""
    await desk.submit(order("buy", "buy", "market", 0.02))
    await desk.submit(order("offer", "sell", "limit", 0.01, 42100.0))
    await desk.submit(order("bid", "buy", "limit", 0.003, 41000.0))


def account_state(desk: ws.OrderDesk) -> tuple[Any, ...]:
    return (
        [(balance.asset, balance.free, balance.used) for balance in desk.balances()],
        [(fill.trade_id, fill.client_order_id, fill.price, fill.fee, fill.timestamp) for fill in desk.fills()],
        [(record.client_order_id, record.exchange_order_id, record.status) for record in desk.orders()],
    )


def test_a_paper_account_taken_up_again_from_its_journal_goes_on_as_if_it_never_stopped(
    clock: ws.ReplayClock,
) -> None:
    async def scenario() -> tuple[tuple[Any, ...], tuple[Any, ...], Path]:
        steady = await ws.Desks.desk_for(account(clock, "paper-steady"))
        stopped = await ws.Desks.desk_for(account(clock, "paper-stopped"))
        for desk in (steady, stopped):
            await trade(desk)
        # The market passes candle 180, where the offer fills, before the stopped account is taken up again (as a
        # resumed paper session: another clock at the same moment) from its journal alone.
        clock.skip_to(T0 + 200 * MINUTE + 30_000)
        resumed = ws.ReplayClock(clock.now(), speed=None)
        taken_up = await ws.Desks.desk_for(account(resumed, "paper-stopped"))
        assert taken_up is not stopped
        assert ws.Desks.all() == [steady, taken_up]
        for desk in (steady, taken_up):
            await desk.refresh()
            await desk.submit(order("after", "buy", "market", 0.001))
            await desk.refresh()
        return account_state(steady), account_state(taken_up), taken_up.journal_path

    steady, taken_up, journal = run(scenario())
    assert taken_up == steady
    balances, fills, orders = taken_up
    bought, sold, after = 0.02 * 42029.75, 0.01 * 42100.0, 0.001 * 42099.75
    assert fills == [
        ("paper-fill-3", "after", 42099.75, pytest.approx(after * 0.001), T0 + 200 * MINUTE + 30_000),
        ("paper-fill-2", "offer", 42100.0, pytest.approx(sold * 0.001), T0 + 181 * MINUTE),
        ("paper-fill-1", "buy", 42029.75, pytest.approx(bought * 0.001), T0 + 60 * MINUTE + 30_000),
    ]
    assert orders == [
        ("after", "paper-4", "closed"),
        ("bid", "paper-3", "open"),
        ("offer", "paper-2", "closed"),
        ("buy", "paper-1", "closed"),
    ]
    usdt = 1000.0 - bought * 1.001 + sold * 0.999 - after * 1.001
    assert balances == [
        ("BTC", pytest.approx(0.011), 0.0),
        ("USDT", pytest.approx(usdt - 123.123), pytest.approx(123.123)),
    ]
    assert journal == Path(platformdirs.user_data_dir("workstation")) / "desk" / "paper-stopped.sqlite3"


def test_a_fresh_paper_account_forgets_its_journal_and_opens_with_its_new_balance(clock: ws.ReplayClock) -> None:
    async def scenario() -> tuple[Any, ...]:
        desk = await ws.Desks.desk_for(account(clock))
        await trade(desk)
        await ws.Desks.close()
        richer = ws.PaperAccount(
            name="paper-test", exchange_name="replayed", clock=clock, opening_balances={"USDT": 5000.0}
        )
        kept = await ws.Desks.desk_for(richer)
        await kept.refresh()
        kept_usdt = [balance.total for balance in kept.balances() if balance.asset == "USDT"]
        fresh = await ws.Desks.desk_for(richer, fresh=True)
        await fresh.refresh()
        return kept_usdt, account_state(fresh), kept is fresh

    kept_usdt, fresh, same = run(scenario())
    # Taken up again, the account keeps what it opened with; a fresh one opens with the new balance.
    assert kept_usdt == [pytest.approx(1000.0 - 0.02 * 42029.75 * 1.001)]
    assert fresh == ([("USDT", 5000.0, 0.0)], [], [])
    assert not same


def test_the_same_account_gets_the_same_desk_and_a_paper_session_prepared_again_a_new_one(
    clock: ws.ReplayClock,
) -> None:
    async def scenario() -> list[bool]:
        first = await ws.Desks.desk_for(account(clock))
        again = await ws.Desks.desk_for(account(clock))
        other_clock = ws.ReplayClock(clock.now(), speed=None)
        renewed = await ws.Desks.desk_for(
            ws.PaperAccount(
                name="paper-test", exchange_name="replayed", clock=other_clock, opening_balances={"USDT": 1.0}
            )
        )
        await ws.Desks.close()
        return [first is again, renewed is first, ws.Desks.all() == []]

    assert run(scenario()) == [True, False, True]


def test_exchange_accounts_are_named_by_exchange_testnet_or_local_address() -> None:
    assert [
        ws.ExchangeAccount("binance").name,
        ws.ExchangeAccount("binance", sandbox=True).name,
        ws.ExchangeAccount("binance", api_url="http://127.0.0.1:8765").name,
        ws.ExchangeAccount("kraken", api_url="http://localhost").name,
    ] == ["binance", "binance-sandbox", "binance-127.0.0.1-8765", "kraken-localhost-80"]


def test_an_exchange_desk_reads_its_key_from_the_keyring_and_trades_on_the_local_exchange(
    memory_keyring: MemoryKeyring,
) -> None:
    ws.set_api_key("binance", FAKE_API_KEY, FAKE_SECRET)
    with FakeBinance(candles(), balances={"USDT": 1000.0}, present=T0 + 60 * MINUTE) as exchange:

        async def scenario() -> tuple[Any, ...]:
            desk = await ws.Desks.desk_for(ws.ExchangeAccount("binance", api_url=exchange.url))
            record = await desk.submit(order("buy", "buy", "market", 0.01))
            await desk.refresh()
            balances = [(balance.asset, balance.total) for balance in desk.balances()]
            await ws.Desks.close()
            return desk.name, desk.real_money, record.status, record.average, balances

        name, real_money, status, average, balances = run(scenario())
        assert (name, real_money, status, average) == ("binance", False, "closed", 42030.25)
        assert balances == [("BTC", 0.01), ("USDT", pytest.approx(1000.0 - 420.3025 * 1.001))]
        assert [(sent.client_order_id, sent.status) for sent in exchange.orders()] == [("buy", "FILLED")]


def test_an_exchange_desk_without_a_key_in_the_keyring_is_refused_naming_the_exchange(
    memory_keyring: MemoryKeyring,
) -> None:
    with pytest.raises(ws.ApiKeyMissingError, match=r"^binance: no API key in the OS keyring"):
        run(ws.Desks.desk_for(ws.ExchangeAccount("binance", api_url="http://127.0.0.1:9")))
    assert ws.Desks.all() == []


def test_where_orders_go_is_said_by_the_venue_real_money_only_for_an_exchange_s_own_endpoint(
    clock: ws.ReplayClock,
) -> None:
    keys = ApiCredentials(api_key="key", secret="secret")
    venues = [
        ws.CcxtVenue("binance", credentials=keys),
        ws.CcxtVenue("binance", credentials=keys, sandbox=True),
        ws.CcxtVenue("binance", credentials=keys, api_url="http://127.0.0.1:8765"),
        ws.CcxtVenue("kraken", credentials=keys, api_url="https://proxy.example.com"),
    ]
    assert [(venue.destination, venue.real_money) for venue in venues] == [
        ("binance (real money)", True),
        ("binance testnet", False),
        ("binance at http://127.0.0.1:8765 (local fake exchange)", False),
        ("kraken at https://proxy.example.com (real money)", True),
    ]

    async def paper() -> tuple[str, bool]:
        desk = await ws.Desks.desk_for(account(clock))
        said = desk.destination, desk.real_money
        await ws.Desks.close()
        for venue in venues:
            await venue.aclose()
        return said

    assert run(paper()) == ("paper account paper-test (simulated fills)", False)


def test_the_kill_switch_halts_every_desk_and_those_opened_later_and_resume_lets_them_all_through(
    clock: ws.ReplayClock,
) -> None:
    switched: list[bool] = []
    ws.Desks.halted_changed.connect(switched.append)

    async def scenario() -> list[Any]:
        first = await ws.Desks.desk_for(account(clock, "paper-first"))
        second = await ws.Desks.desk_for(account(clock, "paper-second"))
        ws.Desks.halt("the trader pressed Halt entries")
        later = await ws.Desks.desk_for(account(clock, "paper-later"))
        states = [(desk.halted, desk.halt_reason) for desk in (first, second, later)]
        with pytest.raises(ws.OrderRefused, match="the kill switch is on"):
            await later.submit(order("entry", "buy", "market", 0.001))
        halted = [ws.Desks.halted, ws.Desks.switched_on]
        ws.Desks.resume()
        resumed = [desk.halted for desk in (first, second, later)] + [ws.Desks.halted, ws.Desks.switched_on]
        await later.submit(order("entry-2", "buy", "market", 0.001))
        await ws.Desks.close()
        return [states, halted, resumed, [o.client_order_id for o in later.orders()]]

    try:
        states, halted, resumed, sent = run(scenario())
    finally:
        ws.Desks.halted_changed.disconnect(switched.append)
    assert states == [(True, "the trader pressed Halt entries")] * 3
    assert halted == [True, True]
    assert resumed == [False, False, False, False, False]
    assert sent == ["entry-2"]
    assert switched == [True, False]


def test_flatten_everything_acts_on_every_desk_real_money_first_and_keeps_the_others_when_one_fails(
    clock: ws.ReplayClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> tuple[list[Any], list[bool], list[Any]]:
        paper = await ws.Desks.desk_for(account(clock, "paper-a"))
        real = await ws.Desks.desk_for(account(clock, "paper-b"))
        broken = await ws.Desks.desk_for(account(clock, "paper-c"))
        # Still a paper venue underneath: only what the kill switch reads of it says real money.
        venue = real.venue
        assert isinstance(venue, PaperVenue)
        venue.real_money, venue.destination = True, "binance (real money)"

        async def unreachable() -> ws.FlattenReport:
            raise RuntimeError("venue unreachable")

        monkeypatch.setattr(broken, "flatten", unreachable)
        for desk in (paper, real):
            await trade(desk)
        flattened = await ws.Desks.flatten()
        summary = [
            (
                each.account_name,
                each.destination,
                each.real_money,
                None
                if each.report is None
                else (len(each.report.cancelled), len(each.report.sold), each.report.failed),
                each.error,
            )
            for each in flattened
        ]
        halted = [desk.halted for desk in (paper, real, broken)] + [ws.Desks.switched_on]
        held = [[(b.asset, b.total) for b in desk.balances() if b.asset == "BTC"] for desk in (paper, real)]
        await ws.Desks.close()
        return summary, halted, held

    summary, halted, held = run(scenario())
    assert summary == [
        ("paper-b", "binance (real money)", True, (2, 1, ()), ""),
        ("paper-a", "paper account paper-a (simulated fills)", False, (2, 1, ()), ""),
        ("paper-c", "paper account paper-c (simulated fills)", False, None, "RuntimeError: venue unreachable"),
    ]
    assert halted == [True, True, True, True]
    assert held == [[], []]


def test_risk_limits_set_replace_every_open_desk_s_and_a_restart_reads_them_back(
    clock: ws.ReplayClock, tmp_path: Path
) -> None:
    path = tmp_path / "settings.json"
    ws.save_settings(ws.get_config(), path)
    engine = path.read_text(encoding="utf-8")

    async def scenario() -> list[ws.RiskLimits]:
        first = await ws.Desks.desk_for(account(clock, "paper-first"))
        second = await ws.Desks.desk_for(account(clock, "paper-second"))
        ws.Desks.set_limits({"max_order_notional": 500.0, "max_open_positions": 2}, path)
        limits = [first.limits, second.limits]
        await ws.Desks.close()
        return limits

    on_desks = run(scenario())
    chosen = ws.RiskLimits(max_order_notional=500.0, max_open_positions=2)
    assert on_desks == [chosen, chosen]
    assert ws.Desks.limits == chosen
    assert json.loads(path.read_text(encoding="utf-8")) == {
        **json.loads(engine),
        "risk_limits": {"max_order_notional": 500.0, "max_open_positions": 2},
    }
    restarted = ws.TradingDesks()
    assert restarted.limits == ws.RiskLimits()
    assert restarted.load_limits(path) == chosen
    assert restarted.limits == chosen
    ws.save_settings(ws.Config(percent_fee=0.2), path)
    assert ws.load_risk_limits(path) == chosen
    assert ws.load_settings(path) == ws.Config(percent_fee=0.2)


def test_a_bad_risk_limit_is_refused_naming_the_field_and_value_and_nothing_changes(
    clock: ws.ReplayClock, tmp_path: Path
) -> None:
    path = tmp_path / "settings.json"
    ws.Desks.set_limits({"max_open_positions": 3}, path)
    saved = path.read_text(encoding="utf-8")

    async def scenario() -> ws.RiskLimits:
        desk = await ws.Desks.desk_for(account(clock))
        with pytest.raises(ValidationError) as refused:
            ws.Desks.set_limits({"max_order_notional": -5.0, "max_open_positions": 1}, path)
        assert [(error["loc"], error["input"]) for error in refused.value.errors()] == [(("max_order_notional",), -5.0)]
        assert "max_order_notional" in str(refused.value)
        assert "input_value=-5.0" in str(refused.value)
        limits = desk.limits
        await ws.Desks.close()
        return limits

    assert run(scenario()) == ws.RiskLimits(max_open_positions=3)
    assert ws.Desks.limits == ws.RiskLimits(max_open_positions=3)
    assert path.read_text(encoding="utf-8") == saved
