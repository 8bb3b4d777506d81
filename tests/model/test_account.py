"""A run's account in money (issue 15, acceptance 2): exact figures computed by hand on small fixed inputs."""

from __future__ import annotations

import asyncio
import itertools
import math
from datetime import UTC, datetime

import numpy as np
import pydantic
import pytest

import workstation as ws
from workstation.account.ledger import RunAccount
from workstation.models.position import PartialPnl

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
HOUR = 3_600_000
DAY = 24 * HOUR
FRAME_END = T0 + 3 * DAY
CONFIG = ws.Config()  # position_entry_cost 100: the engine's money figures are per 100 invested


def closed(index: int, *, opened: int, closed_at: int, pnl: float, stop: float = 41580.0) -> ws.ClosedResult:
    """A long opened at 42000 with stop ``stop``, closed with ``pnl`` % of 100 invested and 0.25 of fees."""
    signal = ws.SignalRow(
        id=f"sig-{index}",
        position="long",
        note="",
        price_open=42000.0,
        price_take_profit=44000.0,
        price_stop_loss=stop,
        minute_estimated_time=1440,
        symbol="BTCUSDT",
        exchange_name="demo",
        strategy_name="one-shot",
        frame_name="F",
        scheduled_at=opened,
        pending_at=opened,
        is_scheduled=False,
    )
    pnl_model = ws.Pnl(
        pnl_percentage=pnl, pnl_cost=pnl, pnl_entries=100.0, price_open=42000.0, price_close=42000.0, fee_cost=0.25
    )
    return ws.ClosedResult(
        symbol="BTCUSDT",
        strategy_name="one-shot",
        exchange_name="demo",
        frame_name="F",
        backtest=True,
        timestamp=closed_at,
        current_price=42000.0,
        signal=signal,
        close_reason="take_profit" if pnl > 0 else "stop_loss",
        close_timestamp=closed_at,
        pnl=pnl_model,
    )


#: Three trades inside a three-day frame, each flat again before midnight: +10 %, -20 %, +5 % of the money in them.
TRADES = (
    closed(0, opened=T0 + 1 * HOUR, closed_at=T0 + 5 * HOUR, pnl=10.0, stop=41160.0),  # stop 2 % away
    closed(1, opened=T0 + DAY + 1 * HOUR, closed_at=T0 + DAY + 5 * HOUR, pnl=-20.0, stop=41790.0),  # 0.5 % away
    closed(2, opened=T0 + 2 * DAY + 1 * HOUR, closed_at=T0 + 2 * DAY + 3 * HOUR, pnl=5.0, stop=40320.0),  # 4 %
)


async def no_price(moment: int) -> float | None:
    """The data has no candles: nothing is marked."""
    return None


def report_of(sizing: dict[str, object], balance: float = 1000.0) -> ws.AccountReport:
    settings = ws.AccountSettings.model_validate({"starting_balance": balance, "sizing": sizing})
    account = RunAccount(settings, CONFIG)
    for result in TRADES:
        account.book(result)
    return asyncio.run(account.report(T0, FRAME_END, no_price))


def sharpe_and_sortino(values: list[float]) -> tuple[float, float]:
    """The daily returns' mean over their sample deviation, and over their downside deviation, times sqrt(365)."""
    returns = [after / before - 1 for before, after in itertools.pairwise(values)]
    mean = sum(returns) / len(returns)
    deviation = math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1))
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    return mean / deviation * math.sqrt(365), mean / downside * math.sqrt(365)


