"""Refuse, before a sweep starts, callables a worker process could not import (SPEC §18.4).

A job crosses into its worker as a pickle, and pickle stores functions and classes by reference (module and
qualified name). A lambda, a closure or a nested function has no such name; a function of ``__main__`` has one, but a
spawned pool worker does not run the parent's ``__main__``.
"""

from __future__ import annotations

import io
import pickle
import types
from typing import Any

from workstation.errors import OptimizerError
from workstation.schemas.exchange import ExchangeSchema
from workstation.schemas.frame import FrameSchema
from workstation.schemas.risk import RiskSchema, RiskValidation

__all__ = ["check_exchange", "check_frame", "check_reference", "check_risk"]


class _ReferenceRecorder(pickle.Pickler):
    """A pickler that notes the module of every function and class it stores by reference."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.modules: set[str] = set()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, type | types.FunctionType | types.BuiltinFunctionType):
            self.modules.add(getattr(obj, "__module__", None) or "")
        return NotImplemented


def _importable(value: Any, *, main_allowed: bool) -> bool:
    recorder = _ReferenceRecorder(io.BytesIO())
    try:
        recorder.dump(value)
    except (pickle.PicklingError, AttributeError, TypeError, ValueError):
        return False
    return main_allowed or "__main__" not in recorder.modules


def check_reference(value: Any, what: str, kind: str, name: str, *, main_allowed: bool) -> None:
    """Raise unless ``value`` pickles with every function and class in it stored by an importable reference.

    Parameters
    ----------
    value
        A callable of a schema (a function or a callable object), or None.
    what, kind, name
        Name the field, the schema kind and the schema in the message (``strategy_factory``, ``optimizer``,
        ``"sweep"``).
    main_allowed
        Accept references into ``__main__`` (a dask client ships those by value; a process pool cannot).

    Raises
    ------
    OptimizerError
        ``<what> of <kind> "<name>" is not importable by reference; define it at module level``.
    """
    if value is not None and not _importable(value, main_allowed=main_allowed):
        raise OptimizerError(f'{what} of {kind} "{name}" is not importable by reference; define it at module level')


def _check_callbacks(callbacks: Any, kind: str, name: str, *, main_allowed: bool) -> None:
    for field in type(callbacks).model_fields:
        check_reference(getattr(callbacks, field), f"callbacks.{field}", kind, name, main_allowed=main_allowed)


def check_exchange(schema: ExchangeSchema, *, main_allowed: bool) -> None:
    """Check ``get_candles``, both formatters and the callbacks of an exchange (see `check_reference`)."""
    name = schema.exchange_name
    for field in ("get_candles", "format_price", "format_quantity"):
        check_reference(getattr(schema, field), field, "exchange", name, main_allowed=main_allowed)
    _check_callbacks(schema.callbacks, "exchange", name, main_allowed=main_allowed)


def check_frame(schema: FrameSchema, *, main_allowed: bool) -> None:
    """Check the callbacks of a frame (see `check_reference`)."""
    _check_callbacks(schema.callbacks, "frame", schema.frame_name, main_allowed=main_allowed)


def check_risk(schema: RiskSchema, *, main_allowed: bool) -> None:
    """Check every validation and the callbacks of a risk profile (see `check_reference`)."""
    name = schema.risk_name
    for position, validation in enumerate(schema.validations):
        function = validation.validate if isinstance(validation, RiskValidation) else validation
        check_reference(function, f"validations[{position}]", "risk", name, main_allowed=main_allowed)
    _check_callbacks(schema.callbacks, "risk", name, main_allowed=main_allowed)
