"""The outcomes a broker reports by raising (19.5's three typed order errors).

A gate or check that returns normally confirmed the order. Any other exception counts as transient, as in 19.5: the
engine retries within the budgets of ``Config.order_open_retry_attempts``, ``order_close_retry_attempts`` and
``order_check_retry_attempts``.
"""

from __future__ import annotations

from typing import Literal

from workstation.errors import WorkstationError

#: How the engine reads a gate's or check's outcome (19.5's ``IBrokerOrderVerdict``).
Verdict = Literal["confirmed", "transient", "rejected", "deleted"]

#: Which hook raised: the gates (open, close, position changes) or the per-tick checks.
Channel = Literal["gate", "check"]


class OrderError(WorkstationError):
    """Base of the errors a broker raises to tell the engine what happened to an order."""


class OrderTransientError(OrderError):
    """The exchange or the network failed for now and the outcome is unknown: try again (the same order id)."""


class OrderRejectedError(OrderError):
    """The exchange refused the order for good (no counterparty, below the minimum, no funds): retrying is pointless.

    Belongs to the gates; raised by a check it counts as transient (19.5).
    """


class OrderDeletedError(OrderError):
    """The exchange confirmed the order is gone (cancelled or filled outside the engine).

    Belongs to the checks; raised by a gate it counts as transient (19.5).
    """


def verdict_of(error: BaseException | None, channel: Channel) -> Verdict:
    """Return how the engine reads ``error`` raised by a hook of ``channel`` (None: the hook returned normally)."""
    if error is None:
        return "confirmed"
    if isinstance(error, OrderRejectedError) and channel == "gate":
        return "rejected"
    if isinstance(error, OrderDeletedError) and channel == "check":
        return "deleted"
    return "transient"