def test_fixed_cost_books_the_engines_money() -> None:
    """Fixed cost 100 from 1000: +10, -20, +5 of money.

    Equity 1000 -> 1010 -> 990 -> 995: net profit -5, return -0.5 %, fees 3 x 0.25 = 0.75. The peak 1010 (last seen
    at day 1 01:00, when the second trade opened) falls to 990: 20 in money, 20 / 1010 of the peak; never regained,
    so the drawdown lasts to the frame's end, 3 days - 25 h = 47 h. In a position 4 + 4 + 2 = 10 h of 72 h.
    Daily equity at the midnights: 1000, 1010, 990, 995. CAGR over 3 days: (995 / 1000) ** (365 / 3) - 1.
    """
    report = report_of({"method": "fixed_cost"})
    assert [trade.invested for trade in report.trades] == [100.0, 100.0, 100.0]
    assert [trade.pnl_money for trade in report.trades] == [10.0, -20.0, 5.0]
    assert [trade.equity_after for trade in report.trades] == [1010.0, 990.0, 995.0]
    assert report.final_equity == 995.0
    assert report.net_profit == -5.0
    assert report.return_percent == -0.5
    assert report.fees_paid == 0.75
    assert report.max_drawdown_money == 20.0
    assert report.max_drawdown_percent == 20 / 1010 * 100
    assert report.longest_drawdown_days == 47 / 24
    assert report.exposure_percent == 10 * HOUR / (72 * HOUR) * 100
    assert report.cagr_percent == ((995 / 1000) ** (365 / 3) - 1) * 100
    sharpe, sortino = sharpe_and_sortino([1000.0, 1010.0, 990.0, 995.0])
    assert report.sharpe_ratio == pytest.approx(sharpe, rel=1e-12)
    assert report.sortino_ratio == pytest.approx(sortino, rel=1e-12)
    assert report.equity_spent_at is None
    assert [(point.timestamp, point.value) for point in report.balance_curve] == [
        (T0, 1000.0),
        (T0 + 5 * HOUR, 1010.0),
        (T0 + DAY + 5 * HOUR, 990.0),
        (T0 + 2 * DAY + 3 * HOUR, 995.0),
        (FRAME_END, 995.0),
    ]
    midnights = [(point.timestamp, point.value) for point in report.equity_curve if point.timestamp % DAY == 0]
    assert midnights == [(T0, 1000.0), (T0 + DAY, 1010.0), (T0 + 2 * DAY, 990.0), (FRAME_END, 995.0)]


def test_a_share_of_equity_compounds() -> None:
    """Half the equity per position from 1000.

    Trade 1: 500 in, +10 % = +50 -> 1050 (fees 0.25 x 5 = 1.25). Trade 2: 525 in, -20 % = -105 -> 945 (fees
    1.3125). Trade 3: 472.5 in, +5 % = +23.625 -> 968.625 (fees 1.18125). Net -31.375, return -3.1375 %, fees
    3.74375; drawdown from 1050 to 945: 105, 10 % of the peak.
    """
    report = report_of({"method": "equity_share", "percent": 50.0})
    assert [trade.invested for trade in report.trades] == pytest.approx([500.0, 525.0, 472.5], rel=1e-15)
    assert [trade.pnl_money for trade in report.trades] == pytest.approx([50.0, -105.0, 23.625], rel=1e-15)
    assert report.final_equity == pytest.approx(968.625, rel=1e-15)
    assert report.net_profit == pytest.approx(-31.375, rel=1e-13)
    assert report.return_percent == pytest.approx(-3.1375, rel=1e-13)
    assert report.fees_paid == pytest.approx(3.74375, rel=1e-15)
    assert report.max_drawdown_money == pytest.approx(105.0, rel=1e-15)
    assert report.max_drawdown_percent == pytest.approx(10.0, rel=1e-15)
    # The trades' percentages are the engine's, whatever the sizing.
    assert [trade.pnl_money / trade.invested * 100 for trade in report.trades] == pytest.approx([10.0, -20.0, 5.0])


def test_risk_sizing_loses_the_percent_at_the_stop() -> None:
    """1 % of the equity lost at the stop, from 1000.

    Trade 1: stop 2 % away: 10 / 2 % = 500 in, +50 -> 1050. Trade 2: stop 0.5 % away: 10.5 / 0.5 % = 2100, more
    than the equity: 1050 in (no leverage), -210 -> 840. Trade 3: stop 4 % away: 8.4 / 4 % = 210 in, +10.5 ->
    850.5. Fees 1.25 + 2.625 + 0.525 = 4.4.
    """
    report = report_of({"method": "risk", "percent": 1.0})
    assert [trade.invested for trade in report.trades] == pytest.approx([500.0, 1050.0, 210.0], rel=1e-12)
    assert [trade.pnl_money for trade in report.trades] == pytest.approx([50.0, -210.0, 10.5], rel=1e-12)
    assert report.final_equity == pytest.approx(850.5, rel=1e-12)
    assert report.fees_paid == pytest.approx(4.4, rel=1e-12)
    assert report.max_drawdown_money == pytest.approx(210.0, rel=1e-12)
    assert report.max_drawdown_percent == pytest.approx(20.0, rel=1e-12)


