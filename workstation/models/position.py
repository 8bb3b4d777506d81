"""The records of a managed position: its entries (averaging in) and its partial closes (SPEC-position P1)."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

PartialType = Literal["profit", "loss"]

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
