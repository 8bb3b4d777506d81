"""The built-in strategies by name: which example builds each, with which parameters its name fixes.

Example modules are imported only when their strategy is first used, and a module that is not installed only hides
its names; so the catalogue itself is cheap to import and lists nothing it cannot build.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, create_model

from workstation.examples.params import StrategyFactory, StrategyParams
from workstation.schemas.strategy import StrategySchema


@dataclass(frozen=True, eq=False)
class BuiltinStrategy:
    """A built-in strategy: the example module that builds it and the parameters its name fixes.

    Parameters
    ----------
    strategy_name
        The name the strategy is registered under with its default parameters.
    module_name
        The example module; its ``make_strategy`` is a `StrategyFactory`.
    fixed_params
        Parameters the name stands for (``sma-cross-limit`` is the crossover with ``variant="limit"``).
    """

    strategy_name: str
    module_name: str
    fixed_params: Mapping[str, Any] = field(default_factory=dict)

    def is_available(self) -> bool:
        """Tell whether the example module is installed."""
        return importlib.util.find_spec(self.module_name) is not None

    @property
    def factory(self) -> StrategyFactory[Any]:
        """The example's ``make_strategy``, importing its module on first use."""
        factory: StrategyFactory[Any] = importlib.import_module(self.module_name).make_strategy
        return factory

    @property
    def params_model(self) -> type[StrategyParams]:
        """The parameters a user may set: the example's model, each fixed parameter narrowed to its one value."""
        return _narrowed_model(self)

    def parse(self, params: Mapping[str, Any] | None = None) -> StrategyParams:
        """Return the example's parameters: ``params`` over the defaults, with the fixed ones.

        Raises
        ------
        pydantic.ValidationError
            Naming each invalid field, a fixed one given another value included.
        """
        # Validating against the narrowed model names a conflicting fixed parameter as the field in error; the
        # example's own model then builds the object the strategy keeps, which pickles by reference.
        self.params_model.model_validate(dict(params or {}))
        parsed: StrategyParams = self.factory.parse({**(params or {}), **self.fixed_params})
        return parsed

    def make(self, params: Mapping[str, Any] | None = None) -> StrategySchema:
        """Build the strategy from ``params`` over the defaults (see `parse`)."""
        schema: StrategySchema = self.factory.build(self.parse(params))
        return schema


#: Every built-in strategy by name, in the order they are offered.
BUILTIN_STRATEGIES: dict[str, BuiltinStrategy] = {
    builtin.strategy_name: builtin
    for builtin in (
        BuiltinStrategy("sma-cross-market", "workstation.examples.sma_cross", {"variant": "market"}),
        BuiltinStrategy("sma-cross-limit", "workstation.examples.sma_cross", {"variant": "limit"}),
        BuiltinStrategy("rsi-reversion", "workstation.examples.rsi_reversion"),
        BuiltinStrategy("breakout", "workstation.examples.breakout"),
        BuiltinStrategy("managed-sma", "workstation.examples.managed_sma", {"variant": "market"}),
        BuiltinStrategy("managed-sma-limit", "workstation.examples.managed_sma", {"variant": "limit"}),
    )
}


def available_builtin_strategies() -> dict[str, BuiltinStrategy]:
    """Return the built-in strategies whose example module is installed, by name."""
    return {name: builtin for name, builtin in BUILTIN_STRATEGIES.items() if builtin.is_available()}


@functools.cache
def _narrowed_model(builtin: BuiltinStrategy) -> type[StrategyParams]:
    # Cached so that a form sees one class per strategy and can tell when the strategy's model really changed.
    base: type[StrategyParams] = builtin.factory.params_model
    if not builtin.fixed_params:
        return base
    narrowed: dict[str, Any] = {}
    for name, value in builtin.fixed_params.items():
        info = base.model_fields[name]
        narrowed[name] = (Literal[value], Field(value, title=info.title, description=info.description))
    class_name = "".join(part.capitalize() for part in builtin.strategy_name.split("-")) + "Params"
    model: type[StrategyParams] = create_model(class_name, __base__=base, __module__=base.__module__, **narrowed)
    return model
