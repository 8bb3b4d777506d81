"""Orders, fills and balances as the desk records them, whatever venue they went to.

One vocabulary for the paper venue, the ccxt venue, the desk's journal and monitors, and the order ticket: an
:class:`OrderRequest` is what is asked, an :class:`OrderRecord` what the venue says of it, a :class:`Fill` one
execution, a :class:`Balance` one asset of the account.
"""

from __future__ import annotations

import hashlib
import math
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Side = Literal["buy", "sell"]

#: ``stop_loss`` / ``take_profit``: a market order the venue sends when the price reaches ``trigger_price``.
OrderType = Literal["market", "limit", "stop_loss", "take_profit"]

#: ccxt's statuses: ``closed`` is filled in full; ``canceled`` may hold a partial fill (``filled`` > 0).
OrderStatus = Literal["open", "closed", "canceled", "rejected", "expired"]

#: Why the order exists, for the blotter and the reconciliation.
OrderPurpose = Literal["entry", "exit", "take_profit", "stop_loss", "partial", "average", "manual", "flatten", "adopt"]

#: Binance's limit for ``newClientOrderId`` (the tightest of the exchanges ccxt names): 36 characters.
CLIENT_ORDER_ID_LENGTH = 32

#: The leg of a signal's first sale by the kill switch (``OrderDesk.flatten``): the signal's broker looks it up to
#: tell the engine that the position is gone from the venue.
FLATTEN_LEG = "flatten"


def client_order_id(signal_id: str, leg: str) -> str:
    """Return the exchange's client order id of ``leg`` of signal ``signal_id``: the same for every try.

    The id is a digest, so it fits every exchange's length and alphabet, and a retry after a lost response finds
    the order the first try placed instead of placing a second one. ``leg`` names the order within the signal:
    ``entry``, ``exit``, ``take_profit``, ``stop_loss``, ``average-2``, ``partial-1``, ``flatten``,
    ``manual-<ticket id>``.
    """
    digest = hashlib.sha256(f"{signal_id}/{leg}".encode()).hexdigest()
    return "ws" + digest[: CLIENT_ORDER_ID_LENGTH - 2]


class OrderRequest(BaseModel):
    """An order to send: exactly one of ``amount`` (base asset) and ``cost`` (quote asset, market orders only).

    ``price`` is required for a limit order, ``trigger_price`` for a stop loss or take profit order.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    client_order_id: str = Field(min_length=1, max_length=36, pattern=r"^[.A-Z:/a-z0-9_-]+$")
    symbol: str = Field(min_length=1)
    side: Side
    type: OrderType
    amount: float | None = Field(None, gt=0, allow_inf_nan=False)
    cost: float | None = Field(None, gt=0, allow_inf_nan=False)
    price: float | None = Field(None, gt=0, allow_inf_nan=False)
    trigger_price: float | None = Field(None, gt=0, allow_inf_nan=False)
    purpose: OrderPurpose
    signal_id: str | None = None
    strategy_name: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if (self.amount is None) == (self.cost is None):
            raise ValueError(f"give exactly one of amount and cost (amount={self.amount}, cost={self.cost})")
        if self.cost is not None and self.type != "market":
            raise ValueError(f"cost={self.cost} sizes market orders only; a {self.type} order needs an amount")
        if self.type == "limit" and self.price is None:
            raise ValueError("price is required for a limit order")
        if self.type in ("stop_loss", "take_profit") and self.trigger_price is None:
            raise ValueError(f"trigger_price is required for a {self.type} order")
        return self


class OrderRecord(BaseModel):
    """An order as the venue last reported it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    client_order_id: str
    exchange_order_id: str
    symbol: str
    side: Side
    type: OrderType
    status: OrderStatus
    amount: float
    filled: float
    price: float | None
    trigger_price: float | None
    average: float | None
    cost: float
    fee: float
    fee_currency: str | None
    timestamp: int
    updated: int
    purpose: OrderPurpose
    signal_id: str | None = None
    strategy_name: str | None = None

    @property
    def remaining(self) -> float:
        """Return the amount not filled yet."""
        return max(self.amount - self.filled, 0.0)

    @property
    def is_open(self) -> bool:
        """Tell whether the order still rests on the venue."""
        return self.status == "open"


class Fill(BaseModel):
    """One execution of an order (ccxt's trade)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trade_id: str
    client_order_id: str
    exchange_order_id: str
    symbol: str
    side: Side
    amount: float
    price: float
    cost: float
    fee: float
    fee_currency: str | None
    timestamp: int


class Balance(BaseModel):
    """One asset of the account: ``free`` can be spent, ``used`` is held by open orders."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    asset: str
    free: float
    used: float

    @property
    def total(self) -> float:
        """Return what the account holds of the asset."""
        return self.free + self.used


class MarketRules(BaseModel):
    """What the venue accepts on a symbol: steps of amount and price, minimums, and the protective orders it keeps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str
    base: str
    quote: str
    amount_step: float
    price_step: float
    min_amount: float
    min_cost: float
    #: The venue keeps stop loss / take profit orders itself; otherwise the engine watches the levels.
    native_stop_loss: bool
    native_take_profit: bool

    def round_amount(self, amount: float) -> float:
        """Return ``amount`` rounded down to the amount step (never more than asked)."""
        steps = math.floor(amount / self.amount_step + 1e-9)
        return float(f"{steps * self.amount_step:.12g}")

    def round_price(self, price: float) -> float:
        """Return ``price`` rounded to the nearest price step."""
        return float(f"{round(price / self.price_step) * self.price_step:.12g}")
