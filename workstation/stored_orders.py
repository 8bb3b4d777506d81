"""A run's limit orders that its trades do not show, as the run history stores them: one compact blob per run.

A stored run's closed trades tell the orders that filled (their ``scheduled_at`` precedes their ``pending_at``),
but not the orders that were cancelled, nor those that filled in the very minute they were placed. The blob keeps
both, so that a reopened run's chart marks every limit order the run placed: ``{"cancelled": [result, ...],
"same_minute_fills": [signal id, ...]}`` as JSON (each cancelled result as ``model_dump(mode="json")`` writes it,
floats as ``repr`` writes them, so they read back bit for bit), then zlib.

The peer's 365-day managed-limit run's 1 026 cancelled orders and 282 same-minute fills take 94 kB stored (its
commands 539 kB, its 2 872 trades 5.2 MB), packed in 0.04 s and read back in 0.03 s; as rows of values instead of
objects they would take 77 kB, for a reader that would have to know every field of a result. The run holds them
(``BacktestRun.cancelled``, where it only counted them before): 1.5 MB, 1 468 bytes each, under 1 % of the engine's
160 MB peak-memory target for a year's run.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from pydantic import TypeAdapter, ValidationError

from workstation.models.results import CancelledResult
from workstation.persist.packed_json import pack_json, unpack_json

__all__ = ["pack_orders", "unpack_orders"]

_CANCELLED = TypeAdapter(tuple[CancelledResult, ...])
_IDS = TypeAdapter(tuple[str, ...])


def pack_orders(cancelled: Sequence[CancelledResult], same_minute_fills: Sequence[str]) -> bytes:
    """Return a run's cancelled limit orders and the ids of its orders filled in the minute placed, as stored.

    Raises
    ------
    ValueError
        If a cancelled result holds a NaN or infinite number (JSON has none), naming its signal.
    """
    try:
        return pack_json(
            {
                "cancelled": [result.model_dump(mode="json") for result in cancelled],
                "same_minute_fills": list(same_minute_fills),
            }
        )
    except ValueError as error:
        bad = next(result for result in cancelled if not _is_json(result))
        raise ValueError(
            f"limit orders not stored: cancelled order {bad.signal.id} holds a number JSON cannot hold ({error})"
        ) from error


def unpack_orders(blob: bytes) -> tuple[tuple[CancelledResult, ...], tuple[str, ...]]:
    """Return the cancelled results and same-minute fill ids :func:`pack_orders` stored in ``blob``, in order.

    Raises
    ------
    ValueError
        If ``blob`` is not a run's stored limit orders (damaged, or not one at all).
    """
    try:
        data = unpack_json(blob)
        return _CANCELLED.validate_python(data["cancelled"]), _IDS.validate_python(data["same_minute_fills"])
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise ValueError(f"not a run's stored limit orders ({where}: {first['msg']})") from error
    except (zlib.error, ValueError, TypeError, KeyError) as error:
        raise ValueError(f"not a run's stored limit orders ({type(error).__name__}: {error})") from error


def _is_json(result: CancelledResult) -> bool:
    try:
        pack_json(result.model_dump(mode="json"))
    except ValueError:
        return False
    return True
