"""Schema registries: validate, refuse duplicates, store in insertion order, look up by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter

from workstation.errors import DuplicateSchemaError, SchemaNotFoundError
from workstation.schemas.exchange import ExchangeSchema
from workstation.schemas.frame import FrameSchema
from workstation.schemas.optimizer import OptimizerSchema
from workstation.schemas.risk import RiskSchema
from workstation.schemas.sizing import SizingSchema
from workstation.schemas.strategy import StrategySchema
from workstation.schemas.walker import WalkerSchema

SchemaT = TypeVar("SchemaT")


class SchemaRegistry(Generic[SchemaT]):
    """The registered schemas of one kind, by name, in insertion order."""

    def __init__(self, kind: str, name_field: str, parse: Callable[[Any], SchemaT]) -> None:
        self.kind = kind
        self._name_field = name_field
        self._parse = parse
        self._schemas: dict[str, SchemaT] = {}

    def add(self, schema: SchemaT | None = None, /, **fields: Any) -> SchemaT:
        """Validate a schema (given whole or as fields), refuse a taken name, store it and return it."""
        if schema is not None and fields:
            raise TypeError(f"add_{self.kind} takes either a schema object or keyword fields, not both")
        parsed = self._parse(schema if schema is not None else fields)
        name = getattr(parsed, self._name_field)
        if name in self._schemas:
            raise DuplicateSchemaError(f'{self.kind} "{name}" already exists')
        self._schemas[name] = parsed
        return parsed

    def get(self, name: str, source: str) -> SchemaT:
        """Return the schema called ``name``; ``source`` names the caller in the error."""
        schema = self._schemas.get(name)
        if schema is None:
            registered = ", ".join(f'"{known}"' for known in self._schemas)
            raise SchemaNotFoundError(f'{self.kind} "{name}" not found (source: {source}); registered: [{registered}]')
        return schema

    def has(self, name: str) -> bool:
        """Tell whether ``name`` is registered."""
        return name in self._schemas

    def list(self) -> list[SchemaT]:
        """Return every schema in insertion order."""
        return list(self._schemas.values())

    def clear(self) -> None:
        """Forget every schema."""
        self._schemas.clear()

    def remove(self, name: str) -> None:
        """Forget the schema called ``name``, if registered."""
        self._schemas.pop(name, None)

    def snapshot(self) -> dict[str, SchemaT]:
        """Return the registered schemas by name, in order, for :meth:`restore`."""
        return dict(self._schemas)

    def restore(self, snapshot: Mapping[str, SchemaT]) -> None:
        """Put back exactly the schemas of an earlier :meth:`snapshot`."""
        self._schemas = dict(snapshot)


def _model_parser(model: type[BaseModel]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if isinstance(value, model):
            return value
        if isinstance(value, Mapping):
            return model.model_validate(dict(value))
        return model.model_validate(value)

    return parse


_sizing_adapter: TypeAdapter[Any] = TypeAdapter(SizingSchema)


def _parse_sizing(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return _sizing_adapter.validate_python(value.model_dump())
    return _sizing_adapter.validate_python(value)


exchanges: SchemaRegistry[ExchangeSchema] = SchemaRegistry("exchange", "exchange_name", _model_parser(ExchangeSchema))
strategies: SchemaRegistry[StrategySchema] = SchemaRegistry("strategy", "strategy_name", _model_parser(StrategySchema))
frames: SchemaRegistry[FrameSchema] = SchemaRegistry("frame", "frame_name", _model_parser(FrameSchema))
risks: SchemaRegistry[RiskSchema] = SchemaRegistry("risk", "risk_name", _model_parser(RiskSchema))
sizings: SchemaRegistry[Any] = SchemaRegistry("sizing", "sizing_name", _parse_sizing)
walkers: SchemaRegistry[WalkerSchema] = SchemaRegistry("walker", "walker_name", _model_parser(WalkerSchema))
optimizers: SchemaRegistry[OptimizerSchema] = SchemaRegistry(
    "optimizer", "optimizer_name", _model_parser(OptimizerSchema)
)

ALL_REGISTRIES: tuple[SchemaRegistry[Any], ...] = (exchanges, strategies, frames, risks, sizings, walkers, optimizers)


def add_exchange(schema: ExchangeSchema | None = None, /, **fields: Any) -> ExchangeSchema:
    """Register an exchange (a schema object or its fields)."""
    return exchanges.add(schema, **fields)


def add_strategy(schema: StrategySchema | None = None, /, **fields: Any) -> StrategySchema:
    """Register a strategy (a schema object or its fields)."""
    return strategies.add(schema, **fields)


def add_frame(schema: FrameSchema | None = None, /, **fields: Any) -> FrameSchema:
    """Register a backtest frame (a schema object or its fields)."""
    return frames.add(schema, **fields)


def add_risk(schema: RiskSchema | None = None, /, **fields: Any) -> RiskSchema:
    """Register a risk profile (a schema object or its fields)."""
    return risks.add(schema, **fields)


def add_sizing(schema: Any = None, /, **fields: Any) -> Any:
    """Register a position sizing (a schema object or its fields)."""
    return sizings.add(schema, **fields)


def add_walker(schema: WalkerSchema | None = None, /, **fields: Any) -> WalkerSchema:
    """Register a walker (a schema object or its fields)."""
    return walkers.add(schema, **fields)


def add_optimizer(schema: OptimizerSchema | None = None, /, **fields: Any) -> OptimizerSchema:
    """Register an optimizer (a schema object or its fields)."""
    return optimizers.add(schema, **fields)


def list_exchanges() -> list[ExchangeSchema]:
    """Return the registered exchanges in insertion order."""
    return exchanges.list()


def list_strategies() -> list[StrategySchema]:
    """Return the registered strategies in insertion order."""
    return strategies.list()


def list_frames() -> list[FrameSchema]:
    """Return the registered frames in insertion order."""
    return frames.list()


def list_risks() -> list[RiskSchema]:
    """Return the registered risk profiles in insertion order."""
    return risks.list()


def list_sizings() -> list[Any]:
    """Return the registered sizings in insertion order."""
    return sizings.list()


def list_walkers() -> list[WalkerSchema]:
    """Return the registered walkers in insertion order."""
    return walkers.list()


def list_optimizers() -> list[OptimizerSchema]:
    """Return the registered optimizers in insertion order."""
    return optimizers.list()


def clear_registries() -> None:
    """Forget every registered schema of every kind."""
    for registry in ALL_REGISTRIES:
        registry.clear()
