"""The guard that keeps every order of the test suite on this machine (issue 16: no test ever trades for real).

Every ccxt instance the workstation uses comes from `CcxtConnection` (the order venues and the candle sources); one
holding API keys signs its requests, and only such requests can send an order. `loopback_only` wraps the
connection's instance factory so that every request of a keyed instance to anywhere but 127.0.0.1 / localhost fails
the test before it leaves. tests/conftest.py installs it for the whole session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from workstation.brokers.ccxt_venue import _is_loopback
from workstation.exchanges.ccxt_exchange import CcxtConnection

Create = Callable[[CcxtConnection], Awaitable[Any]]


def loopback_only(create: Create) -> Create:
    """Return ``create`` (``CcxtConnection._create``) whose keyed instances send requests to this machine only."""

    async def create_on_this_machine(connection: CcxtConnection) -> Any:
        instance = await create(connection)
        if connection._credentials is None and connection.api_key_service is None:
            return instance
        fetch = instance.fetch

        async def fetch_on_this_machine(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            if not _is_loopback(url):
                where = url.partition("?")[0]
                pytest.fail(
                    f"a test sent {method} {where} through a ccxt {connection.exchange_id} connection "
                    "holding API keys: tests send orders to the fake exchange on 127.0.0.1 only (give "
                    "api_url=server.url)",
                    pytrace=False,
                )
            return await fetch(url, method, headers, body)

        instance.fetch = fetch_on_this_machine
        return instance

    create_on_this_machine.__wrapped__ = create  # type: ignore[attr-defined]
    return create_on_this_machine
