"""Faults the fake exchange can be told to commit on the next matching request, as real exchanges do."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from workstation.exchanges.fake_binance.paths import ORDER


class FaultKind(StrEnum):
    """What goes wrong."""

    TIMEOUT_AFTER_ACCEPT = "timeout_after_accept"
    HTTP_500 = "http_500"
    HTTP_429 = "http_429"
    REJECT = "reject"
    PARTIAL_FILL = "partial_fill"
    FILL_DURING_CANCEL = "fill_during_cancel"


#: The faults that belong to placing (or, the last, cancelling) an order; the others may hit any request.
_ORDER_ONLY = frozenset({FaultKind.REJECT, FaultKind.PARTIAL_FILL, FaultKind.FILL_DURING_CANCEL})


@dataclass(frozen=True)
class Fault:
    """One fault for `FakeBinance.inject`: it hits the next request with its method and path, once.

    It is used up by that request even when the request is refused (a bad signature, a filter, the balance).

    Attributes
    ----------
    kind
        What goes wrong.
    method, path
        The request it hits: ``POST /api/v3/order`` (placing an order) by default, ``DELETE /api/v3/order`` for
        `FILL_DURING_CANCEL`; `at` moves a lost response or an HTTP error elsewhere.
    fraction
        For `PARTIAL_FILL`: the part of the order's quantity that fills (rounded down to the market's step).

    The faults (class attributes, and `PARTIAL_FILL` to call):

    ``Fault.TIMEOUT_AFTER_ACCEPT``
        The request is carried out (the order accepted and stored, or with ``at("DELETE", ORDER)`` the order
        cancelled); no response ever comes: the server holds the connection open until the client gives up (its
        timeout) or the server stops. A request refused (a filter, the balance) is answered as usual.
    ``Fault.HTTP_500``
        ``500 Internal Server Error`` (text body); nothing is done (ccxt: ``ExchangeNotAvailable``).
    ``Fault.HTTP_429``
        ``429`` with ``Retry-After: 1`` and binance's -1003 body; nothing is done (ccxt: ``DDoSProtection``).
    ``Fault.REJECT``
        binance's ``{"code": -2010, "msg": "New order rejected."}``; nothing is done (ccxt: ``InvalidOrder``).
    ``Fault.PARTIAL_FILL(fraction)``
        The order fills only ``fraction`` of its quantity at its first match: a market order's rest expires
        (status ``EXPIRED``), a limit order's rest stays on the book (``PARTIALLY_FILLED``), a stop's rest
        expires when it triggers.
    ``Fault.FILL_DURING_CANCEL``
        The order being cancelled fills in the same instant (at its limit or stop price, a market-priced order at
        the present close): the cancel answers -2011 ``Unknown order sent.`` and the order is ``FILLED``.
    """

    kind: FaultKind
    method: str = "POST"
    path: str = ORDER
    fraction: float | None = None

    TIMEOUT_AFTER_ACCEPT: ClassVar[Fault]
    HTTP_500: ClassVar[Fault]
    HTTP_429: ClassVar[Fault]
    REJECT: ClassVar[Fault]
    FILL_DURING_CANCEL: ClassVar[Fault]

    @classmethod
    def PARTIAL_FILL(cls, fraction: float) -> Fault:
        """Return the fault that fills only ``fraction`` (0 < fraction < 1) of the next order placed.

        Raises
        ------
        ValueError
            If ``fraction`` is not strictly between 0 and 1.
        """
        if not (math.isfinite(fraction) and 0 < fraction < 1):
            raise ValueError(f"fraction={fraction!r}: a partial fill is strictly between 0 and 1")
        return cls(FaultKind.PARTIAL_FILL, fraction=fraction)

    def at(self, method: str, path: str) -> Fault:
        """Return this fault for the next ``method`` request to ``path`` instead, e.g. ``GET /api/v3/order``.

        Raises
        ------
        ValueError
            For the faults that belong to placing or cancelling an order (`REJECT`, `PARTIAL_FILL`,
            `FILL_DURING_CANCEL`).
        """
        if self.kind in _ORDER_ONLY:
            raise ValueError(f"{self.kind.value} happens where orders are placed or cancelled, not at {method} {path}")
        return dataclasses.replace(self, method=method.upper(), path=path)

    def hits(self, method: str, path: str) -> bool:
        """Return True if this fault applies to a ``method`` request to ``path``."""
        return self.method == method and self.path == path


Fault.TIMEOUT_AFTER_ACCEPT = Fault(FaultKind.TIMEOUT_AFTER_ACCEPT)
Fault.HTTP_500 = Fault(FaultKind.HTTP_500)
Fault.HTTP_429 = Fault(FaultKind.HTTP_429)
Fault.REJECT = Fault(FaultKind.REJECT)
Fault.FILL_DURING_CANCEL = Fault(FaultKind.FILL_DURING_CANCEL, method="DELETE")
