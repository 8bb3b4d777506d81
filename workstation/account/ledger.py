"""A run's account (``RunAccount``): books each closed trade in money as the run closes it, and builds its report.

A backtest holds one signal at a time, so the equity a position opens with is the balance the previous trade left:
the account can size each trade when it closes, from the closed signal alone. The engine's trades are the same
whatever the sizing (their % PnL does not depend on the money in them): a sizing scales each trade's money figures
(``Pnl.pnl_cost``, ``pnl_entries``, ``fee_cost``, and each partial close's) by the money it gives the first entry
over the engine's cost of it. Only a spent equity changes the run: it stops opening positions.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import math
from collections.abc import Awaitable, Callable, Sequence

from workstation.account.report import AccountReport, AccountTrade, EquityPoint
from workstation.account.settings import AccountSettings, EquityShareSizing, FixedCostSizing
from workstation.clients.exchange import ClientExchange
from workstation.clients.position import PositionState
from workstation.clients.sizing import risk_quantity
from workstation.config import Config
from workstation.errors import SizingError
from workstation.models.fast import construct
from workstation.models.results import ClosedResult
from workstation.reports.run_frame import close_at
from workstation.timeutil import DAY_MS

#: Reads the price a position is marked at, at a moment (epoch ms): None when the data lacks it.
PriceAt = Callable[[int], Awaitable[float | None]]


def candle_closes(exchange: ClientExchange | None, symbol: str, config: Config) -> PriceAt:
    """Return the mark prices of ``symbol``: the closes of ``exchange``'s 1m candles (none without an exchange)."""

    async def price_at(moment: int) -> float | None:
        return None if exchange is None else await close_at(exchange, symbol, moment, config)

    return price_at


_DAYS_PER_YEAR = 365
#: Prices read (about a millisecond each) before the event loop gets a turn.
_READS_PER_TURN = 16


class BookedTrade:
    """A closed trade with the money the account gave it: ``scale`` times the engine's money figures.

    Its `AccountTrade` is built when first read (by the report): a run books thousands and reads them once, if at all.
    """

    __slots__ = ("_trade", "equity_before", "pnl_money", "result", "scale")

    def __init__(self, result: ClosedResult, scale: float, equity_before: float, pnl_money: float) -> None:
        self.result = result
        self.scale = scale
        self.equity_before = equity_before
        self.pnl_money = pnl_money
        self._trade: AccountTrade | None = None

    @property
    def trade(self) -> AccountTrade:
        """The trade in money: what went in, what it made, its fees and the equity before and after it."""
        trade = self._trade
        if trade is None:
            result = self.result
            signal = result.signal
            pnl = result.pnl
            scale = self.scale
            equity_before = self.equity_before
            # Built without validation (floats and ints already).
            trade = self._trade = construct(
                AccountTrade,
                signal_id=signal.id,
                opened_at=signal.scheduled_at if signal.pending_at is None else signal.pending_at,
                closed_at=result.close_timestamp,
                invested=pnl.pnl_entries * scale,
                pnl_money=self.pnl_money,
                fees_money=pnl.fee_cost * scale,
                equity_before=equity_before,
                equity_after=equity_before + self.pnl_money,
            )
        return trade


