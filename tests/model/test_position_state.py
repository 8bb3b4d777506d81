"""The arithmetic of a managed position (SPEC-position P5–P10, P15) and the worked examples of P20 that need no engine.

The exact values are backtest-kit 19.5.0's own outputs (SPEC-position P20, ``peer/examples.mjs``): the positions open
at 00:10 at o = 42000 on the LADDER fixture, and each command is given the price the engine books it at (the VWAP of
the candle before the callback's, which on a ladder is the step's price).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.signal_factory import OPENED_AT, signal_row
from workstation.clients.position import PositionState, breakeven_threshold, progress
from workstation.config import Config
from workstation.models.position import Entry, PartialClose
from workstation.models.signal import SignalRow

MINUTE = 60_000
CONFIG = Config()
EFF = 41999.99999999999  # the effective entry of one $100 entry at 42000: 100 / (100 / 42000)
INVALID_PRICES = (math.nan, math.inf, -math.inf, 0.0, -1.0)


def at(minute: int) -> int:
    """The time ``minute`` minutes after midnight of the fixture's day (the position opens at 00:10)."""
    return OPENED_AT + (minute - 10) * MINUTE


def long_state(prices: tuple[float, float, float] = (42000.0, 42420.0, 41580.0)) -> PositionState:
    """``L`` of P20: a long market position at 42000, TP 42420, SL 41580, one $100 entry."""
    return PositionState(signal_row(prices=prices), 100.0)


def short_state() -> PositionState:
    """``S`` of P20: a short market position at 42000, TP 41580, SL 42420."""
    row = signal_row(prices=(42000.0, 41580.0, 42420.0)).model_copy(update={"position": "short"})
    return PositionState(row, 100.0)


def snapshot(state: PositionState) -> tuple[Any, ...]:
    return (
        list(state.entries),
        list(state.partials),
        state.trailing_stop_loss,
        state.trailing_take_profit,
        state.row,
    )


# ---------------------------------------------------------------------------------------------- P5 and P15: money


def test_one_entry_has_the_libraries_effective_entry_one_ulp_below_the_price() -> None:
    state = long_state()

    assert state.entries == [Entry(price=42000.0, cost=100.0, timestamp=OPENED_AT)]
    assert (state.eff(), state.invested(), state.remaining()) == (EFF, 100.0, 100.0)
    assert (state.closed_percent(), state.held_percent(), state.fully_closed()) == (0.0, 100.0, False)
    assert (state.stop_loss, state.take_profit) == (41580.0, 42420.0)


def test_e1_partial_closes_take_shares_of_what_is_still_held() -> None:
    state = long_state()

    assert state.partial_profit(40, 42200.0, at(20)) is True
    assert (state.held_percent(), state.remaining()) == (60.0, 60.0)
    assert state.partial_profit(50, 42200.0, at(25)) is True

    assert [tuple(partial.model_dump().values()) for partial in state.partials] == [
        ("profit", 40.0, 42200.0, 100.0, 1, at(20)),  # type, percent, price, held before, entries, time
        ("profit", 50.0, 42200.0, 60.0, 1, at(25)),
    ]
    assert (state.held_percent(), state.closed_percent(), state.remaining()) == (30.0, 70.0, 30.0)
    pnl = state.pnl(42420.0, CONFIG)
    assert (pnl.pnl_percentage, pnl.pnl_cost, pnl.pnl_entries) == (0.23183546453550524, 0.23183546453550524, 100.0)
    assert (pnl.price_open, pnl.price_close) == (EFF, 42420.0)


def test_e1_breakeven_becomes_available_past_the_threshold_at_the_00_30_vwap() -> None:
    state = long_state()

    assert breakeven_threshold(CONFIG) == 0.6000000000000001
    assert EFF * (1 + breakeven_threshold(CONFIG) / 100) == 42251.99999999999
    assert state.breakeven_available(42251.99999999999, CONFIG) is True
    assert state.breakeven_available(42251.99999999998, CONFIG) is False
    assert state.breakeven_available(42260.0, CONFIG) is True


