"""``ExchangeSchema``: where candles come from and how prices are printed."""

from __future__ import annotations

from pydantic import Field

from workstation.schemas.common import AnyCallable, CallbacksModel, Name, SchemaModel


def default_format_price(symbol: str, price: float) -> str:
    """Format a price with eight decimals."""
    return f"{price:.8f}"


def default_format_quantity(symbol: str, quantity: float) -> str:
    """Format a quantity with eight decimals."""
    return f"{quantity:.8f}"


class ExchangeCallbacks(CallbacksModel):
    """Callbacks of an exchange."""

    on_candle_data: AnyCallable | None = None


class ExchangeSchema(SchemaModel):
    """A source of candles: ``get_candles(symbol, interval, since, limit) -> rows``."""

    exchange_name: Name
    get_candles: AnyCallable
    format_price: AnyCallable = default_format_price
    format_quantity: AnyCallable = default_format_quantity
    callbacks: ExchangeCallbacks = Field(default_factory=ExchangeCallbacks)
    note: str = ""