def test_an_open_position_is_marked_at_midnight() -> None:
    """A long of 100 at 42000 held over the first midnight (no fees, no slippage), closed at +10 % the next day.

    At midnight the close is 43050: equity 1000 + 100 x (43050 / 42000 - 1) = 1002.5.
    """
    config = ws.Config(percent_fee=0.0, percent_slippage=0.0)
    account = RunAccount(ws.AccountSettings(starting_balance=1000.0), config)
    account.book(closed(0, opened=T0 + 20 * HOUR, closed_at=T0 + DAY + 4 * HOUR, pnl=10.0))

    async def price_at(moment: int) -> float | None:
        return 43050.0 if moment == T0 + DAY else None

    report = asyncio.run(account.report(T0, FRAME_END, price_at))
    assert (T0 + DAY, pytest.approx(1002.5, rel=1e-12)) in [(p.timestamp, p.value) for p in report.equity_curve]


def test_buy_and_hold_follows_the_price_at_each_midnight_and_close() -> None:
    """1000 held from the frame's start at 40000, marked at each midnight, each close and the frame's end.

    The price falls unevenly (40000, 36000, 39000, 30000): the line is 1000 x price / 40000 at each mark, not a
    straight line to the last; the closes (each at 42000 in ``TRADES``) are marked at their own price.
    """
    closes = {T0: 40000.0, T0 + DAY: 36000.0, T0 + 2 * DAY: 39000.0, FRAME_END: 30000.0}
    asked: list[int] = []

    async def price_at(moment: int) -> float | None:
        asked.append(moment)
        return closes.get(moment)

    settings = ws.AccountSettings(starting_balance=1000.0)
    account = RunAccount(settings, CONFIG)
    for result in TRADES:
        account.book(result)
    report = asyncio.run(account.report(T0, FRAME_END, price_at))
    assert asked == [T0, T0 + DAY, T0 + 2 * DAY, FRAME_END]
    assert [(p.timestamp, p.value) for p in report.buy_and_hold_curve] == [
        (T0, 1000.0),
        (T0 + 5 * HOUR, 1050.0),
        (T0 + DAY, 900.0),
        (T0 + DAY + 5 * HOUR, 1050.0),
        (T0 + 2 * DAY, 975.0),
        (T0 + 2 * DAY + 3 * HOUR, 1050.0),
        (FRAME_END, 750.0),
    ]


def test_buy_and_hold_is_empty_without_a_price_at_the_start() -> None:
    assert report_of({"method": "fixed_cost"}).buy_and_hold_curve == ()


def test_fixed_cost_spends_the_equity_when_the_balance_cannot_pay_a_position() -> None:
    """From 150 at a fixed cost of 100, a -60 % trade leaves 90, which cannot pay 100: spent at its close."""
    account = RunAccount(ws.AccountSettings(starting_balance=150.0), CONFIG)
    account.book(closed(0, opened=T0 + HOUR, closed_at=T0 + 2 * HOUR, pnl=-60.0))
    assert account.balance == 90.0
    assert account.equity_spent_at == T0 + 2 * HOUR


# ---------------------------------------------------------------------------------------------------------------
# A real run that spends its equity
# ---------------------------------------------------------------------------------------------------------------


async def flat_market(symbol: str, interval: str, since: datetime, limit: int) -> np.ndarray:
    """1m candles at 100 (high 101, low 99) from 2023-12-31 on."""
    first = int(since.timestamp() * 1000)
    candles = np.zeros(limit, dtype=ws.CANDLE_DTYPE)
    candles["timestamp"] = first + np.arange(limit) * 60_000
    candles["open"] = candles["close"] = 100.0
    candles["high"], candles["low"], candles["volume"] = 101.0, 99.0, 1.0
    return candles


