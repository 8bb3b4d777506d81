"""Sweep planning without running anything: grid positions, random draws, ranking, windows, reference checks."""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import numpy as np
import pydantic
import pytest

import workstation as ws
from workstation.examples.sma_cross import make_strategy
from workstation.exchanges.demo import DemoCandles
from workstation.optimizer import GridSearch, Optimizer, OptimizerRow, RandomSearch
from workstation.optimizer.grid import count_jobs, grid_size, job_indexes, params_at
from workstation.optimizer.references import check_reference
from workstation.optimizer.rows import best_params, rank_rows
from workstation.optimizer.windows import plan_windows

MINUTE = 60_000
HOUR = 60 * MINUTE
JAN_1 = 1704067200000


def module_level_factory(params: dict[str, Any]) -> ws.StrategySchema:
    return make_strategy(params)


def _row(index: int, metric: float | None) -> OptimizerRow:
    return OptimizerRow(
        rank=0,
        index=index,
        params={"k": index},
        metric_value=metric,
        total_signals=0,
        win_rate=None,
        total_pnl=None,
        sharpe_ratio=None,
        avg_fall_pnl=None,
    )


# ---------------------------------------------------------------------------------------------------------------
# Grid positions
# ---------------------------------------------------------------------------------------------------------------


def test_params_at_follows_itertools_product_in_key_order_with_ranges_indexed() -> None:
    grid: dict[str, Any] = {"fast": range(5, 20, 5), "variant": ("market", "limit"), "slow": [30, 50]}
    expected = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    assert grid_size(grid) == 12
    assert [params_at(grid, k) for k in range(12)] == expected
    assert params_at(grid, 0) == {"fast": 5, "variant": "market", "slow": 30}
    assert params_at(grid, 11) == {"fast": 15, "variant": "limit", "slow": 50}
    with pytest.raises(IndexError, match=r"^job index 12 is outside the grid's 12 parameter sets$"):
        params_at(grid, 12)


def test_a_grid_of_ten_million_jobs_is_counted_and_indexed_instantly() -> None:
    ws.add_optimizer(
        optimizer_name="huge",
        strategy_factory=module_level_factory,
        grid={"fast": range(10_000), "slow": range(1_000)},
        exchange_name="demo",
        frame_name="f",
        symbols=["BTCUSDT"],
    )
    started = time.perf_counter()
    assert Optimizer.count_jobs("huge") == 10_000_000
    assert Optimizer.count_jobs("huge", RandomSearch(n_samples=50, seed=3)) == 50
    assert params_at(ws.list_optimizers()[0].grid, 9_999_999) == {"fast": 9_999, "slow": 999}
    assert time.perf_counter() - started < 0.1


def test_count_jobs_names_an_unknown_optimizer_and_refuses_a_wrong_search() -> None:
    with pytest.raises(ws.SchemaNotFoundError) as missing:
        Optimizer.count_jobs("nope")
    assert str(missing.value) == 'optimizer "nope" not found (source: Optimizer.count_jobs); registered: []'
    ws.add_optimizer(
        optimizer_name="o",
        strategy_factory=module_level_factory,
        grid={"fast": [1]},
        exchange_name="e",
        frame_name="f",
        symbols=["X"],
    )
    with pytest.raises(
        TypeError, match=r"^search must be GridSearch\(\) or RandomSearch\(n_samples=\.\.\.\), got 'grid'$"
    ):
        Optimizer.count_jobs("o", "grid")  # type: ignore[arg-type]


def test_an_empty_grid_value_is_refused_naming_the_key() -> None:
    with pytest.raises(pydantic.ValidationError) as refused:
        ws.add_optimizer(
            optimizer_name="o",
            strategy_factory=module_level_factory,
            grid={"fast": [10, 20], "slow": []},
            exchange_name="e",
            frame_name="f",
            symbols=["X"],
        )
    assert "grid value of 'slow' must not be empty" in str(refused.value)
    assert ws.list_optimizers() == []


def test_random_search_draws_distinct_sets_seeded_and_sorted() -> None:
    grid = {"a": range(10), "b": range(10)}
    drawn = list(job_indexes(grid, RandomSearch(n_samples=7, seed=42)))
    assert drawn == sorted(int(k) for k in np.random.default_rng(42).choice(100, size=7, replace=False))
    assert len(set(drawn)) == 7
    assert list(job_indexes(grid, RandomSearch(n_samples=7, seed=42))) == drawn
    assert list(job_indexes(grid, RandomSearch(n_samples=7, seed=43))) != drawn
    assert count_jobs(grid, RandomSearch(n_samples=7)) == 7


def test_random_search_covering_the_grid_is_the_grid_in_order() -> None:
    grid = {"a": [1, 2], "b": [3, 4, 5]}
    assert list(job_indexes(grid, RandomSearch(n_samples=6, seed=9))) == [0, 1, 2, 3, 4, 5]
    assert list(job_indexes(grid, RandomSearch(n_samples=600))) == list(job_indexes(grid, GridSearch()))
    assert count_jobs(grid, RandomSearch(n_samples=600)) == 6


def test_random_search_over_an_astronomical_grid_is_refused_clearly() -> None:
    grid = {"a": range(10**10), "b": range(10**10)}
    assert count_jobs(grid, RandomSearch(n_samples=5)) == 5
    with pytest.raises(ValueError) as refused:
        job_indexes(grid, RandomSearch(n_samples=5))
    assert str(refused.value) == f"a random search needs a grid of fewer than 2**63 parameter sets, got {10**20}"


