"""``ws.Constant``: named partial levels to compare with ``PartialEvent.level``."""

from __future__ import annotations

from typing import Final


class Constant:
    """Read-only level constants (SPEC §8)."""

    TP_LEVEL1: Final = 30
    TP_LEVEL2: Final = 60
    TP_LEVEL3: Final = 90
    SL_LEVEL1: Final = 40
    SL_LEVEL2: Final = 80
