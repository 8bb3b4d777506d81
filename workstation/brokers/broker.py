"""The broker contract (19.5's ``IBroker``): what the live engine calls before and while it holds a position."""

from __future__ import annotations

from typing import Protocol

from workstation.brokers.payloads import (
    AverageBuy,
    LevelMove,
    OrderCheck,
    OrderClose,
    OrderOpen,
    PartialClose,
    ScheduleCancelled,
)


class Broker(Protocol):
    """Sends a live run's orders; every method but the informational ones is a gate or a check.

    Gates (``on_order_open``, ``on_order_close``, ``on_partial_close``, ``on_average_buy``, ``on_level_move``) run
    *before* the engine changes its state: returning normally confirms, raising
    :class:`~workstation.brokers.errors.OrderRejectedError` refuses for good, any other exception is transient and
    the engine tries again within its retry budget with the same ``signal_id``. Checks (``on_order_check``) run on
    every tick while a position or resting order is held: raising
    :class:`~workstation.brokers.errors.OrderDeletedError` ends it at once, other errors are tolerated up to the
    budget. Backtests never call a broker.
    """

    async def wait_for_init(self) -> None:
        """Connect and load what the broker needs, once, before the first gate."""

    async def on_order_open(self, payload: OrderOpen) -> None:
        """Gate: place the resting limit order ("schedule") or enter the position ("active")."""

    async def on_order_close(self, payload: OrderClose) -> None:
        """Gate: close what is left of the position at market and cancel its protective orders."""

    async def on_order_check(self, payload: OrderCheck) -> None:
        """Check: confirm the signal's orders still stand on the exchange."""

    async def on_partial_close(self, payload: PartialClose) -> None:
        """Gate: close part of the position at market."""

    async def on_average_buy(self, payload: AverageBuy) -> None:
        """Gate: add an entry at market."""

    async def on_level_move(self, payload: LevelMove) -> None:
        """Gate: move the protective take profit or stop loss orders to the new levels."""

    async def on_schedule_cancelled(self, payload: ScheduleCancelled) -> None:
        """Cancel the resting limit order the engine dropped (informational: a raise changes nothing)."""
