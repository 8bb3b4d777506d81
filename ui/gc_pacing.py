"""Full garbage collections wait while a backtest works in the window.

Python collects its oldest generation when enough younger collections have passed; that full pass walks every
tracked object not frozen at startup (``ui.app.freeze_startup_objects``), and a year's run makes a few hundred
thousand of them (its results, signals and marks). On this 2-core machine one such pass took 60 ms of the GUI
thread in the middle of a run, the window's longest stall. While any run tab works, full passes are therefore
deferred; the younger generations are still collected as usual, and the thresholds come back when the last run
ends, so the next full pass happens once the window is idle again.
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
    """Defer full collections for the body (nested and overlapping runs count; the last one out restores)."""
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
