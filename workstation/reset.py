"""``ws.reset()``: a pristine process state for tests and for a fresh session."""

from __future__ import annotations

from workstation.backtest import Backtest
from workstation.config import reset_config
from workstation.events import remove_user_listeners
from workstation.live import Live
from workstation.optimizer import Optimizer
from workstation.persist import reset_persistence
from workstation.registry import clear_registries
from workstation.services.connections import clear_connections
from workstation.storages import clear_storages
from workstation.trading_desks import Desks
from workstation.walker import Walker


def reset() -> None:
    """Restore defaults: config, registries, clients, run instances, desks, storages, listeners and persistence."""
    Backtest.clear()
    Live.clear()
    Desks.clear()
    Walker.clear()
    Optimizer.clear()
    reset_config()
    clear_registries()
    clear_connections()
    clear_storages()
    remove_user_listeners()
    reset_persistence()
