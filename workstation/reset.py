"""``ws.reset()``: a pristine process state for tests and for a fresh session."""

from __future__ import annotations

from workstation.backtest import Backtest
from workstation.config import reset_config
from workstation.events import remove_user_listeners
from workstation.registry import clear_registries
from workstation.services.connections import clear_connections
from workstation.storages import clear_storages


def reset() -> None:
    """Restore defaults: config, registries, memoized clients, run instances, storages and listeners."""
    Backtest.clear()
    reset_config()
    clear_registries()
    clear_connections()
    clear_storages()
    remove_user_listeners()
