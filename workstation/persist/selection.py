"""Which storage each entity uses, and the one adapter per entity the engine shares (SPEC §15.6).

Nothing is created at import: the default (SQLite at :func:`default_state_path`) is resolved when the first adapter
is asked for, so the user data folder is read then, not before.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

from workstation.persist.adapter import AdapterFactory, PersistAdapter, check_entity_name
from workstation.persist.json_files import JsonFileAdapter, close_json_workers, close_json_workers_now
from workstation.persist.memory import MemoryAdapter
from workstation.persist.sqlite import SqliteAdapter, close_databases, close_databases_now

__all__ = [
    "adapter",
    "close_persistence",
    "default_json_dir",
    "default_state_path",
    "reset_persistence",
    "use_json",
    "use_memory",
    "use_partial_adapter",
    "use_risk_adapter",
    "use_schedule_adapter",
    "use_signal_adapter",
    "use_sqlite",
]

_APP_NAME = "workstation"

#: The storage of every entity without an override of its own (None: SQLite at ``default_state_path()``).
_storage: AdapterFactory | None = None
_overrides: dict[str, AdapterFactory] = {}
_adapters: dict[str, PersistAdapter] = {}


def default_state_path() -> Path:
    """Return the default SQLite state file: ``<user data dir>/state.sqlite3``."""
    return Path(platformdirs.user_data_dir(_APP_NAME)) / "state.sqlite3"


def default_json_dir() -> Path:
    """Return the default folder of the JSON-file storage: ``<user data dir>/state``."""
    return Path(platformdirs.user_data_dir(_APP_NAME)) / "state"


def _default_factory(entity: str) -> PersistAdapter:
    return SqliteAdapter(entity, default_state_path())


def _check_factory(factory: AdapterFactory, what: str) -> None:
    if not callable(factory):
        raise TypeError(f"the {what} adapter factory must be callable as factory(entity), got {factory!r}")


def _use(entity: str, factory: AdapterFactory) -> None:
    _check_factory(factory, entity)
    _overrides[entity] = factory
    _adapters.pop(entity, None)


def use_signal_adapter(factory: AdapterFactory) -> None:
    """Store open positions through ``factory("signal")`` from the next adapter created on."""
    _use("signal", factory)


def use_schedule_adapter(factory: AdapterFactory) -> None:
    """Store waiting limit orders through ``factory("schedule")`` from the next adapter created on."""
    _use("schedule", factory)


def use_risk_adapter(factory: AdapterFactory) -> None:
    """Store risk positions through ``factory("risk")`` from the next adapter created on."""
    _use("risk", factory)


def use_partial_adapter(factory: AdapterFactory) -> None:
    """Store reached partial levels through ``factory("partial")`` from the next adapter created on."""
    _use("partial", factory)


def _use_all(factory: AdapterFactory | None) -> None:
    global _storage
    if factory is not None:
        _check_factory(factory, "storage")
    _storage = factory
    _overrides.clear()
    _adapters.clear()


def use_sqlite(path: str | Path | None = None) -> None:
    """Store every entity in one SQLite file, :func:`default_state_path` unless ``path`` is given."""
    if path is None:
        _use_all(None)
        return
    chosen = Path(path)
    _use_all(lambda entity: SqliteAdapter(entity, chosen))


def use_json(base_dir: str | Path | None = None) -> None:
    """Store every entity as JSON files under ``base_dir``, :func:`default_json_dir` unless given."""
    chosen = None if base_dir is None else Path(base_dir)
    _use_all(lambda entity: JsonFileAdapter(entity, default_json_dir() if chosen is None else chosen))


def use_memory() -> None:
    """Keep every entity in memory, for tests and sessions that must leave nothing on disk."""
    _use_all(MemoryAdapter)


def adapter(entity: str) -> PersistAdapter:
    """Return the adapter of ``entity``, created by the current factory on first request and shared afterwards.

    The SPEC's entities are ``signal``, ``schedule``, ``risk`` and ``partial``; the engine may keep further ones
    (any lower-case name) in the same storage.

    Raises
    ------
    ValueError
        ``entity`` is not a lower-case name.
    TypeError
        The factory returned something that is not a persistence adapter.
    """
    existing = _adapters.get(entity)
    if existing is not None:
        return existing
    check_entity_name(entity)
    factory = _overrides.get(entity, _storage or _default_factory)
    created = factory(entity)
    if not isinstance(created, PersistAdapter):
        raise TypeError(
            f"the {entity} adapter factory returned {created!r}, which lacks the PersistAdapter methods "
            "(wait_for_init, read_value, has_value, write_value, remove_value, remove_all, keys, values)"
        )
    _adapters[entity] = created
    return created


async def close_persistence() -> None:
    """Close every state file and stop the storage threads; adapters reopen their storage on their next call."""
    await close_json_workers()
    await close_databases()


def reset_persistence() -> None:
    """Go back to the default SQLite storage, forget the shared adapters and stop the storage threads."""
    _use_all(None)
    close_json_workers_now()
    close_databases_now()
