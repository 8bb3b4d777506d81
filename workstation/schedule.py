"""``ws.Schedule``: what happened to the limit orders of a pair (SPEC §14.1)."""

from __future__ import annotations

from pathlib import Path

from workstation.reports.dump import dump_report
from workstation.reports.schedule import ScheduleStatistics
from workstation.storages import schedule_storage


class ScheduleUtils:
    """Read the schedule of ``symbol:strategy_name`` in backtest or live mode."""

    async def get_data(self, symbol: str, strategy_name: str, *, backtest: bool = True) -> ScheduleStatistics:
        """Return the limit-order statistics of ``symbol:strategy_name`` (``backtest=False``: the live ones)."""
        return schedule_storage.get_data(symbol, strategy_name, backtest)

    async def get_report(self, symbol: str, strategy_name: str, *, backtest: bool = True) -> str:
        """Return the markdown schedule report of ``symbol:strategy_name``."""
        return schedule_storage.get_report(symbol, strategy_name, backtest)

    async def dump(
        self, symbol: str, strategy_name: str, *, backtest: bool = True, path: str | Path | None = None
    ) -> Path:
        """Write the markdown report to ``path`` (default: the user data dir) and return where it went."""
        report = await self.get_report(symbol, strategy_name, backtest=backtest)
        return await dump_report(report, "schedule", symbol, strategy_name, path)


Schedule = ScheduleUtils()
