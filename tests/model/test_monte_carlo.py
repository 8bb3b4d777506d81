"""Monte Carlo paths of a run's closed trades: exact values on small fixed inputs, seeded (workstation.monte_carlo)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from workstation.monte_carlo import MONTE_CARLO_PATHS, simulate_monte_carlo


@dataclass(frozen=True)
class Trade:
    """The two figures of ``ws.AccountTrade`` a Monte Carlo reads."""

    pnl_money: float
    equity_before: float


def _orders(seed: int, paths: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the reshuffled orders and the resampled picks a seed draws, as ``simulate_monte_carlo`` draws them."""
    generator = np.random.default_rng(seed)
    reshuffled = generator.permuted(np.broadcast_to(np.arange(count), (paths, count)), axis=1)
    return reshuffled, generator.integers(0, count, size=(paths, count))


def test_fixed_cost_paths_add_money_in_the_seeded_orders() -> None:
    """+100 then −50 on 10,000, fixed cost: two orders, each with its own drawdown.

    +100, −50: 10,000 → 10,100 → 10,050, drawdown 50 / 10,100 = 0.4950…%.
    −50, +100: 10,000 → 9,950 → 10,050, drawdown 50 / 10,000 = 0.5%.
    Resampled, +100 twice has no drawdown and −50 twice falls 100 / 10,000 = 1%.
    Seed 1 draws the orders (0 1)(0 1)(1 0)(0 1)(0 1)(1 0)(1 0)(1 0) and the picks (0 0)(1 0)(0 1)(0 0)(1 1)(0 0)
    (1 1)(1 1).
    """
    reshuffled_orders, resampled_picks = _orders(1, 8, 2)
    assert reshuffled_orders.tolist() == [[0, 1], [0, 1], [1, 0], [0, 1], [0, 1], [1, 0], [1, 0], [1, 0]]
    assert resampled_picks.tolist() == [[0, 0], [1, 0], [0, 1], [0, 0], [1, 1], [0, 0], [1, 1], [1, 1]]

    report = simulate_monte_carlo(
        [Trade(100.0, 10_000.0), Trade(-50.0, 10_100.0)], 10_000.0, compounding=False, paths=8, seed=1
    )

    up_first, down_first = 50 / 10_100 * 100, 0.5
    assert report.trade_count == 2
    assert report.actual.tolist() == [10_000.0, 10_100.0, 10_050.0]
    reshuffled = report.reshuffled
    assert reshuffled.trade_numbers.tolist() == [0, 1, 2]
    assert reshuffled.max_drawdowns.tolist() == [up_first, up_first, down_first, up_first, up_first] + [down_first] * 3
    # Four paths each at 9,950 and 10,100 after the first trade: the 5 % and 95 % bands are the two values.
    assert reshuffled.low.tolist() == [10_000.0, 9_950.0, 10_050.0]
    assert reshuffled.median.tolist() == [10_000.0, 10_025.0, 10_050.0]
    assert reshuffled.high.tolist() == [10_000.0, 10_100.0, 10_050.0]
    assert reshuffled.spent_share == 0.0
    resampled = report.resampled
    assert resampled.max_drawdowns.tolist() == [0.0, 0.5, up_first, 0.0, 1.0, 0.0, 1.0, 1.0]
    # Sorted 0 0 0 0.4950 0.5 1 1 1: the median is halfway between the fourth and fifth.
    assert resampled.drawdown_percentiles == (0.0, (up_first + 0.5) / 2, 1.0)
    assert resampled.high.tolist() == [10_000.0, 10_100.0, 10_200.0]
    assert resampled.low.tolist() == [10_000.0, 9_950.0, 9_900.0]
    assert resampled.drawdown_counts.sum() == 8


def test_equity_following_paths_compound_returns_relative_to_equity() -> None:
    """+1,000 on 10,000 (+10 %) and −1,100 on 11,000 (−10 %), sizing following the equity.

    Either order ends at 10,000 × 1.1 × 0.9 = 9,900, and both fall 10 % from their peak: 11,000 → 9,900, or
    10,000 → 9,000. Resampled, +10 % twice is 12,100 with no drawdown; −10 % twice is 8,100, 19 % down. (The
    expected values are written as the same float products the paths compute.)
    """
    report = simulate_monte_carlo(
        [Trade(1_000.0, 10_000.0), Trade(-1_100.0, 11_000.0)], 10_000.0, compounding=True, paths=8
    )

    assert report.compounding
    assert report.actual.tolist() == [10_000.0, 10_000.0 * 1.1, 10_000.0 * (1.1 * 0.9)]
    assert set(report.reshuffled.high.tolist()[2:] + report.reshuffled.low.tolist()[2:]) == {10_000.0 * (1.1 * 0.9)}
    up_first = (10_000.0 * 1.1 - 10_000.0 * (1.1 * 0.9)) / (10_000.0 * 1.1) * 100
    down_first = (10_000.0 - 10_000.0 * 0.9) / 10_000.0 * 100
    assert set(report.reshuffled.max_drawdowns.tolist()) == {up_first, down_first}
    both_down = (10_000.0 - 10_000.0 * (0.9 * 0.9)) / 10_000.0 * 100
    by_picks = {(0, 0): 0.0, (0, 1): up_first, (1, 0): down_first, (1, 1): both_down}
    _, picks = _orders(0, 8, 2)
    assert report.resampled.max_drawdowns.tolist() == [by_picks[(first, second)] for first, second in picks.tolist()]


