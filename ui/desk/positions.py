"""The Positions table: what the desk's fills hold, per strategy, symbol and signal, marked at the newest price.

The desk books its positions (``ws.OrderDesk.positions``: amount held and what it cost, fees in); the table adds the
mark price (a live run's newest price, else the desk's newest fill) and the value and open profit at that price.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject

import workstation as ws
from ui.charts.candle_chart import format_price
from ui.desk.tables import Column, RecordTableModel, format_amount, format_money
from ui.widgets.formatting import BY_HAND, signed


@dataclass(frozen=True, slots=True)
class DeskPosition:
    """What one strategy (None: the trader by hand) holds of one symbol for one signal, at a mark price."""

    strategy_name: str | None
    symbol: str
    signal_id: str | None
    amount: float
    #: What the holding cost in the quote asset, fees in.
    cost: float
    #: None: no price of the symbol is known yet.
    mark_price: float | None

    @property
    def entry_price(self) -> float:
        """Return the average price paid, fees in."""
        return self.cost / self.amount if self.amount else 0.0

    @property
    def value(self) -> float | None:
        """Return what the holding is worth at the mark price, in the quote asset."""
        return None if self.mark_price is None else self.amount * self.mark_price

    @property
    def open_pnl(self) -> float | None:
        """Return the profit or loss not realised yet, in the quote asset (after the entry's fees)."""
        value = self.value
        return None if value is None else value - self.cost


def desk_positions(holdings: Sequence[ws.Holding], mark: Callable[[str], float | None]) -> list[DeskPosition]:
    """Return the desk's ``holdings`` marked at ``mark(symbol)``, by strategy (by hand first), symbol and signal."""
    positions = [
        DeskPosition(
            holding.strategy_name,
            holding.symbol,
            holding.signal_id,
            holding.amount,
            holding.basis,
            mark(holding.symbol),
        )
        for holding in holdings
    ]
    return sorted(positions, key=lambda p: (p.strategy_name or "", p.symbol, p.signal_id or ""))


def _pnl_tone(position: DeskPosition) -> str | None:
    pnl = position.open_pnl
    if pnl is None or pnl == 0:
        return None
    return "gain" if pnl > 0 else "loss"


def _unknown_or(value: float | None, write: Callable[[float], str]) -> str:
    return "–" if value is None else write(value)


POSITION_COLUMNS: tuple[Column[DeskPosition], ...] = (
    Column("Strategy", lambda position: position.strategy_name or BY_HAND),
    Column("Symbol", lambda position: position.symbol),
    Column("Amount", lambda position: format_amount(position.amount), number=True),
    Column("Entry", lambda position: format_price(position.entry_price), number=True),
    Column("Mark", lambda position: _unknown_or(position.mark_price, format_price), number=True),
    Column("Value", lambda position: _unknown_or(position.value, format_money), number=True),
    Column("Open PnL", lambda position: _unknown_or(position.open_pnl, lambda pnl: signed(pnl, 2)), True, _pnl_tone),
    Column("Signal", lambda position: position.signal_id or ""),
)


class PositionsModel(RecordTableModel[DeskPosition]):
    """The desk's positions; double-clicking one pre-fills the order ticket that closes it."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(POSITION_COLUMNS, parent)
