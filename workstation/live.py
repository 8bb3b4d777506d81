"""``ws.Live``: the reports of live trading per pair (SPEC §11.3)."""

from __future__ import annotations

from pathlib import Path

from workstation.reports.dump import dump_report
from workstation.reports.live import LiveStatistics
from workstation.storages import live_storage


class LiveUtils:
    """Read what live trading of ``symbol:strategy_name`` has done: its blotter, statistics and report."""

    async def get_data(self, symbol: str, strategy_name: str) -> LiveStatistics:
        """Return the statistics over every live closed signal of the pair and its most recent blotter rows."""
        return live_storage.get_data(symbol, strategy_name)

    async def get_report(self, symbol: str, strategy_name: str) -> str:
        """Return the markdown live trading report of ``symbol:strategy_name``."""
        return live_storage.get_report(symbol, strategy_name)

    async def dump(self, symbol: str, strategy_name: str, path: str | Path | None = None) -> Path:
        """Write the markdown report to ``path`` (default: the user data dir) and return where it went."""
        return await dump_report(await self.get_report(symbol, strategy_name), "live", symbol, strategy_name, path)


Live = LiveUtils()