def test_a_run_whose_equity_is_spent_opens_no_more_positions(caplog: pytest.LogCaptureFixture) -> None:
    """Every position expires flat after 10 minutes, losing slippage and fees (0.1 % each, per side).

    Per 100 invested: open 100.1, close 99.9: (99.9 - 100.1) / 100.1 = -20 / 100.1 %, fees 0.1 x (1 + 99.9 / 100.1)
    = 20 / 100.1 %: -40 / 100.1 (about -0.3996) each. From 100.5: 100.1004 after the first (still pays 100),
    99.7008 after the second: the equity is spent at the second close, and the run opens nothing more.
    """
    ws.add_exchange(exchange_name="flat", get_candles=flat_market)
    ws.add_frame(
        frame_name="two-hours",
        interval="1m",
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        end_date=datetime(2024, 1, 1, 2, 0, tzinfo=UTC),
    )
    ws.add_strategy(
        strategy_name="always-long",
        interval="1m",
        get_signal=lambda symbol, when: ws.Signal(
            position="long", price_take_profit=110.0, price_stop_loss=90.0, minute_estimated_time=10
        ),
    )

    async def run(balance: float) -> tuple[list[ws.ClosedResult], ws.AccountReport, ws.AccountReport]:
        backtest = ws.Backtest.run(
            "FLAT",
            strategy_name="always-long",
            exchange_name="flat",
            frame_name="two-hours",
            account=ws.AccountSettings(starting_balance=balance),
        )
        results = [result async for result in backtest if isinstance(result, ws.ClosedResult)]
        return results, await backtest.get_account(), await ws.Backtest.get_account("FLAT", "always-long")

    unlimited, _, _ = asyncio.run(run(10_000.0))
    assert len(unlimited) == 11  # a position every 11 minutes (10 held, closed on the 11th) over 121 minutes
    results, report, latest = asyncio.run(run(100.5))
    assert results == unlimited[:2]
    assert report.trades[-1].closed_at == results[-1].close_timestamp
    assert report == latest
    expected = [100.5 - 40 / 100.1, 100.5 - 80 / 100.1]
    assert [trade.equity_after for trade in report.trades] == pytest.approx(expected, rel=1e-12)
    assert report.equity_spent_at == results[1].close_timestamp
    assert "equity spent at 2024-01-01T00:" in caplog.text


@pytest.mark.parametrize(
    ("settings", "field", "value"),
    [
        ({"starting_balance": 0}, "starting_balance", "0"),
        ({"starting_balance": -5.0}, "starting_balance", "-5.0"),
        ({"starting_balance": float("inf")}, "starting_balance", "inf"),
        ({"sizing": {"method": "equity_share", "percent": 0}}, "sizing.equity_share.percent", "0"),
        ({"sizing": {"method": "equity_share", "percent": 150}}, "sizing.equity_share.percent", "150"),
        ({"sizing": {"method": "risk", "percent": -1}}, "sizing.risk.percent", "-1"),
        ({"sizing": {"method": "margin"}}, "sizing", "margin"),
    ],
)
def test_invalid_balances_and_sizings_are_refused_naming_the_field(
    settings: dict[str, object], field: str, value: str
) -> None:
    with pytest.raises(pydantic.ValidationError) as refused:
        ws.AccountSettings.model_validate(settings)
    text = str(refused.value)
    assert field in text
    assert value in text


def test_a_request_carries_its_account_into_the_run() -> None:
    request = ws.BacktestRequest(
        start=datetime(2024, 1, 1, tzinfo=UTC),
        end=datetime(2024, 1, 1, 1, 0, tzinfo=UTC),
        starting_balance=2500.0,
        sizing={"method": "equity_share", "percent": 20.0},  # type: ignore[arg-type]
    )
    prepared = asyncio.run(ws.prepare_backtest(request))
    assert prepared.account == ws.AccountSettings(starting_balance=2500.0, sizing=ws.EquityShareSizing(percent=20.0))
    assert prepared.run().account.settings == prepared.account


def test_a_request_refuses_a_bad_account_naming_the_field() -> None:
    with pytest.raises(pydantic.ValidationError) as refused:
        ws.BacktestRequest(
            start=datetime(2024, 1, 1, tzinfo=UTC),
            end=datetime(2024, 1, 2, tzinfo=UTC),
            starting_balance=float("nan"),
            sizing={"method": "risk", "percent": 0.0},  # type: ignore[arg-type]
        )
    located = {".".join(map(str, error["loc"])): error["input"] for error in refused.value.errors()}
    assert set(located) == {"starting_balance", "sizing.risk.percent"}
    assert located["sizing.risk.percent"] == 0.0


