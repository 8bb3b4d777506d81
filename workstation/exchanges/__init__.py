"""Built-in candle sources: a synthetic offline demo exchange and a CSV file exchange."""

from __future__ import annotations

from workstation.exchanges.csv import make_csv_exchange
from workstation.exchanges.demo import make_demo_exchange

__all__ = ["make_csv_exchange", "make_demo_exchange"]
