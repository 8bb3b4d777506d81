"""``RiskSchema``: named validations every signal of the strategies using it must pass."""

from __future__ import annotations

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

from workstation.schemas.common import AnyCallable, CallbacksModel, Name, SchemaModel


@dataclass(frozen=True, config=ConfigDict(extra="forbid", arbitrary_types_allowed=True))
class RiskValidation:
    """A validation with a note that becomes the rejection reason when it returns False."""

    validate: AnyCallable
    note: str = ""


class RiskCallbacks(CallbacksModel):
    """Callbacks of a risk profile."""

    on_rejected: AnyCallable | None = None
    on_allowed: AnyCallable | None = None


class RiskSchema(SchemaModel):
    """A risk profile shared by every strategy and symbol that names it."""

    risk_name: Name
    validations: list[RiskValidation | AnyCallable] = Field(default_factory=list)
    callbacks: RiskCallbacks = Field(default_factory=RiskCallbacks)
    note: str = ""
