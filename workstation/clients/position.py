"""The state of one managed position and its arithmetic, exactly as backtest-kit 19.5.0 evaluates it (SPEC-position).

Every formula is evaluated in the spec's float order, operation by operation: a reordered sum or a factored
expression moves results in the last bit, and the peer's outputs are matched bit for bit. Sums are plain loops
starting from 0 (``math.fsum`` or Python 3.12's compensated ``sum`` would round differently from the library).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final, Literal, NamedTuple

import numpy as np

from workstation.clients.pnl import entries_pnl, net_move, slipped_move
from workstation.config import Config
from workstation.models.fast import construct, construct_from, replaced
from workstation.models.pnl import Pnl
from workstation.models.position import Entry, PartialClose, PartialPnl, PartialType
from workstation.models.signal import Excursion, SignalRow

#: ``CC_BREAKEVEN_THRESHOLD``: the margin above the round-trip costs before breakeven is allowed, in %.
BREAKEVEN_THRESHOLD_PERCENT: Final = 0.2
#: A position whose remaining money is at most this share of the money invested is closed by its partials (P7).
FULLY_CLOSED_SHARE: Final = 1e-9
#: The partial-close cap tolerates this relative excess over the money invested (P7 rule 5).
PARTIAL_CAP_TOLERANCE: Final = 1e-9
#: ``Number.EPSILON``: a liquidation slope below it is no slope (P15.3).
_EPSILON: Final = 2.220446049250313e-16

#: Why a position is stopped out: its stop loss, or its liquidation price reached first (P3 step 5).
StopReason = Literal["stop_loss", "liquidation"]

#: The branch a price puts a position in: above (long) / below (short) its effective entry is ``profit``.
Branch = Literal["profit", "loss", "flat"]

_ZERO_PNL: Final = construct(
    Pnl, pnl_percentage=0.0, pnl_cost=0.0, pnl_entries=0.0, price_open=0.0, price_close=0.0, fee_cost=0.0
)


def breakeven_threshold(config: Config) -> float:
    """Return the move past the effective entry, in %, that allows breakeven: both sides' costs and a margin (P10).

    0.6000000000000001 with the default costs (the library's doc comments say 0.4; its code adds the margin).
    """
    return (config.percent_slippage + config.percent_fee) * 2 + BREAKEVEN_THRESHOLD_PERCENT


def progress(distance: float, target: float) -> float:
    """Return how far ``distance`` has come towards ``target``, in % within 0..100; 100 without room (P3)."""
    if target <= 0:
        return 100.0
    return min(max((distance / target) * 100, 0.0), 100.0)


class _Money(NamedTuple):
    """What the entries and partial closes fix until the next of them (P5)."""

    eff: float
    invested: float
    remaining: float
    closed_percent: float


class Levels(NamedTuple):
    """Where an open position stands until a command changes it: the prices each candle is compared with (P3)."""

    #: The price that stops the position out, and why (`PositionState.stop_trigger`).
    stop: float
    stopped_by: StopReason
    #: The effective take profit, the effective entry and the distances from it to the take profit and the stop.
    take_profit: float
    effective: float
    to_take: float
    to_stop: float
    long: bool
    #: The price at or past which breakeven becomes available (P10).
    breakeven_price: float

    def progress(self, price: float) -> tuple[Branch, float]:
        """`PositionState.progress` at ``price``."""
        return _branch_progress(self.long, self.effective, self.to_take, self.to_stop, price)

    def breakeven_available(self, price: float) -> bool:
        """`PositionState.breakeven_available` at ``price``."""
        return price >= self.breakeven_price if self.long else price <= self.breakeven_price


def _targets(long: bool, effective: float, take_profit: float, stop_loss: float) -> tuple[float, float]:
    """Return the distances from the effective entry to the take profit and to the stop, the 100 % of P3's progress."""
    if long:
        return take_profit - effective, effective - stop_loss
    return effective - take_profit, stop_loss - effective


def _branch_progress(
    long: bool, effective: float, to_take: float, to_stop: float, price: float
) -> tuple[Branch, float]:
    distance = price - effective if long else effective - price
    if distance > 0:
        return "profit", progress(distance, to_take)
    if distance < 0:
        return "loss", progress(abs(distance), to_stop)
    return "flat", 0.0


class PositionState:
    """The mutable state of one open position or waiting limit order (SPEC-position P1).

    It keeps what the library's internal row keeps: the signal as created (``row``, whose ``original_*`` levels never
    change), the entries, the partial closes and the trailing levels. Every figure of the public view is derived
    from them on demand. The commands (P6–P10) take the price the engine books them at (in a backtest:
    ``get_average_price``, the VWAP of the candle before the callback's) and the time; each returns whether it was
    accepted, and a refused command changes nothing. ``entries`` and ``partials`` are only ever appended to.
    """

    __slots__ = (
        "_booked_config",
        "_booked_key",
        "_booked_value",
        "_liquidation_config",
        "_liquidation_key",
        "_liquidation_value",
        "_money_key",
        "_money_value",
        "_valuation",
        "_view_key",
        "_view_row",
        "_view_value",
        "cost",
        "entries",
        "partials",
        "row",
        "trailing_stop_loss",
        "trailing_take_profit",
    )

    def __init__(self, row: SignalRow, cost: float) -> None:
        """Track ``row``, whose first entry cost ``cost``; a row that carries entries and partials resumes them."""
        self.row = row
        self.cost = cost
        self.entries: list[Entry] = list(row.entries) or [
            construct(Entry, price=row.original_price_open, cost=cost, timestamp=row.scheduled_at)
        ]
        self.partials: list[PartialClose] = list(row.partials)
        # A row's effective levels differ from its originals only when a trailing move (or breakeven) set them.
        self.trailing_stop_loss: float | None = (
            None if row.price_stop_loss == row.original_price_stop_loss else row.price_stop_loss
        )
        self.trailing_take_profit: float | None = (
            None if row.price_take_profit == row.original_price_take_profit else row.price_take_profit
        )
        self._money_key: tuple[int, int] | None = None
        self._money_value = _Money(0.0, 0.0, 0.0, 0.0)
        self._booked_key: tuple[int, int] | None = None
        self._booked_config: Config | None = None
        self._liquidation_key: tuple[int, int] | None = None
        self._liquidation_config: Config | None = None
        self._liquidation_value: float | None = None
        self._booked_value: tuple[float, float, float, tuple[tuple[float, float, float], ...]] = (0.0, 0.0, 0.0, ())
        self._view_key: tuple[int, int, float | None, float | None] | None = None
        self._view_row: SignalRow | None = None
        self._view_value: dict[str, Any] = {}
        self._valuation: Valuation | None = None

    def copy(self) -> PositionState:
        """Return an independent copy: a command tried on it shows its effect without changing this state."""
        copied = PositionState(self.row, self.cost)
        copied.entries = list(self.entries)
        copied.partials = list(self.partials)
        copied.trailing_stop_loss = self.trailing_stop_loss
        copied.trailing_take_profit = self.trailing_take_profit
        return copied

    # ------------------------------------------------------------------ where it stands

    @property
    def is_long(self) -> bool:
        """Whether this is a long position."""
        return self.row.position == "long"

    @property
    def is_open(self) -> bool:
        """Whether the position is open (a waiting limit order is not): only an open one takes position commands."""
        return self.row.pending_at is not None and not self.row.is_scheduled

    def activate(self, pending_at: int) -> None:
        """Open the waiting order at its limit price at ``pending_at`` (a fill or a user activation, P12)."""
        self.row = replaced(self.row, pending_at=pending_at, is_scheduled=False)

    @property
    def stop_loss(self) -> float:
        """The effective stop loss ``SLe``: the trailing one once set, else the original."""
        trailing = self.trailing_stop_loss
        return self.row.original_price_stop_loss if trailing is None else trailing

    @property
    def take_profit(self) -> float:
        """The effective take profit ``TPe``: the trailing one once set, else the original."""
        trailing = self.trailing_take_profit
        return self.row.original_price_take_profit if trailing is None else trailing

    # ------------------------------------------------------------------ the effective entry and the money (P5)

    def eff(self) -> float:
        """Return the effective entry price: the entries' harmonic mean, carried through the partial closes (P5)."""
        return self._money().eff

    def eff_at(self, index: int) -> float:
        """Return the effective entry at the partial close ``index`` (0-based): the one its PnL is measured from."""
        partials = self.partials
        first = partials[0]
        _, coins = _cost_and_coins(self.entries[: first.entry_count_at_close])
        effective = self.row.original_price_open if coins == 0 else first.cost_basis_at_close / coins
        for number in range(1, index + 1):
            previous = partials[number - 1]
            added = self.entries[previous.entry_count_at_close : partials[number].entry_count_at_close]
            effective = _blend(effective, previous, added)
        return effective

    def invested(self) -> float:
        """Return all the money ever put in: the sum of the entries' costs (P5)."""
        return self._money().invested

    def remaining(self) -> float:
        """Return the money still held: what the last partial close left, plus the entries made since (P5)."""
        return self._money().remaining

    def closed_percent(self) -> float:
        """Return the share closed by partial closes, in % of all the money ever invested (``partialExecuted``)."""
        return self._money().closed_percent

    def held_percent(self) -> float:
        """Return the share still held, in % of all the money ever invested (``get_total_percent_held``, P5)."""
        return 100 - self._money().closed_percent

    def fully_closed(self) -> bool:
        """Whether partial closes took (practically) all the money: the position then closes at the next candle (P7)."""
        money = self._money()
        return money.remaining <= money.invested * FULLY_CLOSED_SHARE

    def _money(self) -> _Money:
        # Entries and partial closes are only ever appended, so their counts identify the figures they fix; the
        # engine reads them several times per candle while they change a few times per position.
        key = (len(self.entries), len(self.partials))
        if key != self._money_key:
            self._money_value = self._count_money()
            self._money_key = key
        return self._money_value

    def _count_money(self) -> _Money:
        entries, partials = self.entries, self.partials
        total_cost, coins = _cost_and_coins(entries)
        invested = self.cost if total_cost == 0 else total_cost
        if not partials:
            return _Money(0.0 if coins == 0 else total_cost / coins, invested, invested, 0.0)
        last = partials[-1]
        added = entries[last.entry_count_at_close :]
        added_cost, _ = _cost_and_coins(added)
        closed = 0.0
        for partial in partials:
            closed = closed + (partial.percent / 100) * partial.cost_basis_at_close
        return _Money(
            eff=_blend(self.eff_at(len(partials) - 1), last, added),
            invested=invested,
            remaining=last.cost_basis_at_close * (1 - last.percent / 100) + added_cost,
            closed_percent=(closed / invested) * 100 if invested > 0 else 0.0,
        )

    # ------------------------------------------------------------------ value (P15)

    def pnl(self, price: float, config: Config) -> Pnl:
        """Return the net PnL if the rest of the position closed at ``price``, every partial close booked (P15).

        Without partial closes it is the one-entry formula (P15.1) at the effective entry; with them the weighted
        program of P15.2: the two are different float programs and must not be merged.
        """
        money = self._money()
        if not self.partials:
            return entries_pnl(self.row.position, money.eff, money.invested, price, config)
        return _partials_pnl(self.is_long, money.eff, money.invested, self._booked(config), price, config)

    def pnl_percentage(self, price: float, config: Config) -> float:
        """Return ``pnl(price, config).pnl_percentage``, the same float program without building the model."""
        money = self._money()
        if not self.partials:
            return net_move(self.is_long, money.eff, price, config)[0]
        return _partials_net(self.is_long, money.eff, money.invested, self._booked(config), price, config)[0]

    def partial_pnl(self, config: Config) -> tuple[PartialPnl, ...]:
        """Return what each partial close realised: its terms of the PnL of P15.2, in booking order.

        A partial close's term is its weighted PnL less its close fee and its weight's share of the open fee (which
        P15.2 charges once, unweighted); the remainder closed at the end has the same form with the remaining weight,
        so the terms add up to ``pnl().pnl_percentage`` (to the float rounding of a reordered sum).
        """
        invested = self._money().invested
        fee = config.percent_fee
        realised = []
        for partial, (weight, weighted, close_fee) in zip(self.partials, self._booked(config)[3], strict=True):
            pnl_percentage = weighted - (fee * weight + close_fee)
            realised.append(
                construct(
                    PartialPnl,
                    timestamp=partial.timestamp,
                    pnl_percentage=pnl_percentage,
                    pnl_cost=(pnl_percentage / 100) * invested,
                )
            )
        return tuple(realised)

    def _booked(self, config: Config) -> tuple[float, float, float, tuple[tuple[float, float, float], ...]]:
        """Return the PnL terms of the partial closes (P15.2): weighted PnL, fees (the open fee first), dollars.

        The last item is each partial close's own terms, summed into the first two: weight, weighted PnL, close fee.
        """
        key = (len(self.entries), len(self.partials))
        if key == self._booked_key and config is self._booked_config:
            return self._booked_value
        partials = self.partials
        invested = self._money().invested
        fee = config.percent_fee
        weighted = 0.0
        fees = fee
        closed = 0.0
        effective = 0.0
        terms = []
        for index, partial in enumerate(partials):
            dollars = (partial.percent / 100) * partial.cost_basis_at_close
            weight = dollars / invested
            closed = closed + dollars
            if index == 0:
                effective = self.eff_at(0)
            else:
                # eff_at(index) continued from eff_at(index - 1): the same operations as computing it afresh.
                previous = partials[index - 1]
                added = self.entries[previous.entry_count_at_close : partial.entry_count_at_close]
                effective = _blend(effective, previous, added)
            percent, open_with_slip, close_with_slip = slipped_move(
                self.is_long, effective, partial.current_price, config
            )
            term = (weight, weight * percent, fee * weight * (close_with_slip / open_with_slip))
            terms.append(term)
            weighted = weighted + term[1]
            fees = fees + term[2]
        if closed > invested + max(0.001, invested * 1e-8):
            # Unreachable through the commands (their cap refuses it first); a corrupted state must not be valued.
            raise ValueError(
                f"Partial closes dollar value ({closed:.4f}) exceeds total invested ({invested}) — "
                f"signal id: {self.row.id}"
            )
        self._booked_key, self._booked_config = key, config
        self._booked_value = (weighted, fees, closed, tuple(terms))
        return self._booked_value

    def stop_trigger(self, config: Config) -> tuple[float, StopReason]:
        """Return the price that stops the position out, and why (P3 step 5).

        The effective stop loss, or the liquidation price of the (isolated) position when the price reaches it first:
        at 1x only for a stop moved beyond it, e.g. a short's stop trailed to twice the entry.
        """
        stop = self.stop_loss
        key = (len(self.entries), len(self.partials))
        if key != self._liquidation_key or config is not self._liquidation_config:
            # It depends on the PnL only, which only an entry or a partial close changes.
            self._liquidation_value = self.liquidation_price(config)
            self._liquidation_key, self._liquidation_config = key, config
        liquidation = self._liquidation_value
        if liquidation is not None and (liquidation > stop if self.is_long else liquidation < stop):
            return liquidation, "liquidation"
        return stop, "stop_loss"

    def liquidation_price(self, config: Config) -> float | None:
        """Return where an isolated position loses 100 % (P15.3); ``None`` where the PnL does not fall with the price.

        At 1x it is far beyond any ordinary stop: about 0.1 % of the entry for a long, twice the entry for a short.
        """
        start = self.row.original_price_open
        lower = start * 0.9
        # `pnl(...).pnl_percentage` without the models: every position of a backtest works this out once.
        at_start = self.pnl_percentage(start, config)
        slope = (self.pnl_percentage(lower, config) - at_start) / (lower - start)
        if not math.isfinite(slope) or abs(slope) < _EPSILON:
            return None
        price = start + (-100 - at_start) / slope
        if not math.isfinite(price) or price <= 0:
            return None
        return price

    def progress(self, price: float) -> tuple[Branch, float]:
        """Return the branch ``price`` puts the position in and its progress to the effective level, in % (P3).

        Measured from the effective entry to the effective take profit (profit) or stop loss (loss).
        """
        long, effective = self.is_long, self.eff()
        return _branch_progress(long, effective, *_targets(long, effective, self.take_profit, self.stop_loss), price)

    def levels(self, config: Config) -> Levels:
        """Return what a candle's price is checked against, fixed until the next command changes the position (P3)."""
        stop, stopped_by = self.stop_trigger(config)
        threshold = breakeven_threshold(config)
        effective = self.eff()
        long = self.is_long
        take_profit = self.take_profit
        to_take, to_stop = _targets(long, effective, take_profit, self.stop_loss)
        return Levels(
            stop=stop,
            stopped_by=stopped_by,
            take_profit=take_profit,
            effective=effective,
            to_take=to_take,
            to_stop=to_stop,
            long=long,
            breakeven_price=effective * (1 + threshold / 100) if long else effective * (1 - threshold / 100),
        )

    def breakeven_available(self, price: float, config: Config) -> bool:
        """Whether ``price`` is far enough past the effective entry for breakeven (the ``on_breakeven`` test, P10)."""
        return self.levels(config).breakeven_available(price)

    # ------------------------------------------------------------------ excursions (SPEC-statistics §4)

    def start_excursions(self, when: int, config: Config) -> None:
        """Start the peak and the fall of a position opening at ``when`` at its entry price.

        The peak is the entry with a PnL of 0; the fall the entry with the PnL of leaving there at once (the fees and
        slippage of entering and leaving), as backtest-kit 19.5 starts its ``_peak`` and ``_fall``.
        """
        price = self.row.price_open
        fall = self.pnl_percentage(price, config)
        self.row = replaced(
            self.row,
            peak_profit=excursion(price, when, 0.0),
            max_drawdown=excursion(price, when, fall),
        )

    def excursion_prices(self) -> tuple[float, float]:
        """Return the prices of the peak and the fall; without them (a row stored before) ones no price goes past."""
        peak, fall = self.row.peak_profit, self.row.max_drawdown
        if peak is None or fall is None:
            return (math.inf, -math.inf) if self.is_long else (-math.inf, math.inf)
        return peak.price, fall.price

    def watch_excursions(self, price: float, when: int, config: Config) -> tuple[float, float]:
        """Move the peak or the fall to ``price``, a monitored candle's (or tick's) VWAP; return their prices.

        Past the effective entry on the profit side and beyond the peak's price, the peak moves there if the PnL
        there is a gain; on the loss side and beyond the fall's price, the fall moves there. The comparisons are of
        prices, as backtest-kit 19.5 makes them; the engine calls this only when ``price`` is beyond one of the two
        prices :meth:`excursion_prices` returned (two float comparisons a candle).
        """
        row = self.row
        peak, fall = row.peak_profit, row.max_drawdown
        if peak is None or fall is None:
            return self.excursion_prices()
        # `_move_peak`, then `_move_fall`, in one pass: a managed walk asks at more than half of its minutes.
        effective = self._money().eff
        if row.position == "long":
            gaining, losing = price > effective and price > peak.price, price < effective and price < fall.price
        else:
            gaining, losing = price < effective and price < peak.price, price > effective and price > fall.price
        if gaining:
            pnl = self.pnl_percentage(price, config)
            if pnl <= 0:
                return peak.price, fall.price
            self.row = replaced(row, peak_profit=excursion(price, when, pnl))
        elif losing:
            self.row = replaced(row, max_drawdown=excursion(price, when, self.pnl_percentage(price, config)))
        else:
            return peak.price, fall.price
        return self.excursion_prices()

    def move_peak_to(self, price: float, when: int, pnl_percentage: float) -> None:
        """Move the peak to ``price`` at ``when``, where a walk found a gain of ``pnl_percentage`` past the peak."""
        self.row = replaced(self.row, peak_profit=excursion(price, when, pnl_percentage))

    def move_fall_to(self, price: float, when: int, pnl_percentage: float) -> None:
        """Move the fall to ``price`` at ``when``, where a walk found the loss side beyond the fall."""
        self.row = replaced(self.row, max_drawdown=excursion(price, when, pnl_percentage))

    def scan_excursions(self, prices: np.ndarray, stamps: np.ndarray, config: Config) -> None:
        """:meth:`watch_excursions` over the monitored candles of a position no command changes, with numpy.

        Without commands the effective entry is fixed and the PnL rises with the price on the profit side, so the
        candle walk's last peak is at the first of the highest VWAPs (long; the lowest for a short) when its PnL is
        a gain, and its last fall at the first of the lowest (long; the highest for a short). The peak moves there
        if it is past the effective entry and the peak, at a gain; the fall if it is on the loss side of the
        effective entry and beyond the fall: both in one copy of the row.
        """
        row = self.row
        peak, fall = row.peak_profit, row.max_drawdown
        if len(prices) == 0 or peak is None:
            return
        assert fall is not None
        high, low = int(np.argmax(prices)), int(np.argmin(prices))
        long = row.position == "long"
        best, worst = (high, low) if long else (low, high)
        effective = self._money().eff
        update: dict[str, Excursion] = {}
        price = float(prices[best])
        if (price > effective and price > peak.price) if long else (price < effective and price < peak.price):
            pnl = self.pnl_percentage(price, config)
            if pnl > 0:
                update["peak_profit"] = excursion(price, int(stamps[best]), pnl)
        price = float(prices[worst])
        if (price < effective and price < fall.price) if long else (price > effective and price > fall.price):
            update["max_drawdown"] = excursion(price, int(stamps[worst]), self.pnl_percentage(price, config))
        if update:
            self.row = replaced(row, **update)

    # ------------------------------------------------------------------ the public view (P1)

    def view(self, price: float, config: Config) -> SignalRow:
        """Return the signal as callbacks, results and getters see it, valued at ``price`` (P1).

        The entry and levels are the effective ones; a waiting order shows its limit price and a zero PnL.
        """
        return self.valuation(config).view(price)

    def valuation(self, config: Config) -> Valuation:
        """Return the view's `Valuation`: what it holds until the next command, and its PnL at any price.

        A candle walk keeps it until a command changes the position; the views of a minute's callbacks are then one
        PnL and one model away.
        """
        fields = self._view_fields()
        valuation = self._valuation
        if valuation is None or valuation.fields is not fields or valuation.config is not config:
            valuation = self._valuation = Valuation(self, fields, config, valuation)
        return valuation

    def _view_fields(self) -> dict[str, Any]:
        """Return every field of the view but its PnL; they change only with a command, the PnL with every price."""
        key = (len(self.entries), len(self.partials), self.trailing_stop_loss, self.trailing_take_profit)
        if key == self._view_key and self.row is self._view_row:
            return self._view_value
        row = self.row
        fields = dict(row.__dict__)
        del fields["pnl"]
        fields.update(
            price_open=self.eff() if self.is_open else row.original_price_open,
            price_take_profit=self.take_profit,
            price_stop_loss=self.stop_loss,
            entries=tuple(self.entries),
            partials=tuple(self.partials),
            partial_executed=self.closed_percent(),
        )
        self._view_key, self._view_row, self._view_value = key, row, fields
        return fields

    # ------------------------------------------------------------------ commands (P6–P10)

    def average_buy(self, price: float, cost: float, when: int) -> bool:
        """Add an entry of ``cost`` at ``price`` (P6): only at a new extreme of every entry (long: below them all)."""
        if not self.is_open or not _valid_price(price):
            return False
        if self.is_long:
            if price >= min(entry.price for entry in self.entries):
                return False
        elif price <= max(entry.price for entry in self.entries):
            return False
        self.entries.append(construct(Entry, price=price, cost=cost, timestamp=when))
        return True

    def partial_profit(self, percent: float, price: float, when: int) -> bool:
        """Close ``percent`` % of the money still held at ``price``, in profit (P7)."""
        return self._partial("profit", percent, price, when)

    def partial_loss(self, percent: float, price: float, when: int) -> bool:
        """Close ``percent`` % of the money still held at ``price``, in loss (P7)."""
        return self._partial("loss", percent, price, when)

    def partial_profit_cost(self, dollars: float, price: float, when: int) -> bool:
        """Close ``dollars`` of the money still held at ``price``, in profit (P7)."""
        return self._partial("profit", self._share_of_remaining(dollars), price, when)

    def partial_loss_cost(self, dollars: float, price: float, when: int) -> bool:
        """Close ``dollars`` of the money still held at ``price``, in loss (P7)."""
        return self._partial("loss", self._share_of_remaining(dollars), price, when)

    def trailing_stop(self, percent_shift: float, current_price: float) -> bool:
        """Move the stop by ``percent_shift`` points of the entry from the original stop distance (P8).

        ``current_price`` is only checked against the new stop (it must not be past it).
        """
        if not self.is_open:
            return False
        stop = self._trailed(self.row.original_price_stop_loss, self.take_profit, self.trailing_stop_loss,
                             percent_shift, current_price, below=self.is_long)  # fmt: skip
        if stop is None:
            return False
        self.trailing_stop_loss = stop
        return True

    def trailing_stop_cost(self, new_stop_loss_price: float, price: float) -> bool:
        """Move the stop to ``new_stop_loss_price``: ``trailing_stop`` by its ``stop_loss_shift``, checked at ``price``.

        The stored stop is recomputed from the shift, so it can differ from the price asked in the last bits.
        """
        return self.is_open and self.trailing_stop(self.stop_loss_shift(new_stop_loss_price), price)

    def stop_loss_shift(self, new_stop_loss_price: float) -> float:
        """Return the ``trailing_stop`` shift that puts the stop at ``new_stop_loss_price`` (P8 ``_cost``)."""
        return self._shift_to(self.row.original_price_stop_loss, new_stop_loss_price, below=self.is_long)

    def trailing_take(self, percent_shift: float, current_price: float) -> bool:
        """Move the take profit by ``percent_shift`` points of the entry from the original distance (P9)."""
        if not self.is_open:
            return False
        take = self._trailed(self.row.original_price_take_profit, self.stop_loss, self.trailing_take_profit,
                             percent_shift, current_price, below=not self.is_long)  # fmt: skip
        if take is None:
            return False
        self.trailing_take_profit = take
        return True

    def trailing_take_cost(self, new_take_profit_price: float, price: float) -> bool:
        """Move the take profit to ``new_take_profit_price``: ``trailing_take`` by its ``take_profit_shift``."""
        return self.is_open and self.trailing_take(self.take_profit_shift(new_take_profit_price), price)

    def take_profit_shift(self, new_take_profit_price: float) -> float:
        """Return the ``trailing_take`` shift that puts the take profit at ``new_take_profit_price`` (P9 ``_cost``)."""
        return self._shift_to(self.row.original_price_take_profit, new_take_profit_price, below=not self.is_long)

    def breakeven(self, price: float, config: Config) -> bool:
        """Move the stop to the effective entry once ``price`` is past it by the threshold (P10).

        Also ``True``, without a change, when the trailing stop already protects more than the entry.
        """
        if not self.is_open or not _valid_price(price):
            return False
        effective = self.eff()
        take_profit = self.take_profit
        if effective >= take_profit if self.is_long else effective <= take_profit:
            return False
        decision = self._breakeven_decision(effective, price, config)
        if decision == "move":
            self.trailing_stop_loss = effective
        return decision != "refuse"

    def get_breakeven(self, price: float, config: Config) -> bool:
        """Whether ``breakeven`` at ``price`` would be accepted, ignoring the take profit; changes nothing (P10).

        Like the library's getter, it does not check the price: an invalid one never reaches the threshold.
        """
        if not self.is_open:
            return False
        return self._breakeven_decision(self.eff(), price, config) != "refuse"

    # ------------------------------------------------------------------ rules

    def _share_of_remaining(self, dollars: float) -> float:
        remaining = self.remaining()
        if remaining == 0:
            # The library divides by zero into an infinite (or NaN) percent, which rule 2 refuses.
            return math.nan
        return (dollars / remaining) * 100

    def _partial(self, kind: PartialType, percent: float, price: float, when: int) -> bool:
        if not self.is_open or not math.isfinite(percent) or percent <= 0 or percent > 100:
            return False
        if not _valid_price(price):
            return False
        effective = self.eff()
        long = self.is_long
        if kind == "profit":
            wrong_side = price <= effective if long else price >= effective
            past_level = price >= self.take_profit if long else price <= self.take_profit
        else:
            wrong_side = price >= effective if long else price <= effective
            past_level = price <= self.stop_loss if long else price >= self.stop_loss
        if wrong_side or past_level:
            return False
        invested = self.invested()
        remaining = self.remaining()
        if (self.closed_percent() / 100) * invested + (percent / 100) * remaining > invested * (
            1 + PARTIAL_CAP_TOLERANCE
        ):
            return False
        self.partials.append(
            construct(
                PartialClose,
                type=kind,
                percent=float(percent),
                current_price=price,
                cost_basis_at_close=remaining,
                entry_count_at_close=len(self.entries),
                timestamp=when,
            )
        )
        return True

    def _trailed(
        self, original: float, opposite: float, trailing: float | None, shift: float, price: float, *, below: bool
    ) -> float | None:
        """Return the level ``shift`` points from the ``original`` level's distance, or ``None`` if refused (P8, P9).

        ``below``: the level lies below the entry (a long's stop, a short's take profit). Refused: a level the price
        is already past, one at or beyond the ``opposite`` level, and one that does not move a ``trailing`` level set
        before towards the entry's side it protects (the first move may loosen; later ones only tighten).
        """
        if not _valid_shift(shift) or not _valid_price(price):
            return None
        effective = self.eff()
        distance = abs((effective - original) / effective * 100) + shift
        if below:
            level = effective * (1 - distance / 100)
            refused = price < level or level >= opposite or (trailing is not None and level <= trailing)
        else:
            level = effective * (1 + distance / 100)
            refused = price > level or level <= opposite or (trailing is not None and level >= trailing)
        return None if refused else level

    def _shift_to(self, original: float, target: float, *, below: bool) -> float:
        # abs() makes the original distance the same whichever way it is subtracted: IEEE rounding is sign-symmetric.
        effective = self.eff()
        distance = abs((effective - original) / effective * 100)
        requested = (effective - target) / effective * 100 if below else (target - effective) / effective * 100
        return requested - distance

    def _breakeven_decision(
        self, effective: float, price: float, config: Config
    ) -> Literal["move", "protected", "refuse"]:
        threshold = breakeven_threshold(config)
        trailing = self.trailing_stop_loss
        if self.is_long:
            if trailing is not None and trailing > effective:
                return "protected"
            stop = self.row.original_price_stop_loss if trailing is None else trailing
            if price >= effective * (1 + threshold / 100) and effective > stop and price >= effective:
                return "move"
            return "refuse"
        if trailing is not None and trailing < effective:
            return "protected"
        stop = self.row.original_price_stop_loss if trailing is None else trailing
        if price <= effective * (1 - threshold / 100) and effective < stop and price <= effective:
            return "move"
        return "refuse"


def excursion(price: float, when: int, pnl_percentage: float) -> Excursion:
    """Return the `Excursion` at ``price`` and ``when`` (numbers as the engine computes them, taken as they are)."""
    return construct(Excursion, price=float(price), timestamp=int(when), pnl_percentage=float(pnl_percentage))


def with_exit_excursion(row: SignalRow, price: float, when: int, pnl_percentage: float) -> SignalRow:
    """Return ``row`` with its exit as the last point of its excursions (backtest-kit 19.5's close excursion).

    A position closed at its take profit, stop, liquidation price or expiry ends there: the fall moves to the exit
    when its PnL is lower, the peak when it is a higher gain. A closed-on-request position records no last point.
    """
    point = excursion(price, when, pnl_percentage)
    update: dict[str, Excursion] = {}
    fall, peak = row.max_drawdown, row.peak_profit
    if fall is None or pnl_percentage < fall.pnl_percentage:
        update["max_drawdown"] = point
    if pnl_percentage > 0 and (peak is None or pnl_percentage > peak.pnl_percentage):
        update["peak_profit"] = point
    return replaced(row, **update) if update else row


class Valuation:
    """The public view of a position between two commands (P1): every field but the PnL fixed, the PnL by price.

    The view of the last price asked is kept: the callbacks of one candle see the same one. The PnL is the float
    program of `entries_pnl_of` (P15.1) or `_partials_pnl` (P15.2) with every term that does not depend on the price
    (the slipped entry, the partial closes' terms, the remaining weight) worked out once: the same operations on the
    same numbers, a few float operations a price.

    Parameters
    ----------
    state
        The position.
    fields
        Its view's fields but the PnL (`PositionState._view_fields`).
    config
        The costs the PnL is counted with.
    previous
        The position's valuation before, if any: its last PnL serves again while the money is the same (a trailing
        move changes the view's levels, not its PnL).
    """

    __slots__ = (
        "_carried",
        "_close_factor",
        "_effective",
        "_fee",
        "_fee_weight",
        "_fees",
        "_invested",
        "_last",
        "_long",
        "_money_key",
        "_open_with_slip",
        "_program",
        "_remaining_weight",
        "_weighted",
        "config",
        "fields",
    )

    def __init__(
        self, state: PositionState, fields: dict[str, Any], config: Config, previous: Valuation | None = None
    ) -> None:
        self.fields = fields
        self.config = config
        long = self._long = state.is_long
        # An open position is valued by the one-entry program (P15.1) at its effective entry, or with partial closes
        # by P15.2 from their terms; both fixed until the next command. A waiting order is valued at zero.
        open_ = state.is_open
        money = state._money() if open_ else None
        effective = self._effective = 0.0 if money is None else money.eff
        invested = self._invested = 0.0 if money is None else money.invested
        slippage = config.percent_slippage
        fee = self._fee = config.percent_fee
        # `slipped_move`'s slipped entry and the factor its close is slipped by.
        if long:
            self._open_with_slip = effective * (1 + slippage / 100)
            self._close_factor = 1 - slippage / 100
        else:
            self._open_with_slip = effective * (1 - slippage / 100)
            self._close_factor = 1 + slippage / 100
        self._weighted = self._fees = self._remaining_weight = self._fee_weight = 0.0
        #: Which program values it: none (a waiting order), P15.1, or P15.2 with or without money left to value.
        self._program: Literal["zero", "entries", "partials", "closed"]
        if money is None:
            self._program = "zero"
        elif not state.partials:
            self._program = "entries"
        else:
            # `_partials_net`: the partial closes' terms come first in its sums and do not depend on the price.
            weighted, fees, closed, _ = state._booked(config)
            remaining_weight = (invested - closed) / invested
            self._weighted, self._fees, self._remaining_weight = weighted, fees, remaining_weight
            self._fee_weight = fee * remaining_weight
            self._program = "partials" if remaining_weight > 0 else "closed"
        # Entries and partial closes are only ever appended: their counts identify the money the PnL is counted on.
        self._money_key = (len(state.entries), len(state.partials), open_)
        self._last: tuple[float, SignalRow] | None = None
        #: The previous valuation's last view when the money is the same: its PnL at its price is this one's too.
        self._carried: tuple[float, SignalRow] | None = None
        if previous is not None and previous.config is config and previous._money_key == self._money_key:
            self._carried = previous._last

    def view(self, price: float) -> SignalRow:
        """Return the view valued at ``price``."""
        last = self._last
        if last is not None and last[0] == price:
            return last[1]
        fields = self.fields.copy()
        carried = self._carried
        if carried is not None and carried[0] == price:
            fields["pnl"] = carried[1].pnl
        else:
            fields["pnl"] = self.pnl(price)
        view = construct_from(SignalRow, fields)
        self._last = (price, view)
        return view

    def pnl(self, price: float) -> Pnl:
        """Return the PnL at ``price``: ``PositionState.pnl`` (a waiting order's: zero)."""
        program = self._program
        if program == "zero":
            return _ZERO_PNL
        invested = self._invested
        open_with_slip = self._open_with_slip
        close_with_slip = price * self._close_factor
        if self._long:
            percent = ((close_with_slip - open_with_slip) / open_with_slip) * 100
        else:
            percent = ((open_with_slip - close_with_slip) / open_with_slip) * 100
        if program == "entries":
            fee_percent = self._fee * (1 + close_with_slip / open_with_slip)
            pnl_percentage = percent - fee_percent
            return construct_from(
                Pnl,
                {
                    "pnl_percentage": pnl_percentage,
                    "pnl_cost": pnl_percentage / 100 * invested,
                    "pnl_entries": invested,
                    "price_open": self._effective,
                    "price_close": price,
                    "fee_cost": fee_percent / 100 * invested,
                },
            )
        weighted, fees = self._weighted, self._fees
        if program == "partials":
            weighted = weighted + self._remaining_weight * percent
            fees = fees + self._fee_weight * (close_with_slip / open_with_slip)
        pnl_percentage = weighted - fees
        return construct_from(
            Pnl,
            {
                "pnl_percentage": pnl_percentage,
                "pnl_cost": (pnl_percentage / 100) * invested,
                "pnl_entries": invested,
                "price_open": self._effective,
                "price_close": price,
                "fee_cost": fees / 100 * invested,
            },
        )

    def pnl_percentage(self, price: float) -> float:
        """Return ``pnl(price).pnl_percentage`` without building the model (``PositionState.pnl_percentage``)."""
        program = self._program
        if program == "zero":
            return 0.0
        open_with_slip = self._open_with_slip
        close_with_slip = price * self._close_factor
        if self._long:
            percent = ((close_with_slip - open_with_slip) / open_with_slip) * 100
        else:
            percent = ((open_with_slip - close_with_slip) / open_with_slip) * 100
        if program == "entries":
            return percent - self._fee * (1 + close_with_slip / open_with_slip)
        if program == "partials":
            return (self._weighted + self._remaining_weight * percent) - (
                self._fees + self._fee_weight * (close_with_slip / open_with_slip)
            )
        return self._weighted - self._fees


def _partials_pnl(
    long: bool,
    final_open: float,
    invested: float,
    booked: tuple[float, float, float, tuple[tuple[float, float, float], ...]],
    price: float,
    config: Config,
) -> Pnl:
    """P15.2: the partial closes' terms (``PositionState._booked``), then the rest closed at ``price``."""
    pnl_percentage, fees = _partials_net(long, final_open, invested, booked, price, config)
    return construct_from(
        Pnl,
        {
            "pnl_percentage": pnl_percentage,
            "pnl_cost": (pnl_percentage / 100) * invested,
            "pnl_entries": invested,
            "price_open": final_open,
            "price_close": price,
            "fee_cost": fees / 100 * invested,
        },
    )


def _partials_net(
    long: bool,
    final_open: float,
    invested: float,
    booked: tuple[float, float, float, tuple[tuple[float, float, float], ...]],
    price: float,
    config: Config,
) -> tuple[float, float]:
    """Return the net PnL in % of `_partials_pnl` and the fees in % it subtracted."""
    # The partial closes' terms come first in the sums and do not depend on the price: counted once.
    weighted, fees, closed, _ = booked
    remaining_weight = (invested - closed) / invested
    if remaining_weight > 0:
        percent, open_with_slip, close_with_slip = slipped_move(long, final_open, price, config)
        weighted = weighted + remaining_weight * percent
        fees = fees + config.percent_fee * remaining_weight * (close_with_slip / open_with_slip)
    # The library multiplies by the leverage (1 here, an exact no-op).
    return weighted - fees, fees


def _cost_and_coins(entries: Sequence[Entry]) -> tuple[float, float]:
    """Return the entries' total cost and total coins (cost / price), each summed from 0 in list order."""
    total_cost = 0.0
    coins = 0.0
    for entry in entries:
        total_cost = total_cost + entry.cost
    for entry in entries:
        coins = coins + entry.cost / entry.price
    return total_cost, coins


def _blend(effective: float, partial: PartialClose, added: Sequence[Entry]) -> float:
    """Return the effective entry after ``partial``: the coins still held blended with the entries ``added``."""
    remaining = partial.cost_basis_at_close * (1 - partial.percent / 100)
    old_coins = 0.0 if effective == 0 else remaining / effective
    added_cost, added_coins = _cost_and_coins(added)
    coins = old_coins + added_coins
    return effective if coins == 0 else (remaining + added_cost) / coins


def _valid_price(price: float) -> bool:
    return math.isfinite(price) and price > 0


def _valid_shift(shift: float) -> bool:
    return math.isfinite(shift) and -100 <= shift <= 100 and shift != 0