def test_random_search_needs_at_least_one_sample() -> None:
    with pytest.raises(pydantic.ValidationError) as refused:
        RandomSearch(n_samples=0)
    assert "n_samples" in str(refused.value)
    assert "greater than or equal to 1" in str(refused.value)


# ---------------------------------------------------------------------------------------------------------------
# Ranking
# ---------------------------------------------------------------------------------------------------------------


def test_rows_rank_by_metric_descending_none_last_ties_by_lower_index() -> None:
    rows = [_row(0, None), _row(1, 2.0), _row(2, -1.0), _row(3, 2.0), _row(4, None), _row(5, 0.0)]
    ranked = rank_rows(reversed(rows))
    assert [(row.rank, row.index) for row in ranked] == [(1, 1), (2, 3), (3, 5), (4, 2), (5, 0), (6, 4)]
    assert best_params(ranked) == {"k": 1}
    assert best_params(rank_rows([_row(0, None)])) is None
    assert best_params([]) is None


# ---------------------------------------------------------------------------------------------------------------
# Walk-forward windows
# ---------------------------------------------------------------------------------------------------------------


def _frame(hours: int, interval: str = "1m") -> ws.FrameSchema:
    return ws.FrameSchema(
        frame_name="f",
        interval=interval,  # type: ignore[arg-type]
        start_date=datetime.fromtimestamp(JAN_1 / 1000, tz=UTC),
        end_date=datetime.fromtimestamp((JAN_1 + hours * HOUR - MINUTE) / 1000, tz=UTC),
    )


def test_windows_slide_by_step_and_stop_before_a_test_passes_the_frame_end() -> None:
    day = 24 * HOUR
    frame = ws.FrameSchema(
        frame_name="f",
        interval="1h",
        start_date=datetime.fromtimestamp(JAN_1 / 1000, tz=UTC),
        end_date=datetime.fromtimestamp((JAN_1 + 10 * day - HOUR) / 1000, tz=UTC),
    )
    windows = plan_windows(frame, 3, 2, 2)
    assert [(w.index, w.train_start, w.train_end, w.test_start, w.test_end) for w in windows] == [
        (0, JAN_1, JAN_1 + 3 * day - HOUR, JAN_1 + 3 * day, JAN_1 + 5 * day - HOUR),
        (1, JAN_1 + 2 * day, JAN_1 + 5 * day - HOUR, JAN_1 + 5 * day, JAN_1 + 7 * day - HOUR),
        (2, JAN_1 + 4 * day, JAN_1 + 7 * day - HOUR, JAN_1 + 7 * day, JAN_1 + 9 * day - HOUR),
    ]
    assert len(plan_windows(frame, 3, 2, 1)) == 6
    narrowed = windows[1].train_frame(frame)
    assert (narrowed.frame_name, narrowed.interval) == ("f", "1h")
    assert narrowed.start_date == datetime.fromtimestamp((JAN_1 + 2 * day) / 1000, tz=UTC)
    assert narrowed.end_date == datetime.fromtimestamp((JAN_1 + 5 * day - HOUR) / 1000, tz=UTC)


@pytest.mark.parametrize(
    ("spans", "message"),
    [
        ((0, 1, 1), "train_days must be a positive number of days, got 0"),
        ((1, -1, 1), "test_days must be a positive number of days, got -1"),
        ((1, 1, float("nan")), "step_days must be a positive number of days, got nan"),
        ((True, 1, 1), "train_days must be a positive number of days, got True"),
        ((1, "1", 1), "test_days must be a positive number of days, got '1'"),
        ((1, 1, 0.01), "step_days must be a whole number of the frame's 1h intervals, got 0.01"),
    ],
)
def test_window_spans_are_checked_naming_the_field(spans: tuple[Any, Any, Any], message: str) -> None:
    with pytest.raises(ValueError) as refused:
        plan_windows(_frame(24 * 10, "1h"), *spans)
    assert str(refused.value) == message


# ---------------------------------------------------------------------------------------------------------------
# Importable by reference
# ---------------------------------------------------------------------------------------------------------------


def _closure_factory() -> Callable[[dict[str, Any]], Any]:
    fast = 10

    def factory(params: dict[str, Any]) -> Any:
        return make_strategy({**params, "fast": fast})

    return factory


class _LocalCallable:
    def __call__(self, params: dict[str, Any]) -> Any:
        return make_strategy(params)


@pytest.mark.parametrize(
    ("value", "importable"),
    [
        (module_level_factory, True),
        (make_strategy, True),
        (DemoCandles(7), True),
        (_LocalCallable(), True),
        (None, True),
        (lambda params: params, False),
        (_closure_factory(), False),
    ],
)
def test_reference_check_accepts_module_level_callables_only(value: Any, importable: bool) -> None:
    if importable:
        check_reference(value, "strategy_factory", "optimizer", "o", main_allowed=False)
        return
    with pytest.raises(ws.OptimizerError) as refused:
        check_reference(value, "strategy_factory", "optimizer", "o", main_allowed=False)
    assert str(refused.value) == (
        'strategy_factory of optimizer "o" is not importable by reference; define it at module level'
    )


def test_a_function_of_main_is_refused_for_a_process_pool_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def in_main(params: dict[str, Any]) -> Any:
        return params

    main = ModuleType("__main__")
    in_main.__module__ = "__main__"
    in_main.__qualname__ = "in_main"
    main.in_main = in_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "__main__", main)

    check_reference(in_main, "get_candles", "exchange", "x", main_allowed=True)
    with pytest.raises(ws.OptimizerError, match=r'^get_candles of exchange "x" is not importable by reference'):
        check_reference(in_main, "get_candles", "exchange", "x", main_allowed=False)
