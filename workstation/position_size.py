"""``ws.PositionSize``: how much to buy or sell under a registered sizing (SPEC §10)."""

from __future__ import annotations

import math

from workstation import registry
from workstation.clients.sizing import ClientSizing
from workstation.errors import SchemaNotFoundError, SizingError
from workstation.models.sizing import AtrBasedParams, FixedPercentageParams, KellyCriterionParams
from workstation.services.connections import sizing_connections


def _number(field: str, value: object) -> float:
    # bool is an int subclass, yet True is never meant as a balance or a price.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SizingError(f"{field} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise SizingError(f"{field} must be a finite number, got {value!r}")
    return float(value)


def _positive(field: str, value: object) -> float:
    number = _number(field, value)
    if number <= 0:
        raise SizingError(f"{field} must be positive, got {value!r}")
    return number


class PositionSizeUtils:
    """Compute position quantities with the sizing registered under ``sizing_name``.

    The balance and the prices must be positive finite numbers; the other inputs must be finite numbers and are
    then checked by the sizing itself (SPEC §10's messages).
    """

    async def fixed_percentage(
        self,
        symbol: str,
        account_balance: float,
        price_open: float,
        price_stop_loss: float,
        *,
        sizing_name: str,
    ) -> float:
        """Return the quantity that loses ``risk_percentage`` % of the balance if the stop loss is hit.

        Parameters
        ----------
        symbol
            The traded symbol (passed on to ``on_calculate``).
        account_balance
            Money available, in quote currency.
        price_open, price_stop_loss
            Entry price and stop-loss price.
        sizing_name
            A registered ``fixed_percentage`` sizing.

        Returns
        -------
        float
            The quantity in base currency, unrounded.

        Raises
        ------
        SchemaNotFoundError
            If no sizing is registered under ``sizing_name``.
        SizingError
            If the sizing uses another method, an input is not a positive finite number, or the stop loss equals
            the entry price.
        """
        client = await self._client(sizing_name, "fixed_percentage")
        params = FixedPercentageParams(
            symbol=symbol,
            account_balance=_positive("account_balance", account_balance),
            price_open=_positive("price_open", price_open),
            price_stop_loss=_positive("price_stop_loss", price_stop_loss),
        )
        return await client.fixed_percentage(params, source="PositionSize.fixed_percentage")

    async def kelly_criterion(
        self,
        symbol: str,
        account_balance: float,
        price_open: float,
        win_rate: float,
        win_loss_ratio: float,
        *,
        sizing_name: str,
    ) -> float:
        """Return the quantity worth ``max(0, kelly) * kelly_multiplier`` of the balance.

        Parameters
        ----------
        symbol
            The traded symbol (passed on to ``on_calculate``).
        account_balance
            Money available, in quote currency.
        price_open
            Entry price.
        win_rate
            Share of winning trades, strictly between 0 and 1.
        win_loss_ratio
            Average win divided by average loss, positive.
        sizing_name
            A registered ``kelly_criterion`` sizing.

        Returns
        -------
        float
            The quantity in base currency, unrounded; 0.0 when the edge is negative.

        Raises
        ------
        SchemaNotFoundError
            If no sizing is registered under ``sizing_name``.
        SizingError
            If the sizing uses another method or an input is out of range.
        """
        client = await self._client(sizing_name, "kelly_criterion")
        params = KellyCriterionParams(
            symbol=symbol,
            account_balance=_positive("account_balance", account_balance),
            price_open=_positive("price_open", price_open),
            win_rate=_number("win_rate", win_rate),
            win_loss_ratio=_number("win_loss_ratio", win_loss_ratio),
        )
        return await client.kelly_criterion(params, source="PositionSize.kelly_criterion")

    async def atr_based(
        self,
        symbol: str,
        account_balance: float,
        price_open: float,
        atr: float,
        *,
        sizing_name: str,
    ) -> float:
        """Return the quantity that loses ``risk_percentage`` % of the balance on a move of ``atr * atr_multiplier``.

        Parameters
        ----------
        symbol
            The traded symbol (passed on to ``on_calculate``).
        account_balance
            Money available, in quote currency.
        price_open
            Entry price (used by ``max_position_percentage``).
        atr
            Average true range, in price units, positive.
        sizing_name
            A registered ``atr_based`` sizing.

        Returns
        -------
        float
            The quantity in base currency, unrounded.

        Raises
        ------
        SchemaNotFoundError
            If no sizing is registered under ``sizing_name``.
        SizingError
            If the sizing uses another method or an input is out of range.
        """
        client = await self._client(sizing_name, "atr_based")
        params = AtrBasedParams(
            symbol=symbol,
            account_balance=_positive("account_balance", account_balance),
            price_open=_positive("price_open", price_open),
            atr=_number("atr", atr),
        )
        return await client.atr_based(params, source="PositionSize.atr_based")

    @staticmethod
    async def _client(sizing_name: str, method: str) -> ClientSizing:
        if not registry.sizings.has(sizing_name):
            raise SchemaNotFoundError(f'sizing "{sizing_name}" not found (source: PositionSize.{method})')
        client = sizing_connections.client(sizing_name)
        await client.wait_for_init()
        return client


PositionSize = PositionSizeUtils()
