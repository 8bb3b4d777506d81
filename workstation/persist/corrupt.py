"""Corrupt records (SPEC §15.6): moved aside under a stamped name, logged and reported, never dropped."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from workstation.errors import WorkstationError
from workstation.events import report_error

__all__ = ["CORRUPT_MARK", "CorruptRecordError", "aside_name", "corrupt_stamp", "report_corrupt"]

#: Keys holding a moved-aside record contain this mark; the engine ignores them.
CORRUPT_MARK = "#corrupt-"

logger = logging.getLogger("workstation.persist")


class CorruptRecordError(WorkstationError, ValueError):
    """A persisted record could not be decoded or failed its model; it was moved aside."""


def corrupt_stamp() -> str:
    """Return the current UTC time as ``YYYYmmddTHHMMSSZ``."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def aside_name(name: str, separator: str, taken: Callable[[str], bool]) -> str:
    """Return ``<name><separator><stamp>``, with ``-2``, ``-3``… appended while ``taken`` says the name is in use."""
    base = f"{name}{separator}{corrupt_stamp()}"
    candidate, number = base, 1
    while taken(candidate):
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def report_corrupt(error: CorruptRecordError) -> None:
    """Log ``error`` on ``workstation.persist`` and emit it on the ``error`` stream."""
    logger.error("%s", error)
    report_error("persist", error, backtest=False)
