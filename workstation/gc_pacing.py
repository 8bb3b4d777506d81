"""Full garbage collections wait while a backtest works, wherever it runs (the window, the CLI, a sweep worker).

Python collects its oldest generation when enough younger collections have passed; that full pass walks every
tracked object not frozen, and a year's run keeps a few hundred thousand of them for its reports (its results,
signals, excursions and marks). One such pass costs a headless year's run 0.13-0.4 s and the window's GUI thread
its longest stall (60 ms on a 2-core machine). While any run works, full passes are therefore deferred; the younger
generations are still collected as usual (they free the run's short-lived garbage), and the thresholds come back
when the last run ends, so the next full pass happens once no run is working.

`workstation.backtest.BacktestUtils` defers them for every run it works (``Backtest.run`` and all that builds on it:
the CLI, sweeps, walkers); the window's run tab also holds a deferral across the tab's whole run, its preparing and
drawing included. Runs may nest and overlap: the last one out restores the thresholds.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: The threshold of the oldest generation while a run works: as good as never within a run.
DEFERRED_THRESHOLD = 1_000_000


class _Deferral:
    """How many runs defer full collections, and the thresholds to restore when none does."""

    def __init__(self) -> None:
        self.runs = 0
        self.saved: tuple[int, int, int] = gc.get_threshold()


_DEFERRAL = _Deferral()


@contextmanager
def full_collections_deferred() -> Iterator[None]:
    """Defer full garbage collections for the body; nested and overlapping bodies count, the last one restores.

    Yields
    ------
    None
        Inside the body the oldest generation's threshold is `DEFERRED_THRESHOLD`; the younger ones are unchanged.
    """
    if _DEFERRAL.runs == 0:
        _DEFERRAL.saved = gc.get_threshold()
        youngest, younger, _oldest = _DEFERRAL.saved
        gc.set_threshold(youngest, younger, DEFERRED_THRESHOLD)
    _DEFERRAL.runs += 1
    try:
        yield
    finally:
        _DEFERRAL.runs -= 1
        if _DEFERRAL.runs == 0:
            gc.set_threshold(*_DEFERRAL.saved)
