"""The kill switch's "flatten everything": its report, and trying again within its time budget."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from workstation.brokers.errors import OrderRejectedError
from workstation.brokers.orders import OrderRecord

T = TypeVar("T")

#: Flatten tries failed operations again until this many seconds after it started.
FLATTEN_BUDGET_SECONDS = 2.0

#: The pause between two tries of a failed operation.
RETRY_PAUSE_SECONDS = 0.05


class FlattenReport(BaseModel):
    """What ``OrderDesk.flatten`` did: the orders it cancelled, the sells it sent, and what failed, in words."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cancelled: tuple[OrderRecord, ...] = ()
    sold: tuple[OrderRecord, ...] = ()
    failed: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Tell whether every order was cancelled and every holding sold."""
        return not self.failed


async def within_budget(action: Callable[[], Awaitable[T]], deadline: float) -> T:
    """Return ``action()``; try again after a failure other than a rejection until ``deadline`` (``time.monotonic``).

    The last failure is raised once the deadline has passed; a rejection at once (trying again cannot help).
    """
    while True:
        try:
            return await action()
        except OrderRejectedError:
            raise
        except Exception:
            if time.monotonic() + RETRY_PAUSE_SECONDS >= deadline:
                raise
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
