"""Reconciliation: the engine's positions and orders against what the venue holds, in the trader's words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from workstation.brokers.orders import Balance, OrderRecord
from workstation.models.signal import Position

#: ``orphan_order``: an order rests at the venue that no position of the engine or the desk owns;
#: ``orphan_holding``: the venue holds an asset nobody accounts for; ``missing_order``: an order the engine counts on
#: does not rest at the venue; ``amount_differs``: the venue holds another amount than the positions account for.
DisagreementKind = Literal["orphan_order", "orphan_holding", "missing_order", "amount_differs"]


class HeldPosition(BaseModel):
    """An open position or resting limit order of the live engine, as the reconciliation compares it.

    Built from ``ws.Live.persisted()``, by ``OrderDesk.held_positions`` or by the caller. ``amount`` is the base
    asset the position holds at the venue (0 for a limit order not filled yet); ``order_ids`` are the client order
    ids of its legs that should rest at the venue (the resting entry, native stop loss and take profit).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy_name: str
    symbol: str
    signal_id: str
    side: Position
    amount: float = Field(ge=0, allow_inf_nan=False)
    order_ids: tuple[str, ...] = ()


class Disagreement(BaseModel):
    """One thing the engine and the venue see differently.

    ``engine`` and ``venue`` say what each side holds, in words. ``client_order_id`` names the order of an
    ``orphan_order`` or ``missing_order``; ``asset`` and ``amount`` the asset of an ``orphan_holding`` or
    ``amount_differs`` and how much more the venue holds than the positions account for (negative: less).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: DisagreementKind
    symbol: str
    engine: str
    venue: str
    client_order_id: str | None = None
    asset: str | None = None
    amount: float = 0.0

    @property
    def message(self) -> str:
        """Say the disagreement in one sentence: ``BTC/USDT: orphan holding: the engine …; the venue …``."""
        return f"{self.symbol}: {self.kind.replace('_', ' ')}: the engine {self.engine}; the venue {self.venue}"


class Reconciliation(BaseModel):
    """The outcome of one comparison of the engine with the venue, at ``checked_at`` (ms of the desk's clock)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    checked_at: int
    disagreements: tuple[Disagreement, ...] = ()

    @property
    def agrees(self) -> bool:
        """Tell whether the engine and the venue agree on every order and holding."""
        return not self.disagreements

    def describe(self) -> str:
        """Say the outcome in words: ``the engine and the venue agree``, or one line per disagreement."""
        if self.agrees:
            return "the engine and the venue agree"
        return "\n".join(disagreement.message for disagreement in self.disagreements)


@dataclass(frozen=True, slots=True)
class AssetBook:
    """What the desk accounts for of one base asset beside the engine's positions."""

    symbol: str
    #: Held by the desk's orders that belong to no engine position (manual orders) plus what was adopted.
    extra: float = 0.0
    #: Amounts closer than this are the same (each position rounds its orders to the step on its own).
    tolerance: float = 1e-12


@dataclass(frozen=True, slots=True)
class VenueView:
    """What the venue reported: its resting orders and balances."""

    open_orders: Sequence[OrderRecord]
    balances: Sequence[Balance]
    known_order_ids: frozenset[str] = field(default_factory=frozenset)
    acknowledged_missing: frozenset[str] = field(default_factory=frozenset)


def _amount(value: float) -> str:
    return f"{value:.10g}"


def compare(
    held: Sequence[HeldPosition],
    assets: Mapping[str, AssetBook],
    base_of: Mapping[str, str],
    venue: VenueView,
) -> list[Disagreement]:
    """Return what disagrees between the engine's ``held`` positions and the ``venue``, orders first.

    ``assets`` maps every base asset to compare to the desk's book of it; ``base_of`` maps the held symbols to their
    base asset. ``venue.known_order_ids`` are resting orders the desk owns outside the engine (manual, adopted);
    ``venue.acknowledged_missing`` the legs the trader already accepted as gone.
    """
    found: list[Disagreement] = []
    resting = {order.client_order_id: order for order in venue.open_orders}
    legs = {order_id: position for position in held for order_id in position.order_ids}
    for order_id, order in resting.items():
        if order_id in legs or order_id in venue.known_order_ids:
            continue
        found.append(
            Disagreement(
                kind="orphan_order",
                symbol=order.symbol,
                engine="has no position or order it belongs to",
                venue=f"rests a {order.type} {order.side} order {order_id} of {_amount(order.remaining)}"
                + ("" if order.price is None else f" at {order.price:g}"),
                client_order_id=order_id,
                amount=order.remaining,
            )
        )
    for order_id, position in legs.items():
        if order_id in resting or order_id in venue.acknowledged_missing:
            continue
        found.append(
            Disagreement(
                kind="missing_order",
                symbol=position.symbol,
                engine=f"counts on order {order_id} of signal {position.signal_id} ({position.strategy_name})",
                venue="has no such order resting",
                client_order_id=order_id,
            )
        )
    totals = {balance.asset: balance.total for balance in venue.balances}
    for asset, book in sorted(assets.items()):
        positions = [position for position in held if base_of.get(position.symbol) == asset]
        engine_amount = sum(position.amount for position in positions)
        venue_amount = totals.get(asset, 0.0)
        difference = venue_amount - (engine_amount + book.extra)
        if abs(difference) <= book.tolerance:
            continue
        symbol = positions[0].symbol if positions else book.symbol
        desk_part = "" if book.extra == 0 else f" (and the desk {_amount(book.extra)} of its own)"
        if not positions and difference > 0:
            found.append(
                Disagreement(
                    kind="orphan_holding",
                    symbol=symbol,
                    engine=f"holds no {asset}{desk_part}",
                    venue=f"holds {_amount(venue_amount)} {asset}",
                    asset=asset,
                    amount=difference,
                )
            )
            continue
        found.append(
            Disagreement(
                kind="amount_differs",
                symbol=symbol,
                engine=f"holds {_amount(engine_amount)} {asset} in {len(positions)} position"
                + ("" if len(positions) == 1 else "s")
                + desk_part,
                venue=f"holds {_amount(venue_amount)} {asset}",
                asset=asset,
                amount=difference,
            )
        )
    return found
