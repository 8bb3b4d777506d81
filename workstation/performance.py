"""``ws.Performance``: how long the engine's work took for a pair (SPEC §14.2)."""

from __future__ import annotations

from pathlib import Path

from workstation.reports.dump import dump_report
from workstation.reports.performance import PerformanceStatistics
from workstation.storages import performance_storage


class PerformanceUtils:
    """Read the engine timings of ``symbol:strategy_name`` in backtest or live mode."""

    async def get_data(self, symbol: str, strategy_name: str, *, backtest: bool = True) -> PerformanceStatistics:
        """Return the timing statistics of ``symbol:strategy_name`` (``backtest=False``: the live ones)."""
        return performance_storage.get_data(symbol, strategy_name, backtest)

    async def get_report(self, symbol: str, strategy_name: str, *, backtest: bool = True) -> str:
        """Return the markdown performance report of ``symbol:strategy_name``."""
        return performance_storage.get_report(symbol, strategy_name, backtest)

    async def dump(
        self, symbol: str, strategy_name: str, *, backtest: bool = True, path: str | Path | None = None
    ) -> Path:
        """Write the markdown report to ``path`` (default: the user data dir) and return where it went."""
        report = await self.get_report(symbol, strategy_name, backtest=backtest)
        return await dump_report(report, "performance", symbol, strategy_name, path)


Performance = PerformanceUtils()