class RunAccount:
    """The account of one run: its balance, its trades in money, and when its equity was spent.

    Parameters
    ----------
    settings
        The starting balance and the sizing.
    config
        The run's config: its ``position_entry_cost`` is the engine's cost of a first entry (and the fixed cost), its
        fee and slippage value an open position when the equity is marked to market.
    """

    def __init__(self, settings: AccountSettings, config: Config) -> None:
        self.settings = settings
        self.config = config
        self.balance = settings.starting_balance
        self.booked: list[BookedTrade] = []
        #: When the run stopped opening positions because the balance could not pay for the next one (epoch ms).
        self.equity_spent_at: int | None = None

    @property
    def spent(self) -> bool:
        """Whether the equity is spent: the run opens no more positions."""
        return self.equity_spent_at is not None

    def pays_next_position(self) -> bool:
        """Whether the balance pays for the next position: its fixed cost, or any money for a sizing on the equity."""
        if isinstance(self.settings.sizing, FixedCostSizing):
            return self.balance >= self.config.position_entry_cost
        return self.balance > 0

    def open_at(self, moment: int) -> None:
        """Start the run at ``moment`` (epoch ms): a balance that cannot pay for a first position is spent then."""
        if self.equity_spent_at is None and not self.pays_next_position():
            self.equity_spent_at = moment

    def book(self, result: ClosedResult) -> BookedTrade:
        """Book the closed trade ``result`` in money, then check whether the balance still pays for a position."""
        signal = result.signal
        equity_before = self.balance
        engine_cost = signal.entries[0].cost if signal.entries else self.config.position_entry_cost
        scale = self._first_entry_money(result, equity_before) / engine_cost
        pnl_money = result.pnl.pnl_cost * scale
        booked = BookedTrade(result, scale, equity_before, pnl_money)
        self.booked.append(booked)
        self.balance = equity_before + pnl_money
        if self.equity_spent_at is None and not self.pays_next_position():
            self.equity_spent_at = result.close_timestamp
        return booked

    def _first_entry_money(self, result: ClosedResult, equity: float) -> float:
        sizing = self.settings.sizing
        if isinstance(sizing, FixedCostSizing):
            return result.signal.entries[0].cost if result.signal.entries else self.config.position_entry_cost
        if isinstance(sizing, EquityShareSizing):
            return equity * sizing.percent / 100
        signal = result.signal
        try:
            quantity = risk_quantity(
                equity, sizing.percent, signal.original_price_open, signal.original_price_stop_loss
            )
        except SizingError:
            return equity  # no stop distance: nothing bounds the risk but the equity
        return min(quantity * signal.original_price_open, equity)

    async def report(self, frame_start: int, frame_end: int, price_at: PriceAt) -> AccountReport:
        """Return the account's report over the frame, marking open positions with ``price_at`` at each UTC midnight.

        The starting balance held in the asset (``buy_and_hold_curve``) is marked with ``price_at`` at the frame's
        start, each UTC midnight and its end.

        The prices are read on the loop; the figures are computed in a worker thread from a copy of the trades
        booked now (a year's run books thousands).
        """
        booked = list(self.booked)
        end = max(frame_end, booked[-1].trade.closed_at if booked else frame_end)
        prices: dict[int, float] = {}
        # Every midnight is read, not only those inside a position: the starting balance held is marked at each.
        for count, moment in enumerate([frame_start, *_midnights(frame_start, end), end], start=1):
            if moment in prices:
                continue
            price = await price_at(moment)
            if price is not None:
                prices[moment] = price
            if count % _READS_PER_TURN == 0:
                await asyncio.sleep(0)  # a read from the candle cache does not yield: let a window repaint
        return await asyncio.to_thread(
            compute_account_report, self.settings, self.config, booked, self.equity_spent_at, frame_start, end, prices
        )


