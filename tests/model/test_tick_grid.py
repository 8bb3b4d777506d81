"""The frame's tick grid finds ticks by arithmetic exactly where bisecting the tick list would."""

from __future__ import annotations

import bisect

import pytest

from workstation.clients.frame import TickGrid

GRID = TickGrid(first=1_000, step=60, count=5)
TICKS = [1_000, 1_060, 1_120, 1_180, 1_240]


def test_ticks_are_first_plus_index_times_step() -> None:
    assert [GRID.at(index) for index in range(len(GRID))] == TICKS
    assert GRID.last == 1_240


@pytest.mark.parametrize("timestamp", [-5, 999, 1_000, 1_001, 1_059, 1_060, 1_239, 1_240, 1_241, 10_000])
def test_index_after_and_from_agree_with_bisect(timestamp: int) -> None:
    assert GRID.index_after(timestamp) == bisect.bisect_right(TICKS, timestamp)
    assert GRID.index_from(timestamp) == bisect.bisect_left(TICKS, timestamp)


def test_an_empty_grid_has_no_index_past_zero() -> None:
    empty = TickGrid(first=1_000, step=60, count=0)
    assert (len(empty), empty.index_after(5_000), empty.index_from(5_000)) == (0, 0, 0)
