"""What the desk's own fills hold: the amount and cost per position, and what they realised today."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from workstation.brokers.orders import OrderRecord
from workstation.desk.journal import JournalEntry

#: A position as the desk books it: (strategy name, symbol, signal id); manual orders have no strategy and no signal.
HoldingKey = tuple[str | None, str, str | None]

DAY_MS = 86_400_000


@dataclass(slots=True)
class Holding:
    """One position of the desk: ``amount`` of the base held, ``basis`` the quote it cost (fees in the quote included).

    ``realised_today`` is the quote money its sells since the day's start made over their average cost, fees in.
    """

    strategy_name: str | None
    symbol: str
    signal_id: str | None
    amount: float = 0.0
    basis: float = 0.0
    realised_today: float = 0.0

    def open_pnl(self, price: float | None) -> float:
        """Return the quote money the holding makes over its cost at ``price`` (0 at no known price)."""
        return 0.0 if price is None else self.amount * price - self.basis


def split_symbol(symbol: str) -> tuple[str, str]:
    """Return the base and quote assets of a unified symbol (``BTC/USDT`` → ``BTC``, ``USDT``)."""
    base, _, rest = symbol.partition("/")
    quote = rest.split(":", 1)[0]
    if not base or not quote:
        raise ValueError(f"symbol must read BASE/QUOTE, got {symbol!r}")
    return base, quote


def day_start(now: int) -> int:
    """Return 00:00 UTC of the day of ``now`` (ms)."""
    return now - now % DAY_MS


def filled_records(entries: Iterable[JournalEntry]) -> list[OrderRecord]:
    """Return the journal's orders that filled something, in the order they last changed."""
    records = [entry.record for entry in entries if entry.record is not None and entry.record.filled > 0]
    return sorted(records, key=lambda record: (record.updated, record.timestamp))


def book_holdings(
    entries: Iterable[JournalEntry], *, since: int, assets: Callable[[str], tuple[str, str]] = split_symbol
) -> dict[HoldingKey, Holding]:
    """Return every position the desk's fills built, at average cost; sells from ``since`` (ms) count as today's.

    A fee in the base asset reduces the amount bought; a fee in the quote asset adds to the cost of a buy and takes
    from the proceeds of a sell; a fee in a third asset (e.g. BNB) is not the position's.
    """
    holdings: dict[HoldingKey, Holding] = {}
    for record in filled_records(entries):
        key = (record.strategy_name, record.symbol, record.signal_id)
        holding = holdings.get(key)
        if holding is None:
            holding = holdings[key] = Holding(record.strategy_name, record.symbol, record.signal_id)
        base, quote = assets(record.symbol)
        fee_base = record.fee if record.fee_currency == base else 0.0
        fee_quote = record.fee if record.fee_currency == quote else 0.0
        quote_moved = record.cost
        if record.side == "buy":
            holding.amount += record.filled - fee_base
            holding.basis += quote_moved + fee_quote
            continue
        # Selling more than the book holds (an adopted correction, a venue that sold what it held beside) leaves
        # a negative amount; only the part held realises anything.
        held_part = min(record.filled, max(holding.amount, 0.0))
        average_cost = holding.basis / holding.amount if holding.amount > 0 else 0.0
        if record.updated >= since and held_part > 0:
            share = held_part / record.filled
            holding.realised_today += (quote_moved - fee_quote) * share - average_cost * held_part
        holding.basis -= average_cost * held_part
        holding.amount -= record.filled
        if holding.amount <= 0:
            holding.basis = 0.0
    return holdings
