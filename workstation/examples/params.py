"""Strategy parameters as validated models, and the factory that turns a plain dict of them into a strategy.

A form, a sweep grid or a command line hands an example its parameters as a plain dict; `StrategyFactory` checks it
against the example's `StrategyParams` model (every field with a title, a description and its constraints, so a form
can be generated from it) and builds the strategy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from workstation.schemas.strategy import StrategySchema


class StrategyParams(BaseModel):
    """Base of the example strategies' parameters: frozen, unknown names refused, no NaN or infinity."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


ParamsT = TypeVar("ParamsT", bound=StrategyParams)


class StrategyFactory(Generic[ParamsT]):
    """A strategy's ``make_strategy(params)``: validate a dict of parameters, then build the schema.

    Parameters
    ----------
    params_model
        The parameters' model; a form renders it, ``__call__`` validates against it.
    build
        Builds the strategy from validated parameters.
    label
        The example's name in error messages (``sma_cross``).
    """

    def __init__(self, params_model: type[ParamsT], build: Callable[[ParamsT], StrategySchema], label: str) -> None:
        self.params_model = params_model
        self.build = build
        self.label = label
        self.__doc__ = build.__doc__

    def __call__(self, params: Mapping[str, Any] | None = None) -> StrategySchema:
        """Build the strategy from any subset of the parameters; None or ``{}`` keeps every default.

        Raises
        ------
        ValueError
            For an unknown parameter name (listing the known ones), or a `pydantic.ValidationError` naming each
            invalid field.
        """
        return self.build(self.parse(params))

    def parse(self, params: Mapping[str, Any] | None) -> ParamsT:
        """Return the validated parameters, refusing unknown names with the list of known ones.

        Raises
        ------
        ValueError
            As `__call__`.
        """
        known = set(self.params_model.model_fields)
        unknown = set(params or {}) - known
        if unknown:
            raise ValueError(
                f"unknown {self.label} parameter(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
            )
        return self.params_model.model_validate(dict(params or {}))
