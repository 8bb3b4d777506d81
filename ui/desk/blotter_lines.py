"""The desk's orders and fills as lines of the live blotter, beside what the runs did."""

from __future__ import annotations

import workstation as ws
from ui.desk.tables import format_amount, order_status_text
from ui.live.blotter import BlotterLine
from ui.widgets.formatting import BY_HAND

#: An order's blotter action by its status, and the tone it is written in.
_ORDER_ACTIONS: dict[str, tuple[str, str | None]] = {
    "open": ("ORDER OPEN", "accent"),
    "closed": ("ORDER FILLED", "accent"),
    "canceled": ("ORDER CANCELLED", "muted"),
    "expired": ("ORDER EXPIRED", "muted"),
    "rejected": ("ORDER REJECTED", "loss"),
}


def order_line(order: ws.OrderRecord) -> BlotterLine:
    """Return the blotter line of ``order``'s latest state."""
    action, tone = _ORDER_ACTIONS.get(order.status, (f"ORDER {order.status.upper()}", None))
    kind = order.type.replace("_", " ")
    note = (
        f"{order.side.upper()} {kind} {format_amount(order.amount)} · {order_status_text(order)} · "
        f"filled {format_amount(order.filled)} · {order.purpose.replace('_', ' ')} · {order.client_order_id}"
    )
    price = order.average or (order.trigger_price if order.type in ("stop_loss", "take_profit") else order.price)
    return BlotterLine(order.updated, order.symbol, order.strategy_name or BY_HAND, action, price, note, tone)


def fill_line(fill: ws.Fill, strategy_name: str | None) -> BlotterLine:
    """Return the blotter line of ``fill``, of an order of ``strategy_name`` (None: by hand)."""
    fee = f"fee {format_amount(fill.fee)} {fill.fee_currency or ''}".strip()
    note = f"{fill.side.upper()} {format_amount(fill.amount)} · cost {fill.cost:,.2f} · {fee} · {fill.client_order_id}"
    return BlotterLine(fill.timestamp, fill.symbol, strategy_name or BY_HAND, "FILL", fill.price, note, None)
