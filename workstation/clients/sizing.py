"""``ClientSizing``: the quantity to buy or sell under one sizing schema (SPEC §10)."""

from __future__ import annotations

from typing import TypeVar

from workstation.clients.calls import ErrorSink, call_maybe_async
from workstation.errors import SizingError
from workstation.models.sizing import AtrBasedParams, FixedPercentageParams, KellyCriterionParams, SizingParams
from workstation.schemas.sizing import AtrBasedSizing, FixedPercentageSizing, KellyCriterionSizing

AnySizing = FixedPercentageSizing | KellyCriterionSizing | AtrBasedSizing
SizingT = TypeVar("SizingT", FixedPercentageSizing, KellyCriterionSizing, AtrBasedSizing)


def risk_quantity(account_balance: float, risk_percentage: float, price_open: float, price_stop_loss: float) -> float:
    """Return the quantity that loses ``risk_percentage`` % of ``account_balance`` if the stop loss is hit.

    ``balance * risk_percentage / 100 / |price_open - price_stop_loss|``, unlimited (the fixed-percentage sizing).

    Raises
    ------
    SizingError
        If the stop loss equals the entry price.
    """
    stop = abs(price_open - price_stop_loss)
    if stop == 0:
        raise SizingError("Stop-loss distance cannot be zero")
    return account_balance * risk_percentage / 100 / stop


class ClientSizing:
    """One sizing schema: its formula, then its position limits, then ``on_calculate``.

    Every formula is evaluated left to right exactly as SPEC §10 writes it, so the quantities match the reference
    bit for bit; nothing is rounded.
    """

    def __init__(self, schema: AnySizing, *, on_callback_error: ErrorSink) -> None:
        self.schema = schema
        self.sizing_name = schema.sizing_name
        self._on_callback_error = on_callback_error

    async def wait_for_init(self) -> None:
        """Nothing to load."""

    async def fixed_percentage(self, params: FixedPercentageParams, *, source: str) -> float:
        """Return ``balance * risk_percentage / 100 / |price_open - price_stop_loss|``, limited.

        Raises
        ------
        SizingError
            If the schema is not a fixed-percentage sizing, or the stop loss equals the entry price.
        """
        schema = self._configured_as(FixedPercentageSizing, params.method, source)
        quantity = risk_quantity(
            params.account_balance, schema.risk_percentage, params.price_open, params.price_stop_loss
        )
        return await self._finish(quantity, params)

    async def kelly_criterion(self, params: KellyCriterionParams, *, source: str) -> float:
        """Return ``balance * max(0, kelly) * kelly_multiplier / price_open``, limited.

        Raises
        ------
        SizingError
            If the schema is not a Kelly sizing, ``win_rate`` is outside (0, 1) or ``win_loss_ratio`` is not positive.
        """
        schema = self._configured_as(KellyCriterionSizing, params.method, source)
        win_rate = params.win_rate
        win_loss_ratio = params.win_loss_ratio
        if win_rate <= 0 or win_rate >= 1:
            raise SizingError("win_rate must be between 0 and 1")
        if win_loss_ratio <= 0:
            raise SizingError("win_loss_ratio must be positive")
        kelly = (win_rate * win_loss_ratio - (1 - win_rate)) / win_loss_ratio
        quantity = params.account_balance * max(0.0, kelly) * schema.kelly_multiplier / params.price_open
        return await self._finish(quantity, params)

    async def atr_based(self, params: AtrBasedParams, *, source: str) -> float:
        """Return ``balance * risk_percentage / 100 / (atr * atr_multiplier)``, limited.

        Raises
        ------
        SizingError
            If the schema is not an ATR sizing, or ``atr`` is not positive.
        """
        schema = self._configured_as(AtrBasedSizing, params.method, source)
        if params.atr <= 0:
            raise SizingError("ATR must be positive")
        quantity = params.account_balance * schema.risk_percentage / 100 / (params.atr * schema.atr_multiplier)
        return await self._finish(quantity, params)

    def _configured_as(self, kind: type[SizingT], requested: str, source: str) -> SizingT:
        if not isinstance(self.schema, kind):
            raise SizingError(
                f'Sizing method mismatch: sizing "{self.sizing_name}" is configured as "{self.schema.method}" '
                f'but "{requested}" was requested (source: {source})'
            )
        return self.schema

    async def _finish(self, quantity: float, params: SizingParams) -> float:
        """Apply the limits that are set, in SPEC order, then report the quantity to ``on_calculate``."""
        schema = self.schema
        if schema.max_position_percentage is not None:
            cap = params.account_balance * schema.max_position_percentage / 100 / params.price_open
            quantity = min(quantity, cap)
        if schema.min_position_size is not None:
            quantity = max(quantity, schema.min_position_size)
        if schema.max_position_size is not None:
            quantity = min(quantity, schema.max_position_size)
        callback = schema.callbacks.on_calculate
        if callback is not None:
            # Called through the trader's own ``ws.PositionSize``: what goes beyond Exception is the caller's (in
            # get_signal, it ends that run there).
            try:
                await call_maybe_async(callback, quantity, params)
            except Exception as exc:
                self._on_callback_error("on_calculate", exc)
        return quantity