def test_e2_averaging_in_needs_a_new_low_of_every_entry() -> None:
    state = long_state()

    assert state.average_buy(41800.0, 100.0, at(25)) is True
    assert state.average_buy(41800.0, 100.0, at(26)) is False

    assert state.entries == [
        Entry(price=42000.0, cost=100.0, timestamp=OPENED_AT),
        Entry(price=41800.0, cost=100.0, timestamp=at(25)),
    ]
    assert (state.eff(), state.invested(), state.remaining()) == (41899.761336515505, 200.0, 200.0)
    pnl = state.pnl(41580.0, CONFIG)
    assert (pnl.pnl_percentage, pnl.pnl_cost, pnl.pnl_entries) == (-1.1604718702350083, -2.3209437404700166, 200.0)
    assert pnl.price_open == 41899.761336515505


def test_e10_step_by_step_loss_then_averaging_then_profit_by_dollars() -> None:
    state = long_state()

    assert state.partial_loss(25, 41800.0, at(22)) is True
    assert state.eff_at(0) == EFF
    assert state.remaining() == 75.0
    assert state.average_buy(41800.0, 50.0, at(25)) is True
    assert (state.eff(), state.held_percent(), state.remaining()) == (41919.770773638964, 83.33333333333334, 125.0)
    assert state.partial_profit_cost(50, 42200.0, at(36)) is True

    assert state.partials[1] == PartialClose(
        type="profit",
        percent=40.0,
        current_price=42200.0,
        cost_basis_at_close=125.0,
        entry_count_at_close=2,
        timestamp=at(36),
    )
    assert state.eff_at(1) == 41919.770773638964
    assert state.closed_percent() == 50.0
    pnl = state.pnl(42420.0, CONFIG)
    assert (pnl.pnl_percentage, pnl.pnl_cost, pnl.pnl_entries) == (0.3382976516989842, 0.5074464775484763, 150.0)
    assert pnl.price_open == 41919.770773638964


def test_e9_partials_reaching_everything_close_the_position_with_their_own_pnl() -> None:
    state = long_state()

    assert state.partial_profit(60, 42200.0, at(20)) is True
    assert (state.held_percent(), state.fully_closed()) == (40.0, False)
    assert state.partial_profit_cost(40, 42200.0, at(21)) is True

    assert state.partials[1].percent == 100.0
    assert (state.remaining(), state.closed_percent(), state.fully_closed()) == (0.0, 100.0, True)
    # Nothing is left, so the close price does not count (P15.2: the remaining weight is exactly 0).
    assert state.pnl(42200.0, CONFIG).pnl_percentage == 0.07516340802059243
    assert state.pnl(1.0, CONFIG).pnl_percentage == 0.07516340802059243


@pytest.mark.parametrize(
    ("name", "prices", "close", "expected"),
    [
        ("E6 user close at the 00:31 VWAP", (42000.0, 42420.0, 41580.0), 42100.0, -0.16221849578988634),
        ("E7 limit order activated at 41800", (41800.0, 42300.0, 41500.0), 42000.0, 0.07743500518621182),
        ("E12 stop loss at 1 % below 42000", (42000.0, 42420.0, 41580.0), 41580.0, -1.3966043956043657),
    ],
)
def test_one_entry_pnl_of_the_worked_examples(
    name: str, prices: tuple[float, float, float], close: float, expected: float
) -> None:
    assert long_state(prices).pnl(close, CONFIG).pnl_percentage == expected, name


def test_the_pnl_without_partials_is_the_one_entry_formula() -> None:
    pnl = long_state().pnl(42000.0, CONFIG)

    # SPEC §7 P1: a long opened and closed at 42000 loses the costs.
    assert (pnl.pnl_percentage, pnl.pnl_cost, pnl.fee_cost) == (
        -0.3996003996003651,
        -0.3996003996003651,
        0.19980019980019983,
    )


def test_the_pnl_of_more_partial_closes_than_invested_is_refused_with_the_signal_id() -> None:
    state = long_state()
    state.partials.append(
        PartialClose(
            type="profit", percent=100.0, current_price=42200.0, cost_basis_at_close=200.0, entry_count_at_close=1,
            timestamp=at(20),
        )
    )  # fmt: skip

    with pytest.raises(ValueError, match=r"^Partial closes dollar value \(200.0000\) exceeds total invested \(100.0\)"):
        state.pnl(42200.0, CONFIG)


def test_the_liquidation_price_of_a_1x_position_is_far_beyond_its_stop() -> None:
    # Values of the library's getLiquidationPrice for the same rows.
    assert long_state().liquidation_price(CONFIG) == 42.12621029440197
    assert short_state().liquidation_price(CONFIG) == 83706.54520304872