def test_averaging_in_and_a_partial_close_count_in_money() -> None:
    """Without fees or slippage, from 1000 at 30 % of the equity: the first entry gets 300, three times the engine's
    100, so every money figure of the trade is three times the engine's.

    Entries: 100 at 100 (1 coin) and 50 more at 90 (5/9 coin): 150 invested for 14/9 coins, effective entry
    150 / (14/9). Half of it closes at 110: realised 75 x (110 x 14/1350 - 1) = 95/9 (engine), then the rest at
    120: the trade makes 75 x (110 + 120) x 14/1350 - 150 = 260/9 (engine). In the account: 450 invested, the
    balance steps to 1000 + 3 x 95/9 at the partial close and to 1000 + 3 x 260/9 at the close; at the partial
    close the equity is marked at 110 on all 14/9 coins: 1000 + 3 x (110 x 14/9 - 150) = 1000 + 3 x 190/9.
    """
    config = ws.Config(percent_fee=0.0, percent_slippage=0.0)
    opened, averaged, partial_at, closed_at = T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR, T0 + 4 * HOUR
    base = closed(0, opened=opened, closed_at=closed_at, pnl=0.0)
    entries = (
        ws.Entry(price=100.0, cost=100.0, timestamp=opened),
        ws.Entry(price=90.0, cost=50.0, timestamp=averaged),
    )
    partial = ws.PartialClose(
        type="profit",
        percent=50.0,
        current_price=110.0,
        cost_basis_at_close=150.0,
        entry_count_at_close=2,
        timestamp=partial_at,
    )
    signal = base.signal.model_copy(
        update={"price_open": 150 / (14 / 9), "original_price_open": 100.0, "entries": entries, "partials": (partial,)}
    )
    result = base.model_copy(
        update={
            "signal": signal,
            "pnl": ws.Pnl(
                pnl_percentage=260 / 9 / 150 * 100,
                pnl_cost=260 / 9,
                pnl_entries=150.0,
                price_open=150 / (14 / 9),
                price_close=120.0,
                fee_cost=0.0,
            ),
            "partial_pnl": (PartialPnl(timestamp=partial_at, pnl_percentage=95 / 9 / 150 * 100, pnl_cost=95 / 9),),
        }
    )
    account = RunAccount(ws.AccountSettings(starting_balance=1000.0, sizing=ws.EquityShareSizing(percent=30.0)), config)
    trade = account.book(result).trade
    assert trade.invested == pytest.approx(450.0, rel=1e-15)
    assert trade.pnl_money == pytest.approx(3 * 260 / 9, rel=1e-15)
    report = asyncio.run(account.report(T0, T0 + DAY, no_price))
    balance = [(point.timestamp, point.value) for point in report.balance_curve]
    assert balance == [
        (T0, 1000.0),
        (partial_at, pytest.approx(1000 + 3 * 95 / 9, rel=1e-15)),
        (closed_at, pytest.approx(1000 + 3 * 260 / 9, rel=1e-15)),
        (T0 + DAY, pytest.approx(1000 + 3 * 260 / 9, rel=1e-15)),
    ]
    marks = {point.timestamp: point.value for point in report.equity_curve}
    assert marks[partial_at] == pytest.approx(1000 + 3 * 190 / 9, rel=1e-12)


def test_a_balance_below_the_fixed_cost_opens_nothing() -> None:
    """50 cannot pay a position of 100: the equity is spent at the first tick and no position opens."""
    ws.add_exchange(exchange_name="flat", get_candles=flat_market)
    ws.add_frame(
        frame_name="hour",
        interval="1m",
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        end_date=datetime(2024, 1, 1, 1, 0, tzinfo=UTC),
    )
    ws.add_strategy(
        strategy_name="always-long",
        interval="1m",
        get_signal=lambda symbol, when: ws.Signal(
            position="long", price_take_profit=110.0, price_stop_loss=90.0, minute_estimated_time=10
        ),
    )

    async def run() -> tuple[list[object], ws.AccountReport]:
        backtest = ws.Backtest.run(
            "FLAT",
            strategy_name="always-long",
            exchange_name="flat",
            frame_name="hour",
            account=ws.AccountSettings(starting_balance=50.0),
        )
        return [result async for result in backtest], await backtest.get_account()

    results, report = asyncio.run(run())
    assert results == []
    assert report.equity_spent_at == T0
    assert (report.final_equity, report.trades) == (50.0, ())


def test_a_request_refuses_a_fixed_cost_above_the_starting_balance() -> None:
    with pytest.raises(pydantic.ValidationError) as refused:
        ws.BacktestRequest(
            start=datetime(2024, 1, 1, tzinfo=UTC),
            end=datetime(2024, 1, 2, tzinfo=UTC),
            position_entry_cost=20_000.0,
        )
    [error] = refused.value.errors()
    assert error["loc"] == ("sizing",)
    assert "a fixed cost of 20000 per position (position_entry_cost) is more than the starting_balance 10000" in str(
        error["msg"]
    )