def test_a_spent_path_stays_at_zero_and_counts_as_spent() -> None:
    """−6,000, −6,000, +20,000 on 10,000, fixed cost.

    Losses first: 4,000, then −2,000 (spent: 0) and the +20,000 never comes (0), drawdown 100 %.
    Win first: 30,000, 24,000, 18,000: drawdown 12,000 / 30,000 = 40 %.
    Loss, win, loss: 4,000, 24,000, 18,000: drawdown 60 %.
    Seed 3 reshuffles (2 1 0)(0 2 1)(0 1 2)(2 1 0)(1 0 2)(1 0 2): 40, 60, 100, 40, 100, 100; three of six spent.
    It resamples (0 0 2)(2 0 0)(1 1 2)(1 1 1)(1 1 0)(2 2 2): 100, 40, 100, 100, 100, 0; four of six spent.
    """
    reshuffled_orders, resampled_picks = _orders(3, 6, 3)
    assert reshuffled_orders.tolist() == [[2, 1, 0], [0, 2, 1], [0, 1, 2], [2, 1, 0], [1, 0, 2], [1, 0, 2]]
    assert resampled_picks.tolist() == [[0, 0, 2], [2, 0, 0], [1, 1, 2], [1, 1, 1], [1, 1, 0], [2, 2, 2]]
    trades = [Trade(-6_000.0, 10_000.0), Trade(-6_000.0, 4_000.0), Trade(20_000.0, 0.0)]

    report = simulate_monte_carlo(trades, 10_000.0, compounding=False, paths=6, seed=3)

    assert report.actual.tolist() == [10_000.0, 4_000.0, 0.0, 0.0]
    assert report.reshuffled.max_drawdowns.tolist() == [40.0, 60.0, 100.0, 40.0, 100.0, 100.0]
    assert report.reshuffled.spent_share == 50.0
    # After two trades: 24,000 three times, 0 three times.
    assert report.reshuffled.median.tolist() == [10_000.0, 4_000.0, 12_000.0, 9_000.0]
    assert report.resampled.max_drawdowns.tolist() == [100.0, 40.0, 100.0, 100.0, 100.0, 0.0]
    assert report.resampled.spent_share == 4 / 6 * 100
    assert report.resampled.high.tolist() == [10_000.0, 30_000.0, 43_500.0, 57_000.0]


def test_thousand_paths_by_default_and_the_same_seed_gives_the_same_paths() -> None:
    trades = [Trade(float(value), 10_000.0) for value in (120.0, -80.0, 45.0, -30.0, 200.0, -150.0, 10.0)]

    first = simulate_monte_carlo(trades, 10_000.0, compounding=False, seed=42)
    again = simulate_monte_carlo(trades, 10_000.0, compounding=False, seed=42)
    other = simulate_monte_carlo(trades, 10_000.0, compounding=False, seed=43)

    assert first.paths == MONTE_CARLO_PATHS == 1000
    assert len(first.reshuffled.max_drawdowns) == len(first.resampled.max_drawdowns) == 1000
    assert first.reshuffled.max_drawdowns.tolist() == again.reshuffled.max_drawdowns.tolist()
    assert first.resampled.median.tolist() == again.resampled.median.tolist()
    assert first.resampled.max_drawdowns.tolist() != other.resampled.max_drawdowns.tolist()
    # Reshuffled fixed-cost paths all end at the same money: only the way there differs.
    assert first.reshuffled.low[-1] == pytest.approx(first.reshuffled.high[-1], abs=1e-9)
    assert first.reshuffled.low[-1] == pytest.approx(10_115.0, abs=1e-9)
    assert first.reshuffled.drawdown_counts.sum() == 1000


def test_a_long_run_keeps_2001_points_of_its_bands() -> None:
    trades = [Trade(1.0 if index % 2 else -1.0, 10_000.0) for index in range(5_000)]

    report = simulate_monte_carlo(trades, 10_000.0, compounding=False, paths=3)

    numbers = report.reshuffled.trade_numbers
    assert len(numbers) == 2001
    assert (numbers[0], numbers[1], numbers[-1]) == (0, 2, 5_000)
    assert len(report.actual) == len(report.resampled.median) == 2001


@pytest.mark.parametrize(
    ("trades", "balance", "message"),
    [
        ([], 10_000.0, "trades: a Monte Carlo needs at least one closed trade, got none"),
        ([Trade(1.0, 10_000.0)], 0.0, "starting_balance must be a positive finite number, got 0.0"),
        ([Trade(1.0, 10_000.0)], float("nan"), "starting_balance must be a positive finite number, got nan"),
        ([Trade(1.0, 10_000.0), Trade(1.0, 0.0)], 10_000.0, "trades[1].equity_before must be positive"),
    ],
)
def test_bad_input_is_refused_naming_the_field(trades: list[Trade], balance: float, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        simulate_monte_carlo(trades, balance, compounding=True)