# ---------------------------------------------------------------------------------------------- P3: progress


def test_e13_a_long_at_its_entry_price_is_in_profit_by_one_ulp() -> None:
    state = long_state()

    assert state.progress(42000.0) == ("profit", 1.7323708605198331e-12)
    assert [state.progress(price)[1] for price in (42100.0, 42200.0, 42300.0, 42400.0)] == [
        23.80952380952513,
        47.61904761904853,
        71.42857142857191,
        95.23809523809533,
    ]


def test_progress_is_measured_to_the_effective_levels_and_clamped() -> None:
    state = long_state()

    assert state.progress(EFF) == ("flat", 0.0)
    assert state.progress(41790.0) == ("loss", 49.99999999999913)
    assert state.progress(40000.0) == ("loss", 100.0)
    assert state.trailing_take(-0.5, 42200.0) is True
    assert state.progress(42105.0) == ("profit", 50.000000000001734)
    assert (progress(1.0, 0.0), progress(1.0, -1.0)) == (100.0, 100.0)


# ---------------------------------------------------------------------------------------------- P8, P9: trailing


def test_e3_the_trailing_stop_moves_by_points_of_the_entry_and_only_tightens() -> None:
    state = long_state()

    assert state.trailing_stop(-0.5, 42300.0) is True
    assert state.stop_loss == 41790.0
    assert state.trailing_stop(-0.3, 42300.0) is False  # 41706.0 is absorbed by 41790.0
    assert state.trailing_stop(-1.2, 42300.0) is True
    assert state.stop_loss == 42084.0
    assert state.trailing_stop(-1.8, 42300.0) is False  # 42336.0 is above the price
    assert state.stop_loss == 42084.0
    assert state.row.original_price_stop_loss == 41580.0
    # A stop above the entry still loses the costs.
    assert state.pnl(42084.0, CONFIG).pnl_percentage == -0.2001996003995719


def test_e5_the_trailing_take_profit_only_moves_towards_the_entry() -> None:
    state = long_state()

    assert state.trailing_take(-0.5, 42200.0) is True
    assert state.take_profit == 42210.0
    assert state.trailing_take(-0.2, 42200.0) is False  # 42336.0 is absorbed
    assert state.take_profit == 42210.0
    assert state.pnl(42210.0, CONFIG).pnl_percentage == 0.0989015984016352


def test_e11_short_levels_and_partial_by_dollars() -> None:
    state = short_state()

    assert state.stop_loss_shift(41950.0) == -1.1190476190476193
    assert state.trailing_stop_cost(41950.0, 41700.0) is True
    assert state.stop_loss == 41950.0
    assert state.take_profit_shift(41650.0) == -0.16666666666666674
    assert state.trailing_take_cost(41650.0, 41700.0) is True
    assert state.take_profit == 41650.0
    assert state.partial_profit_cost(30, 41700.0, at(22)) is True

    assert (state.partials[0].percent, state.partials[0].current_price) == (30.0, 41700.0)
    assert state.pnl(41900.0, CONFIG).pnl_percentage == -0.01830363697030918


def test_the_first_trailing_move_may_loosen_and_the_later_ones_only_tighten() -> None:
    state = long_state()

    assert state.trailing_stop(0.5, 42000.0) is True
    assert state.stop_loss == 41370.0
    assert state.trailing_stop(0.7, 42000.0) is False  # 41286.0 is looser: absorbed
    assert state.trailing_stop(0.5, 42000.0) is False  # the same stop: absorbed
    assert state.trailing_stop(0.2, 42000.0) is True
    assert state.stop_loss == 41496.0


def test_short_trailing_mirrors_the_long_rules() -> None:
    state = short_state()

    assert state.trailing_stop(-0.5, 41700.0) is True
    assert state.stop_loss == 42210.0
    assert state.trailing_stop(-0.3, 41700.0) is False  # 42294.0 is looser: absorbed
    assert state.trailing_stop(-1.8, 41700.0) is False  # 41664.0 is below the price: intrusion
    assert state.trailing_take(-0.5, 41900.0) is True
    assert state.take_profit == 41790.0
    assert state.trailing_take(-0.2, 41900.0) is False  # 41664.0 is further away: absorbed
    assert state.trailing_take(-0.9, 41700.0) is False  # 41958.0 is above the price: intrusion


