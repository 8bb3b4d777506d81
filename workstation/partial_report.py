"""``ws.Partial``: the profit and loss levels reached by the signals of a pair (SPEC §11.4)."""

from __future__ import annotations

from pathlib import Path

from workstation.reports.dump import dump_report
from workstation.reports.partial import PartialStatistics
from workstation.storages import partial_storage


class PartialUtils:
    """Read the partial profit/loss levels of ``symbol:strategy_name`` in backtest or live mode."""

    async def get_data(self, symbol: str, strategy_name: str, *, backtest: bool = True) -> PartialStatistics:
        """Return the levels and their counts for ``symbol:strategy_name`` (``backtest=False``: the live ones)."""
        return partial_storage.get_data(symbol, strategy_name, backtest)

    async def get_report(self, symbol: str, strategy_name: str, *, backtest: bool = True) -> str:
        """Return the markdown partial profit/loss report of ``symbol:strategy_name``."""
        return partial_storage.get_report(symbol, strategy_name, backtest)

    async def dump(
        self, symbol: str, strategy_name: str, *, backtest: bool = True, path: str | Path | None = None
    ) -> Path:
        """Write the markdown report to ``path`` (default: the user data dir) and return where it went."""
        report = await self.get_report(symbol, strategy_name, backtest=backtest)
        return await dump_report(report, "partial", symbol, strategy_name, path)


Partial = PartialUtils()
