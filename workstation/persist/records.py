"""Typed records over an adapter: validate what is read, move aside what fails its model (SPEC §15.6)."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from workstation.persist.adapter import PersistAdapter
from workstation.persist.corrupt import CORRUPT_MARK, CorruptRecordError, aside_name, report_corrupt

__all__ = ["CORRUPT_MARK", "read_record", "write_record"]

M = TypeVar("M", bound=BaseModel)


async def read_record(adapter: PersistAdapter, key: str, model: type[M], *, entity: str) -> M | None:
    """Return the record under ``key`` validated as ``model``, or None when there is none.

    A value that fails ``model`` is moved aside, never dropped: it is written under ``<key>#corrupt-<stamp>`` as
    ``{"error": <validation message>, "value": <the stored value>}``, then ``key`` is removed, the problem is logged
    at ERROR and reported on the ``error`` stream, and None is returned.

    Parameters
    ----------
    adapter
        The storage to read.
    key
        The record's key, e.g. ``"BTCUSDT:one-shot"``.
    model
        The pydantic model the value must satisfy.
    entity
        The kind of record, for the messages (``"signal"``, ``"schedule"``, ``"risk"``, ``"partial"``).
    """
    try:
        raw = await adapter.read_value(key)
    except KeyError:
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        await _move_aside(adapter, key, raw, exc, model, entity)
        return None


async def write_record(adapter: PersistAdapter, key: str, record: BaseModel) -> None:
    """Store ``record`` under ``key`` as its JSON data."""
    await adapter.write_value(key, record.model_dump(mode="json"))


async def _move_aside(
    adapter: PersistAdapter, key: str, raw: object, exc: ValidationError, model: type[BaseModel], entity: str
) -> None:
    # Probe the names first: the adapter's has_value is a coroutine, aside_name wants a plain predicate.
    taken: set[str] = set()
    while True:
        aside_key = aside_name(key, CORRUPT_MARK, taken.__contains__)
        if not await adapter.has_value(aside_key):
            break
        taken.add(aside_key)
    message = str(exc)
    await adapter.write_value(aside_key, {"error": message, "value": raw})
    await adapter.remove_value(key)
    error = CorruptRecordError(
        f'{entity} record "{key}" does not match {model.__name__}: {message}; it was moved to "{aside_key}"'
    )
    error.__cause__ = exc
    report_corrupt(error)