# ---------------------------------------------------------------------------------------------- P10: breakeven


def test_e4_breakeven_needs_the_threshold_and_moves_the_stop_to_the_effective_entry() -> None:
    state = long_state()

    # on_breakeven at 00:19 sees 42300 but the command books at the previous VWAP, 42240: below 42251.99999999999.
    assert state.breakeven(42240.0, CONFIG) is False
    assert state.trailing_stop_loss is None
    assert state.get_breakeven(42300.0, CONFIG) is True
    assert state.breakeven(42300.0, CONFIG) is True

    assert state.stop_loss == EFF
    assert state.pnl(EFF, CONFIG).pnl_percentage == -0.3996003996003824


def test_breakeven_behind_a_trailing_stop_that_already_protects_profit_changes_nothing() -> None:
    state = long_state()
    assert state.trailing_stop(-1.2, 42300.0) is True

    assert state.breakeven(42000.0, CONFIG) is True
    assert state.get_breakeven(42000.0, CONFIG) is True
    assert state.stop_loss == 42084.0


def test_breakeven_replaces_a_trailing_stop_below_the_entry() -> None:
    state = long_state()
    assert state.trailing_stop(-0.5, 42300.0) is True

    assert state.breakeven(42251.99999999998, CONFIG) is False
    assert state.breakeven(42300.0, CONFIG) is True
    assert state.stop_loss == EFF


def test_short_breakeven() -> None:
    state = short_state()
    threshold_price = EFF * (1 - breakeven_threshold(CONFIG) / 100)

    assert state.breakeven(threshold_price + 0.01, CONFIG) is False
    assert state.breakeven(threshold_price, CONFIG) is True
    assert state.stop_loss == EFF
    assert state.breakeven(41000.0, CONFIG) is False  # the stop is the entry itself: not above it, nothing to do


def test_breakeven_is_refused_when_the_entry_is_past_the_take_profit_but_the_getter_ignores_that() -> None:
    state = long_state()
    assert state.trailing_take(-1.5, 41700.0) is True
    assert state.take_profit == 41790.0

    before = snapshot(state)
    assert state.breakeven(42300.0, CONFIG) is False
    assert snapshot(state) == before
    assert state.get_breakeven(42300.0, CONFIG) is True


# ---------------------------------------------------------------------------------------------- E14 and the view


def test_e14_a_partial_is_booked_at_the_price_given_with_the_callbacks_time() -> None:
    state = long_state()

    assert state.partial_profit(50, 42100.0, at(19)) is True
    assert (state.partials[0].current_price, state.partials[0].timestamp) == (42100.0, at(19))


def test_the_view_shows_effective_values_beside_the_originals() -> None:
    state = long_state()
    state.partial_loss(25, 41800.0, at(22))
    state.average_buy(41800.0, 50.0, at(25))
    state.trailing_stop(-0.5, 42300.0)

    view = state.view(42420.0, CONFIG)

    # The trailing distance is measured from the effective entry after averaging in (P21 point 3).
    assert (view.price_open, view.price_take_profit, view.price_stop_loss) == (
        41919.770773638964,
        42420.0,
        41789.59885386819,
    )
    assert (view.original_price_open, view.original_price_take_profit, view.original_price_stop_loss) == (
        42000.0,
        42420.0,
        41580.0,
    )
    assert (view.total_entries, view.total_partials, view.partial_executed) == (2, 1, 16.666666666666664)
    assert view.entries == tuple(state.entries)
    assert view.partials == tuple(state.partials)
    assert view.pnl == state.pnl(42420.0, CONFIG)
    assert (view.id, view.pending_at, view.is_scheduled) == ("sig-1", OPENED_AT, False)
    # A copy: later commands do not change a view already handed out.
    state.partial_profit(10, 42200.0, at(30))
    assert view.total_partials == 1