def _midnights(start: int, end: int) -> list[int]:
    """Return the UTC midnights after ``start`` up to ``end`` (epoch ms)."""
    return list(range((start // DAY_MS + 1) * DAY_MS, end + 1, DAY_MS))


def _open_value(item: BookedTrade, moment: int, price: float, config: Config) -> float:
    """Return the money the trade has made by ``moment`` if what it holds then closed at ``price``."""
    signal = item.result.signal
    row = signal.model_copy(
        update={
            "entries": tuple(entry for entry in signal.entries if entry.timestamp <= moment),
            "partials": tuple(partial for partial in signal.partials if partial.timestamp <= moment),
        }
    )
    return PositionState(row, config.position_entry_cost).pnl(price, config).pnl_cost * item.scale


def compute_account_report(
    settings: AccountSettings,
    config: Config,
    booked: Sequence[BookedTrade],
    equity_spent_at: int | None,
    frame_start: int,
    frame_end: int,
    prices: dict[int, float],
) -> AccountReport:
    """Return the account report of ``booked`` trades over ``frame_start``..``frame_end`` (see `AccountReport`).

    ``prices`` are the prices open positions and the starting balance held are marked at, by UTC midnight (and the
    frame's start and end for the balance held); a moment without one is not marked.
    """
    start = settings.starting_balance
    equity: list[tuple[int, float]] = [(frame_start, start)]
    balance: list[tuple[int, float]] = [(frame_start, start)]
    midnights = _midnights(frame_start, frame_end)
    cash = start
    upcoming = 0
    for item in booked:
        trade = item.trade
        while upcoming < len(midnights) and midnights[upcoming] < trade.opened_at:
            equity.append((midnights[upcoming], cash))
            upcoming += 1
        equity.append((trade.opened_at, trade.equity_before))
        marks: list[tuple[int, float]] = []
        while upcoming < len(midnights) and midnights[upcoming] < trade.closed_at:
            midnight = midnights[upcoming]
            if midnight in prices:
                marks.append((midnight, trade.equity_before + _open_value(item, midnight, prices[midnight], config)))
            upcoming += 1
        realised = 0.0
        partials = item.result.signal.partials
        for partial, partial_pnl in zip(partials, item.result.partial_pnl, strict=False):
            value = _open_value(item, partial.timestamp, partial.current_price, config)
            marks.append((partial.timestamp, trade.equity_before + value))
            realised = realised + partial_pnl.pnl_cost * item.scale
            balance.append((partial.timestamp, trade.equity_before + realised))
        marks.sort(key=lambda mark: mark[0])
        equity += marks
        equity.append((trade.closed_at, trade.equity_after))
        balance.append((trade.closed_at, trade.equity_after))
        cash = trade.equity_after
    equity += [(midnight, cash) for midnight in midnights[upcoming:]]
    for curve in (equity, balance):
        if curve[-1][0] < frame_end:
            curve.append((frame_end, cash))
    trades = tuple(item.trade for item in booked)
    daily = _daily_returns(equity, frame_start, frame_end)
    drawdown_percent, drawdown_money, longest = _drawdowns(equity, frame_end)
    days = (frame_end - frame_start) / DAY_MS
    exposed = sum(trade.closed_at - trade.opened_at for trade in trades)
    return AccountReport(
        starting_balance=start,
        final_equity=cash,
        net_profit=cash - start,
        return_percent=(cash - start) / start * 100,
        max_drawdown_percent=drawdown_percent,
        max_drawdown_money=drawdown_money,
        cagr_percent=None if days < 1 or cash <= 0 else ((cash / start) ** (_DAYS_PER_YEAR / days) - 1) * 100,
        exposure_percent=exposed / (frame_end - frame_start) * 100 if frame_end > frame_start else 0.0,
        fees_paid=sum(trade.fees_money for trade in trades),
        sharpe_ratio=_sharpe(daily),
        sortino_ratio=_sortino(daily),
        longest_drawdown_days=longest / DAY_MS,
        equity_spent_at=equity_spent_at,
        trades=trades,
        balance_curve=tuple(construct(EquityPoint, timestamp=moment, value=value) for moment, value in balance),
        equity_curve=tuple(construct(EquityPoint, timestamp=moment, value=value) for moment, value in equity),
        buy_and_hold_curve=_buy_and_hold(start, booked, [frame_start, *midnights, frame_end], prices),
    )


def _buy_and_hold(
    start: float, booked: Sequence[BookedTrade], moments: list[int], prices: dict[int, float]
) -> tuple[EquityPoint, ...]:
    """Return ``start`` held in the asset bought at the first moment's price, marked at ``moments`` and each close.

    A close is marked at the price it closed at (the market's, before slippage), so the line moves with the price at
    the same moments as the equity's steps; empty without a price at the first moment.
    """
    first = prices.get(moments[0])
    if first is None or not first > 0:
        return ()
    marks = {moment: prices[moment] for moment in moments if moment in prices}
    for item in booked:
        marks.setdefault(item.trade.closed_at, item.result.current_price)
    return tuple(
        construct(EquityPoint, timestamp=moment, value=start * price / first) for moment, price in sorted(marks.items())
    )


def _daily_returns(equity: list[tuple[int, float]], frame_start: int, frame_end: int) -> list[float]:
    """Return the equity's returns from one UTC midnight to the next, from the frame's start to its end."""
    moments = [frame_start, *_midnights(frame_start, frame_end)]
    if moments[-1] < frame_end:
        moments.append(frame_end)
    times = [moment for moment, _ in equity]
    values = [equity[bisect.bisect_right(times, moment) - 1][1] for moment in moments]
    return [after / before - 1 if before > 0 else 0.0 for before, after in itertools.pairwise(values)]


def _sharpe(returns: list[float]) -> float | None:
    """Mean over sample deviation of the daily returns, times sqrt(365); None below two returns or flat."""
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    deviation = math.sqrt(sum((value - mean) ** 2 for value in returns) / (len(returns) - 1))
    return None if deviation == 0 else mean / deviation * math.sqrt(_DAYS_PER_YEAR)


def _sortino(returns: list[float]) -> float | None:
    """Mean over downside deviation (root mean square of the losing days, over all days), times sqrt(365)."""
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    downside = math.sqrt(sum(min(value, 0.0) ** 2 for value in returns) / len(returns))
    return None if downside == 0 else mean / downside * math.sqrt(_DAYS_PER_YEAR)


def _drawdowns(equity: list[tuple[int, float]], end: int) -> tuple[float, float, int]:
    """Return the deepest fall from a peak (% of the peak, and the largest in money) and the longest one (ms)."""
    peak_moment, peak = equity[0]
    deepest_percent = deepest_money = 0.0
    longest = 0
    below = False
    for moment, value in equity:
        if value >= peak:
            if below:
                longest = max(longest, moment - peak_moment)
            peak_moment, peak, below = moment, value, False
            continue
        below = True
        deepest_money = max(deepest_money, peak - value)
        if peak > 0:
            deepest_percent = max(deepest_percent, (peak - value) / peak * 100)
    if below:
        longest = max(longest, end - peak_moment)
    return deepest_percent, deepest_money, longest
