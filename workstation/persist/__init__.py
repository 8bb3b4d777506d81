"""Live-state persistence (``ws.persist``, SPEC §15.3 and §15.6): what survives a restart of a live run.

Open positions, waiting limit orders, risk positions and reached partial levels are stored per entity. SQLite in
the user data folder is the default; :func:`use_json` and :func:`use_memory` switch all four entities and
``use_<entity>_adapter`` one of them. The engine asks :func:`adapter` for the shared adapter of an entity, reads
typed records through :func:`read_record` and stores each state change, however many records it touches, as one
:class:`Change` through :func:`commit`.
"""

from __future__ import annotations

from workstation.persist.adapter import ENTITIES, AdapterFactory, PersistAdapter
from workstation.persist.change import Change, commit
from workstation.persist.corrupt import CORRUPT_MARK, CorruptRecordError
from workstation.persist.json_files import JsonFileAdapter
from workstation.persist.memory import MemoryAdapter
from workstation.persist.records import read_record, write_record

# ``adapter`` names a function and a submodule: the submodule is imported (and set as an attribute) by the first
# line above, before the function is bound here, so ``persist.adapter`` is the function.
from workstation.persist.selection import (
    adapter,
    close_persistence,
    default_json_dir,
    default_state_path,
    reset_persistence,
    use_json,
    use_memory,
    use_partial_adapter,
    use_risk_adapter,
    use_schedule_adapter,
    use_signal_adapter,
    use_sqlite,
)
from workstation.persist.sqlite import SqliteAdapter, SqliteDatabase, sqlite_database

__all__ = [
    "CORRUPT_MARK",
    "ENTITIES",
    "AdapterFactory",
    "Change",
    "CorruptRecordError",
    "JsonFileAdapter",
    "MemoryAdapter",
    "PersistAdapter",
    "SqliteAdapter",
    "SqliteDatabase",
    "adapter",
    "close_persistence",
    "commit",
    "default_json_dir",
    "default_state_path",
    "read_record",
    "reset_persistence",
    "sqlite_database",
    "use_json",
    "use_memory",
    "use_partial_adapter",
    "use_risk_adapter",
    "use_schedule_adapter",
    "use_signal_adapter",
    "use_sqlite",
    "write_record",
]