def test_a_waiting_limit_order_shows_its_limit_price_and_takes_no_position_command() -> None:
    row = signal_row(pending_at=None, scheduled_at=OPENED_AT, prices=(41800.0, 42300.0, 41500.0))
    state = PositionState(row, 100.0)
    before = snapshot(state)

    view = state.view(42000.0, CONFIG)
    assert view.price_open == 41800.0
    assert view.pnl is not None
    assert (view.pnl.pnl_percentage, view.pnl.pnl_entries, view.pnl.price_open) == (0.0, 0.0, 0.0)
    assert state.average_buy(41000.0, 100.0, at(20)) is False
    assert state.partial_profit(10, 42000.0, at(20)) is False
    assert state.partial_loss_cost(10, 41700.0, at(20)) is False
    assert state.trailing_stop(-0.1, 42000.0) is False
    assert state.trailing_take_cost(42200.0, 42000.0) is False
    assert state.breakeven(43000.0, CONFIG) is False
    assert state.get_breakeven(43000.0, CONFIG) is False
    assert snapshot(state) == before

    # E7: activated at 00:21 at the limit price; its only entry keeps the creation time.
    state.activate(at(21))
    assert (state.row.pending_at, state.row.is_scheduled, state.is_open) == (at(21), False, True)
    assert state.entries == [Entry(price=41800.0, cost=100.0, timestamp=OPENED_AT)]
    assert state.view(42000.0, CONFIG).price_open == 41800.0  # 100 / (100 / 41800) happens to be exact
    assert state.pnl(42000.0, CONFIG).pnl_percentage == 0.07743500518621182


def test_a_state_resumes_from_a_view() -> None:
    state = long_state()
    state.partial_loss(25, 41800.0, at(22))
    state.average_buy(41800.0, 50.0, at(25))
    state.trailing_stop(-0.5, 42300.0)
    state.trailing_take(-0.5, 42200.0)

    resumed = PositionState(state.view(42000.0, CONFIG), 100.0)

    assert snapshot(resumed)[:4] == snapshot(state)[:4]
    assert resumed.pnl(42420.0, CONFIG) == state.pnl(42420.0, CONFIG)


# ---------------------------------------------------------------------------------------------- refusals (P6–P10)


def refused(state: PositionState, command: str, *args: Any) -> None:
    before = snapshot(state)
    assert getattr(state, command)(*args) is False, (command, args)
    assert snapshot(state) == before, (command, args)


@pytest.mark.parametrize("price", INVALID_PRICES)
def test_every_command_refuses_an_invalid_price_and_changes_nothing(price: float) -> None:
    state = long_state()
    state.partial_loss(10, 41900.0, at(20))

    refused(state, "average_buy", price, 100.0, at(21))
    refused(state, "partial_profit", 10, price, at(21))
    refused(state, "partial_loss", 10, price, at(21))
    refused(state, "partial_profit_cost", 10, price, at(21))
    refused(state, "partial_loss_cost", 10, price, at(21))
    refused(state, "trailing_stop", -0.1, price)
    refused(state, "trailing_stop_cost", 41600.0, price)
    refused(state, "trailing_take", -0.1, price)
    refused(state, "trailing_take_cost", 42400.0, price)
    refused(state, "breakeven", price, CONFIG)


@pytest.mark.parametrize("percent", [math.nan, math.inf, -math.inf, 0.0, -5.0, 100.00000000000001, 150.0])
def test_a_partial_close_refuses_a_percentage_outside_0_to_100(percent: float) -> None:
    state = long_state()

    refused(state, "partial_profit", percent, 42200.0, at(20))
    refused(state, "partial_loss", percent, 41800.0, at(20))
    refused(state, "partial_profit_cost", percent, 42200.0, at(20))  # dollars of $100 held: the same share
    refused(state, "partial_loss_cost", percent, 41800.0, at(20))


def test_a_partial_close_of_exactly_100_percent_is_accepted() -> None:
    state = long_state()

    assert state.partial_loss(100, 41800.0, at(20)) is True
    assert state.fully_closed() is True


def test_a_partial_close_on_the_wrong_side_of_the_entry_or_past_the_level_is_refused() -> None:
    state = long_state()

    refused(state, "partial_profit", 10, EFF, at(20))  # not above the effective entry
    refused(state, "partial_profit", 10, 41900.0, at(20))
    refused(state, "partial_profit", 10, 42420.0, at(20))  # at the take profit
    refused(state, "partial_loss", 10, 42000.0, at(20))  # above the entry (by one ulp): a profit
    refused(state, "partial_loss", 10, 41580.0, at(20))  # at the stop
    state.trailing_stop(-0.5, 42300.0)
    refused(state, "partial_loss", 10, 41790.0, at(20))  # at the trailing stop
    assert state.partial_loss(10, 41790.01, at(20)) is True

    short = short_state()
    refused(short, "partial_profit", 10, 42100.0, at(20))
    refused(short, "partial_profit", 10, 41580.0, at(20))
    refused(short, "partial_loss", 10, 41900.0, at(20))
    refused(short, "partial_loss", 10, 42420.0, at(20))
    assert short.partial_profit(10, 41600.0, at(20)) is True
    assert short.partial_loss(10, 42400.0, at(21)) is True


