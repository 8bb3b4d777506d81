"""``OptimizerSchema``: a parameter sweep of one strategy factory over a grid."""

from __future__ import annotations

from pydantic import Field, field_validator

from workstation.account.settings import AccountSettings
from workstation.schemas.common import AnyCallable, CallbacksModel, Name, SchemaModel
from workstation.schemas.walker import WalkerMetric


class OptimizerCallbacks(CallbacksModel):
    """Callbacks of an optimizer."""

    on_job_complete: AnyCallable | None = None
    on_complete: AnyCallable | None = None


class OptimizerSchema(SchemaModel):
    """A sweep: ``strategy_factory(params)`` for every combination of ``grid``."""

    optimizer_name: Name
    strategy_factory: AnyCallable
    grid: dict[str, list[object] | tuple[object, ...] | range]
    metric: WalkerMetric = "sharpe_ratio"
    account: AccountSettings = Field(default_factory=AccountSettings)
    exchange_name: Name
    frame_name: Name
    symbols: list[str] = Field(min_length=1)
    callbacks: OptimizerCallbacks = Field(default_factory=OptimizerCallbacks)
    note: str = ""

    @field_validator("grid")
    @classmethod
    def _non_empty(cls, value: dict[str, list[object] | tuple[object, ...] | range]) -> dict[str, object]:
        for key, values in value.items():
            if len(values) == 0:
                raise ValueError(f"grid value of {key!r} must not be empty")
        return dict(value)
