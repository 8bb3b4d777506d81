"""Parameter sets of a grid by position, without materialising the product (SPEC §18.1).

Job ``k`` is the ``k``-th element of ``itertools.product`` over the grid's values in key insertion order, so the
last key varies fastest. ``range`` values are indexed, never expanded: a grid of ten million sets costs nothing
until a set is asked for.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from workstation.optimizer.models import GridSearch, RandomSearch, SearchMode

__all__ = ["count_jobs", "grid_size", "job_indexes", "params_at"]

Grid = Mapping[str, Sequence[Any]]

_LARGEST_DRAW = 2**63


def grid_size(grid: Grid) -> int:
    """Return the number of parameter sets of ``grid`` (1 for an empty grid: the factory's defaults)."""
    return math.prod(len(values) for values in grid.values())


def count_jobs(grid: Grid, search: SearchMode) -> int:
    """Return how many jobs ``search`` runs over ``grid``."""
    size = grid_size(grid)
    if isinstance(search, RandomSearch):
        return min(search.n_samples, size)
    return size


def params_at(grid: Grid, index: int) -> dict[str, Any]:
    """Return the parameter set at position ``index`` of the grid's product.

    Raises
    ------
    IndexError
        If ``index`` is outside ``[0, grid_size(grid))``.
    """
    size = grid_size(grid)
    if not 0 <= index < size:
        raise IndexError(f"job index {index} is outside the grid's {size} parameter sets")
    positions: dict[str, int] = {}
    remainder = index
    for key in reversed(list(grid)):
        remainder, positions[key] = divmod(remainder, len(grid[key]))
    return {key: grid[key][positions[key]] for key in grid}


def job_indexes(grid: Grid, search: SearchMode) -> Iterator[int]:
    """Yield the grid positions ``search`` runs, ascending.

    A random search draws its positions with ``numpy.random.default_rng(seed).choice(size, n, replace=False)``;
    when ``n_samples`` covers the grid, every position runs.

    Raises
    ------
    ValueError
        For a random search over a grid of ``2**63`` sets or more (numpy draws 64-bit positions).
    """
    size = grid_size(grid)
    if isinstance(search, GridSearch) or search.n_samples >= size:
        return iter(range(size))
    if size >= _LARGEST_DRAW:
        raise ValueError(f"a random search needs a grid of fewer than 2**63 parameter sets, got {size}")
    drawn = np.random.default_rng(search.seed).choice(size, size=search.n_samples, replace=False)
    return iter(sorted(int(position) for position in drawn))