def test_a_partial_close_by_dollars_of_nothing_left_is_refused() -> None:
    state = long_state()
    assert state.partial_profit(100, 42200.0, at(20)) is True

    refused(state, "partial_profit_cost", 10, 42200.0, at(21))  # 10 / 0 dollars: no percentage
    refused(state, "partial_profit_cost", 0, 42200.0, at(21))


def test_the_cap_refuses_partials_that_would_close_more_than_was_invested() -> None:
    # A state whose records claim more closed and held than invested ($60 closed, $60 held of $100): only the cap
    # stands between it and an over-close.
    row = signal_row().model_copy(
        update={
            "partials": (
                PartialClose(
                    type="profit", percent=50.0, current_price=42200.0, cost_basis_at_close=120.0,
                    entry_count_at_close=1, timestamp=at(20),
                ),
            ),
        }
    )  # fmt: skip
    state = PositionState(row, 100.0)

    # The claimed $120 at 42000 also makes the effective entry 50400: 42200 is a loss.
    refused(state, "partial_loss", 67, 42200.0, at(21))  # 60 + 40.2 > 100
    assert state.partial_loss(66, 42200.0, at(21)) is True  # 60 + 39.6


def test_averaging_in_is_refused_unless_at_a_new_extreme() -> None:
    state = long_state()
    refused(state, "average_buy", 42000.0, 100.0, at(20))
    refused(state, "average_buy", 42100.0, 100.0, at(20))
    assert state.average_buy(41900.0, 100.0, at(20)) is True
    refused(state, "average_buy", 41950.0, 100.0, at(21))  # below the effective entry, not below every entry

    short = short_state()
    refused(short, "average_buy", 42000.0, 50.0, at(20))
    refused(short, "average_buy", 41900.0, 50.0, at(20))
    assert short.average_buy(42100.0, 50.0, at(20)) is True
    assert short.eff() == 42033.28050713153


@pytest.mark.parametrize("shift", [math.nan, math.inf, -math.inf, 0.0, -100.00000000000001, 100.00000000000001])
def test_trailing_refuses_a_shift_outside_its_range(shift: float) -> None:
    state = long_state()

    refused(state, "trailing_stop", shift, 42000.0)
    refused(state, "trailing_take", shift, 42000.0)


def test_trailing_refuses_a_stop_past_the_take_profit_and_a_take_profit_past_the_stop() -> None:
    state = long_state()

    refused(state, "trailing_stop", -2.0, 42500.0)  # 42420.0: at the take profit (the price is beyond both)
    assert state.trailing_stop(-1.99, 42500.0) is True
    state = long_state()
    refused(state, "trailing_take", -2.0, 41500.0)  # 41580.0: at the stop
    assert state.trailing_take(-1.99, 41500.0) is True

    short = short_state()
    refused(short, "trailing_stop", -2.0, 41500.0)
    refused(short, "trailing_take", -2.0, 42500.0)


def test_trailing_by_price_refuses_a_target_on_the_wrong_side_of_the_price() -> None:
    state = long_state()

    refused(state, "trailing_stop_cost", 42100.0, 42050.0)  # a stop above the price
    refused(state, "trailing_take_cost", 42000.0, 42050.0)  # a take profit below the price
    refused(state, "trailing_stop_cost", 41580.0, 42050.0)  # the original stop itself: a zero shift
    assert state.trailing_stop_cost(41600.0, 42050.0) is True
    assert state.stop_loss == 41600.0

    short = short_state()
    refused(short, "trailing_stop_cost", 41900.0, 41950.0)
    refused(short, "trailing_take_cost", 42000.0, 41950.0)


def test_breakeven_is_refused_below_its_threshold_and_on_the_wrong_side() -> None:
    state = long_state()

    refused(state, "breakeven", 42251.99999999998, CONFIG)
    refused(state, "breakeven", 41000.0, CONFIG)
    assert state.get_breakeven(42251.99999999998, CONFIG) is False


