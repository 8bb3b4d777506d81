"""The records of a managed position: its entries (averaging in) and its partial closes (SPEC-position P1)."""

from __future__ import annotations

from typing import Literal, NamedTuple

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

PartialType = Literal["profit", "loss"]
CommitAction = Literal[
    "partial-profit",
    "partial-loss",
    "trailing-stop",
    "trailing-take",
    "breakeven",
    "average-buy",
    "close-pending",
    "cancel-scheduled",
    "activate-scheduled",
]

#: Who issued a position command: the strategy (its callbacks) or the trader (a manual command on a live run).
CommandSource = Literal["strategy", "trader"]

#: ``model_dump(by_alias=True)`` writes the library's camelCase names (``costBasisAtClose``), as the peer's rows do.
_CONFIG = ConfigDict(frozen=True, alias_generator=AliasGenerator(serialization_alias=to_camel))


class Entry(BaseModel):
    """One buy into a position: the first is the signal's own entry, the others come from ``commit_average_buy``."""

    model_config = _CONFIG

    price: float = Field(title="Price", description="Price the entry was booked at")
    cost: float = Field(title="Cost", description="Money put in by this entry")
    timestamp: int = Field(title="Time", description="When it was booked (ms); the first: the signal's creation")


class PartialClose(BaseModel):
    """One partial close of a position (``commit_partial_profit`` / ``commit_partial_loss`` and their ``_cost``)."""

    model_config = _CONFIG

    type: PartialType = Field(title="Type", description="profit or loss")
    percent: float = Field(title="Percent", description="Share of the money still held that was closed, in %")
    current_price: float = Field(title="Price", description="Price the close was booked at")
    cost_basis_at_close: float = Field(title="Held before", description="Money still held just before this close")
    entry_count_at_close: int = Field(title="Entries", description="Number of entries made before this close")
    timestamp: int = Field(title="Time", description="When it was booked (ms)")


class PartialPnl(BaseModel):
    """What one partial close realised: its term of the closing PnL (SPEC-position P15.2).

    ``pnl_percentage`` is in percentage points of all the money invested (the closing ``Pnl.pnl_entries``), its fees
    included (the close fee and its share of the open fee), so the partial closes' terms and the rest of the position
    closed at the end add up to the closing PnL.
    """

    model_config = ConfigDict(frozen=True)

    timestamp: int = Field(title="Time", description="When the partial close was booked (ms)")
    pnl_percentage: float = Field(title="PnL %", description="Net PnL realised, in % of all the money invested")
    pnl_cost: float = Field(title="PnL", description="Net money realised")


class PositionCommand(NamedTuple):
    """One command that changed a position, as the run's command log keeps it (from its commit event, P17).

    The levels are the position's *after* the candle the command took effect in: the commands of one candle all
    show the position as that candle left it. A tuple, not a model: a year's managed run keeps about 25 000 of them
    (a pydantic model took 32 MB and 25 us each to build).
    """

    #: The position (or waiting order) the command acted on.
    signal_id: str
    #: The candle the command took effect at (ms).
    time: int
    #: The commit action: ``partial-profit``, ``trailing-stop``, ...
    action: CommitAction
    #: Percent closed, percent shift or dollars added; None for the others.
    argument: float | None
    #: The price the command was checked or booked at.
    price: float
    #: Stop loss, take profit and effective entry (P5) after it.
    stop_loss: float
    take_profit: float
    effective_entry: float
    #: Share of all the money invested still held, in %.
    held_percent: float
    #: Who issued it: the strategy from its callbacks, or the trader by hand on a live or paper run.
    source: CommandSource = "strategy"
