"""Business rules of a signal (SPEC §6.6); messages are exact."""

from __future__ import annotations

import math

from workstation.config import Config
from workstation.errors import SignalValidationError
from workstation.models.signal import Position


def _price_lines(name: str, value: float) -> list[str]:
    if not math.isfinite(value):
        return [f"{name} must be a finite number, got {value}"]
    if value <= 0:
        return [f"{name} must be positive, got {value}"]
    return []


def validate_signal(
    position: Position,
    current_price: float,
    price_open: float,
    take_profit: float,
    stop_loss: float,
    minutes: int,
    *,
    scheduled: bool,
    config: Config,
) -> None:
    """Raise ``SignalValidationError`` listing every broken rule; comparisons with non-finite values are skipped."""
    c, o, tp, sl, m = current_price, price_open, take_profit, stop_loss, minutes
    # Whether each price is finite: a comparison with a non-finite one is skipped.
    fc, fo, ftp, fsl = math.isfinite(c), math.isfinite(o), math.isfinite(tp), math.isfinite(sl)
    # Every signal a run opens passes here: the price lines are looked at only when a price is wrong.
    lines = (
        []
        if fc and fo and ftp and fsl and c > 0 and o > 0 and tp > 0 and sl > 0
        else [
            *_price_lines("current_price", c),
            *_price_lines("price_open", o),
            *_price_lines("price_take_profit", tp),
            *_price_lines("price_stop_loss", sl),
        ]
    )
    min_tp = config.min_takeprofit_distance_percent
    min_sl = config.min_stoploss_distance_percent
    max_sl = config.max_stoploss_distance_percent
    if position == "long":
        if ftp and fo and tp <= o:
            lines.append(f"Long: price_take_profit ({tp}) must be > price_open ({o})")
        if fsl and fo and sl >= o:
            lines.append(f"Long: price_stop_loss ({sl}) must be < price_open ({o})")
        if not scheduled:
            if fc and fsl and c <= sl:
                lines.append(
                    f"Long immediate: current_price ({c}) <= price_stop_loss ({sl}). "
                    "Signal would be immediately closed by stop loss"
                )
            if fc and ftp and c >= tp:
                lines.append(
                    f"Long immediate: current_price ({c}) >= price_take_profit ({tp}). "
                    "Signal would be immediately closed by take profit"
                )
        else:
            if fo and fsl and o <= sl:
                lines.append(
                    f"Long scheduled: price_open ({o}) <= price_stop_loss ({sl}). Signal would be cancelled at once"
                )
            if fo and ftp and o >= tp:
                lines.append(
                    f"Long scheduled: price_open ({o}) >= price_take_profit ({tp}). Signal would close at once"
                )
        if fo and ftp and fsl and o > 0:
            lines += _distance_lines("Long", (tp - o) / o * 100, (o - sl) / o * 100, tp, sl, o, min_tp, min_sl, max_sl)
    else:
        if ftp and fo and tp >= o:
            lines.append(f"Short: price_take_profit ({tp}) must be < price_open ({o})")
        if fsl and fo and sl <= o:
            lines.append(f"Short: price_stop_loss ({sl}) must be > price_open ({o})")
        if not scheduled:
            if fc and fsl and c >= sl:
                lines.append(
                    f"Short immediate: current_price ({c}) >= price_stop_loss ({sl}). "
                    "Signal would be immediately closed by stop loss"
                )
            if fc and ftp and c <= tp:
                lines.append(
                    f"Short immediate: current_price ({c}) <= price_take_profit ({tp}). "
                    "Signal would be immediately closed by take profit"
                )
        else:
            if fo and fsl and o >= sl:
                lines.append(
                    f"Short scheduled: price_open ({o}) >= price_stop_loss ({sl}). Signal would be cancelled at once"
                )
            if fo and ftp and o <= tp:
                lines.append(
                    f"Short scheduled: price_open ({o}) <= price_take_profit ({tp}). Signal would close at once"
                )
        if fo and ftp and fsl and o > 0:
            lines += _distance_lines("Short", (o - tp) / o * 100, (sl - o) / o * 100, tp, sl, o, min_tp, min_sl, max_sl)
    if m <= 0:
        lines.append(f"minute_estimated_time must be positive, got {m}")
    max_life = config.max_signal_lifetime_minutes
    if max_life > 0 and m > max_life:
        try:
            days = m / 1440
        except OverflowError:  # an int beyond float range is still just "too large"
            days = math.inf
        lines.append(
            f"minute_estimated_time too large ({m} minutes = {days:.1f} days). "
            f"Maximum: {max_life} minutes ({max_life / 1440:.0f} days) to prevent strategy deadlock"
        )
    if lines:
        raise SignalValidationError(f"Invalid signal for {position} position:\n" + "\n".join(lines))


def _distance_lines(
    side: str,
    tp_distance: float,
    sl_distance: float,
    tp: float,
    sl: float,
    o: float,
    min_tp: float,
    min_sl: float,
    max_sl: float,
) -> list[str]:
    lines = []
    if min_tp > 0 and tp_distance < min_tp:
        lines.append(
            f"{side}: take profit too close to price_open ({tp_distance:.3f}%). Minimum distance: {min_tp}% "
            f"to cover trading fees. Current: TP={tp}, Open={o}"
        )
    if min_sl > 0 and sl_distance < min_sl:
        lines.append(
            f"{side}: stop loss too close to price_open ({sl_distance:.3f}%). Minimum distance: {min_sl}% "
            f"to avoid instant stop out on market volatility. Current: SL={sl}, Open={o}"
        )
    if max_sl > 0 and sl_distance > max_sl:
        lines.append(
            f"{side}: stop loss too far from price_open ({sl_distance:.3f}%). Maximum distance: {max_sl}% "
            f"to protect capital. Current: SL={sl}, Open={o}"
        )
    return lines