# ---------------------------------------------------------------------------------------------- SignalRow


def test_a_row_built_without_originals_takes_them_from_its_levels() -> None:
    row = signal_row(prices=(42000.0, 42420.0, 41580.0))

    assert (row.original_price_open, row.original_price_take_profit, row.original_price_stop_loss) == (
        42000.0,
        42420.0,
        41580.0,
    )
    assert (row.entries, row.partials, row.partial_executed, row.pnl) == ((), (), 0.0, None)
    assert (row.total_entries, row.total_partials) == (0, 0)


def test_a_managed_row_survives_a_json_round_trip() -> None:
    state = long_state()
    state.partial_loss(25, 41800.0, at(22))
    state.average_buy(41800.0, 50.0, at(25))
    view = state.view(42100.0, CONFIG)

    dumped = view.model_dump(mode="json")
    assert (dumped["total_entries"], dumped["total_partials"]) == (2, 1)
    assert dumped["entries"][1] == {"price": 41800.0, "cost": 50.0, "timestamp": at(25)}
    assert SignalRow.model_validate_json(view.model_dump_json()) == view


def test_every_view_and_pnl_follows_the_latest_command_and_config() -> None:
    # The figures are remembered between commands: each command (and each config) must be seen at once.
    state = PositionState(signal_row(pending_at=None, scheduled_at=OPENED_AT), 100.0)
    assert state.view(42000.0, CONFIG).price_open == 42000.0
    state.activate(at(21))
    assert state.view(42000.0, CONFIG).price_open == EFF
    state.trailing_stop(-0.5, 42300.0)
    assert state.view(42300.0, CONFIG).price_stop_loss == 41790.0
    state.trailing_take(-0.5, 42200.0)
    assert state.view(42200.0, CONFIG).price_take_profit == 42210.0
    state.breakeven(42300.0, CONFIG)
    assert state.view(42300.0, CONFIG).price_stop_loss == EFF
    before = state.pnl(42100.0, CONFIG)
    state.partial_profit(50, 42100.0, at(30))
    after = state.pnl(42100.0, CONFIG)
    # The same price through the partial-close program (P15.2) differs in the last bit.
    assert (before.pnl_percentage, after.pnl_percentage) == (-0.16221849578988634, -0.1622184957898863)
    assert state.view(42100.0, CONFIG).partial_executed == 50.0
    state.average_buy(41000.0, 100.0, at(31))
    assert (state.view(42100.0, CONFIG).price_open, state.remaining()) == (41328.0, 150.0)
    costly = Config(percent_fee=0.2)
    assert state.pnl(42100.0, costly).pnl_percentage != state.pnl(42100.0, CONFIG).pnl_percentage
    assert state.pnl(42100.0, CONFIG) == PositionState(state.view(42100.0, CONFIG), 100.0).pnl(42100.0, CONFIG)


def test_short_progress_breakeven_availability_and_view() -> None:
    state = short_state()

    assert state.progress(42000.0) == ("loss", 1.7323708605198331e-12)  # eff is one ulp below o: a short loses
    assert state.progress(41790.0) == ("profit", 49.99999999999913)
    assert state.progress(42210.0) == ("loss", 50.00000000000087)
    assert state.breakeven_available(41747.99999999999, CONFIG) is True
    assert state.breakeven_available(41748.0, CONFIG) is False
    view = state.view(41790.0, CONFIG)
    assert (view.position, view.price_open, view.price_take_profit, view.price_stop_loss) == (
        "short",
        EFF,
        41580.0,
        42420.0,
    )
    assert view.pnl is not None
    assert view.pnl.pnl_percentage == state.pnl(41790.0, CONFIG).pnl_percentage == 0.10110160160159959


def test_a_first_trailing_move_may_put_the_stop_beyond_zero_and_the_liquidation_price_then_comes_first() -> None:
    # The library accepts it (P8: the first call is unconditional apart from intrusion and conflict); the
    # liquidation price (P3 step 5) then ends the position.
    state = long_state()

    assert state.stop_trigger(CONFIG) == (41580.0, "stop_loss")
    assert state.trailing_stop(100, 42000.0) is True
    assert state.stop_loss < 0
    assert state.stop_trigger(CONFIG) == (42.12621029440197, "liquidation")
