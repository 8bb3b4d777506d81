"""ccxt's errors in the broker's words: transient (try again, same order id), rejected (for good), or a bad key.

ccxt raises one typed error per failure (``ccxt.base.errors``); the engine reads only the three broker errors. The
mapping follows what each kind says about the order:

- the network or the exchange failed and the outcome is unknown (``NetworkError``: timeouts, 5xx, 429, maintenance,
  a clock out of the exchange's window; ``OperationFailed``; a body that is not JSON; an error ccxt could not
  classify) → :class:`~workstation.brokers.errors.OrderTransientError`: the caller looks the order up by its client
  id before it sends it again;
- the exchange read the order and refused it (``InsufficientFunds``, ``InvalidOrder`` and its kinds, ``BadRequest``
  and ``BadSymbol``, ``OperationRejected``, ``NotSupported``) → :class:`~workstation.brokers.errors.OrderRejectedError`;
- the exchange refused the key (``AuthenticationError``, ``PermissionDenied``, ``AccountSuspended``) →
  :class:`ExchangeKeyRefusedError`, a rejection (retrying with the same key cannot help) that says what to check.

Every message is scrubbed of loaded API keys and secrets.
"""

from __future__ import annotations

from workstation.brokers.errors import OrderError, OrderRejectedError, OrderTransientError
from workstation.exchanges.api_keys import redact_secrets
from workstation.exchanges.ccxt_exchange import _NotJsonResponse


class ExchangeKeyRefusedError(OrderRejectedError):
    """The exchange refused the API key or its permissions: fix the key in the keyring; retrying cannot help."""


def order_error(error: Exception, *, venue: str, action: str) -> OrderError | None:
    """Return the broker error that tells what ``error`` (raised by ccxt while doing ``action``) means for the order.

    Parameters
    ----------
    error
        What ccxt (or the JSON check under it) raised.
    venue
        The exchange id, first in the message.
    action
        What was being done, in words (``"place buy market BTC/USDT order ws1f…"``).

    Returns
    -------
    OrderError | None
        The error to raise instead (chain ``error`` to it), or None when ``error`` is not one of ccxt's.
    """
    import ccxt  # noqa: PLC0415 (the ccxt venue imported it already; the workstation does not on start-up)

    detail = redact_secrets(f"{type(error).__name__}: {error}")
    if isinstance(error, _NotJsonResponse):
        return OrderTransientError(f"{venue}: {action}: the answer was not JSON (it starts with {detail!r})")
    if not isinstance(error, ccxt.BaseError):
        return None
    if isinstance(error, ccxt.AuthenticationError):
        return ExchangeKeyRefusedError(
            f"{venue}: {action}: the exchange refused the API key ({detail}); check the key and secret stored for "
            f"{venue} in the OS keyring, that the key may trade spot, and its IP allow-list"
        )
    rejected = (
        ccxt.InsufficientFunds,
        ccxt.InvalidOrder,
        ccxt.BadRequest,
        ccxt.OperationRejected,
        ccxt.NotSupported,
        ccxt.ArgumentsRequired,
    )
    if isinstance(error, rejected):
        return OrderRejectedError(f"{venue}: {action}: refused by the exchange: {detail}")
    return OrderTransientError(f"{venue}: {action}: outcome unknown, look the order up before resending: {detail}")
